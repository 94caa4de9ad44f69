"""Reference signals (finger oximeter, contact PPG, HR logs) from CSV files, and their heart rate.

One parser for every reference CSV (an upload's, a folder dataset's): a header row, a time column and a
waveform column, a heart-rate column, or both:

    time_s,ppg          (or bvp / timestamp,bvp as in PhysRecorder's BVP.csv)
    time_s,hr_bpm

Column names are matched case-insensitively: time: ``time_s, time, t, timestamp``; waveform:
``ppg, bvp, waveform, signal, pulse`` (one of them); heart rate: ``hr_bpm, hr, heart_rate, bpm, pulse_rate``.
Every cell of the used columns must be a number. Unix timestamps are fine: ``aligned`` subtracts the time
of the first video frame.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdphys import signal as sig
from kdphys.data.base import DatasetError

TIME_NAMES = ("time_s", "time", "t", "timestamp", "timestamps")
WAVEFORM_NAMES = ("ppg", "bvp", "waveform", "signal", "pulse")
HR_NAMES = ("hr_bpm", "hr", "heart_rate", "bpm", "pulse_rate")

#: Rate the reference waveform is resampled to before its heart rate is estimated, Hz.
REFERENCE_FPS = 30.0


class ReferenceError(DatasetError):
    """A reference CSV could not be parsed; the message says which columns are expected."""


@dataclass(frozen=True)
class ReferenceTable:
    """A parsed reference CSV: t_s (N,) s as in the file; waveform (N,) or None; hr_bpm (N,) or None."""

    t_s: np.ndarray
    waveform: np.ndarray | None
    hr_bpm: np.ndarray | None


def read_reference_table(source, name: str = "The reference CSV") -> ReferenceTable:
    """Parse a reference CSV (path, bytes or text/binary file object) as the module docstring says.

    Args:
        source: the CSV. name: how messages call it (e.g. its path).
    Raises:
        ReferenceError: empty, no time column, no or two waveform columns, a cell that is not a number, or
            fewer than two rows.
    """
    rows = [r for r in csv.reader(io.StringIO(_read_text(source))) if any(cell.strip() for cell in r)]
    if not rows:
        raise ReferenceError(f"{name} is empty; write a header such as 'time_s,bvp' and one row per sample.")
    header = [h.strip().lower() for h in rows[0]]
    t_col = _find(header, TIME_NAMES)
    if t_col is None:
        raise ReferenceError(f"{name} has no time column ({', '.join(TIME_NAMES[:4])}); header: {', '.join(header)}.")
    waves = [header.index(n) for n in WAVEFORM_NAMES if n in header]
    if len(waves) > 1:
        raise ReferenceError(f"{name} has two waveform columns ({', '.join(header[i] for i in waves)}); keep one.")
    h_col = _find(header, HR_NAMES)
    if not waves and h_col is None:
        raise ReferenceError(f"{name} needs a waveform (ppg or bvp) or heart-rate (hr_bpm) column next to the time; "
                             f"header: {', '.join(header)}.")
    used = [t_col] + waves + ([h_col] if h_col is not None else [])
    data = np.empty((len(rows) - 1, len(used)))
    for r, row in enumerate(rows[1:]):
        for c, col in enumerate(used):
            cell = row[col] if col < len(row) else "<missing>"
            try:
                data[r, c] = float(cell)
            except ValueError:
                raise ReferenceError(f"{name}: line {r + 2}, column {header[col]}: {cell!r} is not a number.") from None
    if len(data) < 2:
        raise ReferenceError(f"{name} has fewer than two data rows.")
    return ReferenceTable(t_s=data[:, 0], waveform=data[:, 1] if waves else None,
                          hr_bpm=data[:, -1] if h_col is not None else None)


@dataclass(frozen=True)
class Reference:
    """A reference recording.

    Attributes:
        t_s: (n,) sample times in seconds (increasing; origin as in the file unless aligned).
        values: (n,) waveform samples (kind "waveform") or heart rates in bpm (kind "hr").
        kind: "waveform" or "hr".
    """

    t_s: np.ndarray
    values: np.ndarray
    kind: str

    def aligned(self, t0_s: float) -> "Reference":
        """The same reference with ``t0_s`` (e.g. the first video frame's unix time) as time zero."""
        return Reference(self.t_s - t0_s, self.values, self.kind)

    def clipped(self, start_s: float, end_s: float) -> "Reference":
        keep = (self.t_s >= start_s) & (self.t_s <= end_s)
        return Reference(self.t_s[keep], self.values[keep], self.kind)

    def uniform_waveform(self, fps: float = REFERENCE_FPS) -> tuple[np.ndarray, np.ndarray]:
        """(t_s (m,), waveform (m,)) linearly resampled onto a uniform grid at ``fps``."""
        if self.kind != "waveform":
            raise ReferenceError("This reference holds heart rates, not a waveform.")
        grid = np.arange(self.t_s[0], self.t_s[-1], 1.0 / fps)
        return grid, np.interp(grid, self.t_s, self.values)

    def hr_bpm(self, band_hz: tuple[float, float] = sig.DEFAULT_BAND_HZ) -> float:
        """Heart rate over the whole reference: spectral peak of the waveform, or the mean HR column."""
        if self.kind == "hr":
            return float(np.mean(self.values))
        _, wave = self.uniform_waveform()
        return sig.spectral_hr_bpm(wave, REFERENCE_FPS, band_hz)

    def on_grid(self, t_s: np.ndarray, band_hz=sig.DEFAULT_BAND_HZ) -> np.ndarray:
        """The waveform at the video's grid times ``t_s`` (n,) s (same origin), pre-processed (n,); NaN
        outside the reference's span."""
        if self.kind != "waveform":
            raise ReferenceError("This reference holds heart rates, not a waveform.")
        t_s = np.asarray(t_s, float)
        inside = (t_s >= self.t_s[0]) & (t_s <= self.t_s[-1])
        out = np.full(t_s.size, np.nan)
        if inside.sum() >= 2:
            fps = 1.0 / float(np.median(np.diff(t_s))) if t_s.size > 1 else REFERENCE_FPS
            out[inside] = sig.preprocess(np.interp(t_s[inside], self.t_s, self.values), fps, band_hz)
        return out

    def hr_in_windows(self, t_s: np.ndarray, windows: list[slice], band_hz=sig.DEFAULT_BAND_HZ) -> np.ndarray:
        """Reference heart rate of each window of a video's grid, bpm (W,): from the oximeter's beats
        (``window_hr_from_beats``), or the mean of the heart-rate column within it; NaN without data."""
        t_s = np.asarray(t_s, float)
        if self.kind == "hr":
            out = []
            for w in windows:
                sel = (self.t_s >= t_s[w.start]) & (self.t_s <= t_s[w.stop - 1])
                out.append(float(np.mean(self.values[sel])) if sel.any() else float("nan"))
            return np.array(out)
        fps = 1.0 / float(np.median(np.diff(t_s)))
        return window_hr_from_beats(self.on_grid(t_s, band_hz), fps, windows, band_hz)


#: Beat detection on a contact PPG (``window_hr_from_beats``): beats at least this share of the tracked
#: period apart, and at least this share of the typical big beat's prominence (finger PPG beats vary in
#: height; the spacing rule keeps dicrotic waves out).
REFERENCE_BEAT_SPACING_OF_PERIOD = 0.6
REFERENCE_PROMINENCE_FRACTION = 0.2


def window_hr_from_beats(wave_f: np.ndarray, fps: float, windows: list[slice], band_hz=sig.DEFAULT_BAND_HZ
                         ) -> np.ndarray:
    """Heart rate of a clean contact PPG in each window, bpm (W,): 60 / mean beat interval. The beats are
    ``signal.hr_from_peaks``' with a spacing of 0.6 x the period that ``kdphys.signal.hr_track`` follows in the
    reference itself (so a weak beat is not skipped and a dicrotic wave not counted). A reference's own
    spectral peak splits when the heart rate swings with breathing; its beats do not. NaN where the window
    has fewer than 2 beats or missing samples.

    Args:
        wave_f: (N,) pre-processed reference waveform on the video's grid (NaN where there is none).
        fps: grid rate, Hz. windows: slices of the grid.
    """
    from kdphys.signal.hr_track import track_hr

    out = np.full(len(windows), np.nan)
    finite = np.isfinite(wave_f)
    if not windows or finite.sum() < 3:
        return out
    track = track_hr(np.where(finite, wave_f, 0.0), fps, band_hz=band_hz, windows=windows,
                     informative=np.array([finite[w].all() for w in windows]))
    for i, w in enumerate(windows):
        part = wave_f[w]
        if part.size < 3 or not np.all(np.isfinite(part)):
            continue
        beats = sig.hr_from_peaks(part, fps, band_hz,
                                  min_interval_s=REFERENCE_BEAT_SPACING_OF_PERIOD * 60.0 / track.hr_bpm[i],
                                  prominence_fraction=REFERENCE_PROMINENCE_FRACTION)
        if beats.ibi_s.size:
            out[i] = 60.0 / float(np.mean(beats.ibi_s))
    return out


def beats_from_contact_ppg(wave_f: np.ndarray, fps: float, band_hz=sig.DEFAULT_BAND_HZ) -> np.ndarray:
    """Sample indices (B,) of the beats of a clean contact PPG on a video's grid (NaN samples never hold a
    beat): ``signal.hr_from_peaks`` with the spacing and prominence of ``window_hr_from_beats``, the period
    from the median heart rate that ``kdphys.signal.hr_track`` follows in the reference."""
    from kdphys.signal.hr_track import track_hr

    finite = np.isfinite(wave_f)
    if finite.sum() < 3:
        return np.zeros(0, dtype=int)
    filled = np.where(finite, wave_f, 0.0)
    hr_bpm = float(np.median(track_hr(filled, fps, band_hz=band_hz).hr_bpm))
    beats = sig.hr_from_peaks(filled, fps, band_hz, min_interval_s=REFERENCE_BEAT_SPACING_OF_PERIOD * 60.0 / hr_bpm,
                              prominence_fraction=REFERENCE_PROMINENCE_FRACTION)
    return beats.peaks[finite[beats.peaks]]


def load_reference_csv(source: str | Path | bytes | io.IOBase) -> Reference:
    """A reference CSV (path, bytes or text/binary file object) as a Reference: its waveform when it has one,
    else its heart rates; rows with non-finite values dropped, times sorted, repeated times merged.
    Raises ReferenceError."""
    table = read_reference_table(source)
    values, kind = (table.waveform, "waveform") if table.waveform is not None else (table.hr_bpm, "hr")
    data = np.stack([table.t_s, values], axis=1)
    data = data[np.isfinite(data).all(axis=1)]
    data = data[np.argsort(data[:, 0], kind="stable")]
    data = data[np.concatenate([[True], np.diff(data[:, 0]) > 0])]
    if len(data) < 2:
        raise ReferenceError("The reference CSV has fewer than two distinct time stamps.")
    return Reference(t_s=data[:, 0], values=data[:, 1], kind=kind)


def load_frame_times_csv(path: str | Path) -> np.ndarray:
    """Frame time stamps (n,) from a CSV with columns frame,timestamp (PhysRecorder's frames_timestamp.csv)."""
    rows = list(csv.DictReader(io.StringIO(_read_text(path))))
    return np.array([float(r["timestamp"]) for r in rows])


def sample_clip_reference() -> Reference:
    """The shipped sample clip's finger-oximeter waveform (BVP.csv), aligned so that time 0 is the clip's
    first frame (frames_timestamp.csv), over its whole recording."""
    from kdphys import paths

    frame_times = load_frame_times_csv(paths.SAMPLE_FRAME_TIMES_CSV)
    return load_reference_csv(paths.SAMPLE_BVP_CSV).aligned(float(frame_times[0]))


def sample_clip_hr_bpm(band_hz: tuple[float, float] = sig.DEFAULT_BAND_HZ) -> float:
    """Oximeter heart rate (bpm) of the sample clip over the video's own span (about 71 bpm)."""
    from kdphys import paths

    frame_times = load_frame_times_csv(paths.SAMPLE_FRAME_TIMES_CSV)
    span_s = float(frame_times[-1] - frame_times[0])
    return float(sample_clip_reference().clipped(0.0, span_s).hr_bpm(band_hz))


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _read_text(source) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).read_text(encoding="utf-8-sig", errors="replace")
    if isinstance(source, bytes):
        return source.decode("utf-8-sig", errors="replace")
    data = source.read()
    return data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
