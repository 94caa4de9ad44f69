"""Teacher vs student: one clip through the teacher, the student and POS, side by side.

Shows each method's heart rate, a table (heart rate, quality, time per frame, size), overlaid waveforms
and the two networks' attention over the face. Methods without trained weights are left out, and the
page says so.
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
from kdphys.explain import model_status, parameter_count
from webapp import plots, ui
from webapp.attention import attention_panel, without_own_reading

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


def _ms_text(ms: float) -> str:
    return "under 0.01 ms" if ms < 0.01 else f"{ms:.2f} ms"


def _params_text(method: str) -> str:
    n = parameter_count(method)
    if n is None:
        return "not available"
    return "none (a formula)" if n == 0 else f"{n:,}"


def summary_rows(results: dict) -> list[dict]:
    """One short row per method: heart rate (or "no reading"), quality, method time per frame, size."""
    rows = []
    for method, result in results.items():
        r = result.snapshot.reading
        rows.append({"method": ui.method_label(method),
                     "heart rate": "no reading" if r.hr_bpm is None else f"{r.hr_bpm:.0f} bpm",
                     "quality": "–" if r.hr_bpm is None else r.quality,
                     "read in": "–" if r.coverage is None else f"{100 * r.coverage:.0f}% of the video",
                     "time per frame": _ms_text(_method_ms_per_frame(result)),
                     "parameters": _params_text(method)})
    return rows


def unclear_to_this_method(method: str, results: dict) -> str | None:
    """For a method whose signal was not clear enough on a video that another method read: what to show
    instead of the usual advice to the person (hold still, face the light), which the others' readings
    contradict. None otherwise (a reading, another cause, or no method read the video)."""
    reading = results[method].snapshot.reading
    others = [ui.method_label(m) for m, r in results.items() if m != method and r.snapshot.reading.hr_bpm is not None]
    if reading.hr_bpm is not None or reading.cause != "unclear" or not others:
        return None
    return (f"**{ui.method_label(method)}:** no reading. Its pulse signal is not clear enough on this video, which "
            f"{' and '.join(others)} {'reads' if len(others) == 1 else 'read'}: the limit is this method's, not "
            "the video's.")


def main() -> None:
    st.title("Teacher vs student")
    st.write("The same video through the teacher (a large 3D neural network), the student distilled from it "
             "(a small 2D network, fast enough for a laptop) and POS (a classical formula, no training).")
    statuses = model_status()
    methods = [m for m in ("teacher", "student") if statuses[m].available] + ["pos"]
    missing = [m for m in ("teacher", "student") if not statuses[m].available]
    if missing:
        st.warning(f"The {' and the '.join(missing)} {'is' if len(missing) == 1 else 'are'} not trained yet, "
                   f"so only {', '.join(ui.method_label(m) for m in methods)} "
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
            note = unclear_to_this_method(method, results)
            if note:
                st.warning(note)
            else:
                ui.hr_badge(result.snapshot.reading, label=ui.method_label(method),
                            n_windows=len(result.snapshot.readings.windows), details=False)
    st.table(summary_rows(results))
    st.caption("Time per frame: the method alone, without reading the video and tracking the face. Parameters: "
               "the numbers a network learned.")
    curves = {ui.method_label(m): (r.snapshot.t_s, r.snapshot.bvp) for m, r in results.items() if len(r.snapshot.t_s)}
    if curves:
        st.plotly_chart(plots.overlaid_waveforms(curves), key="compare_waves")
    if "teacher" in results and "student" in results:
        unread = without_own_reading({m: r.snapshot for m, r in results.items()})
        attention_panel(results["student"].keyframes, state, key="compare_att", unread=unread)
    else:
        st.info("Attention maps appear here once both the teacher and the student are trained.")


main()
