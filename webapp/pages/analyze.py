"""Analyse a video: upload (or the sample clip) -> kdphys.pipeline.upload.analyze_video -> HR, plots, downloads.

Uploaded bytes are analysed from memory (io.BytesIO); nothing is written to disk except the CSV exports,
which go through a private temporary directory that is deleted at once (webapp/ui.analysis_downloads).
"""

from __future__ import annotations

import io

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
from kdphys.pipeline.upload import analyze_video
from kdphys.pipeline.engine import EngineSettings
from kdphys.explain import (METHOD_NOTES, compare_with_reference, count_beats, default_method, model_status,
                            on_video_clock, sample_reference_started_before_s, upload_fallback)
from kdphys.data.reference import load_reference_csv
from webapp import plots, ui
from webapp.attention import attention_panel, without_own_reading

VIDEO_TYPES = ["mp4", "avi", "mov", "mkv", "webm"]
STATE = "analysis"          # session_state key: dict(result=..., source=..., method=..., attention=...)
NEURAL = ("student", "teacher")
#: Fewer windows read than this: no "heart rate over time" plot (one or two dots are no trend).
MIN_TREND_WINDOWS = 3


def _request_cancel() -> None:
    st.session_state["cancel_requested"] = True


def _choose_method(statuses: dict) -> str:
    names = [n for n, s in statuses.items() if s.available]
    default = default_method()
    method = st.selectbox("Method", names, index=names.index(default), format_func=ui.method_label,
                          key="analyze_method")
    if default == "student":
        st.caption(f"Default: the student, a small neural network distilled from the teacher. {ui.STUDENT_LIMITS}")
    elif statuses["student"].available:
        st.caption(f"Default: {ui.method_label(default)}.")
    else:
        st.caption(f"Default: {ui.method_label(default)} (the student has not been trained yet).")
    if method in METHOD_NOTES:
        st.caption(METHOD_NOTES[method])
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
        settings = EngineSettings(method=method, fallback=upload_fallback(method))
        result = analyze_video(source, settings=settings, progress=progress, cancel=cancel)
        st.session_state[STATE] = {"result": result, "source": name, "method": method, "is_sample": is_sample}
    holder.empty()


def _waveform(snap) -> None:
    """The pulse with one mark per beat where the video was read (none without a reading)."""
    count = count_beats(snap)
    reading_ok = snap.reading.hr_bpm is not None
    read = snap.readings.read_mask(len(snap.t_s)) if reading_ok else None
    peaks = snap.beats.peaks if (count is not None and snap.beats is not None) else None
    label = f"{count.n_beats} beats" if count is not None else "beats"
    st.plotly_chart(plots.waveform(snap.t_s, snap.bvp, peaks, read, beats_label=label), key="wave")
    if count is not None:
        st.caption(f"One mark per beat, in the parts of the video that were read (grey: not read). {count.n_beats} "
                   f"beats marked, {count.n_intervals} beat-to-beat intervals in {count.intervals_s:.1f} s: "
                   f"{count.hr_bpm:.0f} bpm by counting. The heart rate above is the middle value (median) of the "
                   "10 s windows read.")


def _trend_and_spectrum(result) -> None:
    snap = result.snapshot
    readings = snap.readings
    c1, c2 = st.columns(2)
    with c1:
        n_read = int(readings.accepted.sum())
        if snap.reading.hr_bpm is not None and n_read >= MIN_TREND_WINDOWS:
            st.plotly_chart(plots.hr_trend(readings.centres_s, readings.hr_bpm, duration_s=result.video.duration_s),
                            key="trend")
            st.caption(f"One point per 10 s window, one window per second of video ({n_read} of "
                       f"{len(readings.windows)} read); gaps: windows where the pulse was not clear enough.")
        elif snap.reading.hr_bpm is not None:
            st.markdown("**Heart rate over time**")
            st.caption(f"Not drawn: only {n_read} of the 10 s windows {'was' if n_read == 1 else 'were'} read, too few "
                       f"for a curve (a window ends every second; a video of {10 + MIN_TREND_WINDOWS - 1} s or more "
                       "with a clear pulse gives one).")
    with c2:
        if snap.spectrum is not None:
            peak_hz = None if snap.reading.hr_bpm is None else snap.reading.hr_bpm / 60.0
            st.plotly_chart(plots.spectrum(snap.spectrum.freqs_hz, snap.spectrum.power, peak_hz,
                                           result.settings.band_hz), key="spectrum")
            st.caption("How strong each rhythm is in the pulse signal; a clear pulse gives one tall peak at the "
                       "heart rate.")


def _show_attention(result, statuses: dict, state: dict) -> None:
    if result.snapshot.method not in NEURAL:
        st.subheader("Where the models look")
        st.caption(f"Attention maps belong to the neural networks; this video was read with "
                   f"{ui.method_label(result.snapshot.method)}, which has none. Choose the student or the teacher "
                   "above, or open *Teacher vs student*.")
        return
    if not (statuses["teacher"].available and statuses["student"].available):
        st.info("Attention maps need both the trained teacher and the trained student.")
        return
    unread = without_own_reading({result.snapshot.method: result.snapshot})
    attention_panel(result.keyframes, state, key="analyze_att", unread=unread)


def _reference_source(state: dict):
    """(CSV bytes, name, default "started before" seconds) of the reference to use, or None."""
    ref_file = st.file_uploader("Reference recording: CSV with a time column and a pulse waveform (ppg or bvp) "
                                "or heart rates (hr_bpm)", type=["csv"], key="ref_upload")
    if ref_file is not None:
        default_s = sample_reference_started_before_s() if state.get("is_sample") else 0.0
        return ref_file.getvalue(), ref_file.name, default_s
    if state.get("is_sample"):
        st.caption("Sample clip: compared with its finger pulse oximeter recording (BVP.csv).")
        return paths.SAMPLE_BVP_CSV.read_bytes(), paths.SAMPLE_BVP_CSV.name, sample_reference_started_before_s()
    st.caption("Upload a reference (for example a pulse oximeter's recording) to see how close the video's heart "
               "rate comes.")
    return None


def _reference_section(result, state: dict):
    """Compare with a reference CSV (or the sample's oximeter); returns the ReferenceComparison or None."""
    st.subheader("Compare with a reference")
    source = _reference_source(state)
    if source is None:
        return None
    data, name, default_s = source
    started_before_s = st.number_input(
        "The reference started this many seconds before the video (negative: after it)", value=round(default_s, 2),
        min_value=-3600.0, max_value=3600.0, step=0.1, format="%.2f", key=f"ref_start_{state['source']}_{name}",
        help="0 means the reference and the video started together. The time column may hold seconds or Unix "
             "time: only the time since its first row counts.")
    cmp = None
    with ui.guarded("Could not use the reference"):
        reference = on_video_clock(load_reference_csv(data), started_before_s)
        cmp = compare_with_reference(result.snapshot, reference)
        _comparison_numbers(cmp)
    return cmp


def _comparison_numbers(cmp) -> None:
    if len(cmp.t_s) == 0:
        st.metric("Reference heart rate", f"{cmp.ref_hr_bpm:.0f} bpm")
        st.caption("The video gave no reading, so there is nothing to compare with the reference.")
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Reference heart rate", f"{cmp.ref_hr_bpm:.0f} bpm", help="Median over its 10 s windows.")
    c2.metric("Mean absolute difference", f"{cmp.mae_bpm:.1f} bpm")
    r_text = "not enough windows" if cmp.pearson_r != cmp.pearson_r else f"{cmp.pearson_r:.2f}"
    c3.metric("Correlation (Pearson r)", r_text)
    c4.metric("Bias (video minus reference)", f"{cmp.bias_bpm:+.1f} bpm")
    st.markdown(f"**Limits of agreement (95%): {cmp.loa_low_bpm:+.1f} to {cmp.loa_high_bpm:+.1f} bpm.** Over the "
                f"{len(cmp.t_s)} windows of 10 s that the video read, 95% of the differences between video and "
                "reference are expected to fall between these two values." + _left_out(cmp.read_without_reference))
    p1, p2 = st.columns(2)
    p1.plotly_chart(plots.hr_trend(cmp.t_s, cmp.est_trend_bpm, ref=(cmp.t_s, cmp.ref_trend_bpm),
                                   title="Heart rate: video and reference"), key="ref_trend")
    p2.plotly_chart(plots.bland_altman(cmp.est_trend_bpm, cmp.ref_trend_bpm, cmp.bias_bpm,
                                       cmp.loa_low_bpm, cmp.loa_high_bpm), key="ref_ba")


def _left_out(n_windows: int) -> str:
    """" N more window(s) read from the video ... left out", or "" when none."""
    if not n_windows:
        return ""
    return (f" {n_windows} more {'window' if n_windows == 1 else 'windows'} read from the video "
            f"{'is' if n_windows == 1 else 'are'} left out: the reference gives no heart rate there.")


def _show_result(state: dict, statuses: dict) -> None:
    result = state["result"]
    snap = result.snapshot
    st.divider()
    v = result.video
    st.markdown(f"**{state['source']}** · {ui.method_label(snap.method, snap.signal_source)} · {v.width}×{v.height} pixels, "
                f"{v.fps:.0f} frames per second, {v.duration_s:.1f} s")
    ui.hr_badge(snap.reading, n_windows=len(snap.readings.windows))
    st.caption(ui.NOT_A_MEDICAL_DEVICE)
    for note in result.notes:
        st.info(note)
    if snap.reading.hr_bpm is None and len(snap.t_s):
        st.caption("The video did not pass the quality check. The plots below show the signal for diagnosis; "
                   "no heart rate is shown where the signal did not support one.")
    if len(snap.t_s):
        _waveform(snap)
    _trend_and_spectrum(result)
    _show_attention(result, statuses, state)
    comparison = _reference_section(result, state)
    st.subheader("Downloads")
    ui.download_buttons(ui.analysis_downloads(result, state["source"], comparison))
    with st.expander("Timings"):
        ui.timings_table(result.timings_s, result.frames_decoded)


def main() -> None:
    st.title("Analyse a video")
    st.write("Upload a video of a face (still, well lit, 10 s or more) or try the sample clip. The heart rate "
             "comes from the colour of the skin; it is shown only when the signal supports one.")
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
