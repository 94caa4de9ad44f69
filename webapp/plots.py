"""Plotly figures for the app: waveform with beats, heart rate over time, spectrum, Bland-Altman.

Each function takes arrays already computed by kdphys (no signal processing here) and returns a
plotly Figure. Times in seconds, heart rates in bpm, frequencies shown in bpm (Hz x 60).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

HEIGHT_PX = 300
_MARGIN = dict(l=60, r=30, t=60, b=50)
RED, BLUE, INK, GREY = "#c0392b", "#2471a3", "#1f2933", "#8a949e"


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(title=dict(text=title, y=0.97, yanchor="top"), height=HEIGHT_PX, margin=_MARGIN,
                      xaxis_title=x_title, yaxis_title=y_title, template="plotly_white",
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"))
    return fig


def _spans(t_s: np.ndarray, flags: np.ndarray) -> list[tuple[float, float]]:
    """(start_s, end_s) of each run of True in flags (n,) over times t_s (n,)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(int), [0]])))
    return [(float(t_s[a]), float(t_s[min(b, len(t_s) - 1)])) for a, b in zip(edges[::2], edges[1::2])]


def waveform(t_s: np.ndarray, bvp: np.ndarray, peaks: np.ndarray | None = None, read: np.ndarray | None = None,
             beats_label: str = "beats", title: str = "Pulse waveform") -> go.Figure:
    """The pulse (n,) over time t_s (n,) s; beats (indices into bvp) as marks; stretches where ``read``
    (n,) bool is False shaded grey ("not read")."""
    t_s, bvp = np.asarray(t_s, float), np.asarray(bvp, float)
    fig = go.Figure(go.Scatter(x=t_s, y=bvp, mode="lines", name="pulse", line=dict(color=RED, width=1.5)))
    if read is not None and len(read) == len(t_s):
        for start, end in _spans(t_s, ~np.asarray(read, bool)):
            fig.add_vrect(x0=start, x1=end, fillcolor=GREY, opacity=0.15, line_width=0)
        if (~np.asarray(read, bool)).any():   # a legend entry for the shading
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="not read",
                                     marker=dict(color=GREY, symbol="square", size=12, opacity=0.4)))
    if peaks is not None and len(peaks):
        peaks = np.asarray(peaks, dtype=int)
        peaks = peaks[(peaks >= 0) & (peaks < len(bvp))]
        fig.add_trace(go.Scatter(x=t_s[peaks], y=bvp[peaks], mode="markers", name=beats_label,
                                 marker=dict(color=INK, size=8, symbol="x")))
    fig = _layout(fig, title, "time in the video (s)", "pulse (arbitrary units)")
    fig.update_yaxes(showticklabels=False)
    return fig


def overlaid_waveforms(curves: dict[str, tuple[np.ndarray, np.ndarray]],
                       title: str = "Pulse waveforms (each scaled to the same spread)") -> go.Figure:
    """Several (t_s, bvp) curves on one axis; each is z-scored for display so that shapes compare."""
    fig = go.Figure()
    for name, (t_s, bvp) in curves.items():
        bvp = np.asarray(bvp, dtype=float)
        sd = bvp.std()
        fig.add_trace(go.Scatter(x=t_s, y=(bvp - bvp.mean()) / sd if sd > 0 else bvp, mode="lines", name=name))
    fig = _layout(fig, title, "time in the video (s)", "pulse (scaled)")
    fig.update_yaxes(showticklabels=False)
    return fig


def hr_trend(t_s: np.ndarray, hr_bpm: np.ndarray, ref: tuple[np.ndarray, np.ndarray] | None = None,
             duration_s: float | None = None, title: str = "Heart rate over time") -> go.Figure:
    """Each window's heart rate (m,) at its centre t_s (m,) s, NaN where a window was not read (the line
    breaks there); optional reference (t_s, hr_bpm); the x axis spans the video (``duration_s``)."""
    fig = go.Figure(go.Scatter(x=t_s, y=hr_bpm, mode="lines+markers", name="video", line=dict(color=RED),
                               connectgaps=False))
    if ref is not None:
        fig.add_trace(go.Scatter(x=ref[0], y=ref[1], mode="lines+markers", name="reference",
                                 line=dict(color=BLUE, dash="dash")))
    fig = _layout(fig, title, "time in the video (s), centre of each 10 s window", "heart rate (bpm)")
    if duration_s:
        fig.update_xaxes(range=[0, duration_s])
    values = np.concatenate([np.asarray(hr_bpm, float)] + ([np.asarray(ref[1], float)] if ref is not None else []))
    values = values[np.isfinite(values)]
    if values.size:
        fig.update_yaxes(range=[float(values.min()) - 5, float(values.max()) + 5])
    return fig


def spectrum(freqs_hz: np.ndarray, power: np.ndarray, peak_hz: float | None = None,
             band_hz: tuple[float, float] | None = None, title: str = "Spectrum of the pulse") -> go.Figure:
    """Power (f,) against frequency (f,) in Hz, drawn in bpm, with the reading's heart rate marked."""
    f_bpm = np.asarray(freqs_hz) * 60.0
    p = np.asarray(power, dtype=float)
    p = p / p.max() if p.size and p.max() > 0 else p
    fig = go.Figure(go.Scatter(x=f_bpm, y=p, mode="lines", name="power", line=dict(color=INK)))
    if peak_hz is not None:
        fig.add_vline(x=peak_hz * 60, line=dict(color=RED, dash="dash"),
                      annotation_text=f"heart rate {peak_hz * 60:.0f} bpm", annotation_position="top right")
    if band_hz is not None:
        fig.update_xaxes(range=[band_hz[0] * 60, band_hz[1] * 60])
    return _layout(fig, title, "frequency (beats per minute)", "power (relative to the peak)")


def bland_altman(est_bpm: np.ndarray, ref_bpm: np.ndarray, bias: float, loa_low: float, loa_high: float,
                 title: str = "Bland–Altman: video minus reference") -> go.Figure:
    """Differences est - ref against means, with the bias and the 95% limits of agreement as lines whose
    labels sit inside the plot (values from kdphys.evaluation.metrics)."""
    est, ref = np.asarray(est_bpm, float), np.asarray(ref_bpm, float)
    fig = go.Figure(go.Scatter(x=(est + ref) / 2, y=est - ref, mode="markers", name="10 s windows",
                               marker=dict(color=BLUE, size=9)))
    lines = ((loa_high, f"upper limit {loa_high:+.1f} bpm", "dot"), (bias, f"bias {bias:+.1f} bpm", "solid"),
             (loa_low, f"lower limit {loa_low:+.1f} bpm", "dot"))
    for y, name, dash in lines:
        fig.add_hline(y=y, line=dict(color=RED, dash=dash), annotation_text=name, annotation_position="top left",
                      annotation_font_size=12)
    fig = _layout(fig, title, "mean of video and reference (bpm)", "difference (bpm)")
    spread = max(abs(loa_high), abs(loa_low), float(np.max(np.abs(est - ref))) if est.size else 1.0, 1.0)
    fig.update_yaxes(range=[-1.4 * spread, 1.4 * spread])
    if est.size:
        mean = (est + ref) / 2
        fig.update_xaxes(range=[float(mean.min()) - 3, float(mean.max()) + 3])
    return fig


def live_waveform(t_s: np.ndarray, bvp: np.ndarray) -> go.Figure:
    """The live window: pulse (n,) against seconds before now (last sample = 0)."""
    t = np.asarray(t_s, float)
    t = t - t[-1] if t.size else t
    fig = go.Figure(go.Scatter(x=t, y=bvp, mode="lines", line=dict(color=RED, width=1.5)))
    fig.update_layout(height=220, margin=dict(l=40, r=10, t=10, b=40), template="plotly_white",
                      xaxis_title="seconds before now", yaxis_title="pulse")
    fig.update_yaxes(showticklabels=False)
    return fig
