"""Training clips cut from whole recordings (kdphys.pipeline.extract), with the augmentations real video needs.

    train = TrainWindows(groups, chunk_len=128, fps=30.0, augment=AugmentSettings(), clips_per_epoch=256)
    clips, bvp = train[0]          # (T, 3, S, S) float32 in [0, 1], (T,) float32 z-scored
    val = FixedWindows(recordings, chunk_len=128)        # no augmentation, in order, with record_ids

``groups`` maps a group name ("real", "synthetic") to (share of the clips drawn from it, recordings);
inside a group a recording is drawn in proportion to its length. A clip never spans a lost face.

Augmentations (``AugmentSettings``), drawn per clip from a generator seeded by (seed, epoch, index):
- time stretch: the clip is cut from ``chunk_len * s`` source frames and resampled (linear interpolation,
  crops and reference alike) to ``chunk_len``, so a 100 bpm recording teaches 100 * s bpm; s is chosen so
  that the clip's heart rate lands uniformly in ``stretch_hr_bpm`` (within ``stretch_range``);
- crop jitter: the crop is shifted by up to ``shift_px`` and scaled by up to ``scale`` (whole clip);
- light: one gain for all channels (``gain_range``) and one per channel (white balance, ``channel_gain``),
  and a contrast change about the skin's mean (``contrast``); black (no skin) stays black.
Re-encoding at video-call bitrates happens on the videos before extraction (kdphys.data.reencode).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from kdphys.pipeline.extract import VideoSignals
from kdphys.training.config import AugmentSettings


@dataclass
class Recording:
    """A recording ready for cutting: crops (M, S, S, 3) uint8, bvp (M,) reference, face (M,) bool,
    hr_bpm (M,) the reference's heart rate around each sample (bpm), record_id, subject_id."""

    crops: np.ndarray
    bvp: np.ndarray
    face: np.ndarray
    hr_bpm: np.ndarray
    record_id: str
    subject_id: str


def make_recording(signals: VideoSignals, record_id: str, subject_id: str, fps: float = 30.0) -> Recording:
    """A Recording from extracted signals; its heart-rate curve comes from the reference's beats in 10 s
    windows every second (kdphys.data.reference.window_hr_from_beats), held at the ends."""
    from kdphys.signal.hr_track import TrackSettings, window_slices
    from kdphys.data.reference import window_hr_from_beats
    from kdphys.signal import preprocess

    bvp = np.asarray(signals.bvp_ref, np.float64)
    n = len(bvp)
    hr = np.full(n, np.nan)
    slices = window_slices(n, fps, TrackSettings())
    if slices and np.ptp(bvp) > 0:
        per_window = window_hr_from_beats(preprocess(bvp, fps), fps, slices)
        centres = np.array([(w.start + w.stop) / 2 for w in slices])
        ok = np.isfinite(per_window)
        if ok.any():
            hr = np.interp(np.arange(n), centres[ok], per_window[ok])
    return Recording(crops=signals.crops, bvp=bvp, face=np.asarray(signals.face, bool), hr_bpm=hr,
                     record_id=record_id, subject_id=subject_id)


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return ((x - x.mean()) / sd if sd > 1e-12 else x - x.mean()).astype(np.float32)


def _resample(a: np.ndarray, start: float, span: float, n: int) -> np.ndarray:
    """n samples of ``a`` (first axis) at evenly spaced times start .. start + span (linear interpolation)."""
    t = start + np.arange(n) * (span / n)
    i0 = np.clip(np.floor(t).astype(int), 0, len(a) - 1)
    i1 = np.clip(i0 + 1, 0, len(a) - 1)
    w = (t - i0).reshape((-1,) + (1,) * (a.ndim - 1))
    return (1.0 - w) * a[i0].astype(np.float32) + w * a[i1].astype(np.float32)


def _face_runs_ok(face: np.ndarray, length: int) -> np.ndarray:
    """(M - length + 1,) bool: start positions whose next ``length`` samples all have a face."""
    if len(face) < length:
        return np.zeros(0, bool)
    bad = np.concatenate([[0], np.cumsum(~face)])
    return (bad[length:] - bad[:-length]) == 0


def _jitter_crops(crops: np.ndarray, rng: np.random.Generator, aug: AugmentSettings) -> np.ndarray:
    """(T, S, S, 3) float32 crops shifted, scaled and re-lit as one clip (see the module docstring)."""
    size = crops.shape[1]
    if aug.shift_px > 0 or aug.scale > 0:
        scale = 1.0 + rng.uniform(-aug.scale, aug.scale)
        dx, dy = rng.uniform(-aug.shift_px, aug.shift_px, 2)
        centre = (size - 1) / 2.0
        matrix = np.array([[scale, 0, (1 - scale) * centre + dx], [0, scale, (1 - scale) * centre + dy]], np.float32)
        crops = np.stack([cv2.warpAffine(c, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_CONSTANT, borderValue=0) for c in crops])
    skin = crops.max(axis=-1, keepdims=True) > 0
    gain = rng.uniform(*aug.gain_range) * np.exp(rng.normal(0.0, aug.channel_gain, 3)).astype(np.float32)
    mean = crops[skin[..., 0]].mean(axis=0) if skin.any() else np.zeros(3, np.float32)
    contrast = 1.0 + rng.uniform(-aug.contrast, aug.contrast)
    out = (mean + contrast * (crops - mean)) * gain
    return np.where(skin, np.clip(out, 0.0, 255.0), 0.0).astype(np.float32)


def _as_tensors(crops: np.ndarray, bvp: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, S, S, 3) 0..255 -> (T, 3, S, S) float32 in [0, 1]; bvp z-scored (T,)."""
    clips = torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0)
    return clips, torch.from_numpy(_zscore(np.asarray(bvp, np.float64)))


class TrainWindows(Dataset):
    """Random augmented clips from groups of recordings (see the module docstring).

    Args:
        groups: {name: (share, [Recording, ...])}; shares are normalised over the groups that have clips.
        chunk_len: frames per clip T. fps: grid rate. augment: AugmentSettings (None: no augmentation).
        clips_per_epoch: the dataset's length. seed: base seed; ``set_epoch`` changes the draws.
    """

    def __init__(self, groups: dict, chunk_len: int = 128, fps: float = 30.0, augment: AugmentSettings | None = None,
                 clips_per_epoch: int = 256, seed: int = 0):
        self.chunk_len, self.fps, self.augment = int(chunk_len), float(fps), augment
        self.clips_per_epoch, self.seed, self.epoch = int(clips_per_epoch), int(seed), 0
        max_span = int(np.ceil(chunk_len * (augment.stretch_range[1] if augment else 1.0))) + 1
        self.groups = []
        for name, (share, recordings) in groups.items():
            usable = [r for r in recordings if _face_runs_ok(r.face, chunk_len + 1).any()]
            if usable and share > 0:
                lengths = np.array([len(r.bvp) for r in usable], float)
                self.groups.append((name, float(share), usable, lengths / lengths.sum()))
        if not self.groups:
            raise ValueError(f"No recording is long enough for a {chunk_len}-frame clip with a face throughout.")
        shares = np.array([g[1] for g in self.groups])
        self.group_p = shares / shares.sum()
        self.max_span = max_span

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.clips_per_epoch

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        _, _, recordings, p = self.groups[int(rng.choice(len(self.groups), p=self.group_p))]
        rec = recordings[int(rng.choice(len(recordings), p=p))]
        return self._clip(rec, rng)

    def _clip(self, rec: Recording, rng: np.random.Generator):
        aug, n = self.augment, self.chunk_len
        stretch = 1.0
        if aug is not None and rng.random() < aug.p_stretch:
            source_hr = float(np.nanmedian(rec.hr_bpm)) if np.isfinite(rec.hr_bpm).any() else np.nan
            if np.isfinite(source_hr) and source_hr > 0:
                stretch = float(np.clip(rng.uniform(*aug.stretch_hr_bpm) / source_hr, *aug.stretch_range))
        span = n * stretch
        need = int(np.ceil(span)) + 1
        ok = np.flatnonzero(_face_runs_ok(rec.face, min(need, len(rec.face))))
        if need > len(rec.face) or ok.size == 0:     # too long to stretch this much: no stretch
            span, need = float(n), n + 1
            ok = np.flatnonzero(_face_runs_ok(rec.face, need))
        start = int(rng.choice(ok))
        crops = _resample(rec.crops, start, span, n)
        bvp = _resample(rec.bvp, start, span, n)
        if aug is not None:
            crops = _jitter_crops(crops, rng, aug)
        return _as_tensors(crops, bvp)


class FixedWindows(Dataset):
    """Non-overlapping clips of ``chunk_len`` frames in order, no augmentation; ``record_ids`` names each
    clip's recording (train.validate joins a recording's clips). Clips that span a lost face are skipped."""

    def __init__(self, recordings: list[Recording], chunk_len: int = 128):
        self.items = []
        self.record_ids = []
        for rec in recordings:
            ok = _face_runs_ok(rec.face, chunk_len)
            for start in range(0, len(rec.bvp) - chunk_len + 1, chunk_len):
                if ok[start]:
                    self.items.append((rec, start))
                    self.record_ids.append(rec.record_id)
        self.chunk_len = int(chunk_len)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        rec, start = self.items[index]
        sl = slice(start, start + self.chunk_len)
        return _as_tensors(rec.crops[sl].astype(np.float32), rec.bvp[sl])
