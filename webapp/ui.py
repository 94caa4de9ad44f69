"""Shared Streamlit widgets: the heart-rate result, "no reading: <reason>", timings, downloads, error guard.

Display only; every number shown comes from kdphys objects (HrReading, AnalysisResult, ModelStatus), and
the words that explain them from kdphys.explain.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from kdphys import explain
from kdphys.errors import KDPhysError

log = logging.getLogger("kdphys.webapp")

#: Badge colours: a "poor" reading is a weakly supported one, not a wrong one, so it is not red.
QUALITY_COLOURS = {"good": "green", "fair": "blue", "poor": "orange", "none": "gray"}
GENERIC_ERROR = ("Something went wrong while processing this input, so no heart rate is shown. "
                 "Try another file, or report the problem with the file type and size.")
METHOD_LABELS = explain.METHOD_LABELS

#: What the app says about the distilled student next to the method choice (sentences the lead can change).
STUDENT_LIMITS = "It has not learnt pulses of 40-50 bpm or near 180 bpm, where it gives no reading."
STUDENT_LIVE_EXPERIMENTAL = ("Live, the student (a small neural network) is experimental: on people it was not "
                             "trained on it gave a heart rate more often than POS, but more often one over 5 bpm off.")
QUALITY_HELP = ("Quality says how well the video supports the number, not how close it is to a medical "
                "measurement. Good: the heart rate was followed with certainty through the video and the beats "
                "were regular. Fair: one of the two. Poor: the pulse was clear in less than a quarter of the "
                "video. A summary is at most fair when less than half of the video was read.")
NOT_A_MEDICAL_DEVICE = "Not a medical device: a demonstration and research tool."

#: The stages of AnalysisResult.timings_s in words, in display order ("model" and "model_window" together).
TIMING_STAGES = (("decode", ("decode",), "reading the video file"),
                 ("face", ("face",), "finding and tracking the face"),
                 ("model", ("model", "model_window"), "pulse from the skin colour (method)"),
                 ("signal", ("signal",), "heart rate and quality check"),
                 ("total", ("total",), "total"))


def method_label(name: str, source: str | None = None) -> str:
    return explain.method_label(name, source)


def hr_badge(reading, label: str = "Heart rate", n_windows: int | None = None, details: bool = True) -> None:
    """The heart rate with its quality badge, range, coverage and quality in words; or a warning box
    "no reading: <reason>".

    Args:
        reading: kdphys.signal.quality.HrReading. n_windows: windows of the recording (for "4 of 11 windows").
        details: also the quality in words and the measurements behind it (an expander).
    """
    if reading.hr_bpm is None:
        st.warning(f"**{label}:** {reading.describe()}")
        return
    colour = QUALITY_COLOURS.get(reading.quality, "gray")
    st.markdown(f"### {label}: {explain.hr_text(reading)} &nbsp; :{colour}-badge[quality: {reading.quality}]",
                help=QUALITY_HELP)
    coverage = explain.coverage_text(reading, n_windows)
    if coverage:
        st.caption(coverage)
    if not details:
        return
    st.markdown(explain.quality_explanation(reading))
    with st.expander("What the quality is based on"):
        st.markdown("\n".join(f"- {line}" for line in explain.signal_details(reading)))
        st.caption(QUALITY_HELP)


def timings_table(timings_s: dict[str, float], n_frames: int) -> None:
    """Time per stage in words: seconds in all and milliseconds per video frame."""
    rows = []
    for _, keys, words in TIMING_STAGES:
        present = [k for k in keys if k in timings_s]
        if not present:
            continue
        seconds = sum(timings_s[k] for k in present)
        rows.append({"stage": words, "time (s)": f"{seconds:.2f}",
                     "per video frame (ms)": f"{1000.0 * seconds / max(n_frames, 1):.1f}"})
    st.table(rows)


def model_status_lines(statuses: dict) -> None:
    """One caption line per neural model: ready, or not trained yet."""
    for name in ("student", "teacher"):
        s = statuses[name]
        mark = ":material/check_circle:" if s.available else ":material/hourglass_empty:"
        st.caption(f"{mark} {method_label(name)}: {'ready' if s.available else 'not trained yet'}")


@dataclass(frozen=True)
class Download:
    """One file offered for download: button label, file name, MIME type and the bytes (or a callable that
    makes them when the button is pressed)."""

    label: str
    file_name: str
    mime: str
    data: object


def analysis_downloads(result, source: str, comparison=None) -> list[Download]:
    """What the analyze page offers: the per-window CSV and the per-sample waveform CSV (built in a private
    temporary folder deleted at once; no heart rate where the gate refused one), the JSON summary and the
    PDF report (made when asked for)."""
    from kdphys.explain.report import build_report

    stem = Path(source).stem or "video"
    with tempfile.TemporaryDirectory(prefix="kdphys-") as tmp:   # private (0700), removed on exit
        windows_csv = result.write_csv(Path(tmp) / "windows.csv").read_bytes()
        waveform_csv = result.write_waveform_csv(Path(tmp) / "waveform.csv").read_bytes()
    summary = json.dumps(dict(result.summary(), source=source), indent=2)
    return [Download("Report (PDF, one page)", f"{stem}_kdphys_report.pdf", "application/pdf",
                     lambda: build_report(result, source, comparison)),
            Download("Heart rate per window (CSV)", f"{stem}_kdphys_windows.csv", "text/csv", windows_csv),
            Download("Pulse waveform (CSV)", f"{stem}_kdphys_waveform.csv", "text/csv", waveform_csv),
            Download("Summary (JSON)", f"{stem}_kdphys.json", "application/json", summary)]


def download_buttons(downloads: list[Download]) -> None:
    """One button per Download, side by side."""
    for col, (i, d) in zip(st.columns(len(downloads)), enumerate(downloads)):
        col.download_button(d.label, d.data, file_name=d.file_name, mime=d.mime, key=f"dl_{i}",
                            on_click="ignore")


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
