"""Live webcam: streamlit-webrtc frames -> a per-session kdphys.pipeline.live.LiveSession -> rolling HR.

Frames stay in memory: the callback (webapp/live_frames.py) pushes every WebRTC frame with its true
timestamp into this browser session's engine and sends back the newest with the tracked ROI drawn on it.
The browser is asked to send H.264 rather than VP8 (webapp/webrtc_codecs.py).
"""

from __future__ import annotations

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

from streamlit_webrtc import WebRtcMode, webrtc_streamer

from kdphys.explain import default_method, model_status
from kdphys.pipeline.live import LiveSession
from kdphys.signal.quality import no_reading
from webapp import plots, ui
from webapp.live_frames import frames_callback
from webapp.webrtc_codecs import prefer_video_codecs

SESSION_KEY = "live_session"
STOPPED_KEY = "live_stopped"     # True after STOP, until the camera plays again
#: No STUN/TURN servers: works offline on localhost (and on a LAN); see README to expose the app.
RTC_CONFIGURATION = {"iceServers": []}
#: LiveStatus.state in words, short enough for a metric in half the column (longer ones end in "…"; the
#: heart-rate box above says the whole reason).
STATES = {"waiting": "waiting", "warming up": "warming up", "tracking": "face tracked", "face lost": "no face",
          "stopped": "no video"}
INTRO = ("Press **START** and allow the camera. Sit still, face the camera in even light. A heart rate needs at "
         "least 5 s of steady face, and it shows once the pulse is clear, which takes from 10 s to a minute "
         "(sometimes longer). It then updates once a second, from the last 10 s. Frames are processed in memory "
         "and never stored.")


def _session() -> LiveSession:
    """This browser session's LiveSession (created on first use, never shared between sessions)."""
    if SESSION_KEY not in st.session_state:
        st.session_state[SESSION_KEY] = LiveSession(method=default_method(live=True))
    return st.session_state[SESSION_KEY]


def _show_status(session: LiveSession) -> None:
    status = session.status()
    ui.hr_badge(status.reading, details=False)
    if status.held_s > 0:
        st.caption(f"Held: the last {status.held_s:.0f} s were not clear enough; this is the reading from just before.")
    source = status.source if status.reading.hr_bpm is not None else None
    if source and source != status.method:
        st.caption(f"This heart rate comes from {ui.method_label(source)}: {ui.method_label(status.method)} "
                   "gave none in this window.")
    c1, c2 = st.columns(2)
    c3, c4 = st.columns(2)
    c1.metric("State", STATES.get(status.state, status.state))
    c2.metric("Frames per second", f"{status.fps:.0f}")
    c3.metric("Processing time per frame", f"{status.latency_ms:.0f} ms")
    c4.metric("Frames processed", f"{status.frames_in}")
    if len(status.t_s) >= 2:
        st.plotly_chart(plots.live_waveform(status.t_s, status.bvp), key="live_wave")
    size = f" · video {status.frame_hw[1]}×{status.frame_hw[0]} pixels" if status.frame_hw else ""
    st.caption(f"{ui.method_label(status.method)} · {status.signal_s:.0f} s of signal · "
               f"heart rate from the last {session.engine.settings.track.window_s:.0f} s{size}")


def _show_stopped() -> None:
    """After STOP: no reading, no frame rate, nothing that looks live."""
    ui.hr_badge(no_reading("the camera is stopped. Press START to measure again.", "stopped"), details=False)
    st.metric("State", "camera stopped")


def _camera(session: LiveSession) -> bool:
    """The webrtc video component bound to this session; True while the camera is streaming."""
    try:
        prefer_video_codecs()          # H.264 before VP8: Chrome's VP8 denoiser smooths the pulse away
        ctx = webrtc_streamer(key="live", mode=WebRtcMode.SENDRECV, rtc_configuration=RTC_CONFIGURATION,
                              media_stream_constraints={"video": True, "audio": False},
                              queued_video_frames_callback=frames_callback(session), async_processing=True)
    except Exception:  # noqa: BLE001 - e.g. no browser session behind this script run
        ui.log.exception("webrtc component failed")
        st.error("The camera component could not start. Reload the page in a browser that allows camera "
                 "access (Chrome, Firefox, Edge, Safari).")
        return False
    return bool(ctx.state.playing)


def _after_stop(session: LiveSession, playing: bool) -> bool:
    """True when the camera was stopped after sending frames. The session is then replaced by a fresh one
    (same method) so that the next START begins a new measurement."""
    if playing:
        st.session_state[STOPPED_KEY] = False
        return False
    if session.frames_in > 0:
        st.session_state[SESSION_KEY] = LiveSession(method=session.method)
        st.session_state[STOPPED_KEY] = True
    return bool(st.session_state.get(STOPPED_KEY))


def main() -> None:
    st.title("Live webcam")
    st.write(INTRO)
    statuses = model_status()
    names = [n for n in ("student", "pos", "teacher") if statuses[n].available]
    session = _session()
    method = st.radio("Method", names, index=names.index(session.method) if session.method in names else 0,
                      format_func=ui.method_label, horizontal=True, key="live_method")
    if not statuses["student"].available:
        st.caption("The student has not been trained yet; POS is used.")
    elif (default := default_method(live=True)) != "student":
        st.caption(f"Default: {ui.method_label(default)}. {ui.STUDENT_LIVE_EXPERIMENTAL}")
    session.set_method(method)
    left, right = st.columns([1, 1])
    with left:
        playing = _camera(session)
    stopped = _after_stop(session, playing)

    @st.fragment(run_every=1.0 if playing else None)
    def live_panel() -> None:
        with ui.guarded("Live heart rate unavailable"):
            if stopped:
                _show_stopped()
            else:
                _show_status(session)

    with right:
        live_panel()
    st.caption(ui.NOT_A_MEDICAL_DEVICE)


main()
