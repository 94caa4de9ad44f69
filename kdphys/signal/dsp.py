"""From a raw BVP trace to heart rate: detrend, band-pass, spectrum, beats, SNR and periodicity.

One post-processing path for every method (classical or neural), upload and live::

    from kdphys.signal import preprocess, hr_from_spectrum, hr_from_peaks
    bvp_f = preprocess(bvp, fps=30.0)                        # detrend + zero-phase band-pass 0.5-4 Hz
    est = hr_from_spectrum(bvp_f, fps=30.0)                  # fine-grid spectral peak of the whole signal
    beats = hr_from_peaks(bvp_f, fps=30.0)                   # beat-to-beat cross-check
    print(est.hr_bpm, beats.hr_bpm)

Readings over time (sliding windows read together) are in ``kdphys.signal.hr_track``; ``beats_along`` marks one
beat per cycle of such a tracked heart rate. Every estimator below (`power_spectrum`,
`hr_from_spectrum`, `hr_from_peaks`, `beats_along`, `snr_db`, `sqi_autocorr`) expects an already
pre-processed signal (`preprocess`); running `preprocess` twice is harmless (the band edges only get a
little steeper).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage
import scipy.signal
import scipy.sparse
import scipy.sparse.linalg

DEFAULT_BAND_HZ = (0.5, 4.0)        # pre-processing band, Hz: 40-200 bpm pulses keep their fundamental on top
SPECTRUM_GRID_BPM = 0.25            # zero-pad until the FFT grid is at least this fine (then parabolic)
WELCH_SEGMENT_S = 30.0              # inputs longer than 2 segments use Welch averaging


# --------------------------------------------------------------------------------------------------
# Pre-processing
# --------------------------------------------------------------------------------------------------
def _as_signal(x, name: str = "x") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D signal (N,), got shape {arr.shape}.")
    return arr


def znorm(x) -> np.ndarray:
    """(N,) -> float64 zero mean, unit standard deviation (just the mean removed when the signal is flat).

    Neural BVP outputs have no fixed scale, so windows and segments are z-normalised before they are
    joined, compared or cross-faded.
    """
    x = np.asarray(x, dtype=np.float64)
    sd = x.std()
    return (x - x.mean()) / sd if sd > 1e-12 else x - x.mean()


def detrend(x, lam: float = 100.0) -> np.ndarray:
    """Remove slow trends with the smoothness-priors method (Tarvainen et al. 2002).

    z_stat = (I - (I + lam^2 D2' D2)^-1) z, where D2 is the (N-2, N) second-difference matrix. The
    system is pentadiagonal and solved as a sparse matrix (SuperLU), so 54,000 samples (30 min at
    30 fps) take milliseconds and O(N) memory. It acts as a high-pass filter whose -6 dB point is
    f = fps / pi * asin(1 / (2 sqrt(lam))): 0.48 Hz at 30 fps for lam=100 (rPPG-Toolbox setting).

    Args:
        x: (N,) signal, any unit.
        lam: smoothing parameter (larger = smoother trend, lower cut-off).
    Returns:
        (N,) float64 signal with the trend removed (mean about 0).
    """
    z = _as_signal(x)
    n = z.size
    if n < 3:
        return z - z.mean() if n else z.copy()
    ones = np.ones(n - 2)
    d2 = scipy.sparse.diags([ones, -2.0 * ones, ones], [0, 1, 2], shape=(n - 2, n), format="csc")
    system = (scipy.sparse.identity(n, format="csc") + (lam**2) * (d2.T @ d2)).tocsc()
    trend = scipy.sparse.linalg.spsolve(system, z)
    return z - trend


def _check_band(band_hz, fps: float) -> tuple[float, float]:
    low_hz, high_hz = float(band_hz[0]), float(band_hz[1])
    if not (0.0 < low_hz < high_hz):
        raise ValueError(f"band_hz must be (low, high) with 0 < low < high, got {band_hz}.")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}.")
    if high_hz >= fps / 2.0:
        raise ValueError(
            f"The band's upper edge {high_hz} Hz must be below half the frame rate ({fps / 2.0} Hz). "
            "Use a lower upper edge or a video with a higher frame rate."
        )
    return low_hz, high_hz


def bandpass(x, fps: float, band_hz=DEFAULT_BAND_HZ, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth band-pass (second-order sections, forward-backward with `sosfiltfilt`).

    The effective magnitude response is |H|^2 (the filter runs twice), so the band edges are at -6 dB.

    Short inputs: the signal is extended at both ends by odd reflection of `padlen` samples before
    filtering, to tame the start-up transients. `padlen` is one period of the lower band edge
    (fps / low_hz samples, e.g. 60 at 30 fps and 0.5 Hz) but never more than N - 1, so any signal
    of at least 2 samples can be filtered without an error. A signal shorter than that period cannot
    contain a full cycle of the slowest pulse; its output is dominated by edge effects and is only
    good for display (the quality gate refuses readings under 5 s anyway). N < 2 returns x - mean.

    Args:
        x: (N,) signal. fps: sampling rate (Hz). band_hz: (low, high) pass band in Hz, high < fps/2.
        order: Butterworth order per band edge.
    Returns:
        (N,) float64 filtered signal.
    """
    z = _as_signal(x)
    low_hz, high_hz = _check_band(band_hz, fps)
    if z.size < 2:
        return z - z.mean() if z.size else z.copy()
    sos = scipy.signal.butter(order, [low_hz, high_hz], btype="bandpass", fs=fps, output="sos")
    padlen = min(z.size - 1, int(round(fps / low_hz)))
    return scipy.signal.sosfiltfilt(sos, z, padlen=padlen)


def preprocess(bvp, fps: float, band_hz=DEFAULT_BAND_HZ) -> np.ndarray:
    """The one post-processing path: detrend (lam=100) then zero-phase band-pass.

    Args:
        bvp: (N,) raw BVP from a method (any scale). fps: its sampling rate. band_hz: (low, high) Hz.
    Returns:
        (N,) float64 filtered BVP. Non-finite input samples are replaced by linear interpolation
        (all non-finite -> zeros) so one bad frame does not poison the whole window.
    """
    z = _as_signal(bvp, "bvp")
    bad = ~np.isfinite(z)
    if bad.any():
        if bad.all():
            z = np.zeros_like(z)
        else:
            idx = np.arange(z.size)
            z = z.copy()
            z[bad] = np.interp(idx[bad], idx[~bad], z[~bad])
    return bandpass(detrend(z), fps, band_hz)


# --------------------------------------------------------------------------------------------------
# Spectrum and spectral heart rate
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spectrum:
    """Power spectral density restricted to the band.

    freqs_hz: (F,) Hz, evenly spaced (grid <= 0.25 bpm). power: (F,) PSD (signal unit^2 / Hz).
    segment_s: length of the (Hann) segment the PSD was computed from, s; sets the main-lobe width
    (+-2 / segment_s Hz) and so the real frequency resolution.
    """

    freqs_hz: np.ndarray
    power: np.ndarray
    segment_s: float = 0.0


def _next_pow2(n: int) -> int:
    return 1 << max(int(n) - 1, 1).bit_length()


def power_spectrum(x, fps: float, band_hz=DEFAULT_BAND_HZ, n_fft_min: int = 4096) -> Spectrum:
    """Zero-padded Hann periodogram, or Welch average for inputs longer than 60 s.

    The FFT length is the largest of n_fft_min, the segment length and what gives a grid of
    SPECTRUM_GRID_BPM (0.25 bpm: 8192 points at 30 fps); `hr_from_spectrum` then interpolates the
    peak, so heart rates are not stuck on coarse steps. Up to 60 s one Hann window covers the whole
    input (finest resolution); longer inputs are split into 30 s segments with 50% overlap.

    Args:
        x: (N,) pre-processed signal, N >= 2. fps: Hz. band_hz: (low, high) Hz kept in the output.
        n_fft_min: minimum FFT length.
    Returns:
        Spectrum with the in-band frequencies and PSD.
    """
    z = _as_signal(x)
    low_hz, high_hz = _check_band(band_hz, fps)
    if z.size < 2:
        raise ValueError("power_spectrum needs at least 2 samples; record a longer signal.")
    seg = z.size if z.size <= 2 * WELCH_SEGMENT_S * fps else int(round(WELCH_SEGMENT_S * fps))
    n_fft = max(int(n_fft_min), _next_pow2(seg), _next_pow2(int(np.ceil(fps * 60.0 / SPECTRUM_GRID_BPM))))
    freqs, power = scipy.signal.welch(
        z, fs=fps, window="hann", nperseg=seg, noverlap=seg // 2, nfft=n_fft, detrend="constant"
    )
    keep = (freqs >= low_hz) & (freqs <= high_hz)
    return Spectrum(freqs_hz=freqs[keep], power=power[keep], segment_s=seg / fps)


@dataclass(frozen=True)
class HrEstimate:
    """Spectral heart rate.

    hr_bpm: heart rate, bpm. peak_hz: the highest in-band spectral peak, Hz (= hr_bpm / 60).
    spectrum: the in-band spectrum it came from.
    """

    hr_bpm: float
    peak_hz: float
    spectrum: Spectrum


def parabolic_peak_hz(freqs: np.ndarray, power: np.ndarray, k: int) -> float:
    """Frequency of the vertex of the parabola through log-power at k-1, k, k+1 (units of ``freqs``)."""
    if k <= 0 or k >= power.size - 1:
        return float(freqs[k])
    y0, y1, y2 = np.log(np.maximum(power[k - 1 : k + 2], 1e-300))
    denom = y0 - 2.0 * y1 + y2
    if denom >= 0:
        return float(freqs[k])
    delta = 0.5 * (y0 - y2) / denom
    return float(freqs[k] + np.clip(delta, -0.5, 0.5) * (freqs[1] - freqs[0]))


def _autocorr_at(z: np.ndarray, lag_samples: float) -> float:
    """Pearson correlation of z with itself shifted by a fractional lag (linear interpolation)."""
    i = int(np.floor(lag_samples))
    frac = lag_samples - i
    if lag_samples <= 0 or i + 2 > z.size - 3:
        return 0.0
    shifted = (1.0 - frac) * z[i:-1] + frac * z[i + 1 :]
    base = z[: shifted.size]
    base = base - base.mean()
    shifted = shifted - shifted.mean()
    denom = np.sqrt(np.dot(base, base) * np.dot(shifted, shifted))
    return float(np.dot(base, shifted) / denom) if denom > 0 else 0.0


def hr_from_spectrum(x, fps: float, band_hz=DEFAULT_BAND_HZ) -> HrEstimate:
    """Heart rate from the highest spectral peak in the band, refined by parabolic interpolation of
    log-power (accuracy far below 0.1 bpm for a clean pulse). This is the rPPG-Toolbox convention for
    whole-clip benchmark figures; readings over time come from ``kdphys.signal.hr_track``.

    There is no harmonic check. With the default band (0.5-4 Hz) a pulse's fundamental is its largest
    component from 40 to 200 bpm; a band whose low edge sits close to a slow pulse (0.7 Hz for a 42 bpm
    pulse) attenuates the fundamental below its second harmonic, so keep the low edge well below the
    slowest heart rate of interest.

    Args:
        x: (N,) pre-processed signal. fps: Hz. band_hz: (low, high) Hz, the plausible HR range.
    Returns:
        HrEstimate (hr_bpm, peak_hz, spectrum).
    """
    z = _as_signal(x)
    low_hz, high_hz = _check_band(band_hz, fps)
    spec = power_spectrum(z, fps, band_hz)
    if spec.power.size == 0 or not np.any(spec.power > 0):
        f_mid = 0.5 * (low_hz + high_hz)
        return HrEstimate(60.0 * f_mid, f_mid, spec)
    f_peak = parabolic_peak_hz(spec.freqs_hz, spec.power, int(np.argmax(spec.power)))
    return HrEstimate(hr_bpm=60.0 * f_peak, peak_hz=f_peak, spectrum=spec)


def spectral_hr_bpm(bvp, fps: float, band_hz=DEFAULT_BAND_HZ) -> float:
    """HR of a raw BVP (N,) through the one post-processing path: preprocess + hr_from_spectrum, bpm."""
    return float(hr_from_spectrum(preprocess(bvp, fps, band_hz), fps, band_hz).hr_bpm)


# --------------------------------------------------------------------------------------------------
# Beats
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BeatEstimate:
    """Beat-to-beat heart rate.

    hr_bpm: 60 / median inter-beat interval, bpm; None when fewer than 2 beats were found.
    peaks: (B,) int sample indices of the systolic peaks. ibi_s: (B-1,) inter-beat intervals, s
    (from sub-sample peak positions).
    """

    hr_bpm: float | None
    peaks: np.ndarray
    ibi_s: np.ndarray


PEAK_PROMINENCE_FRACTION = 0.5      # a beat's prominence must reach half the typical big one


def hr_from_peaks(x, fps: float, band_hz=DEFAULT_BAND_HZ, min_interval_s: float | None = None,
                  prominence_fraction: float = PEAK_PROMINENCE_FRACTION) -> BeatEstimate:
    """Heart rate from systolic peaks and their intervals.

    Peaks (`scipy.signal.find_peaks`) must be at least one period of the band's upper edge apart
    (fps / high_hz samples) and have a prominence of at least half the 80th percentile of all peak
    prominences (``prominence_fraction``). A dicrotic (diastolic) wave's prominence is only the depth of its notch, so it is
    dropped; a systolic peak's prominence is the whole pulse height. Peak positions are refined to a
    fraction of a sample (parabola through 3 samples) before taking intervals, so fractional heart
    rates are not rounded to the frame grid.

    Args:
        x: (N,) pre-processed signal. fps: Hz. band_hz: (low, high) Hz.
        min_interval_s: optional shortest allowed beat interval, s (e.g. 0.6 x the spectral period).
            At low heart rates the band-pass makes the diastolic wave almost as prominent as the
            systolic peak; a spacing rule from the spectral estimate keeps it from counting as a beat.
        prominence_fraction: share of the 80th-percentile prominence a peak needs (lower for a clean
            contact PPG whose beat height varies, with ``min_interval_s`` to keep dicrotic waves out).
    Returns:
        BeatEstimate(hr_bpm, peaks, ibi_s).
    """
    z = _as_signal(x)
    _low_hz, high_hz = _check_band(band_hz, fps)
    empty = BeatEstimate(None, np.zeros(0, dtype=int), np.zeros(0))
    if z.size < 3 or not np.any(z != z[0]):
        return empty
    distance = max(1, int(np.floor(fps / high_hz)))
    if min_interval_s is not None:
        distance = max(distance, int(np.floor(min_interval_s * fps)))
    peaks, props = scipy.signal.find_peaks(z, distance=distance, prominence=0.0)
    if peaks.size < 2:
        return empty
    prom = props["prominences"]
    keep = prom >= prominence_fraction * np.percentile(prom, 80)
    peaks = peaks[keep]
    if peaks.size < 2:
        return BeatEstimate(None, peaks, np.zeros(0))
    ibi_s = np.diff(_refine_peaks(z, peaks) / fps)
    return BeatEstimate(hr_bpm=float(60.0 / np.median(ibi_s)), peaks=peaks, ibi_s=ibi_s)


def beats_along(x, fps: float, hr_t_s, hr_bpm) -> BeatEstimate:
    """One beat per cycle of a known, slowly changing heart rate (e.g. ``kdphys.signal.hr_track``'s).

    The signal is demodulated at the heart rate's own phase (2 pi times the running integral of the
    rate), the result is smoothed over about one beat, and its angle corrects that phase to the pulse's.
    A beat is placed where the corrected phase passes a whole cycle, then moved to the highest sample of
    ``x`` within a quarter period of it (the systolic peak) and refined to a fraction of a sample. So the
    number of beats in a stretch equals the heart rate times its length, whatever the noise does between
    beats; a beat detector on its own (``hr_from_peaks``) misses weak beats and counts dicrotic waves.

    Args:
        x: (N,) pre-processed signal. fps: Hz.
        hr_t_s: (W,) times of the heart-rate values, s from the first sample (increasing).
        hr_bpm: (W,) heart rate at those times, bpm (held constant before the first and after the last).
    Returns:
        BeatEstimate: peaks (B,) sample indices, ibi_s (B-1,) s, hr_bpm = 60 / median IBI (None if < 2).
    """
    z = _as_signal(x)
    hr_t_s, hr_bpm = np.asarray(hr_t_s, float), np.asarray(hr_bpm, float)
    empty = BeatEstimate(None, np.zeros(0, dtype=int), np.zeros(0))
    ok = np.isfinite(hr_bpm) & (hr_bpm > 0)
    if z.size < 3 or not ok.any() or not np.any(z != z[0]):
        return empty
    t_s = np.arange(z.size) / fps
    f_hz = np.interp(t_s, hr_t_s[ok], hr_bpm[ok]) / 60.0
    phase_ref = 2.0 * np.pi * np.cumsum(f_hz) / fps
    base = z * np.exp(-1j * phase_ref)
    smooth = max(1.0, 0.5 * fps / float(np.median(f_hz)))            # half a beat, samples
    base = scipy.ndimage.gaussian_filter1d(base.real, smooth) + 1j * scipy.ndimage.gaussian_filter1d(base.imag, smooth)
    phase = phase_ref + np.unwrap(np.angle(base))
    cycles = np.floor(phase / (2.0 * np.pi))
    crossings = np.flatnonzero(np.diff(cycles) > 0) + 1
    peaks = []
    for c in crossings:
        reach = max(1, int(round(0.25 * fps / f_hz[c])))
        lo, hi = max(0, c - reach), min(z.size, c + reach + 1)
        k = lo + int(np.argmax(z[lo:hi]))
        if not peaks or k - peaks[-1] >= 0.5 * fps / f_hz[k]:
            peaks.append(k)
    peaks = np.asarray(peaks, dtype=int)
    if peaks.size < 2:
        return BeatEstimate(None, peaks, np.zeros(0))
    ibi_s = np.diff(_refine_peaks(z, peaks) / fps)
    return BeatEstimate(hr_bpm=float(60.0 / np.median(ibi_s)), peaks=peaks, ibi_s=ibi_s)


def _refine_peaks(z: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Sub-sample positions (B,) of peaks at integer indices (parabola through 3 samples)."""
    y0 = z[np.maximum(peaks - 1, 0)]
    y1 = z[peaks]
    y2 = z[np.minimum(peaks + 1, z.size - 1)]
    denom = y0 - 2.0 * y1 + y2
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(denom < 0, 0.5 * (y0 - y2) / denom, 0.0)
    return peaks + np.clip(delta, -0.5, 0.5)


# --------------------------------------------------------------------------------------------------
# Signal quality
# --------------------------------------------------------------------------------------------------
def snr_db(x, fps: float, hr_bpm: float, band_hz=DEFAULT_BAND_HZ, tol_bpm: float = 6.0) -> float:
    """Pulse SNR in dB (de Haan & Jeanne 2013): in-band power near the fundamental and its first
    harmonic (2 x HR) against the rest of the band.

    The window around each is +-tol_bpm, but never narrower than +-1 / segment_s (half the Hann
    main lobe), so that a clean pulse in a short window is not penalised for spectral leakage:
    for a 10 s window the half-width is 6 bpm, for 5 s it is 12 bpm.

    Args:
        x: (N,) pre-processed signal. fps: Hz. hr_bpm: the fundamental, bpm. band_hz: (low, high).
        tol_bpm: half-width of the signal windows, bpm.
    Returns:
        SNR in dB (+inf when there is no power outside the windows, -inf when none inside).
    """
    spec = power_spectrum(x, fps, band_hz)
    tol_hz = max(tol_bpm / 60.0, 1.0 / max(spec.segment_s, 1e-9))
    f0 = hr_bpm / 60.0
    inside = (np.abs(spec.freqs_hz - f0) <= tol_hz) | (np.abs(spec.freqs_hz - 2.0 * f0) <= tol_hz)
    p_in = float(spec.power[inside].sum())
    p_out = float(spec.power[~inside].sum())
    if p_out <= 0:
        return float("inf")
    if p_in <= 0:
        return float("-inf")
    return float(10.0 * np.log10(p_in / p_out))


def sqi_autocorr(x, fps: float, hr_bpm: float) -> float:
    """Periodicity: normalised autocorrelation at the beat lag (fps * 60 / hr_bpm samples), 0..1.

    1 = the signal repeats exactly every beat; values <= 0 are reported as 0.

    Args:
        x: (N,) pre-processed signal. fps: Hz. hr_bpm: heart rate, bpm.
    """
    z = _as_signal(x)
    if hr_bpm <= 0 or not np.isfinite(hr_bpm):
        return 0.0
    return float(np.clip(_autocorr_at(z, fps * 60.0 / hr_bpm), 0.0, 1.0))
