"""Analyze a video: upload (or the sample clip) -> kdphys.analysis.analyze_video -> HR, plots, downloads.

Uploaded bytes are analysed from memory (io.BytesIO); nothing is written to disk except the CSV export,
which goes through a private temporary directory that is deleted at once.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path


import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    # Streamlit runs this file as a v1 "pages/" page, without webapp/main.py, when it is the first URL a
    # fresh server sees (and in AppTest). Run main.py instead: its st.navigation takes over and runs
    # this page again, with the app's navigation and imports set up.
    import runpy
    from pathlib import Path

    runpy.run_path(str(Path(__file__).resolve().parent.parent / "main.py"), run_name="__main__")
    st.stop()

from kdphys import paths
from kdphys.analysis import analyze_video
from kdphys.engine import EngineSettings
from kdphys.explain import attention_comparison, compare_with_reference, default_method, model_status
from kdphys.reference import load_reference_csv, sample_clip_reference
from webapp import plots, ui

VIDEO_TYPES = ["mp4", "avi", "mov", "mkv", "webm"]
STATE = "analysis"          # session_state key: dict(result=..., source=..., method=..., attention=...)


def _request_cancel() -> None:
    st.session_state["cancel_requested"] = True


def _choose_method(statuses: dict) -> str:
    names = [n for n, s in statuses.items() if s.available]
    default = default_method()
    method = st.selectbox("Method", names, index=names.index(default), format_func=ui.method_label,
                          key="analyze_method")
    if default == "student":
        st.caption("Default: the distilled student (trained weights found).")
    elif statuses["student"].available:
        st.caption(ui.STUDENT_EXPERIMENTAL)
    else:
        st.caption("Default: POS, because the student has no trained weights yet.")
    ui.model_status_lines(statuses)
    return method


def _run(source, name: str, method: str, is_sample: bool) -> None:
    """Analyse one video with a progress bar and a cancel button; store the result or show why not."""
    st.session_state.pop(STATE, None)          # never show an old HR next to a new file
    st.session_state["cancel_requested"] = False
    holder = st.empty()                        # progress bar + cancel button, removed when done
    with holder.container():
        bar = st.progress(0.0, text=f"Analysing {name} …")
        st.button("Cancel analysis", on_click=_request_cancel, key="cancel_button")

    def progress(fraction: float, message: str) -> None:
        bar.progress(float(min(max(fraction, 0.0), 1.0)), text=f"Analysing {name}: {message}")

    def cancel() -> bool:
        return bool(st.session_state.get("cancel_requested"))

    with ui.guarded(f"Could not analyse {name}"):
        result = analyze_video(source, settings=EngineSettings(method=method), progress=progress, cancel=cancel)
        st.session_state[STATE] = {"result": result, "source": name, "method": method, "is_sample": is_sample}
    holder.empty()


def _show_attention(result, statuses: dict) -> None:
    st.subheader("Where the models look")
    if not (statuses["teacher"].available and statuses["student"].available):
        missing = [n for n in ("teacher", "student") if not statuses[n].available]
        st.info(f"Attention maps need the trained teacher and student; the {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not trained yet.")
        if result.keyframes:
            st.caption("Face crops the models would see:")
            picks = result.keyframes[:: max(len(result.keyframes) // 6, 1)][:6]
            st.image([c for _, c in picks], caption=[f"{t:.0f} s" for t, _ in picks], width=96)
        return
    state = st.session_state[STATE]
    if len(result.keyframes) < 2:
        st.info("No attention maps: too few face crops (the video is too short or shows no face).")
        return
    with ui.guarded("Attention maps unavailable"):
        if "attention" not in state:
            state["attention"] = attention_comparison(result.keyframes)
        att = state["attention"]
        k = st.slider("Keyframe", 0, len(att.t_s) - 1, len(att.t_s) // 2, key="analyze_keyframe",
                      format="%d") if len(att.t_s) > 1 else 0
        teacher_img, student_img = att.overlays(k)
        c1, c2, c3 = st.columns(3)
        c1.image(att.crops[k], caption=f"face crop at {att.t_s[k]:.1f} s", width=180)
        c2.image(teacher_img, caption=f"teacher ({att.layer_pairs[att.display_index][0]})", width=180)
        c3.image(student_img, caption=f"student ({att.layer_pairs[att.display_index][1]})", width=180)
        st.metric("Attention agreement (cosine, 0–1)", f"{att.mean_agreement():.2f}",
                  help="Cosine similarity of the teacher's and the student's aligned attention maps, "
                       "averaged over keyframes.")


def _reference_section(result, is_sample: bool) -> None:
    st.subheader("Compare with a reference")
    ref_file = st.file_uploader("Reference CSV (time + ppg/bvp waveform or hr_bpm)", type=["csv"], key="ref_upload")
    reference = None
    with ui.guarded("Could not use the reference"):
        if ref_file is not None:
            ref = load_reference_csv(ref_file.getvalue())
            t0 = st.number_input("Reference time of the first video frame (s)", value=float(ref.t_s[0]),
                                 format="%.3f", key="ref_t0",
                                 help="Defaults to the first row: the reference started with the video.")
            reference = ref.aligned(t0)
        elif is_sample:
            reference = sample_clip_reference()
            st.caption("Sample clip: compared with its finger pulse-oximeter recording (BVP.csv).")
        if reference is None:
            st.caption("Upload a reference to see MAE, Pearson r and a Bland–Altman plot.")
            return
        cmp = compare_with_reference(result.snapshot, reference)
        if len(cmp.t_s) == 0:
            st.metric("Reference HR", f"{cmp.ref_hr_bpm:.1f} bpm")
            st.caption("The video gave no reading, so there is nothing to compare with the reference.")
            return
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Reference HR", f"{cmp.ref_hr_bpm:.1f} bpm")
        c2.metric("MAE (windows)", f"{cmp.mae_bpm:.2f} bpm")
        c3.metric("Pearson r", "n/a" if cmp.pearson_r != cmp.pearson_r else f"{cmp.pearson_r:.2f}")
        c4.metric("Bias", f"{cmp.bias_bpm:+.2f} bpm")
        p1, p2 = st.columns(2)
        p1.plotly_chart(plots.hr_trend(cmp.t_s, cmp.est_trend_bpm, ref=(cmp.t_s, cmp.ref_trend_bpm),
                                       title="Heart rate: video vs reference"), key="ref_trend")
        p2.plotly_chart(plots.bland_altman(cmp.est_trend_bpm, cmp.ref_trend_bpm, cmp.bias_bpm,
                                           cmp.loa_low_bpm, cmp.loa_high_bpm), key="ref_ba")


def _downloads(result, source: str) -> None:
    stem = Path(source).stem or "video"
    with tempfile.TemporaryDirectory(prefix="kdphys-") as tmp:   # private (0700), removed on exit
        csv_bytes = result.write_csv(Path(tmp) / "hr.csv").read_bytes()
    summary = dict(result.summary(), source=source)
    c1, c2 = st.columns(2)
    c1.download_button("Download CSV (time, BVP, HR)", csv_bytes, file_name=f"{stem}_kdphys.csv",
                       mime="text/csv", key="dl_csv")
    c2.download_button("Download JSON summary", json.dumps(summary, indent=2), file_name=f"{stem}_kdphys.json",
                       mime="application/json", key="dl_json")


def _show_result(state: dict, statuses: dict) -> None:
    result = state["result"]
    snap = result.snapshot
    st.divider()
    st.markdown(f"**{state['source']}** · {ui.method_label(snap.method)} · {result.video.width}×"
                f"{result.video.height}, {result.video.fps:.1f} fps, {result.video.duration_s:.1f} s")
    ui.hr_badge(snap.reading)
    for note in result.notes:
        st.info(note)
    if snap.reading.hr_bpm is None and len(snap.t_s):
        st.caption("The recording did not pass the quality gate. The plots below are diagnostic; no "
                   "heart rate is shown where the signal did not support one.")
    if len(snap.t_s):
        peaks = snap.beats.peaks if snap.beats is not None else None
        st.plotly_chart(plots.waveform(snap.t_s, snap.bvp, peaks), key="wave")
    c1, c2 = st.columns(2)
    if snap.readings.accepted.any():
        c1.plotly_chart(plots.hr_trend(snap.readings.centres_s, snap.readings.hr_bpm), key="trend")
    if snap.spectrum is not None:
        peak_hz = None if snap.reading.hr_bpm is None else snap.reading.hr_bpm / 60.0
        c2.plotly_chart(plots.spectrum(snap.spectrum.freqs_hz, snap.spectrum.power, peak_hz,
                                       result.settings.band_hz), key="spectrum")
    _show_attention(result, statuses)
    st.subheader("Timings")
    ui.timings_table(result.timings_s, result.frames_decoded)
    _downloads(result, state["source"])
    _reference_section(result, state.get("is_sample", False))


def main() -> None:
    st.title("Analyze a video")
    st.write("Upload a video of a face (still, well lit, 10 s or more) or try the sample clip. "
             "The heart rate comes from the colour of the skin; a reading is shown only when the signal "
             "supports one.")
    statuses = model_status()
    left, right = st.columns([2, 1])
    with right:
        method = _choose_method(statuses)
    with left:
        uploaded = st.file_uploader("Face video", type=VIDEO_TYPES, key="video_upload")
        b1, b2 = st.columns(2)
        sample_clicked = b1.button("Try the sample clip", key="sample_button")
        again_clicked = b2.button("Analyse again", key="again_button", disabled=uploaded is None)
    too_large = uploaded is not None and ui.upload_too_large(uploaded)
    if too_large:
        st.session_state.pop(STATE, None)      # never show an old result next to a refused file
    if st.session_state.pop("cancel_requested", False):
        st.warning("Analysis cancelled. Upload a file, press “Analyse again” or try the sample clip.")
        st.session_state.pop(STATE, None)
    elif sample_clicked:
        _run(paths.SAMPLE_VIDEO, paths.SAMPLE_VIDEO.name, method, is_sample=True)
    elif uploaded is not None and not too_large and (again_clicked or st.session_state.get("last_upload") != (uploaded.file_id, method)):
        st.session_state["last_upload"] = (uploaded.file_id, method)   # a new file (or method) starts once
        _run(io.BytesIO(uploaded.getvalue()), uploaded.name, method, is_sample=False)
    state = st.session_state.get(STATE)
    if state is not None:
        _show_result(state, statuses)


main()
