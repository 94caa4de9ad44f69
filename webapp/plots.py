"""Plotly figures for the app: waveform with beats, HR trend, spectrum with the chosen peak, Bland-Altman.

Each function takes arrays already computed by kdphys (no signal processing here) and returns a
plotly Figure. Times in seconds, heart rates in bpm, frequencies shown in bpm (Hz x 60).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

HEIGHT_PX = 280
_MARGIN = dict(l=50, r=20, t=40, b=40)


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(title=title, height=HEIGHT_PX, margin=_MARGIN, xaxis_title=x_title, yaxis_title=y_title,
                      legend=dict(orientation="h", y=1.12, x=1, xanchor="right"), template="plotly_white")
    return fig


def waveform(t_s: np.ndarray, bvp: np.ndarray, peaks: np.ndarray | None = None,
             title: str = "Blood-volume pulse (rPPG)") -> go.Figure:
    """BVP (n,) over time t_s (n,) s, with detected beats (indices into bvp) as markers."""
    fig = go.Figure(go.Scatter(x=t_s, y=bvp, mode="lines", name="BVP", line=dict(color="#c0392b", width=1.5)))
    if peaks is not None and len(peaks):
        peaks = np.asarray(peaks, dtype=int)
        peaks = peaks[(peaks >= 0) & (peaks < len(bvp))]
        fig.add_trace(go.Scatter(x=np.asarray(t_s)[peaks], y=np.asarray(bvp)[peaks], mode="markers",
                                 name=f"beats ({len(peaks)})", marker=dict(color="#1f2933", size=7, symbol="x")))
    return _layout(fig, title, "time (s)", "BVP (a.u.)")


def overlaid_waveforms(curves: dict[str, tuple[np.ndarray, np.ndarray]],
                       title: str = "Waveforms (z-scored)") -> go.Figure:
    """Several (t_s, bvp) curves on one axis; each is z-scored for display so that shapes compare."""
    fig = go.Figure()
    for name, (t_s, bvp) in curves.items():
        bvp = np.asarray(bvp, dtype=float)
        sd = bvp.std()
        fig.add_trace(go.Scatter(x=t_s, y=(bvp - bvp.mean()) / sd if sd > 0 else bvp, mode="lines", name=name))
    return _layout(fig, title, "time (s)", "BVP (z)")


def hr_trend(t_s: np.ndarray, hr_bpm: np.ndarray, ref: tuple[np.ndarray, np.ndarray] | None = None,
             title: str = "Heart rate over time") -> go.Figure:
    """Per-window HR (m,) at window centres t_s (m,), NaN where a window was not read (the line breaks
    there); optional reference (t_s, hr_bpm)."""
    fig = go.Figure(go.Scatter(x=t_s, y=hr_bpm, mode="lines+markers", name="video", line=dict(color="#c0392b")))
    if ref is not None:
        fig.add_trace(go.Scatter(x=ref[0], y=ref[1], mode="lines+markers", name="reference",
                                 line=dict(color="#2471a3", dash="dash")))
    return _layout(fig, title, "time (s)", "HR (bpm)")


def spectrum(freqs_hz: np.ndarray, power: np.ndarray, peak_hz: float | None = None,
             band_hz: tuple[float, float] | None = None, title: str = "Power spectrum") -> go.Figure:
    """Power (f,) against frequency (f,) in Hz, drawn in bpm, with the chosen peak and the pass band."""
    f_bpm = np.asarray(freqs_hz) * 60.0
    p = np.asarray(power, dtype=float)
    p = p / p.max() if p.size and p.max() > 0 else p
    fig = go.Figure(go.Scatter(x=f_bpm, y=p, mode="lines", name="power", line=dict(color="#1f2933")))
    if band_hz is not None:
        fig.add_vrect(x0=band_hz[0] * 60, x1=band_hz[1] * 60, fillcolor="#2ecc71", opacity=0.08, line_width=0)
    if peak_hz is not None:
        fig.add_vline(x=peak_hz * 60, line=dict(color="#c0392b", dash="dash"),
                      annotation_text=f"{peak_hz * 60:.1f} bpm", annotation_position="top right")
    if band_hz is not None:
        fig.update_xaxes(range=[max(0.0, band_hz[0] * 60 - 20), band_hz[1] * 60 + 20])
    return _layout(fig, title, "frequency (bpm)", "power (normalised)")


def bland_altman(est_bpm: np.ndarray, ref_bpm: np.ndarray, bias: float, loa_low: float, loa_high: float,
                 title: str = "Bland–Altman (video − reference)") -> go.Figure:
    """Differences est - ref against means, with bias and 95% limits of agreement (values from kdphys.metrics)."""
    est, ref = np.asarray(est_bpm, float), np.asarray(ref_bpm, float)
    fig = go.Figure(go.Scatter(x=(est + ref) / 2, y=est - ref, mode="markers", name="windows",
                               marker=dict(color="#2471a3", size=8)))
    for y, name, dash in ((bias, f"bias {bias:+.2f}", "solid"), (loa_low, f"−1.96 SD {loa_low:+.2f}", "dot"),
                          (loa_high, f"+1.96 SD {loa_high:+.2f}", "dot")):
        fig.add_hline(y=y, line=dict(color="#c0392b", dash=dash), annotation_text=name,
                      annotation_position="right")
    return _layout(fig, title, "mean of video and reference (bpm)", "difference (bpm)")


def live_waveform(t_s: np.ndarray, bvp: np.ndarray) -> go.Figure:
    """The live window: BVP (n,) against seconds relative to now (last sample = 0)."""
    t = np.asarray(t_s, float)
    t = t - t[-1] if t.size else t
    fig = go.Figure(go.Scatter(x=t, y=bvp, mode="lines", line=dict(color="#c0392b", width=1.5)))
    fig.update_layout(height=220, margin=dict(l=40, r=10, t=10, b=30), template="plotly_white",
                      xaxis_title="seconds before now", yaxis_title="BVP")
    return fig
