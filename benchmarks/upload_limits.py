"""Why uploads stopped near 12x real time on 2 cores with one landmarker on the main thread: the landmarker's
cost, threads, detection cadence, processes. (Uploads now run two landmarkers ahead of the tracker,
kdphys.face.lookahead; ``python -m kdphys bench --upload`` measures the shipped path. The tables here still
describe the single landmarker's limits.)

    .venv/bin/python benchmarks/upload_limits.py                  # all three parts, ~1 min
    .venv/bin/python benchmarks/upload_limits.py --parts cadence --methods pos student
    .venv/bin/python benchmarks/upload_limits.py --parts cadence --methods pos --clips subject3 sample   # dev data
    .venv/bin/python benchmarks/upload_limits.py --parts process  # a landmarker process, best case (~1 min)
    .venv/bin/python benchmarks/upload_limits.py --parts decode   # decoder threads, whole vs lazy RGB (~30 s)

Prints three tables (figures vary a little with machine load):

1. cost: MediaPipe FaceLandmarker (``kdphys.face.FaceLandmarkDetector``) per call on the sample clip's
   640x480 frames, wall and process CPU ms, with the tracker's cadence (one call in ``detect_every``
   frames) turned into ms per frame and seconds per minute of video.
2. threads: the landmarker on 40 frames, a pure-Python loop, and both at once in two threads. If the two
   overlapped, "both" would take about as long as the longer one; if it is near their sum, a background
   landmarker thread cannot take the landmarker off the critical path.
3. cadence: the real clip's reading in the app (engine, quality gate) when the landmarks are refreshed
   every K frames and held in between (``FaceTracker``, the shipped scheme, K = 5), and when they are
   interpolated linearly between detections K frames apart (needs the next detection first: possible on
   uploads only; the crop box follows the interpolated landmarks). Detections are computed once for every
   frame and replayed, so every row sees the same landmarker output. With ``--clips`` (dev subjects and/or
   "sample"; *dev data*) the rows are scored against each clip's oximeter instead: windows read, windows
   read > 5 bpm off, the headline's error and the ungated error (``kdphys.data.dev_clips.score_clip``).
4. process (not in the default parts; ~1 min): the best case of a landmarker in its own process, on the
   bench's 60 s upload video (``kdphys.bench.clips.long_video``, student ONNX): the shipped upload; the
   upload with its detections replayed (the landmarker's cost gone); the landmarker alone on every
   ``detect_every``-th frame in a second process (frames preloaded: no decoding, no transfer); and the last
   two at once. "Both done" is what a perfectly pipelined two-process upload could reach.
5. decode (not in the default parts; ~30 s): CPU and wall time to decode the bench's 60 s video with
   FFmpeg's frame threads and on one thread, alone and with each frame converted to RGB whole (what uploads
   did) or as a ``LazyRgb`` read in one 200x200 region (what the tracker reads now), 2 runs each.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np


from kdphys import paths  # noqa: E402
from kdphys.pipeline.engine import Engine, EngineSettings  # noqa: E402
from kdphys.face import (FaceLandmarkDetector, FaceObservation, FaceTracker, TrackerSettings,  # noqa: E402
                         TrackResult, _landmark_box, _mask_window, crop_square_skin, skin_mask)
from kdphys.io.lazy_rgb import image_region  # noqa: E402
from kdphys.methods import get_method  # noqa: E402
from kdphys.methods.base import crop_size_for  # noqa: E402
from kdphys.io.video import iter_frames  # noqa: E402

SHIPPED_DETECT_EVERY = TrackerSettings().detect_every


def load_clip(video: Path) -> list[tuple[np.ndarray, float]]:
    """All frames of ``video`` as (RGB (H, W, 3) uint8, t_s) pairs (the 20 s sample clip: ~550 MB)."""
    return [(frame.rgb, frame.t_s) for frame in iter_frames(video)]


def landmarker_cost(detector: FaceLandmarkDetector, frames: list[np.ndarray]) -> dict[str, float]:
    """Median over 3 passes of wall and process-CPU ms per ``detect`` call (after one warm-up call)."""
    detector.detect(frames[0])
    walls, cpus = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        for frame in frames:
            detector.detect(frame)
        walls.append((time.perf_counter() - t0) / len(frames) * 1e3)
        cpus.append((time.process_time() - c0) / len(frames) * 1e3)
    return {"wall_ms": float(np.median(walls)), "cpu_ms": float(np.median(cpus))}


def _python_loop(n: int = 3_000_000) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def thread_overlap(detector: FaceLandmarkDetector, frames: list[np.ndarray]) -> dict[str, float]:
    """Seconds for the landmarker over ``frames``, a pure-Python loop, and both in two threads at once."""
    def landmarks():
        for frame in frames:
            detector.detect(frame)

    detector.detect(frames[0])
    t0 = time.perf_counter()
    landmarks()
    alone_lm = time.perf_counter() - t0
    t0 = time.perf_counter()
    _python_loop()
    alone_py = time.perf_counter() - t0
    worker = threading.Thread(target=landmarks)
    t0 = time.perf_counter()
    worker.start()
    _python_loop()
    worker.join()
    both = time.perf_counter() - t0
    return {"landmarker_s": alone_lm, "python_s": alone_py, "both_s": both}


class _Replay:
    """Detector that returns precomputed observations, one per frame index (set by the tracker)."""

    def __init__(self, observations: list[FaceObservation | None]):
        self.observations = observations
        self.index = 0

    def detect(self, rgb: np.ndarray) -> FaceObservation | None:
        return self.observations[self.index]


class HeldReplayTracker(FaceTracker):
    """The shipped ``FaceTracker`` (landmarks held between detections) on replayed detections."""

    def __init__(self, settings: TrackerSettings, observations: list[FaceObservation | None]):
        self._replay = _Replay(observations)
        self._n = 0
        super().__init__(settings, detector=self._replay)

    def update(self, rgb: np.ndarray, crop: bool = True) -> TrackResult:
        self._replay.index = self._n
        self._n += 1
        return super().update(rgb, crop)


class InterpolatedReplayTracker:
    """Landmarks detected every ``every`` frames (smoothed as FaceTracker does) and interpolated linearly in
    between; mask, crop box and skin mean rebuilt from them on every frame. Needs every frame to have a
    face (the sample clip has)."""

    def __init__(self, settings: TrackerSettings, observations: list[FaceObservation | None], every: int):
        self.settings = settings
        self._n = 0
        keys = list(range(0, len(observations), every))
        if keys[-1] != len(observations) - 1:
            keys.append(len(observations) - 1)
        smoother = FaceTracker(settings, detector=_Replay(observations))
        held, landmarks = None, []
        for k in keys:
            new = np.asarray(observations[k].landmarks_px, np.float32)
            held = new if held is None else smoother._smooth_landmarks(held, new)
            landmarks.append(held)
        self._keys, self._landmarks = np.array(keys), landmarks

    def update(self, rgb: np.ndarray, crop: bool = True) -> TrackResult:
        i = self._n
        self._n += 1
        j = int(np.searchsorted(self._keys, i, side="right")) - 1
        if self._keys[j] == i or j + 1 >= len(self._keys):
            lm = self._landmarks[j]
        else:
            w = (i - self._keys[j]) / (self._keys[j + 1] - self._keys[j])
            lm = ((1.0 - w) * self._landmarks[j] + w * self._landmarks[j + 1]).astype(np.float32)
        mask = skin_mask(lm, rgb.shape[:2])
        x0, y0, x1, y1 = _landmark_box(lm)
        side = self.settings.box_scale * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        box = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], np.float32)
        crop_rgb = crop_square_skin(rgb, mask, box, self.settings.crop_size) if crop else None
        rows, cols = _mask_window(mask)
        mean = cv2.mean(image_region(rgb, rows, cols), mask=np.ascontiguousarray(mask[rows, cols], np.uint8))
        return TrackResult("tracking", box, crop_rgb, np.array(mean[:3]), mask, 1, bool(i in self._keys), lm)


def snapshot_with(method: str, tracker, clip: list[tuple[np.ndarray, float]], model=None):
    """The engine's snapshot of ``clip`` through an upload engine that uses ``tracker`` (and the method object
    ``model`` instead of the shipped one of that name, when given)."""
    engine = Engine(EngineSettings(method=method), tracker=tracker, method=model, keep_all=True)
    for rgb, t_s in clip:
        engine.push(rgb, t_s)
    return engine.snapshot()


def reading_with(method: str, tracker, clip: list[tuple[np.ndarray, float]], model=None) -> str:
    """The app's whole-clip reading of ``clip`` (see ``snapshot_with``), in words."""
    r = snapshot_with(method, tracker, clip, model).reading
    if r.hr_bpm is None:
        return r.reason.split(". ")[0]      # "no reading: <why> (<figure>, need <gate>)"
    return f"{r.hr_bpm:.1f} bpm, SNR {r.snr_db:+.2f} dB ({r.quality})"


def cadence_trackers(method: str, observations: list, held: list[int], interpolated: list[int]):
    """(label, K, tracker) for each cadence row: landmarks held K frames, then interpolated between detections
    K frames apart (only when every frame has a face)."""
    crop_size = crop_size_for([get_method(method)], EngineSettings().crop_size)
    for k in held:
        shipped = " (shipped)" if k == SHIPPED_DETECT_EVERY else ""
        yield f"held{shipped}", k, HeldReplayTracker(TrackerSettings(crop_size=crop_size, detect_every=k), observations)
    if all(o is not None for o in observations):
        for k in interpolated:
            yield "interpolated", k, InterpolatedReplayTracker(TrackerSettings(crop_size=crop_size), observations, k)


def cadence_on_dev_clips(detector: FaceLandmarkDetector, names: list[str], methods: list[str], held: list[int],
                         interpolated: list[int]) -> None:
    """The cadence rows on real clips, each scored against its oximeter (one clip's frames in memory at a time)."""
    from kdphys.data.dev_clips import ClipSignals, dev_clips, score_clip

    clips = {c.name: c for c in dev_clips()}
    print("| clip | method | landmarks | every K frames | windows read | read > 5 bpm off | headline error (bpm) | "
          "ungated error (bpm) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        if name not in clips:
            print(f"| {name} | not found | | | | | | |")
            continue
        frames = load_clip(clips[name].video)
        observations = [detector.detect(rgb) for rgb, _ in frames]
        for method in methods:
            for label, k, tracker in cadence_trackers(method, observations, held, interpolated):
                snap = snapshot_with(method, tracker, frames)
                score = score_clip(clips[name], ClipSignals.from_snapshot(snap))
                head = "no reading" if score.headline_error is None else f"{score.headline_error:+.1f}"
                print(f"| {name} | {method} | {label} | {k} | {100 * score.readings.accepted.mean():.0f}% | "
                      f"{score.wrong_windows} | {head} | {score.ungated_error:+.1f} |", flush=True)
        del frames


def _landmarker_process(frames_path: str, start, results) -> None:
    """Second process of ``process_bound``: load the frames and a landmarker, wait for ``start``, detect on
    every frame, put (wall s, CPU s) on ``results``."""
    frames = np.load(frames_path)
    detector = FaceLandmarkDetector()
    detector.detect(frames[0])
    start.wait()
    t0, c0 = time.perf_counter(), time.process_time()
    for frame in frames:
        detector.detect(frame)
    results.put((time.perf_counter() - t0, time.process_time() - c0))
    detector.close()


def process_bound(seconds: float = 60.0) -> dict[str, tuple[float, float]]:
    """(wall s, CPU s) of: the upload with one landmarker called in turn (as shipped before uploads ran two
    ahead), the upload with replayed detections, the landmarker alone in a second process, and ("both",
    "upload in both", "landmarker in both") the last two at once."""
    from kdphys.pipeline.upload import analyze_video
    from kdphys.bench.clips import long_video
    from kdphys.bench.measure import _engine, _warm

    video = long_video(seconds)
    detector = FaceLandmarkDetector()
    observations, detected_frames = [], []          # only the detection frames are kept (a fifth of the video)
    for i, frame in enumerate(iter_frames(video)):
        detect = i % SHIPPED_DETECT_EVERY == 0
        observations.append(detector.detect(frame.rgb) if detect else None)
        if detect:
            detected_frames.append(frame.rgb)
    detector.close()
    out: dict[str, tuple[float, float]] = {}

    def upload(replayed: bool) -> tuple[float, float]:
        engine, _, _ = _engine("student-onnx", keep_all=True)
        _warm(engine, video)
        if replayed:
            engine.tracker.close()                 # its landmarker is not needed: detections are replayed
            engine.tracker = HeldReplayTracker(TrackerSettings(crop_size=engine.tracker.settings.crop_size),
                                               observations)
        t0, c0 = time.perf_counter(), time.process_time()
        analyze_video(video, settings=engine.settings, engine=engine)
        wall_cpu = time.perf_counter() - t0, time.process_time() - c0
        engine.tracker.close()
        return wall_cpu

    out["upload, one landmarker in turn (before kdphys.face.lookahead)"] = upload(False)
    out["upload, detections replayed"] = upload(True)
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        frames_path = str(Path(tmp) / "frames.npy")
        np.save(frames_path, np.stack(detected_frames))
        del detected_frames
        for together in (False, True):
            start, results = spawn.Event(), spawn.Queue()
            worker = spawn.Process(target=_landmarker_process, args=(frames_path, start, results))
            worker.start()
            time.sleep(10.0)                                  # imports and model loading, outside the timing
            t0 = time.perf_counter()
            start.set()
            if together:
                out["upload in both"] = upload(True)
            landmarker = results.get(timeout=300)
            worker.join()
            if together:
                out["landmarker in both"] = landmarker
                out["both"] = (time.perf_counter() - t0, out["upload in both"][1] + landmarker[1])
            else:
                out["landmarker process alone"] = landmarker
    return out


def decode_variants() -> list[tuple[str, bool, str]]:
    """(label, one decoder thread, conversion) rows of the decode part."""
    rows = []
    for convert, label in (("none", "decode only"), ("whole", "decode + whole-frame RGB"),
                           ("region", "decode + LazyRgb, one 200x200 region")):
        rows += [(label, False, convert), (label, True, convert)]
    return rows


def decode_cost(one_thread: bool, convert: str) -> tuple[float, float]:
    """Wall and process CPU seconds to decode the bench's 60 s video (``kdphys.io.video.iter_frames``)."""
    from kdphys.bench.clips import long_video
    from kdphys.io.lazy_rgb import LazyRgb

    video = long_video(60.0)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for frame in iter_frames(video, lazy_rgb=convert != "whole", one_thread=one_thread):
        if convert == "region" and isinstance(frame.rgb, LazyRgb):
            frame.rgb.region(slice(140, 340), slice(220, 420))
    return time.perf_counter() - t0, time.process_time() - cpu0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", type=Path, default=paths.SAMPLE_VIDEO)
    parser.add_argument("--parts", nargs="+", default=["cost", "threads", "cadence"],
                        choices=["cost", "threads", "cadence", "process", "decode"])
    parser.add_argument("--methods", nargs="+", default=["pos", "student"])
    parser.add_argument("--held", nargs="+", type=int, default=[4, 5, 6, 7, 8, 10])
    parser.add_argument("--interpolated", nargs="+", type=int, default=[5, 10, 15, 20])
    parser.add_argument("--clips", nargs="+", help="cadence on these real clips (dev subjects, 'sample'), scored "
                                                   "against their oximeter")
    args = parser.parse_args(argv)

    if "decode" in args.parts:
        print("| 60 s 640x480 H.264 | decoder threads | wall s | CPU s |")
        print("|---|---|---|---|")
        for label, one_thread, convert in decode_variants():
            for _ in range(2):
                wall, cpu = decode_cost(one_thread, convert)
                print(f"| {label} | {'one' if one_thread else 'FFmpeg frame threads'} | {wall:.2f} | {cpu:.2f} |",
                      flush=True)
        print()
        if args.parts == ["decode"]:
            return
    if "process" in args.parts:
        upload_s = 60.0
        print(f"| {upload_s:.0f} s upload (student ONNX), landmarker every {SHIPPED_DETECT_EVERY} frames | wall s | "
              "CPU s | x real time |")
        print("|---|---|---|---|")
        for name, (wall, cpu) in process_bound(upload_s).items():
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {upload_s / wall:.1f} |", flush=True)
        print()
        if args.parts == ["process"]:
            return
    detector = FaceLandmarkDetector()
    clip = load_clip(args.video) if not (args.clips and args.parts == ["cadence"]) else []
    frames = [rgb for rgb, _ in clip]
    if "cost" in args.parts:
        c = landmarker_cost(detector, frames[:60])
        per_frame = c["cpu_ms"] / SHIPPED_DETECT_EVERY
        print("| landmarker call, wall ms | CPU ms | detect_every | CPU ms / frame | CPU s per minute of video |")
        print("|---|---|---|---|---|")
        print(f"| {c['wall_ms']:.2f} | {c['cpu_ms']:.2f} | {SHIPPED_DETECT_EVERY} | {per_frame:.2f} | "
              f"{per_frame * 30 * 60 / 1e3:.2f} |\n")
    if "threads" in args.parts:
        o = thread_overlap(detector, frames[:40])
        print("| landmarker alone s | Python loop alone s | both in two threads s | sum s | overlap |")
        print("|---|---|---|---|---|")
        hidden = (o["landmarker_s"] + o["python_s"] - o["both_s"]) / min(o["landmarker_s"], o["python_s"])
        print(f"| {o['landmarker_s']:.3f} | {o['python_s']:.3f} | {o['both_s']:.3f} | "
              f"{o['landmarker_s'] + o['python_s']:.3f} | {100 * hidden:.0f} % of the shorter hidden |\n")
    if "cadence" in args.parts and args.clips:
        cadence_on_dev_clips(detector, args.clips, args.methods, args.held, args.interpolated)
    elif "cadence" in args.parts:
        observations = [detector.detect(rgb) for rgb in frames]
        if any(o is None for o in observations):
            print("cadence: the landmarker misses a face on some frames of this video; the interpolated rows "
                  "need a face on every frame.")
            return
        print(f"{args.video.name}: reading in the app by landmark refresh cadence")
        print("| method | landmarks | every K frames | reading |")
        print("|---|---|---|---|")
        for method in args.methods:
            for label, k, tracker in cadence_trackers(method, observations, args.held, args.interpolated):
                print(f"| {method} | {label} | {k} | {reading_with(method, tracker, clip)} |", flush=True)
    detector.close()


if __name__ == "__main__":
    main()
