"""Inputs of the benchmark, built once and cached under ``bench_dir()`` (a temp folder):

- ``long_video(seconds)``: the real clip (kdphys.paths.SAMPLE_VIDEO, 640x480, 30 fps, 20 s) looped with
  increasing timestamps. The 60 s video is re-encoded with kdphys.io.video.write_video (H.264, crf 18);
  longer ones (10 min) are that 60 s file's packets remuxed end to end with shifted timestamps (no
  decoding, no re-encoding, nothing held in memory).
- ``face_crops(video)``: FaceTracker crops (N, S, S, 3) uint8 (S = the shipped student's input size, cut
  at that size as the app does) and mean skin RGB trace (N, 3) of a video, one per frame (the clip is constant 30 fps, so frames = samples of the engine's grid).
- ``synthetic_crops(seeds)``: the same for held-out synthetic clips (seeds >= 10000), tracked on the
  rendered frames in memory (lossless: no codec between renderer and tracker).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from kdphys.paths import SAMPLE_VIDEO
from kdphys.data.reference import sample_clip_hr_bpm

#: H.264 quality of the looped 60 s video (18 = visually lossless; keeps the pulse).
LONG_VIDEO_CRF = 18
#: Held-out synthetic clips: seeds, heart rates (bpm), length (s) and frame size (H, W).
SYNTHETIC_SEEDS = (10000, 10001, 10002)
SYNTHETIC_HR_BPM = (58.0, 76.0, 104.0)
SYNTHETIC_DURATION_S = 12.0
SYNTHETIC_SIZE = (240, 320)


def bench_dir() -> Path:
    """Cache folder of generated videos and crops ($KDPHYS_BENCH_DIR or <tmp>/kdphys-bench)."""
    path = Path(os.environ.get("KDPHYS_BENCH_DIR") or Path(tempfile.gettempdir()) / "kdphys-bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stamp(path: Path) -> str:
    st = Path(path).stat()
    return hashlib.sha1(f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:10]


def looped_frames(source: Path, seconds: float, fps: float = 30.0):
    """Frames (H, W, 3) uint8 of ``source`` decoded again and again until ``seconds`` * fps frames."""
    from kdphys.io.video import iter_frames

    n_wanted = int(round(seconds * fps))
    n = 0
    while n < n_wanted:
        for frame in iter_frames(source):
            if n >= n_wanted:
                return
            yield frame.rgb
            n += 1


def long_video(seconds: float, source: Path = SAMPLE_VIDEO, fps: float = 30.0) -> Path:
    """A ``seconds`` long 30 fps 640x480 H.264 .mp4 made of the looped real clip (cached)."""
    from kdphys.io.write import write_video

    minute = bench_dir() / f"loop60_{_stamp(source)}.mp4"
    if not minute.is_file():
        tmp = minute.with_suffix(".part.mp4")
        write_video(tmp, looped_frames(source, 60.0, fps), fps=fps, codec="h264", crf=LONG_VIDEO_CRF)
        tmp.replace(minute)
    if seconds <= 60.0:
        if seconds == 60.0:
            return minute
        out = bench_dir() / f"loop{seconds:g}_{_stamp(source)}.mp4"
        if not out.is_file():
            tmp = out.with_suffix(".part.mp4")
            write_video(tmp, looped_frames(source, seconds, fps), fps=fps, codec="h264", crf=LONG_VIDEO_CRF)
            tmp.replace(out)
        return out
    repeats = int(np.ceil(seconds / 60.0))
    out = bench_dir() / f"loop{repeats * 60}_{_stamp(source)}.mp4"
    if not out.is_file():
        tmp = out.with_suffix(".part.mp4")
        remux_repeated(minute, tmp, repeats)
        tmp.replace(out)
    return out


def remux_repeated(src: Path, dst: Path, repeats: int) -> Path:
    """Write ``src``'s video packets ``repeats`` times into ``dst`` with timestamps shifted each time.

    Streaming (one packet in memory); each copy starts with the key frame that starts ``src``.
    """
    import av

    with av.open(str(src)) as template_in:
        stream = template_in.streams.video[0]
        tb = stream.time_base
        last = max((p.pts for p in template_in.demux(stream) if p.pts is not None), default=0)
        step_fps = Fraction(stream.average_rate or 30)
        span = last + int(round(1 / (step_fps * tb)))          # one copy lasts last pts + one frame
        with av.open(str(dst), "w") as out:
            out_stream = out.add_stream_from_template(stream)
            for k in range(repeats):
                with av.open(str(src)) as inp:
                    for packet in inp.demux(inp.streams.video[0]):
                        if packet.dts is None:
                            continue
                        packet.pts = None if packet.pts is None else packet.pts + k * span
                        packet.dts = packet.dts + k * span
                        packet.stream = out_stream
                        out.mux(packet)
    return dst


@dataclass
class CropSet:
    """Face crops of one clip. crops (N, S, S, 3) uint8 RGB, trace (N, 3) mean skin RGB (NaN = no face),
    fps, reference hr_bpm (None when unknown), name."""

    name: str
    crops: np.ndarray
    trace: np.ndarray
    fps: float
    hr_bpm: float | None

    def save(self, path: Path) -> Path:
        np.savez(path, crops=self.crops, trace=self.trace, fps=self.fps,
                 hr_bpm=np.nan if self.hr_bpm is None else self.hr_bpm, name=self.name)
        return path

    @classmethod
    def load(cls, path: Path) -> CropSet:
        with np.load(path) as z:
            hr = float(z["hr_bpm"])
            return cls(str(z["name"]), z["crops"], z["trace"], float(z["fps"]), None if np.isnan(hr) else hr)


def model_crop_size() -> int:
    """Side (pixels) of the crops the shipped student takes (72 without weights)."""
    from kdphys.bench.measure import crop_size_of
    return crop_size_of("student.pt", "student")


def _crop_tag(crop_size: int) -> str:
    """File-name tag of the crop settings: size and a hash of every TrackerSettings field."""
    from kdphys.face import TrackerSettings
    return f"{crop_size}_{hashlib.sha1(repr(TrackerSettings(crop_size=crop_size)).encode()).hexdigest()[:8]}"


def track_frames(frames, crop_size: int = 72) -> tuple[np.ndarray, np.ndarray]:
    """FaceTracker over (H, W, 3) uint8 frames -> crops (N, S, S, 3) uint8 (last face held, zeros before
    the first), trace (N, 3) float32 (NaN without a face)."""
    from kdphys.face import FaceTracker, TrackerSettings

    crops, trace = [], []
    last = np.zeros((crop_size, crop_size, 3), np.uint8)
    with FaceTracker(TrackerSettings(crop_size=crop_size)) as tracker:
        for rgb in frames:
            track = tracker.update(rgb)
            ok = track.state == "tracking" and track.crop is not None and track.skin_rgb is not None
            last = track.crop if ok else last
            crops.append(last)
            trace.append(np.asarray(track.skin_rgb, np.float32) if ok else np.full(3, np.nan, np.float32))
    return np.stack(crops), np.stack(trace)


def face_crops(video: Path = SAMPLE_VIDEO, hr_bpm: float | None = None, max_frames: int | None = None,
               crop_size: int | None = None) -> CropSet:
    """Crops and trace of every frame of ``video`` (cached by path, size, mtime and crop settings);
    crop_size None = ``model_crop_size()``."""
    from kdphys.io.video import iter_frames

    crop_size = crop_size or model_crop_size()
    tag = f"_{max_frames}" if max_frames else ""
    path = bench_dir() / f"crops_{Path(video).stem}_{_stamp(video)}{tag}_{_crop_tag(crop_size)}.npz"
    if path.is_file():
        return CropSet.load(path)
    frames = (f.rgb for i, f in enumerate(iter_frames(video)) if max_frames is None or i < max_frames)
    crops, trace = track_frames(frames, crop_size)
    if hr_bpm is None and Path(video) == SAMPLE_VIDEO:
        hr_bpm = sample_clip_hr_bpm()
    result = CropSet(Path(video).stem, crops, trace, 30.0, hr_bpm)
    result.save(path)
    return result


def synthetic_crops(seeds=SYNTHETIC_SEEDS, hr_bpm=SYNTHETIC_HR_BPM, duration_s: float = SYNTHETIC_DURATION_S,
                    size=SYNTHETIC_SIZE) -> list[CropSet]:
    """Held-out synthetic clips (kdphys.data.synthetic, seeds >= 10000), face-tracked losslessly (cached)."""
    from kdphys.data.synthetic import SyntheticConfig, iter_frames

    sets = []
    crop_size = model_crop_size()
    for seed, hr in zip(seeds, hr_bpm):
        path = synthetic_crop_path(seed, hr, crop_size, duration_s, size)
        if not path.is_file():
            cfg = SyntheticConfig(hr_bpm=hr, duration_s=duration_s, size=tuple(size), seed=seed, motion_px=1.0)
            crops, trace = track_frames((item[0] for item in iter_frames(cfg)), crop_size)
            CropSet(f"synthetic seed {seed}", crops, trace, cfg.fps, hr).save(path)
        sets.append(CropSet.load(path))
    return sets


def synthetic_crop_path(seed: int, hr_bpm: float, crop_size: int, duration_s: float = SYNTHETIC_DURATION_S,
                        size=SYNTHETIC_SIZE) -> Path:
    """Cache file of one held-out synthetic clip's crops cut at ``crop_size`` pixels."""
    return bench_dir() / f"synth_{seed}_{hr_bpm:g}_{duration_s:g}_{size[0]}x{size[1]}_{_crop_tag(crop_size)}.npz"
