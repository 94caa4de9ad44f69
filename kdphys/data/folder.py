"""Your own videos: a folder of video files, each with a reference CSV of the same name.

On-disk format (the folder itself, not its subfolders)::

    <root>/<stem>.mp4        a video: .mp4 .avi .mov .mkv .webm .m4v (any case)
    <root>/<stem>.csv        its reference, required
    <root>/<stem>.json       optional sidecar: "subject_id" (str), "hr_bpm" (number), any other fields

The CSV is read by the one reference parser (kdphys.data.reference.read_reference_table): a header row,
every data cell of the used columns a number:

    time_s      seconds on the video's clock (first frame = 0), non-decreasing   (required; or time, t)
    bvp | ppg   reference waveform, arbitrary units                              (one of these, or)
    hr_bpm      reference heart rate, bpm                                        (both allowed)

This is what ``kdphys.data.synthetic.write_clip`` writes ({name}.mp4, {name}.csv "time_s,bvp",
{name}.json with hr_bpm), so a folder of synthetic clips loads as it is. Other files (e.g. a set's
manifest.json) are ignored.

Records: ``record_id`` = the stem; ``subject_id`` = the sidecar's "subject_id", else the stem (give
several videos of one person the same "subject_id" for subject-wise splits); ``hr_bpm`` = mean of the
``hr_bpm`` column, else the sidecar's "hr_bpm", else None; ``meta`` = the sidecar's top-level
scalar fields. A record with only ``hr_bpm`` has an empty waveform: fine for HR evaluation, not for
training. A video without its CSV or a malformed CSV raises ``DatasetError``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from kdphys.data.base import (DatasetError, RppgDataset, VideoFileSource, VideoRecord, check_root, check_signal,
                              mean_hr_bpm, natural_key)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
LAYOUT = "video files (.mp4 .avi .mov .mkv .webm .m4v), each with <stem>.csv (header time_s plus bvp, ppg or hr_bpm)"


def read_label_csv(path: str | Path):
    """A video's reference CSV (kdphys.data.reference.read_reference_table: time, then bvp/ppg and/or hr_bpm),
    checked as a signal. Raises DatasetError (ReferenceError) when malformed."""
    from kdphys.data.reference import read_reference_table

    path = Path(path)
    table = read_reference_table(path, name=str(path))
    values = table.waveform if table.waveform is not None else table.hr_bpm
    check_signal(path, table.t_s, values, "waveform" if table.waveform is not None else "hr_bpm")
    return table


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
        has_wave = labels.waveform is not None
        meta = {k: v for k, v in sidecar.items() if isinstance(v, (str, int, float, bool))}
        return VideoRecord(subject_id=str(sidecar.get("subject_id", video.stem)), video_path=video,
                           bvp=labels.waveform if has_wave else np.zeros(0),
                           bvp_t_s=labels.t_s if has_wave else np.zeros(0), hr_bpm=hr_bpm, record_id=video.stem,
                           source=VideoFileSource(video), meta=meta, dataset=self.name)
