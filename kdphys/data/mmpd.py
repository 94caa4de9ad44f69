"""MMPD (Tang et al. 2023): mobile-phone videos of 33 subjects under varied light, motion and skin tone.

On-disk format (the "mini-MMPD" release that rPPG-Toolbox reads). ``root`` holds ``subject<N>``
folders, each with one MATLAB v5 file per video, ``p<N>_<M>.mat`` (read with ``scipy.io.loadmat``):

    video        (T, H, W, 3)  RGB frames, float in 0..1 in the mini set (uint8 is accepted too)
    GT_ppg       (1, T) or (T,) contact PPG, one sample per frame
    light        str  e.g. "LED-low", "LED-high", "Incandescent", "Nature"
    motion       str  e.g. "Stationary", "Stationary (after exercise)", "Rotation", "Talking", "Walking"
    exercise     str  "True" / "False"
    skin_color   int  Fitzpatrick type, 3..6
    gender       str  "male" / "female"
    glasser      str  "True" / "False"   (glasses; the dataset's spelling)
    hair_cover   str  "True" / "False"
    makeup       str  "True" / "False"

Frames are at 30 fps (``MMPD.FPS``); the PPG has one sample per frame, so ``bvp_t_s = arange(T) / 30``.
MATLAB strings come back from loadmat as 1-element str arrays and numbers as (1, 1) arrays; both are
turned into plain ``str`` / ``int`` / ``float`` in ``meta``. Listing the records reads only the labels
(``variable_names``), not the video; the video array is loaded when its frames are iterated (a v5
.mat cannot be read partially).

Records: ``record_id`` = "p<N>_<M>", ``subject_id`` = "subject<N>", ``meta`` = the eight labels above,
``hr_bpm`` = None (the files carry no HR). Filter with ``MMPD(root, where={"skin_color": [5, 6],
"motion": "Stationary"})`` or ``ds.select(...)``. A .mat without ``GT_ppg`` or with a ``video`` whose
length differs from it raises ``DatasetError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kdphys.data.base import (DatasetError, MatVideoSource, RppgDataset, VideoRecord, check_root, filter_records,
                              natural_key)

LAYOUT = "subject<N>/p<N>_<M>.mat files holding video, GT_ppg and the MMPD labels"
META_KEYS = ("light", "motion", "exercise", "skin_color", "gender", "glasser", "hair_cover", "makeup")


def read_mmpd_labels(path: str | Path) -> tuple[np.ndarray, dict[str, Any], int | None]:
    """GT_ppg, metadata and the video's frame count of one MMPD .mat, without loading the video.

    Returns:
        gt_ppg (T,) float64, meta {label: str | int | float} (labels absent from the file are left out),
        n_video_frames (None when the file has no 4-D ``video``).
    Raises:
        DatasetError: not a MATLAB file, or no numeric ``GT_ppg``.
    """
    from scipy.io import loadmat, whosmat

    path = Path(path)
    try:
        variables = {name: shape for name, shape, _cls in whosmat(path)}
        mat = loadmat(path, variable_names=["GT_ppg", *META_KEYS])
    except Exception as err:    # scipy raises ValueError/TypeError/OSError variants for non-.mat data
        raise DatasetError(f"{path} is not a readable MATLAB v5 file ({err}).") from None
    if "GT_ppg" not in mat:
        raise DatasetError(f"{path} has no GT_ppg variable; MMPD files hold video, GT_ppg and labels.")
    try:
        gt = np.asarray(mat["GT_ppg"], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DatasetError(f"{path}: GT_ppg is not numeric.") from None
    meta = {key: _scalar(mat[key]) for key in META_KEYS if key in mat}
    shape = variables.get("video")
    n_frames = int(shape[0]) if shape is not None and len(shape) == 4 else None
    return gt, meta, n_frames


def _scalar(value: Any) -> Any:
    """A loadmat label (1-element str array, (1, 1) number array) as a plain Python scalar."""
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        return " ".join(str(s).strip() for s in arr.reshape(-1)).strip()
    if arr.size == 1:
        item = arr.reshape(-1)[0].item()
        return int(item) if isinstance(item, float) and item.is_integer() else item
    return arr.tolist()


class MMPD(RppgDataset):
    """MMPD recordings under ``root`` (see the module docstring).

    Args:
        root: folder holding ``subject<N>`` folders.
        where: keep only records whose labels match, e.g. {"skin_color": [5, 6], "motion": "Stationary"}.
    """

    name = "mmpd"
    layout = LAYOUT
    FPS = 30.0

    def __init__(self, root: str | Path, where: Mapping[str, Any] | None = None):
        self.root = check_root(root, "MMPD", LAYOUT)
        self.where = dict(where or {})

    def _scan(self) -> list[VideoRecord]:
        subjects = sorted((p for p in self.root.glob("subject*") if p.is_dir()), key=lambda p: natural_key(p.name))
        records = [self._record(subject, mat) for subject in subjects
                   for mat in sorted(subject.glob("p*_*.mat"), key=lambda p: natural_key(p.stem))]
        if records and self.where:
            records = filter_records(records, self.where)
        return records

    def _record(self, subject_dir: Path, mat_path: Path) -> VideoRecord:
        gt, meta, n_frames = read_mmpd_labels(mat_path)
        if n_frames is None:
            raise DatasetError(f"{mat_path} has no (T, H, W, 3) video variable.")
        if n_frames != len(gt):
            raise DatasetError(f"{mat_path}: video has {n_frames} frames but GT_ppg has {len(gt)} samples; "
                               "they should match one to one.")
        if len(gt) < 2 or not np.all(np.isfinite(gt)):
            raise DatasetError(f"{mat_path}: GT_ppg needs at least two finite samples.")
        return VideoRecord(subject_id=subject_dir.name, video_path=mat_path, bvp=gt,
                           bvp_t_s=np.arange(len(gt)) / self.FPS, hr_bpm=None, record_id=mat_path.stem,
                           source=MatVideoSource(mat_path, "video", self.FPS), meta=meta, dataset=self.name)
