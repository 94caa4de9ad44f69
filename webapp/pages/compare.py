"""Teacher vs student: one clip through the teacher, the student and POS, side by side.

Shows overlaid waveforms, each method's HR, the method's time per frame, parameter counts and the two
models' attention maps over the clip's keyframes. Methods without trained weights are left out, and
the page says so.
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
from kdphys.analysis import analyze_video
from kdphys.engine import EngineSettings
from kdphys.explain import attention_comparison, model_status, parameter_count
from webapp import plots, ui

STATE = "compare"
VIDEO_TYPES = ["mp4", "avi", "mov", "mkv", "webm"]


def _method_ms_per_frame(result) -> float:
    """Milliseconds the method itself (not face tracking or decoding) took per decoded frame."""
    t = result.timings_s
    return 1000.0 * (t.get("model", 0.0) + t.get("model_window", 0.0)) / max(result.frames_decoded, 1)


def _run_all(source_bytes: bytes | None, name: str, methods: list[str]) -> None:
    st.session_state.pop(STATE, None)
    results = {}
    bar = st.progress(0.0, text="Starting …")
    with ui.guarded(f"Could not analyse {name}"):
        for i, method in enumerate(methods):
            def progress(fraction: float, message: str, i=i, method=method) -> None:
                bar.progress(min((i + fraction) / len(methods), 1.0),
                             text=f"{ui.method_label(method)}: {message}")

            source = paths.SAMPLE_VIDEO if source_bytes is None else io.BytesIO(source_bytes)
            results[method] = analyze_video(source, settings=EngineSettings(method=method), progress=progress)
        st.session_state[STATE] = {"source": name, "results": results}
    bar.empty()


def _summary_table(results: dict) -> None:
    rows = []
    for method, result in results.items():
        r = result.snapshot.reading
        params = parameter_count(method)
        rows.append({"method": ui.method_label(method),
                     "heart rate": f"{r.hr_bpm:.1f} bpm" if r.hr_bpm is not None else r.describe(),
                     "quality": r.quality,
                     "SNR (dB)": None if r.snr_db is None else round(r.snr_db, 1),
                     "method ms / frame": round(_method_ms_per_frame(result), 2),
                     "parameters": "–" if params is None else f"{params:,}"})
    st.dataframe(rows, hide_index=True, width="stretch")


def _attention(results: dict) -> None:
    st.subheader("Attention maps over the clip")
    state = st.session_state[STATE]
    if len(results["student"].keyframes) < 2:
        st.info("No attention maps: too few face crops (the video is too short or shows no face).")
        return
    with ui.guarded("Attention maps unavailable"):
        if "attention" not in state:
            state["attention"] = attention_comparison(results["student"].keyframes)
        att = state["attention"]
        k = st.slider("Time in the clip (keyframe)", 0, len(att.t_s) - 1, 0, key="compare_keyframe")
        teacher_img, student_img = att.overlays(k)
        c1, c2, c3 = st.columns(3)
        c1.image(att.crops[k], caption=f"face crop at {att.t_s[k]:.1f} s", width=200)
        c2.image(teacher_img, caption=f"teacher, layer {att.layer_pairs[att.display_index][0]}", width=200)
        c3.image(student_img, caption=f"student, layer {att.layer_pairs[att.display_index][1]}", width=200)
        st.metric("Agreement at this keyframe (cosine)", f"{att.agreement[att.display_index][k]:.2f}")
        st.caption(f"Mean agreement over the clip: {att.mean_agreement():.2f} (1 = both look at the same places).")


def main() -> None:
    st.title("Teacher vs student")
    st.write("The same clip through the 3D-CNN teacher, the distilled 2D-CNN student and classical POS.")
    statuses = model_status()
    methods = [m for m in ("teacher", "student") if statuses[m].available] + ["pos"]
    missing = [m for m in ("teacher", "student") if not statuses[m].available]
    if missing:
        st.warning(f"The {' and the '.join(missing)} {'is' if len(missing) == 1 else 'are'} not trained yet "
                   f"(no weights in weights/), so only {', '.join(ui.method_label(m) for m in methods)} "
                   f"{'is' if len(methods) == 1 else 'are'} shown.")
    uploaded = st.file_uploader("Face video", type=VIDEO_TYPES, key="compare_upload")
    c1, c2 = st.columns(2)
    if c1.button("Compare on the sample clip", key="compare_sample"):
        _run_all(None, paths.SAMPLE_VIDEO.name, methods)
    if c2.button("Compare on the uploaded video", key="compare_uploaded", disabled=uploaded is None):
        if not ui.upload_too_large(uploaded):
            _run_all(uploaded.getvalue(), uploaded.name, methods)
    state = st.session_state.get(STATE)
    if state is None:
        return
    results = state["results"]
    st.markdown(f"**{state['source']}**")
    cols = st.columns(len(results))
    for col, (method, result) in zip(cols, results.items()):
        with col:
            ui.hr_badge(result.snapshot.reading, label=ui.method_label(method))
    _summary_table(results)
    curves = {ui.method_label(m): (r.snapshot.t_s, r.snapshot.bvp) for m, r in results.items() if len(r.snapshot.t_s)}
    if curves:
        st.plotly_chart(plots.overlaid_waveforms(curves), key="compare_waves")
    if "teacher" in results and "student" in results:
        _attention(results)
    else:
        st.info("Attention maps appear here once both the teacher and the student are trained.")


main()
