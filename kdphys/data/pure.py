"""PURE (Stricker et al. 2014): 10 subjects x 6 head-motion setups, lossless PNG frames and a
pulse oximeter (CMS50E, 60 Hz) reference.

On-disk format. ``root`` holds one folder per recording named ``NN-MM`` (NN subject 01..10, MM setup
01..06):

    NN-MM/NN-MM.json            ground truth and frame times
    NN-MM/NN-MM/Image<ts>.png   one lossless PNG per frame, 640x480 RGB in the release, <ts> in ns

The JSON file is an object with two lists, timestamps in nanoseconds (integers, one shared clock):

    "/FullPackage": [{"Timestamp": ns, "Value": {"waveform": int, "pulseRate": bpm, "o2saturation": %,
                      "signalStrength": int}}, ...]      # oximeter samples, about 60 Hz
    "/Image":       [{"Timestamp": ns}, ...]              # camera frames, about 30 Hz

Frames are the PNG files that exist, ordered by the integer ``<ts>`` in their names (which equals the
"/Image" timestamps); ``/Image`` is parsed but not needed. Times are made relative to the first frame
in integer nanoseconds before converting to seconds (ns since 1970 do not fit a float64 exactly):
``t_s = (ts - ts_first_frame) / 1e9``, the same for the waveform, so both share the frame clock.

Records: ``record_id`` = "NN-MM", ``subject_id`` = "NN", ``meta`` = {"setup": "MM"};
``hr_bpm`` = mean of the positive ``pulseRate`` values. A missing JSON or frame folder, invalid JSON,
or a sample without "Timestamp"/"Value"/"waveform" raises ``DatasetError``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdphys.data.base import (DatasetError, ImageSequenceSource, RppgDataset, VideoRecord, check_root,
                              check_signal, mean_hr_bpm, natural_key)

LAYOUT = "NN-MM/NN-MM.json and NN-MM/NN-MM/Image<timestamp_ns>.png for each recording"
_RECORD_DIR = re.compile(r"^(\d+)-(\d+)$")
_IMAGE_NAME = re.compile(r"^Image(\d+)\.png$")


@dataclass(frozen=True)
class PureGroundTruth:
    """Parsed ``NN-MM.json``.

    Attributes:
        waveform: (N,) float64 PPG waveform.
        pulse_rate_bpm: (N,) float64 oximeter heart rate.
        spo2: (N,) float64 oxygen saturation, %, NaN where absent.
        signal_strength: (N,) float64, NaN where absent.
        wave_ts_ns: (N,) int64 sample timestamps, ns.
        image_ts_ns: (M,) int64 frame timestamps from "/Image", ns (empty if the list is absent).
    """

    waveform: np.ndarray
    pulse_rate_bpm: np.ndarray
    spo2: np.ndarray
    signal_strength: np.ndarray
    wave_ts_ns: np.ndarray
    image_ts_ns: np.ndarray


def read_pure_json(path: str | Path) -> PureGroundTruth:
    """Parse a PURE ground-truth JSON file (see the module docstring). Raises DatasetError when malformed."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(errors="replace"))
    except ValueError as err:
        raise DatasetError(f"{path} is not valid JSON ({err}); restore it from the PURE archive.") from None
    package = data.get("/FullPackage") if isinstance(data, dict) else None
    if not isinstance(package, list) or not package:
        raise DatasetError(f"{path}: no '/FullPackage' list of oximeter samples; is this a PURE ground-truth file?")
    ts, wave, pulse, spo2, strength = [], [], [], [], []
    for i, sample in enumerate(package):
        try:
            value = sample["Value"]
            ts.append(int(sample["Timestamp"]))
            wave.append(float(value["waveform"]))
        except (KeyError, TypeError, ValueError) as err:
            raise DatasetError(f"{path}: '/FullPackage' sample {i} lacks a numeric Timestamp or "
                               f"Value.waveform ({err!r}).") from None
        pulse.append(_number(value.get("pulseRate")))
        spo2.append(_number(value.get("o2saturation")))
        strength.append(_number(value.get("signalStrength")))
    images = data.get("/Image") or []
    try:
        image_ts = np.array([int(item["Timestamp"]) for item in images], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as err:
        raise DatasetError(f"{path}: an '/Image' entry lacks an integer Timestamp ({err!r}).") from None
    return PureGroundTruth(np.array(wave), np.array(pulse), np.array(spo2), np.array(strength),
                           np.array(ts, dtype=np.int64), image_ts)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def list_frames(frame_dir: Path) -> tuple[list[Path], np.ndarray]:
    """PNG frames of a recording sorted by timestamp: (paths, timestamps (N,) int64 ns)."""
    found = []
    for path in frame_dir.iterdir():
        match = _IMAGE_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    found.sort()
    return [p for _, p in found], np.array([t for t, _ in found], dtype=np.int64)


class PURE(RppgDataset):
    """PURE recordings under ``root`` (see the module docstring)."""

    name = "pure"
    layout = LAYOUT

    def __init__(self, root: str | Path):
        self.root = check_root(root, "PURE", LAYOUT)

    def _scan(self) -> list[VideoRecord]:
        folders = [p for p in self.root.iterdir() if p.is_dir() and _RECORD_DIR.match(p.name)]
        return [self._record(folder) for folder in sorted(folders, key=lambda p: natural_key(p.name))]

    def _record(self, folder: Path) -> VideoRecord:
        rec = folder.name
        json_path, frame_dir = folder / f"{rec}.json", folder / rec
        if not json_path.is_file():
            raise DatasetError(f"{folder}: missing {json_path.name}; PURE keeps the ground truth in NN-MM/NN-MM.json.")
        if not frame_dir.is_dir():
            raise DatasetError(f"{folder}: missing the frame folder {rec}/ with Image<timestamp>.png files.")
        paths, frame_ns = list_frames(frame_dir)
        if not paths:
            raise DatasetError(f"{frame_dir} has no Image<timestamp>.png frames.")
        gt = read_pure_json(json_path)
        order = np.argsort(gt.wave_ts_ns, kind="stable")
        bvp_t_s = (gt.wave_ts_ns[order] - frame_ns[0]).astype(np.float64) / 1e9
        bvp = gt.waveform[order]
        check_signal(json_path, bvp_t_s, bvp, "waveform")
        frame_t_s = (frame_ns - frame_ns[0]).astype(np.float64) / 1e9
        subject, setup = _RECORD_DIR.match(rec).groups()
        return VideoRecord(subject_id=subject, video_path=frame_dir, bvp=bvp, bvp_t_s=bvp_t_s,
                           hr_bpm=mean_hr_bpm(gt.pulse_rate_bpm), record_id=rec,
                           source=ImageSequenceSource(paths, frame_t_s, folder=frame_dir),
                           meta={"setup": setup}, dataset=self.name)
