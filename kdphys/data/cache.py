"""On-disk cache of pre-processed chunks (face crops + BVP), and the torch Dataset that reads it.

    cache = ChunkCache("cache/ubfc", crop_size=72, chunk_len=128, fps=30.0)
    paths = cache.build(UBFCrPPG("/data/UBFC/DATASET_2"))        # decodes only records not cached yet
    train, val, test = split_by_subject(paths, fractions=(0.6, 0.2, 0.2), seed=0)
    loader = DataLoader(ChunkDataset(train), batch_size=8, shuffle=True)
    for clips, bvp in loader: ...        # (B, T, 3, S, S) float32 0..1, (B, T) float32 z-scored

Layout on disk, one folder per record and settings::

    <cache_dir>/<dataset>/<record_id>-<key[:12]>/chunk_00000.npz    crops (T,S,S,3) uint8, bvp (T,) float32,
                                                 chunk_00001.npz    t_s (T,) float64 grid times
                                                 manifest.json      written last: the record is complete

``key`` is the SHA-1 of the cache format version, dataset name, record id, the record's source path,
its size and modification time (a video rewritten in place, e.g. a regenerated synthetic set, gets new
chunks instead of the old video's), crop size, chunk length, fps and every ``TrackerSettings`` field. A
record whose folder has a manifest listing existing chunk files is reused without decoding a frame;
anything else (missing, interrupted build) is rebuilt. Chunk numbers keep their position in the record, so gaps show the
chunks dropped because the face was lost (counted in the manifest as ``chunks_dropped_face_lost``).
Files are plain ``np.savez`` (uncompressed: fast random reads while training), written atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from kdphys.data.base import ChunkStats, DatasetError, RppgDataset, VideoRecord, iter_chunks
from kdphys.face import TrackerSettings
from kdphys.signal import znorm

#: Bump when the chunk contents change meaning; old caches are then rebuilt (different key).
CACHE_FORMAT = 1
MANIFEST_NAME = "manifest.json"


@dataclass
class BuildReport:
    """What the last ``ChunkCache.build`` did (counts over all records of the dataset)."""

    records_built: int = 0
    records_reused: int = 0
    frames_decoded: int = 0
    chunks_written: int = 0
    chunks_reused: int = 0
    chunks_dropped_face_lost: int = 0
    record_dirs: list[Path] = field(default_factory=list)


class ChunkCache:
    """Face-crop + BVP chunks of a dataset's records, built once and reused (see the module docstring).

    Args:
        cache_dir: root folder of the cache (created when needed).
        crop_size: side S of the square face crops, pixels.
        chunk_len: frames per chunk, T.
        fps: frame rate of the chunks; frames are mapped to this uniform grid (nearest frame).
        tracker_settings: face tracker settings (``crop_size`` is overridden by the argument above).
        detector: face detector shared by the tracker (a ``FaceLandmarkDetector`` is made when None).
    """

    def __init__(self, cache_dir: str | Path, crop_size: int = 72, chunk_len: int = 128, fps: float = 30.0,
                 tracker_settings: TrackerSettings | None = None, detector: Any = None):
        if chunk_len < 1 or fps <= 0:
            raise ValueError(f"chunk_len must be >= 1 and fps > 0, got {chunk_len} and {fps}.")
        self.cache_dir = Path(cache_dir)
        self.crop_size = int(crop_size)
        self.chunk_len = int(chunk_len)
        self.fps = float(fps)
        self.tracker_settings = dataclasses.replace(tracker_settings or TrackerSettings(), crop_size=self.crop_size)
        self.detector = detector
        self.last_report = BuildReport()

    # ---------------------------------------------------------------------------------------- keys
    def key_params(self, dataset_name: str, record: VideoRecord) -> dict[str, Any]:
        """Everything the chunks of ``record`` depend on (hashed into the key)."""
        source = Path(record.video_path).resolve()
        stat = source.stat() if source.is_file() else None     # a rewritten video gets new chunks
        return {"format": CACHE_FORMAT, "dataset": dataset_name, "record_id": record.record_id,
                "source": str(source), "source_bytes": stat and stat.st_size,
                "source_mtime_ns": stat and stat.st_mtime_ns, "crop_size": self.crop_size,
                "chunk_len": self.chunk_len, "fps": self.fps,
                "tracker": dataclasses.asdict(self.tracker_settings)}

    def record_dir(self, dataset_name: str, record: VideoRecord) -> Path:
        """Folder holding the chunks of ``record`` under the current settings."""
        params = self.key_params(dataset_name, record)
        key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()
        return self.cache_dir / _safe(dataset_name) / f"{_safe(record.record_id)}-{key[:12]}"

    # --------------------------------------------------------------------------------------- build
    def build(self, dataset: RppgDataset, progress: bool = True) -> list[Path]:
        """Chunk files of every record of ``dataset``, building the missing ones.

        Returns:
            Paths of the kept chunk files, record by record, in chunk order.
        Raises:
            DatasetError: a record cannot be read or has no waveform.
        """
        from tqdm.auto import tqdm

        report = BuildReport()
        paths: list[Path] = []
        tracker = None
        bar = tqdm(dataset.records(), desc=f"chunks {dataset.name}", unit="rec", disable=not progress)
        try:
            for record in bar:
                rec_dir = self.record_dir(record.dataset or dataset.name, record)
                manifest = read_manifest(rec_dir)
                if manifest is not None:
                    report.records_reused += 1
                    report.chunks_reused += len(manifest["chunks"])
                else:
                    if tracker is None:
                        tracker = self._make_tracker()
                    manifest = self._build_record(record, record.dataset or dataset.name, rec_dir, tracker,
                                                  report)
                    report.records_built += 1
                report.chunks_dropped_face_lost += manifest["chunks_dropped_face_lost"]
                report.record_dirs.append(rec_dir)
                paths.extend(rec_dir / name for name in manifest["chunks"])
                bar.set_postfix(chunks=len(paths), dropped=report.chunks_dropped_face_lost)
        finally:
            bar.close()
            if tracker is not None and hasattr(tracker, "close"):
                tracker.close()
            self.last_report = report
        return paths

    def _make_tracker(self):
        from kdphys.face import FaceTracker
        return FaceTracker(self.tracker_settings, detector=self.detector)

    def _build_record(self, record: VideoRecord, dataset_name: str, rec_dir: Path, tracker,
                      report: BuildReport) -> dict[str, Any]:
        rec_dir.mkdir(parents=True, exist_ok=True)
        for stale in [*rec_dir.glob("*.npz"), *rec_dir.glob("*.tmp")]:   # an interrupted earlier build
            stale.unlink()
        stats = ChunkStats()
        names, dropped = [], []
        for chunk in iter_chunks(record, tracker, self.chunk_len, self.fps, stats):
            if chunk.face_lost:
                dropped.append(chunk.index)
                continue
            name = f"chunk_{chunk.index:05d}.npz"
            _atomic_write(rec_dir / name, lambda f, c=chunk: np.savez(f, crops=c.crops, bvp=c.bvp, t_s=c.t_s))
            names.append(name)
        report.frames_decoded += stats.frames_decoded
        report.chunks_written += len(names)
        manifest = {
            "format": CACHE_FORMAT, "params": self.key_params(dataset_name, record),
            "dataset": dataset_name, "record_id": record.record_id, "subject_id": record.subject_id,
            "hr_bpm": record.hr_bpm, "meta": dict(record.meta), "chunks": names,
            "chunks_dropped_face_lost": len(dropped), "dropped_chunk_indices": dropped,
            "frames_decoded": stats.frames_decoded, "grid_frames": stats.grid_frames,
        }
        text = json.dumps(manifest, indent=1, default=_json_default)
        _atomic_write(rec_dir / MANIFEST_NAME, lambda f: f.write(text.encode()))
        return manifest


def read_manifest(rec_dir: Path) -> dict[str, Any] | None:
    """The manifest of a complete record folder, or None (missing, unreadable, or a chunk file is gone)."""
    path = Path(rec_dir) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("format") != CACHE_FORMAT:
        return None
    if not all((Path(rec_dir) / name).is_file() for name in manifest.get("chunks", [])):
        return None
    return manifest


# ------------------------------------------------------------------------------------- torch dataset
class ChunkDataset(Dataset):
    """Cached chunks as tensors for training.

    Item i is ``(clips, bvp)``, or ``(clips, bvp, subject_id)`` with ``return_subject=True``:

    * clips: (T, 3, S, S) float32 RGB in 0..1;
    * bvp: (T,) float32, z-scored per chunk (zero mean, unit variance; all zeros when flat).

    Attributes:
        paths: the chunk files.
        subject_ids / record_ids: per chunk, read from each record folder's manifest.
    """

    def __init__(self, chunk_paths: Sequence[str | Path], return_subject: bool = False):
        self.paths = [Path(p) for p in chunk_paths]
        self.return_subject = return_subject
        labels = _chunk_labels(self.paths)
        self.subject_ids = [s for s, _ in labels]
        self.record_ids = [r for _, r in labels]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        with np.load(self.paths[index]) as data:
            crops, bvp = data["crops"], data["bvp"]
        clips = torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).float().div_(255.0)
        bvp_t = torch.from_numpy(zscore(bvp))
        if self.return_subject:
            return clips, bvp_t, self.subject_ids[index]
        return clips, bvp_t


def zscore(x: np.ndarray) -> np.ndarray:
    """(T,) -> float32 zero mean, unit standard deviation; zeros when the signal is flat."""
    return znorm(x).astype(np.float32)


def split_by_subject(chunk_paths: Sequence[str | Path], fractions=(0.6, 0.2, 0.2), seed: int = 0
                     ) -> tuple[list[Path], list[Path], list[Path]]:
    """Split chunk files into train, val, test so that no subject is in two parts (intra-dataset protocol).

    Uses ``kdphys.splits.subject_split`` on the chunks' subject ids, so with the same fractions and
    seed the subjects land in the same part as a record-level split.
    """
    from types import SimpleNamespace

    from kdphys.splits import subject_split

    paths = [Path(p) for p in chunk_paths]
    items = [SimpleNamespace(subject_id=s, path=p) for p, (s, _) in zip(paths, _chunk_labels(paths))]
    parts = subject_split(items, fractions, seed)
    return tuple([item.path for item in part] for part in parts)


def _chunk_labels(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """(subject_id, record_id) of each chunk file, from its folder's manifest (read once per folder)."""
    by_dir: dict[Path, tuple[str, str]] = {}
    out = []
    for path in paths:
        folder = path.parent
        if folder not in by_dir:
            try:
                manifest = json.loads((folder / MANIFEST_NAME).read_text())
            except (OSError, ValueError):
                raise DatasetError(f"{folder} has no readable {MANIFEST_NAME}; rebuild the cache with "
                                   "ChunkCache.build.") from None
            by_dir[folder] = (str(manifest["subject_id"]), str(manifest["record_id"]))
        out.append(by_dir[folder])
    return out


# ------------------------------------------------------------------------------------------ helpers
def _safe(name: str) -> str:
    """A file-name-safe version of a dataset or record id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or "_"


def _atomic_write(path: Path, write) -> None:
    """Write through ``write(file)`` into a temporary file, then rename it to ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, Path)):
        return value.tolist() if isinstance(value, np.ndarray) else str(value)
    return str(value)
