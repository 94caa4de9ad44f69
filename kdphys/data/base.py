"""What every dataset loader shares (rPPG-Toolbox's BaseLoader idea): records and frame sources.

A loader (ubfc_rppg, pure, mmpd, folder) only parses its on-disk format into ``VideoRecord``s:

* where the frames come from: a ``FrameSource`` (iterate ``(rgb, t_s)`` one frame at a time, plus a
  nominal ``fps``): a video file, a folder of PNG images, or a video array inside a .mat file;
* the reference waveform ``bvp`` with its times ``bvp_t_s`` on the same clock as the frames
  (first frame = 0 s).

Everything after that is shared: ``kdphys.pipeline.extract`` runs a record's frames through the app's engine (face
tracking, skin crops, resampling of the true frame times onto a uniform grid, the BVP at the grid times),
and ``kdphys.data.windows`` cuts training clips from the result.

    ds = UBFCrPPG("/data/UBFC/DATASET_2")
    rec = ds.records()[0]                       # VideoRecord
    for rgb, t_s in rec.frames: ...             # (H, W, 3) uint8 RGB, seconds
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kdphys.errors import KDPhysError


class DatasetError(KDPhysError, ValueError):
    """A dataset root, a record, or a ground-truth file is missing or malformed (message says which)."""


# ------------------------------------------------------------------------------------------ frame sources
class FrameSource(ABC):
    """Where a record's frames come from. Iterating yields ``(rgb, t_s)`` one frame at a time.

    ``rgb`` is (H, W, 3) uint8 RGB; ``t_s`` is the frame time in seconds, first frame = 0, increasing.

    Attributes:
        path: the file or folder the frames are read from.
        fps: nominal frame rate, frames per second.
        n_frames: number of frames (an estimate for some containers; None when unknown).
    """

    path: Path

    @property
    @abstractmethod
    def fps(self) -> float: ...

    @property
    def n_frames(self) -> int | None:
        return None

    @abstractmethod
    def __iter__(self) -> Iterator[tuple[np.ndarray, float]]: ...


class VideoFileSource(FrameSource):
    """Frames of a video file, decoded one at a time by ``kdphys.io.video.iter_frames`` (times from the container)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._info = None

    def _probe(self):
        if self._info is None:
            from kdphys.io.video import probe
            self._info = probe(self.path)
        return self._info

    @property
    def fps(self) -> float:
        return float(self._probe().fps)

    @property
    def n_frames(self) -> int | None:
        return int(self._probe().n_frames)

    def __iter__(self) -> Iterator[tuple[np.ndarray, float]]:
        from kdphys.io.video import iter_frames
        for frame in iter_frames(self.path):
            yield frame.rgb, float(frame.t_s)


class ImageSequenceSource(FrameSource):
    """Frames stored as image files (PNG, lossless), one file per frame, with known times.

    Args:
        paths: image files in presentation order, (N,).
        t_s: (N,) frame times in seconds, first = 0, increasing.
    """

    def __init__(self, paths: Sequence[Path], t_s: np.ndarray, folder: Path | None = None):
        if len(paths) != len(t_s):
            raise ValueError(f"{len(paths)} image files but {len(t_s)} times")
        self.paths = [Path(p) for p in paths]
        self.t_s = np.asarray(t_s, dtype=np.float64)
        self.path = Path(folder) if folder is not None else self.paths[0].parent

    @property
    def fps(self) -> float:
        if len(self.t_s) < 2:
            return 0.0
        return float(1.0 / np.median(np.diff(self.t_s)))

    @property
    def n_frames(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[tuple[np.ndarray, float]]:
        import cv2
        for path, t in zip(self.paths, self.t_s):
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise DatasetError(f"Cannot read image {path}: the file is missing or not an image. "
                                   "Restore it from the dataset archive or remove the recording.")
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), float(t)


class MatVideoSource(FrameSource):
    """A video stored as an array in a MATLAB .mat file (v5, read with ``scipy.io.loadmat``).

    The array ``key`` has shape (T, H, W, 3), RGB, either float in 0..1 (scaled by 255 and rounded) or
    uint8. A v5 .mat cannot be read partially, so the whole array is loaded when iteration starts and
    released when it ends; frames are still handed out (and converted to uint8) one at a time.
    """

    def __init__(self, path: str | Path, key: str = "video", fps: float = 30.0):
        self.path = Path(path)
        self.key = key
        self._fps = float(fps)

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def n_frames(self) -> int | None:
        from scipy.io import whosmat
        for name, shape, _cls in whosmat(self.path):
            if name == self.key and len(shape) == 4:
                return int(shape[0])
        return None

    def __iter__(self) -> Iterator[tuple[np.ndarray, float]]:
        from scipy.io import loadmat
        video = loadmat(self.path, variable_names=[self.key]).get(self.key)
        if video is None or video.ndim != 4 or video.shape[-1] != 3:
            shape = None if video is None else video.shape
            raise DatasetError(f"{self.path}: variable {self.key!r} should be a (T, H, W, 3) RGB video array, "
                               f"found shape {shape}.")
        for i in range(video.shape[0]):
            yield _to_uint8(video[i], self.path, i), i / self._fps


def _to_uint8(frame: np.ndarray, path: Path, index: int) -> np.ndarray:
    """(H, W, 3) float 0..1 or uint8 -> contiguous uint8."""
    if frame.dtype == np.uint8:
        return np.ascontiguousarray(frame)
    if np.issubdtype(frame.dtype, np.floating):
        if frame.max(initial=0.0) > 1.0 + 1e-3:
            raise DatasetError(f"{path}: frame {index} has float values above 1; float videos must be in 0..1.")
        return np.ascontiguousarray(np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8))
    raise DatasetError(f"{path}: video dtype {frame.dtype} is neither uint8 nor float in 0..1.")


# ------------------------------------------------------------------------------------------------ records
@dataclass(frozen=True, eq=False)
class VideoRecord:
    """One recording: frames plus the reference pulse on the same clock.

    Attributes:
        subject_id: the person (for subject-wise splits), e.g. "subject3" (UBFC), "01" (PURE).
        video_path: the file or folder the frames come from (video file, PNG folder, .mat file).
        bvp: (M,) reference waveform (PPG/BVP), float64, arbitrary units; (0,) when only HR is known.
        bvp_t_s: (M,) sample times of ``bvp`` in seconds, same clock as the frames (first frame = 0).
        hr_bpm: mean reference heart rate over the recording, bpm (None when the dataset has none).
        record_id: unique within the dataset, e.g. "subject3", "01-02", "p1_0"; defaults to the file stem.
        source: the ``FrameSource``; None = ``VideoFileSource(video_path)``.
        meta: extra labels (MMPD: light, motion, skin_color, ...), scalar values.
        dataset: name of the dataset the record comes from ("ubfc-rppg", "pure", ...).
    """

    subject_id: str
    video_path: Path
    bvp: np.ndarray = field(repr=False)
    bvp_t_s: np.ndarray = field(repr=False)
    hr_bpm: float | None
    record_id: str = ""
    source: FrameSource | None = field(default=None, repr=False)
    meta: Mapping[str, Any] = field(default_factory=dict)
    dataset: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "video_path", Path(self.video_path))
        if not self.record_id:
            object.__setattr__(self, "record_id", self.video_path.stem)

    @property
    def frames(self) -> FrameSource:
        """The frame source: iterate it for ``(rgb (H, W, 3) uint8, t_s)``."""
        return self.source if self.source is not None else VideoFileSource(self.video_path)

    @property
    def has_waveform(self) -> bool:
        return len(self.bvp) >= 2


class RppgDataset(ABC):
    """A dataset: a name and its records. Loaders implement ``_scan``; ``records`` scans once and checks.

    Subclasses set ``name`` and ``layout`` (one line saying what is expected on disk, used in errors).
    A subclass may also override ``records`` directly (e.g. a fixed list of records).
    """

    name: str = "dataset"
    layout: str = ""
    root: Path | None = None

    def records(self) -> list[VideoRecord]:
        """All recordings, in a stable (natural) order. Raises DatasetError when there are none."""
        cached = getattr(self, "_records", None)
        if cached is None:
            cached = self._scan()
            if not cached:
                raise DatasetError(f"No {self.name} recordings found under {self.root}. Expected {self.layout}.")
            self._records = cached
        return list(cached)

    def _scan(self) -> list[VideoRecord]:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.records())

    def subjects(self) -> list[str]:
        """Sorted (natural order) unique subject ids."""
        return sorted({r.subject_id for r in self.records()}, key=natural_key)

    def select(self, **criteria: Any) -> RppgDataset:
        """The records whose ``meta`` (or attribute: subject_id, record_id) matches every criterion.

        A criterion's value is one allowed value or a collection of them, e.g.
        ``ds.select(skin_color=[5, 6], motion="Stationary")``. Raises DatasetError for an unknown key
        or when nothing matches (the message lists the values present).
        """
        kept = filter_records(self.records(), criteria)
        return RecordList(self.name, kept, root=self.root)


class RecordList(RppgDataset):
    """A dataset made of given records (a filtered view or a split); keeps the parent's ``name``."""

    def __init__(self, name: str, records: Sequence[VideoRecord], root: Path | None = None):
        self.name = name
        self.root = root
        self.layout = "a non-empty list of records"
        self._records = list(records)


def filter_records(records: Sequence[VideoRecord], criteria: Mapping[str, Any]) -> list[VideoRecord]:
    """Records matching every ``key=value`` (or ``key=[values]``) in ``criteria`` (see ``RppgDataset.select``)."""
    kept = list(records)
    for key, wanted in criteria.items():
        allowed = _as_collection(wanted)
        values = [_record_value(r, key) for r in records]
        if all(v is _MISSING for v in values):
            known = sorted({k for r in records for k in r.meta} | {"subject_id", "record_id"})
            raise DatasetError(f"Unknown filter {key!r}; the records have: {', '.join(known)}.")
        kept = [r for r in kept if _record_value(r, key) in allowed]
        if not kept:
            present = sorted({str(v) for v in values if v is not _MISSING})
            raise DatasetError(f"No records with {key} in {sorted(map(str, allowed))}; values present: "
                               f"{', '.join(present)}.")
    return kept


_MISSING = object()


def _record_value(record: VideoRecord, key: str) -> Any:
    if key in record.meta:
        return record.meta[key]
    if key in ("subject_id", "record_id", "dataset"):
        return getattr(record, key)
    return _MISSING


def _as_collection(value: Any) -> Collection:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def natural_key(text: str) -> list:
    """Sort key that orders "subject2" before "subject10"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(text))]


def check_root(root: str | Path, name: str, layout: str) -> Path:
    """``root`` as a Path; DatasetError when it is not an existing folder."""
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetError(f"{name} root {path} does not exist. Pass the folder that holds {layout}.")
    if not path.is_dir():
        raise DatasetError(f"{name} root {path} is a file, not a folder. Pass the folder that holds {layout}.")
    return path


def mean_hr_bpm(hr_values: np.ndarray) -> float | None:
    """Mean of the positive, finite heart-rate samples (oximeters write 0 while they settle), or None."""
    hr = np.asarray(hr_values, dtype=np.float64)
    hr = hr[np.isfinite(hr) & (hr > 0)]
    return float(hr.mean()) if hr.size else None


def check_signal(path: Path, t_s: np.ndarray, values: np.ndarray, what: str = "waveform") -> None:
    """DatasetError unless ``t_s`` and ``values`` are finite, equally long (>= 2) and ``t_s`` never decreases."""
    if len(t_s) != len(values):
        raise DatasetError(f"{path}: {len(values)} {what} samples but {len(t_s)} timestamps; the file is truncated "
                           "or malformed.")
    if len(t_s) < 2:
        raise DatasetError(f"{path}: fewer than two {what} samples.")
    if not (np.all(np.isfinite(t_s)) and np.all(np.isfinite(values))):
        raise DatasetError(f"{path}: the {what} or its timestamps contain NaN or infinite values.")
    if np.any(np.diff(t_s) < 0) or t_s[-1] <= t_s[0]:
        raise DatasetError(f"{path}: timestamps must increase; this file's go backwards.")
