"""Dataset loaders (UBFC-rPPG, PURE, MMPD, a folder of your own videos).

    from kdphys.data import get_dataset
    ds = get_dataset("pure", "/data/PURE")              # RppgDataset; ds.records() -> [VideoRecord]

Each loader's module docstring gives its exact on-disk format. Training clips: kdphys.pipeline.extract (the app's
engine on each record) and kdphys.data.windows.
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


def get_dataset(name: str, root: str | Path, **kwargs) -> RppgDataset:
    """The loader called ``name`` ("ubfc-rppg", "pure", "mmpd", "folder") opened at ``root``.

    ``kwargs`` go to the loader (e.g. ``where={"motion": "Stationary"}`` for MMPD).
    Raises ValueError for an unknown name, DatasetError for a missing root.
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}.")
    return DATASETS[key](root, **kwargs)
