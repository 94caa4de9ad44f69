"""Dataset loaders (UBFC-rPPG, PURE, MMPD, a folder of your own videos) and the chunk cache.

    from kdphys.data import get_dataset, ChunkCache, ChunkDataset
    ds = get_dataset("pure", "/data/PURE")              # RppgDataset; ds.records() -> [VideoRecord]
    paths = ChunkCache("cache", crop_size=72, chunk_len=128).build(ds)
    clips, bvp = ChunkDataset(paths)[0]                 # (128, 3, 72, 72) float32 0..1, (128,) z-scored

Each loader's module docstring gives its exact on-disk format. The chunk cache (torch) is imported
only when used, so listing records stays light.
"""

from __future__ import annotations

from pathlib import Path

from kdphys.data.base import (DatasetError, FrameSource, ImageSequenceSource, MatVideoSource, RecordList,
                              RppgDataset, VideoFileSource, VideoRecord)
from kdphys.data.folder import VideoFolder
from kdphys.data.mmpd import MMPD
from kdphys.data.pure import PURE
from kdphys.data.ubfc_rppg import UBFCrPPG

#: Dataset names accepted by ``get_dataset`` and the loader class of each.
DATASETS: dict[str, type[RppgDataset]] = {
    "ubfc-rppg": UBFCrPPG,
    "pure": PURE,
    "mmpd": MMPD,
    "folder": VideoFolder,
}
_ALIASES = {"ubfc": "ubfc-rppg", "ubfc_rppg": "ubfc-rppg", "ubfcrppg": "ubfc-rppg", "videos": "folder"}
_LAZY = {"ChunkCache", "ChunkDataset", "BuildReport", "split_by_subject"}


def get_dataset(name: str, root: str | Path, **kwargs) -> RppgDataset:
    """The loader called ``name`` ("ubfc-rppg", "pure", "mmpd", "folder") opened at ``root``.

    ``kwargs`` go to the loader (e.g. ``where={"motion": "Stationary"}`` for MMPD).
    Raises ValueError for an unknown name, DatasetError for a missing root.
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}.")
    return DATASETS[key](root, **kwargs)


def __getattr__(name: str):
    if name in _LAZY:
        from kdphys.data import cache
        return getattr(cache, name)
    raise AttributeError(f"module 'kdphys.data' has no attribute {name!r}")


__all__ = ["DATASETS", "DatasetError", "FrameSource", "ImageSequenceSource", "MatVideoSource", "MMPD", "PURE",
           "RecordList", "RppgDataset", "UBFCrPPG", "VideoFileSource", "VideoFolder", "VideoRecord", "get_dataset",
           *sorted(_LAZY)]
