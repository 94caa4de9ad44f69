"""Shared Streamlit widgets: heart-rate badge, "no reading: <reason>", timings table, error guard.

Display only; every number shown comes from kdphys objects (HrReading, AnalysisResult, ModelStatus).
"""

from __future__ import annotations

import contextlib
import logging

import streamlit as st

from kdphys.errors import KDPhysError

log = logging.getLogger("kdphys.webapp")

QUALITY_COLOURS = {"good": "green", "fair": "orange", "poor": "red", "none": "gray"}
GENERIC_ERROR = ("Something went wrong while processing this input, so no heart rate is shown. "
                 "Try another file, or report the problem with the file type and size.")
METHOD_LABELS = {"student": "Student (2D CNN, distilled)", "teacher": "Teacher (3D CNN)",
                 "pos": "POS (classical)", "chrom": "CHROM (classical)", "green": "Green channel (classical)"}

STUDENT_EXPERIMENTAL = ("Default: POS. The distilled student is experimental: trained on synthetic faces only, "
                        "it reads our one real test video when uploaded, but in a live test through the "
                        "webcam stream it gave a reading in under 5 % of the seconds (see About, model card).")


def method_label(name: str) -> str:
    return METHOD_LABELS.get(name, name)


def hr_badge(reading, label: str = "Heart rate") -> None:
    """Big heart rate with a quality badge, or a warning box "no reading: <reason>".

    Args:
        reading: kdphys.quality.HrReading.
    """
    if reading.hr_bpm is None:
        st.warning(f"**{label}:** {reading.describe()}")
        return
    colour = QUALITY_COLOURS.get(reading.quality, "gray")
    details = []
    if reading.snr_db is not None:
        details.append(f"SNR {reading.snr_db:.1f} dB")
    if reading.sqi is not None:
        details.append(f"SQI {reading.sqi:.2f}")
    details.append(f"face in {100 * reading.face_fraction:.0f}% of samples")
    st.markdown(f"### {label}: {reading.hr_bpm:.1f} bpm &nbsp; :{colour}-badge[{reading.quality} quality]")
    st.caption(" · ".join(details))


def timings_table(timings_s: dict[str, float], n_frames: int) -> None:
    """Per-stage wall time: total seconds and milliseconds per decoded frame."""
    rows = []
    for stage, seconds in timings_s.items():
        per_frame_ms = 1000.0 * seconds / max(n_frames, 1)
        rows.append({"stage": stage, "total (s)": round(seconds, 3), "per frame (ms)": round(per_frame_ms, 2)})
    st.dataframe(rows, hide_index=True, width="content")


def model_status_lines(statuses: dict) -> None:
    """One caption line per neural model: available (with the weight file) or not trained yet."""
    for name in ("student", "teacher"):
        s = statuses[name]
        mark = ":material/check_circle:" if s.available else ":material/hourglass_empty:"
        st.caption(f"{mark} {method_label(name)}: {s.detail}")


def upload_too_large(uploaded) -> bool:
    """Show an error and return True when an upload is larger than ``server.maxUploadSize`` (MB).

    The browser's uploader already refuses such files; this check also covers clients that bypass it
    (scripts, AppTest) so that an oversized file is never decoded.

    Args:
        uploaded: a Streamlit UploadedFile (``.size`` in bytes, ``.name``).
    """
    limit_mb = float(st.get_option("server.maxUploadSize"))
    size_mb = uploaded.size / (1024 * 1024)
    if size_mb <= limit_mb:
        return False
    st.error(f"{uploaded.name} is {size_mb:.1f} MB, over this app's upload limit of {limit_mb:.0f} MB, so it "
             "was not analysed. Cut the video to the part with the face (10-60 s is enough) or lower its "
             "resolution, then upload it again.")
    return True


@contextlib.contextmanager
def guarded(what: str):
    """Show errors as messages, never as a traceback.

    KDPhysError (bad video, missing weights, cancelled) -> its own message; anything else -> a generic
    message without numbers (logged with its traceback on the server). Streamlit's own control flow
    (rerun, stop) derives from BaseException and passes through.
    """
    try:
        yield
    except KDPhysError as err:
        st.error(f"{what}: {err}")
    except Exception:  # noqa: BLE001 - the user must never see a traceback
        log.exception("unexpected error during %s", what)
        st.error(f"{what}: {GENERIC_ERROR}")
