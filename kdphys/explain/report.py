"""A one-page PDF report of an analysis: what was analysed, the heart rate, how sure, the plots.

    from kdphys.explain.report import write_report
    write_report(result, "report.pdf", source_name="face.mp4", comparison=cmp)   # cmp optional

Built with reportlab (layout, text) and matplotlib (figures, drawn to PNG in memory). Contents: the file
name and SHA-256, the date, the method and its weights, the heart rate with its range and coverage,
its quality in words, the pulse waveform with the beats, the heart rate over time, the spectrum, the
comparison with a reference when one is given, and the "not a medical device" line. Only numbers the
quality gate accepted appear: a video without a reading shows the reason and no heart rate anywhere.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np

from kdphys import __version__
from kdphys import explain

NOT_A_MEDICAL_DEVICE = ("Not a medical device. KDPhys is a demonstration and research tool: do not use it to "
                        "diagnose, monitor or treat anyone; use a certified pulse oximeter or ECG for that.")
_RED, _BLUE, _GREY, _INK = "#c0392b", "#2471a3", "#8a949e", "#1f2933"
_FIG_DPI = 170


# ------------------------------------------------------------------------------------- figures
def _png(fig) -> io.BytesIO:
    """A matplotlib Figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_FIG_DPI, bbox_inches="tight")
    buffer.seek(0)
    return buffer


def _figure(width_in: float, height_in: float):
    """A Figure and its axes, without pyplot (no global state: reports may be made on several app threads
    at once)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in))
    ax = fig.subplots()
    ax.tick_params(labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _shade_unread(ax, t_s: np.ndarray, read: np.ndarray) -> None:
    """Grey bands over the stretches of t_s (n,) where read (n,) is False."""
    if t_s.size == 0:
        return
    edges = np.flatnonzero(np.diff(np.concatenate([[0], (~read).astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):
        ax.axvspan(t_s[start], t_s[min(stop, t_s.size - 1)], color=_GREY, alpha=0.18, lw=0)


def waveform_png(snapshot) -> io.BytesIO:
    """The pulse waveform (BVP over time) with one mark per beat; unread stretches shaded grey."""
    fig, ax = _figure(7.3, 1.3)
    t, bvp = np.asarray(snapshot.t_s), np.asarray(snapshot.bvp)
    reading_ok = snapshot.reading.hr_bpm is not None
    read = snapshot.readings.read_mask(t.size) if reading_ok else np.zeros(t.size, bool)
    _shade_unread(ax, t, read)
    ax.plot(t, bvp, color=_RED, lw=0.8)
    count = explain.count_beats(snapshot)
    if count is not None:
        peaks = snapshot.beats.peaks[snapshot.beats.peaks < t.size]
        ax.plot(t[peaks], bvp[peaks], "x", color=_INK, ms=4,
                label=f"{count.n_beats} beats marked: {count.hr_bpm:.0f} bpm by counting")
        ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 0.98), frameon=False, borderaxespad=0)
    ax.set_xlabel("time in the video (s)", fontsize=7)
    ax.set_ylabel("pulse (a.u.)", fontsize=7)
    ax.set_yticks([])
    return _png(fig)


def trend_png(snapshot, comparison=None) -> io.BytesIO | None:
    """Each 10 s window's heart rate at its centre (gaps where a window was not read), with the
    reference's when given; None when the recording gave no reading or fewer than two windows were read."""
    readings = snapshot.readings
    if snapshot.reading.hr_bpm is None or readings.accepted.sum() < 2:
        return None
    fig, ax = _figure(3.5, 1.6)
    ax.plot(readings.centres_s, readings.hr_bpm, "o-", color=_RED, ms=3, lw=1, label="video")
    if comparison is not None and len(comparison.t_s):
        ax.plot(comparison.t_s, comparison.ref_trend_bpm, "s--", color=_BLUE, ms=3, lw=1, label="reference")
        ax.legend(fontsize=7, frameon=False)
    ax.set_xlim(0, max(float(snapshot.t_s[-1]), 1.0))
    low, high = np.nanmin(readings.hr_bpm), np.nanmax(readings.hr_bpm)
    ax.set_ylim(low - 5, high + 5)
    ax.set_xlabel("time in the video (s), window centres", fontsize=7)
    ax.set_ylabel("heart rate (bpm)", fontsize=7)
    return _png(fig)


def spectrum_png(snapshot, band_hz) -> io.BytesIO | None:
    """The power spectrum in bpm with the reading's heart rate marked; None without a spectrum."""
    spec = snapshot.spectrum
    if spec is None:
        return None
    fig, ax = _figure(3.5, 1.6)
    power = np.asarray(spec.power, float)
    ax.plot(np.asarray(spec.freqs_hz) * 60.0, power / power.max() if power.max() > 0 else power, color=_INK, lw=0.9)
    if snapshot.reading.hr_bpm is not None:
        ax.axvline(snapshot.reading.hr_bpm, color=_RED, ls="--", lw=1)
        ax.text(snapshot.reading.hr_bpm + 3, 0.92, explain.hr_text(snapshot.reading), color=_RED, fontsize=7)
    ax.set_xlim(60 * band_hz[0], 60 * band_hz[1])
    ax.set_xlabel("frequency (beats per minute)", fontsize=7)
    ax.set_ylabel("power (relative)", fontsize=7)
    return _png(fig)


# ---------------------------------------------------------------------------------------- text
def _details_rows(result, source_name: str, created: dt.datetime) -> list[tuple[str, str]]:
    v = result.video
    method = result.snapshot.method
    return [("File", source_name), ("SHA-256", result.file_sha256 or "not available"),
            ("Analysed", created.strftime("%Y-%m-%d %H:%M %Z").strip()),
            ("Video", f"{v.width} × {v.height} pixels, {v.fps:.0f} frames per second, {v.duration_s:.1f} s"),
            ("Method", f"{explain.method_label(method, result.snapshot.signal_source)}; weights: {explain.weights_version(method)}; "
                       f"KDPhys {__version__}")]


def _comparison_rows(comparison) -> list[tuple[str, str]]:
    rows = [("Reference heart rate", f"{comparison.ref_hr_bpm:.0f} bpm (median of its windows)")]
    if len(comparison.t_s) == 0:
        rows.append(("Compared", "nothing: the video gave no reading"))
        return rows
    extra = comparison.read_without_reference
    rows.append(("Windows compared", f"{len(comparison.t_s)} (those the video read"
                 + (f"; {extra} more without a heart rate in the reference)" if extra else ")")))
    rows.append(("Mean absolute difference", f"{comparison.mae_bpm:.1f} bpm"))
    if np.isfinite(comparison.pearson_r):
        rows.append(("Correlation (Pearson r)", f"{comparison.pearson_r:.2f}"))
    rows.append(("Bias (video minus reference)", f"{comparison.bias_bpm:+.1f} bpm"))
    rows.append(("95% limits of agreement", f"{comparison.loa_low_bpm:+.1f} to {comparison.loa_high_bpm:+.1f} bpm"))
    return rows


def _styles():
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=17, leading=20, alignment=0, spaceAfter=2),
        "h": ParagraphStyle("h", parent=base["Heading3"], fontSize=10.5, leading=13, spaceBefore=5, spaceAfter=2),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontSize=8.5, leading=11),
        "small": ParagraphStyle("small", parent=base["BodyText"], fontSize=7.5, leading=9.5, textColor=_GREY),
        "hr": ParagraphStyle("hr", parent=base["BodyText"], fontSize=20, leading=24, textColor=_RED),
        "warn": ParagraphStyle("warn", parent=base["BodyText"], fontSize=8.5, leading=11, textColor=_RED),
    }


def _table(rows: list[tuple[str, str]], styles, col_pt: tuple[float, float]):
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    data = [[Paragraph(f"<b>{k}</b>", styles["body"]), Paragraph(_escape(v), styles["body"])] for k, v in rows]
    table = Table(data, colWidths=col_pt, hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                               ("TOPPADDING", (0, 0), (-1, -1), 1), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("LINEBELOW", (0, 0), (-1, -2), 0.25, colors.HexColor("#e1e5ea"))]))
    return table


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _image(png: io.BytesIO, width_pt: float):
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    w, h = ImageReader(png).getSize()
    png.seek(0)
    return Image(png, width=width_pt, height=width_pt * h / w)


def _story(result, source_name: str, comparison, created: dt.datetime, width_pt: float) -> list:
    from reportlab.platypus import Paragraph, Spacer

    st = _styles()
    snap = result.snapshot
    reading = snap.reading
    story = [Paragraph("Heart-rate report", st["title"]),
             Paragraph("KDPhys: heart rate from the colour of facial skin in a video (remote "
                       "photoplethysmography)", st["small"]),
             Spacer(1, 4), Paragraph(f"<b>{_escape(NOT_A_MEDICAL_DEVICE)}</b>", st["warn"]),
             Paragraph("What was analysed", st["h"]),
             _table(_details_rows(result, source_name, created), st, (80, width_pt - 80)),
             Paragraph("Result", st["h"])]
    if reading.hr_bpm is None:
        story.append(Paragraph("No reading", st["hr"]))
    else:
        story.append(Paragraph(f"Heart rate: {explain.hr_text(reading)}", st["hr"]))
        story.append(Paragraph(_escape(explain.coverage_text(reading, len(snap.readings.windows))) + ".", st["body"]))
    story.append(Paragraph(_escape(explain.quality_explanation(reading)), st["body"]))
    details = explain.signal_details(reading)
    if details:
        story.append(Paragraph(_escape(" ".join(details)), st["small"]))
    story.append(Paragraph("Pulse waveform", st["h"]))
    if len(snap.t_s):
        story.append(_image(waveform_png(snap), width_pt))
        story.append(Paragraph("One mark per beat, only in the parts of the video that were read; grey: not read "
                               "(the pulse was not clear enough there).", st["small"]))
    else:
        story.append(Paragraph("No waveform: no signal was recorded.", st["body"]))
    story += _plot_row(snap, result.settings.band_hz, comparison, width_pt, st)
    if comparison is not None:
        story.append(Paragraph("Comparison with the reference", st["h"]))
        story.append(_table(_comparison_rows(comparison), st, (150, width_pt - 150)))
    story.append(Spacer(1, 6))
    story.append(Paragraph(f"{_escape(NOT_A_MEDICAL_DEVICE)} KDPhys {__version__}.", st["small"]))
    return story


def _plot_row(snap, band_hz, comparison, width_pt: float, st) -> list:
    """Heart rate over time and the spectrum side by side (or a sentence where a plot has nothing)."""
    from reportlab.platypus import Paragraph, Table, TableStyle

    half = width_pt / 2 - 6
    trend = trend_png(snap, comparison)
    spectrum = spectrum_png(snap, band_hz)
    left = [Paragraph("Heart rate over time", st["h"]),
            _image(trend, half) if trend is not None else
            Paragraph("Not shown: fewer than two 10 s windows were read.", st["body"])]
    right = [Paragraph("Spectrum of the pulse", st["h"]),
             _image(spectrum, half) if spectrum is not None else Paragraph("Not shown: too little signal.", st["body"])]
    table = Table([[left, right]], colWidths=(half + 6, half + 6))
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return [table]


def build_report(result, source_name: str | None = None, comparison=None, created: dt.datetime | None = None) -> bytes:
    """The report as PDF bytes (one A4 page).

    Args:
        result: kdphys.pipeline.upload.AnalysisResult.
        source_name: the file name shown (default: "video").
        comparison: kdphys.explain.ReferenceComparison, or None.
        created: the date shown (default: now, local time).
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    created = created or dt.datetime.now().astimezone()
    buffer = io.BytesIO()
    margin = 13 * mm
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title="KDPhys heart-rate report", author="KDPhys",
                            subject=source_name or "video")
    doc.build(_story(result, source_name or "video", comparison, created, A4[0] - 2 * margin))
    return buffer.getvalue()


def write_report(result, path: str | Path, source_name: str | None = None, comparison=None,
                 created: dt.datetime | None = None) -> Path:
    """Write ``build_report`` to ``path``; returns the path."""
    path = Path(path)
    path.write_bytes(build_report(result, source_name, comparison, created))
    return path
