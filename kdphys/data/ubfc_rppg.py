"""UBFC-rPPG (Bobbia et al. 2019): webcam videos with a contact pulse oximeter (CMS50E) reference.

On-disk format. Every folder under ``root`` (searched recursively, so ``root`` may be ``DATASET_2`` or
the folder above it) that holds a ``vid.avi`` (or ``vid.mp4``, as in re-encoded copies) is one recording; its ground truth sits next to it in
one of the two layouts of the release:

* DATASET_2 ("realistic", 42 subjects): ``subjectN/vid.avi`` + ``subjectN/ground_truth.txt``. The text
  file has three non-empty lines of whitespace-separated numbers (plain or scientific notation), one
  column per sample and the same number of samples on each line:

      line 1: PPG waveform (arbitrary units)
      line 2: heart rate, bpm
      line 3: timestamps, seconds

* DATASET_1 ("simple", 8 videos): ``<name>/vid.avi`` + ``<name>/gtdump.xmp``. Despite the extension
  this is a CSV file, one row per oximeter sample and four comma-separated numbers per row:

      timestamp (ms), heart rate (bpm), SpO2 (%), PPG waveform (arbitrary units)

Videos are 640x480, 8-bit RGB, about 30 fps (uncompressed/lossless in the release); they are read with
``kdphys.io.video.iter_frames`` and their frame times come from the container.

Alignment: the oximeter was recorded together with the video, so the first ground-truth timestamp is
taken as the first frame: ``bvp_t_s = t - t[0]`` (DATASET_1: milliseconds / 1000).

Records: ``record_id`` = the folder's path relative to ``root`` ("subject1", or "DATASET_2/subject1"
when ``root`` is above), ``subject_id`` = the folder's name; ``hr_bpm`` = mean of the positive HR
samples. A ``vid.avi`` without either ground-truth file, or a malformed one, raises ``DatasetError``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from kdphys.data.base import (DatasetError, RppgDataset, VideoFileSource, VideoRecord, check_root,
                              check_signal, mean_hr_bpm, natural_key)

#: Video file names of a recording, in order of preference.
VIDEO_NAMES = ("vid.avi", "vid.mp4")
LAYOUT = ("subjectN/vid.avi (or vid.mp4) with subjectN/ground_truth.txt (DATASET_2) or <name>/vid.avi with "
          "<name>/gtdump.xmp (DATASET_1)")


def read_ground_truth_txt(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a DATASET_2 ``ground_truth.txt``.

    Returns:
        ppg (N,), hr_bpm (N,), t_s (N,) as float64; ``t_s`` as in the file (seconds).
    Raises:
        DatasetError: fewer than three lines, a non-numeric value, unequal lengths, or decreasing times.
    """
    path = Path(path)
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 3:
        raise DatasetError(f"{path}: expected three lines (PPG, HR, timestamps), found {len(lines)}. "
                           "The file is truncated; restore it from the UBFC-rPPG archive.")
    rows = []
    for number, line in zip((1, 2, 3), lines[:3]):
        try:
            rows.append(np.array([float(v) for v in line.split()], dtype=np.float64))
        except ValueError as err:
            raise DatasetError(f"{path}: line {number} has a value that is not a number ({err}).") from None
    ppg, hr, t_s = rows
    if not len(ppg) == len(hr) == len(t_s):
        raise DatasetError(f"{path}: the three lines have different lengths ({len(ppg)}, {len(hr)}, {len(t_s)}); "
                           "each should hold one value per sample.")
    check_signal(path, t_s, ppg, "PPG")
    return ppg, hr, t_s


def read_gtdump_xmp(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a DATASET_1 ``gtdump.xmp`` (CSV: timestamp ms, HR bpm, SpO2 %, PPG).

    Returns:
        ppg (N,), hr_bpm (N,), t_s (N,) float64, ``t_s`` = timestamp / 1000 (seconds, origin as in the file).
    Raises:
        DatasetError: a row with fewer than four columns or a non-numeric value, or decreasing times.
    """
    path = Path(path)
    values = []
    with open(path, newline="", errors="replace") as f:
        for number, row in enumerate(csv.reader(f), start=1):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < 4:
                raise DatasetError(f"{path}: row {number} has {len(row)} columns; expected 4 "
                                   "(timestamp ms, HR, SpO2, PPG).")
            try:
                values.append([float(cell) for cell in row[:4]])
            except ValueError as err:
                raise DatasetError(f"{path}: row {number} has a value that is not a number ({err}).") from None
    if not values:
        raise DatasetError(f"{path} is empty; expected rows of timestamp ms, HR, SpO2, PPG.")
    data = np.asarray(values, dtype=np.float64)
    t_s, hr, ppg = data[:, 0] / 1000.0, data[:, 1], data[:, 3]
    check_signal(path, t_s, ppg, "PPG")
    return ppg, hr, t_s


class UBFCrPPG(RppgDataset):
    """UBFC-rPPG DATASET_1 and DATASET_2 recordings under ``root`` (see the module docstring)."""

    name = "ubfc-rppg"
    layout = LAYOUT

    def __init__(self, root: str | Path):
        self.root = check_root(root, "UBFC-rPPG", LAYOUT)

    def _scan(self) -> list[VideoRecord]:
        by_folder: dict[Path, Path] = {}
        for name in VIDEO_NAMES[::-1]:          # vid.avi wins where a folder has both
            for video in self.root.rglob(name):
                by_folder[video.parent] = video
        folders = sorted(by_folder, key=lambda p: natural_key(p.relative_to(self.root)))
        return [self._record(by_folder[folder]) for folder in folders]

    def _record(self, video: Path) -> VideoRecord:
        folder = video.parent
        if (folder / "ground_truth.txt").is_file():
            ppg, hr, t = read_ground_truth_txt(folder / "ground_truth.txt")
        elif (folder / "gtdump.xmp").is_file():
            ppg, hr, t = read_gtdump_xmp(folder / "gtdump.xmp")
        else:
            raise DatasetError(f"{folder} has {video.name} but no ground_truth.txt (DATASET_2) or gtdump.xmp "
                               "(DATASET_1). Restore the ground-truth file or move the folder out of the root.")
        record_id = folder.relative_to(self.root).as_posix() if folder != self.root else folder.name
        return VideoRecord(subject_id=folder.name, video_path=video, bvp=ppg, bvp_t_s=t - t[0],
                           hr_bpm=mean_hr_bpm(hr), record_id=record_id, source=VideoFileSource(video),
                           dataset=self.name)
