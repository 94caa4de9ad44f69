"""Your own videos: a folder of video files, each with a reference CSV of the same name.

On-disk format (the folder itself, not its subfolders)::

    <root>/<stem>.mp4        a video: .mp4 .avi .mov .mkv .webm .m4v (any case)
    <root>/<stem>.csv        its reference, required
    <root>/<stem>.json       optional sidecar: "subject_id" (str), "hr_bpm" (number), any other fields

The CSV is comma-separated with a header row; column names are matched after trimming spaces and
lower-casing, extra columns are ignored, every data cell of the used columns must be a number:

    time_s      seconds on the video's clock (first frame = 0), non-decreasing   (required)
    bvp | ppg   reference waveform, arbitrary units                              (one of these, or)
    hr_bpm      reference heart rate, bpm                                        (both allowed)

At least one of ``bvp``, ``ppg``, ``hr_bpm`` must be present (``bvp`` and ``ppg`` together is an error).
This is what ``kdphys.data.synthetic.write_clip`` writes ({name}.mp4, {name}.csv "time_s,bvp",
{name}.json with hr_bpm), so a folder of synthetic clips loads as it is. Other files (e.g. a set's
manifest.json) are ignored.

Records: ``record_id`` = the stem; ``subject_id`` = the sidecar's "subject_id", else the stem (give
several videos of one person the same "subject_id" for subject-wise splits); ``hr_bpm`` = mean of the
``hr_bpm`` column, else the sidecar's "hr_bpm", else None; ``meta`` = the sidecar's top-level
scalar fields. A record with only ``hr_bpm`` has an empty waveform: fine for HR evaluation, refused by
the chunk cache. A video without its CSV or a malformed CSV raises ``DatasetError``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kdphys.data.base import (DatasetError, RppgDataset, VideoFileSource, VideoRecord, check_root, check_signal,
                              mean_hr_bpm, natural_key)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
LAYOUT = "video files (.mp4 .avi .mov .mkv .webm .m4v), each with <stem>.csv (header time_s plus bvp, ppg or hr_bpm)"


@dataclass(frozen=True)
class LabelTable:
    """A parsed reference CSV: t_s (N,) s; bvp (N,) waveform or None; hr_bpm (N,) bpm or None."""

    t_s: np.ndarray
    bvp: np.ndarray | None
    hr_bpm: np.ndarray | None


def read_label_csv(path: str | Path) -> LabelTable:
    """Parse a reference CSV in the format of the module docstring. Raises DatasetError when malformed."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    if not rows:
        raise DatasetError(f"{path} is empty; write a header 'time_s,bvp' (or ppg / hr_bpm) and one row per sample.")
    header = [name.strip().lower() for name in rows[0]]
    if "time_s" not in header:
        raise DatasetError(f"{path}: no time_s column (header: {', '.join(header)}). The first row must name "
                           "the columns, e.g. time_s,bvp.")
    if "bvp" in header and "ppg" in header:
        raise DatasetError(f"{path} has both bvp and ppg columns; keep one waveform column.")
    wave_name = "bvp" if "bvp" in header else "ppg" if "ppg" in header else None
    if wave_name is None and "hr_bpm" not in header:
        raise DatasetError(f"{path}: needs a bvp, ppg or hr_bpm column next to time_s (header: {', '.join(header)}).")
    used = [name for name in ("time_s", wave_name, "hr_bpm") if name in header]
    columns = {name: header.index(name) for name in used}
    data = np.empty((len(rows) - 1, len(used)), dtype=np.float64)
    for r, row in enumerate(rows[1:]):
        for c, name in enumerate(used):
            try:
                data[r, c] = float(row[columns[name]])
            except (IndexError, ValueError):
                cell = row[columns[name]] if columns[name] < len(row) else "<missing>"
                raise DatasetError(f"{path}: line {r + 2}, column {name}: {cell!r} is not a number.") from None
    t_s = data[:, 0]
    bvp = data[:, used.index(wave_name)] if wave_name else None
    hr = data[:, used.index("hr_bpm")] if "hr_bpm" in used else None
    check_signal(path, t_s, bvp if bvp is not None else hr, wave_name or "hr_bpm")
    return LabelTable(t_s=t_s, bvp=bvp, hr_bpm=hr)


def read_sidecar(path: Path) -> dict[str, Any]:
    """The optional ``<stem>.json`` as a dict ({} when absent). Raises DatasetError when it is not a JSON object."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(errors="replace"))
    except ValueError as err:
        raise DatasetError(f"{path} is not valid JSON ({err}); fix or delete it.") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path} must hold a JSON object (e.g. {{\"subject_id\": \"alice\"}}).")
    return data


class VideoFolder(RppgDataset):
    """Videos with reference CSVs in one folder (see the module docstring)."""

    name = "folder"
    layout = LAYOUT

    def __init__(self, root: str | Path):
        self.root = check_root(root, "Video folder", LAYOUT)

    def _scan(self) -> list[VideoRecord]:
        videos = [p for p in self.root.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS]
        stems = [p.stem for p in videos]
        twins = sorted({s for s in stems if stems.count(s) > 1})
        if twins:
            raise DatasetError(f"{self.root}: several videos share the name {twins[0]!r} (different extensions); "
                               "each video needs its own <stem>.csv, so rename one.")
        return [self._record(video) for video in sorted(videos, key=lambda p: natural_key(p.name))]

    def _record(self, video: Path) -> VideoRecord:
        csv_path = video.with_suffix(".csv")
        if not csv_path.is_file():
            raise DatasetError(f"{video.name} has no {csv_path.name} next to it. Add one (header time_s,bvp or "
                               "time_s,hr_bpm) or move the video out of the folder.")
        labels = read_label_csv(csv_path)
        sidecar = read_sidecar(video.with_suffix(".json"))
        hr_bpm = mean_hr_bpm(labels.hr_bpm) if labels.hr_bpm is not None else None
        if hr_bpm is None and isinstance(sidecar.get("hr_bpm"), (int, float)):
            hr_bpm = float(sidecar["hr_bpm"])
        has_wave = labels.bvp is not None
        meta = {k: v for k, v in sidecar.items() if isinstance(v, (str, int, float, bool))}
        return VideoRecord(subject_id=str(sidecar.get("subject_id", video.stem)), video_path=video,
                           bvp=labels.bvp if has_wave else np.zeros(0),
                           bvp_t_s=labels.t_s if has_wave else np.zeros(0), hr_bpm=hr_bpm, record_id=video.stem,
                           source=VideoFileSource(video), meta=meta, dataset=self.name)
