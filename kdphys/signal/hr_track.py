"""Heart rate over time: spectra of sliding windows and a hidden Markov model that follows the pulse.

One window's spectral peak is often wrong on real video: a head movement or a change of light puts a
bigger peak somewhere else for a few seconds. The heart rate itself changes slowly (about 1 bpm per
second at most at rest or during a game), so the windows are read together: each window's normalised
spectrum is the evidence for where the heart rate is, a Gaussian step of ``max_change_bpm_per_s`` (plus a
small chance of a jump anywhere) links neighbouring windows, and forward-backward gives, for every
window, the probability of every heart rate given the whole recording (uploads) or the recent past (live).

    from kdphys.signal.hr_track import TrackSettings, track_hr
    track = track_hr(bvp_f, fps=30.0)              # bvp_f: (N,) pre-processed BVP
    track.hr_bpm, track.confidence                 # (W,) per window: HR, bpm; posterior mass near it, 0..1
    track.windows[0]                               # slice of samples the first window covers

``confidence`` is what the quality gate mostly relies on: it is high where the windows agree on a
heart rate that changes smoothly, and low where noise puts the largest peak in a different place in
every window. There are no harmonic rules: with the default pre-processing band (0.5-4 Hz) the
fundamental of a pulse is its largest spectral component from 40 to 200 bpm, and a sub-harmonic
"correction" is what halved fast heart rates before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage

from kdphys import signal as sig


@dataclass(frozen=True)
class TrackSettings:
    """Settings of the heart-rate tracker.

    Attributes:
        window_s: length of each window, s.
        hop_s: step between window ends, s.
        min_window_s: shortest window, s: recordings shorter than ``window_s`` (and, with
            ``grow=True``, the first seconds of a live stream) are read in windows from this length up.
        hr_range_bpm: (low, high) heart rates that can be read, bpm.
        state_range_bpm: (low, high) heart rates the tracker follows, bpm (cut to the filter band): wider
            than ``hr_range_bpm`` so that a 35 bpm pulse is followed as such (and refused as too slow)
            rather than read at its second harmonic.
        grid_bpm: spacing of the heart-rate states, bpm.
        max_change_bpm_per_s: standard deviation of the heart-rate change from one second to the next, bpm.
        jump_probability: chance per step that the heart rate jumps anywhere (lets the track re-lock after
            a stretch of noise).
        floor: share of a window's evidence spread evenly over all heart rates (0..1): a window whose
            spectrum is all noise cannot force the track away from where its neighbours put it.
        evidence_exponent: power each window's evidence is raised to. Windows 1 s apart share 90 % of their
            samples, so they are not independent observations: 1 counts each as one (overconfident on
            noise that lasts a few seconds), hop_s / window_s about as one per window length.
        confidence_halfwidth_bpm: the confidence of a window is the posterior probability within this
            distance of its heart rate, bpm.
    """

    window_s: float = 10.0
    hop_s: float = 1.0
    min_window_s: float = 5.0
    hr_range_bpm: tuple[float, float] = (40.0, 200.0)
    state_range_bpm: tuple[float, float] = (30.0, 220.0)
    grid_bpm: float = 0.5
    max_change_bpm_per_s: float = 2.0
    jump_probability: float = 1e-3
    floor: float = 0.1
    evidence_exponent: float = 0.2
    confidence_halfwidth_bpm: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.min_window_s <= self.window_s:
            raise ValueError(f"Need 0 < min_window_s <= window_s, got {self.min_window_s} and {self.window_s}.")
        if self.hop_s <= 0 or self.grid_bpm <= 0 or self.max_change_bpm_per_s <= 0:
            raise ValueError("hop_s, grid_bpm and max_change_bpm_per_s must be positive.")
        if not 0 < self.hr_range_bpm[0] < self.hr_range_bpm[1]:
            raise ValueError(f"hr_range_bpm must be (low, high) with 0 < low < high, got {self.hr_range_bpm}.")
        if not (0 <= self.jump_probability < 1 and 0 <= self.floor < 1):
            raise ValueError("jump_probability and floor must be in [0, 1).")


@dataclass(frozen=True)
class HrTrack:
    """The tracked heart rate, one value per window.

    Attributes:
        windows: (W,) slices of the input samples, in time order.
        t_s: (W,) window centres, s from the first sample.
        hr_bpm: (W,) heart rate, bpm: the window's own spectral peak when it lies within
            ``confidence_halfwidth_bpm`` of the posterior's most likely rate, else the posterior's mean there.
        confidence: (W,) posterior probability within ``confidence_halfwidth_bpm`` of ``hr_bpm``, 0..1.
        peak_bpm: (W,) each window's own highest spectral peak, bpm (what the window says on its own).
        grid_bpm: (K,) heart-rate states, bpm (``state_range_bpm``). posterior: (W, K) probability of each
            state per window.
    """

    windows: list[slice]
    t_s: np.ndarray
    hr_bpm: np.ndarray
    confidence: np.ndarray
    peak_bpm: np.ndarray
    grid_bpm: np.ndarray
    posterior: np.ndarray

    def __len__(self) -> int:
        return len(self.windows)


def window_slices(n: int, fps: float, settings: TrackSettings, grow: bool = False) -> list[slice]:
    """The windows a recording of ``n`` samples is read in.

    Windows of ``window_s`` end every ``hop_s`` (the last one at the last sample); with ``grow`` (live: read
    as soon as there is ``min_window_s`` of signal) the first windows start at sample 0 and grow from
    ``min_window_s``. A recording shorter than ``window_s`` but at least ``min_window_s`` long is one window.

    Args:
        n: number of samples. fps: their rate, Hz. settings: TrackSettings. grow: see above.
    Returns:
        list of slices into the samples, in time order (empty when n < min_window_s * fps).
    """
    win = int(round(settings.window_s * fps))
    shortest = int(round(settings.min_window_s * fps))
    hop = max(1, int(round(settings.hop_s * fps)))
    if n < max(shortest, 2):
        return []
    if n <= win:
        first_end = shortest if grow else n
    else:
        first_end = shortest if grow else win
    ends = list(range(n, first_end - 1, -hop))[::-1]
    return [slice(max(0, end - win), end) for end in ends]


def _state_grid(settings: TrackSettings, fps: float, band_hz) -> np.ndarray:
    low = max(settings.state_range_bpm[0], 60.0 * band_hz[0])
    high = min(settings.state_range_bpm[1], 60.0 * band_hz[1], 30.0 * fps)
    if high <= low:
        raise ValueError(f"The heart-rate range {settings.state_range_bpm} bpm lies outside the band {band_hz} Hz.")
    return np.arange(low, high + 1e-9, settings.grid_bpm)


def window_spectra(bvp_f: np.ndarray, fps: float, windows: list[slice], grid_bpm: np.ndarray,
                   band_hz) -> tuple[np.ndarray, np.ndarray]:
    """Each window's zero-padded periodogram on the heart-rate grid.

    Args:
        bvp_f: (N,) pre-processed BVP. fps: Hz. windows: slices of it. grid_bpm: (K,) bpm. band_hz: Hz.
    Returns:
        (power (W, K) normalised to sum 1 per window (uniform for a flat window), peak_bpm (W,) each
        window's highest peak, interpolated).
    """
    power = np.zeros((len(windows), grid_bpm.size))
    peaks = np.zeros(len(windows))
    for i, part in enumerate(windows):
        spec = sig.power_spectrum(bvp_f[part], fps, band_hz)
        on_grid = np.interp(grid_bpm, 60.0 * spec.freqs_hz, spec.power, left=0.0, right=0.0)
        total = on_grid.sum()
        power[i] = on_grid / total if total > 0 else 1.0 / grid_bpm.size
        keep = (60.0 * spec.freqs_hz >= grid_bpm[0]) & (60.0 * spec.freqs_hz <= grid_bpm[-1])
        if keep.any() and spec.power[keep].max() > 0:
            k = int(np.flatnonzero(keep)[np.argmax(spec.power[keep])])
            peaks[i] = 60.0 * sig.parabolic_peak_hz(spec.freqs_hz, spec.power, k)
        else:
            peaks[i] = np.nan
    return power, peaks


def forward_backward(evidence: np.ndarray, grid_bpm: np.ndarray, step_bpm: float, jump_probability: float,
                     floor: float, exponent: float = 1.0) -> np.ndarray:
    """Posterior over heart-rate states of a chain of windows (scaled forward-backward).

    Args:
        evidence: (W, K) per-window spectra, each summing to 1. grid_bpm: (K,) states, bpm (evenly spaced).
        step_bpm: standard deviation of the change between neighbouring windows, bpm.
        jump_probability: probability per step of a jump to any state. floor: share of uniform evidence.
        exponent: power the evidence (after the floor) is raised to.
    Returns:
        (W, K) posterior, each row summing to 1.
    """
    n_windows, k = evidence.shape
    if n_windows == 0:
        return evidence.copy()
    spacing = float(grid_bpm[1] - grid_bpm[0]) if k > 1 else 1.0
    sigma = step_bpm / spacing

    def step(p: np.ndarray) -> np.ndarray:
        moved = scipy.ndimage.gaussian_filter1d(p, sigma, mode="reflect", truncate=4.0)   # keeps the mass
        return (1.0 - jump_probability) * moved + jump_probability * p.sum() / k

    emit = ((1.0 - floor) * evidence + floor / k) ** exponent
    alpha = np.empty_like(emit)
    alpha[0] = emit[0] / emit[0].sum()
    for t in range(1, n_windows):
        a = step(alpha[t - 1]) * emit[t]
        alpha[t] = a / a.sum()
    beta = np.ones_like(emit)
    for t in range(n_windows - 2, -1, -1):
        b = step(beta[t + 1] * emit[t + 1])     # the Gaussian step is symmetric: its transpose is itself
        beta[t] = b / b.sum()
    post = alpha * beta
    return post / post.sum(axis=1, keepdims=True)


def track_hr(bvp_f: np.ndarray, fps: float, settings: TrackSettings | None = None,
             band_hz=sig.DEFAULT_BAND_HZ, grow: bool = False, windows: list[slice] | None = None,
             informative: np.ndarray | None = None) -> HrTrack:
    """Heart rate per window, read with every window of the recording (see the module docstring).

    Args:
        bvp_f: (N,) pre-processed BVP (signal.preprocess with ``band_hz``). fps: Hz.
        settings: TrackSettings. band_hz: (low, high) Hz of the pre-processing band.
        grow: the first windows grow from ``min_window_s`` (live).
        windows: the windows to read (default: ``window_slices(N, fps, settings, grow)``).
        informative: (W,) bool; False for windows whose spectrum says nothing (no face, say): they
            count as uniform evidence, so the track carries on through them from their neighbours.
    Returns:
        HrTrack (no windows when the recording is shorter than ``min_window_s``).
    """
    settings = settings or TrackSettings()
    z = np.asarray(bvp_f, dtype=np.float64)
    if windows is None:
        windows = window_slices(z.size, fps, settings, grow=grow)
    grid = _state_grid(settings, fps, band_hz)
    power, peaks = window_spectra(z, fps, windows, grid, band_hz)
    if informative is not None:
        power[~np.asarray(informative, bool)] = 1.0 / grid.size
    post = forward_backward(power, grid, settings.max_change_bpm_per_s * settings.hop_s,
                            settings.jump_probability, settings.floor, settings.evidence_exponent)
    hr = np.zeros(len(windows))
    confidence = np.zeros(len(windows))
    half = settings.confidence_halfwidth_bpm
    for i in range(len(windows)):
        best = float(grid[int(np.argmax(post[i]))])
        near = np.abs(grid - best) <= half
        confidence[i] = float(post[i][near].sum())
        own_peak = peaks[i] if informative is None or informative[i] else np.nan
        hr[i] = own_peak if np.isfinite(own_peak) and abs(own_peak - best) <= half else \
            float(np.sum(grid[near] * post[i][near]) / max(post[i][near].sum(), 1e-300))
    t_s = np.array([(w.start + w.stop) / 2.0 / fps for w in windows])
    return HrTrack(windows=windows, t_s=t_s, hr_bpm=hr, confidence=confidence, peak_bpm=peaks,
                   grid_bpm=grid, posterior=post)
