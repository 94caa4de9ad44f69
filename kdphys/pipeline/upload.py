"""Analyse a whole video file: decode -> engine -> results. Used by the CLI and the upload page.

    result = analyze_video("face.mp4", method="pos", progress=lambda f, msg: print(f, msg))
    result.snapshot.reading.describe()     # "70.9 bpm (good)" or "no reading: no face found in ..."

Frames stream from the decoder into the engine one at a time, so memory does not grow with the
video's resolution; only per-sample floats (trace, BVP) grow with its length.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from kdphys import __version__
from kdphys.pipeline.engine import AnalysisCancelled, Engine, EngineSettings, Keyframe, Snapshot
from kdphys.io.prefetch import prefetch
from kdphys.io.video import VideoInfo, iter_frames, probe


#: Videos up to this many pixels per frame are decoded on one thread: the landmarkers keep the cores
#: busy, and FFmpeg's frame threads cost more CPU than they save time on 2 cores (60 s of 640x480 H.264,
#: ``benchmarks/upload_limits.py --parts decode``: 0.68-0.70 s CPU on one thread vs 0.89 s with frame
#: threads, 0.70 vs 0.63 s wall). Larger frames keep frame threads: decoding them on one thread would
#: approach the landmarkers' time.
ONE_THREAD_DECODE_MAX_PIXELS = 1280 * 720


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS reports it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def upload_landmarkers() -> int:
    """Face landmarkers an upload analysis runs at once, working ahead of the tracker: one per core this
    process may use, at most 2 (the landmarker is most of an upload's CPU time: two keep both cores of a
    2-core laptop busy; docs/PERFORMANCE.md)."""
    return max(1, min(2, usable_cores()))


ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]

#: Frames larger than this (longest side, pixels) are downscaled while decoding; the face stays large
#: enough for the landmarker and a 4K video costs no more than a 720p one.
ANALYSIS_MAX_SIDE = 1280


@dataclass
class AnalysisResult:
    """Result of ``analyze_video``.

    Attributes:
        video: container facts (size, fps, duration).
        snapshot: waveform, reading, trend, beats and spectrum (see kdphys.pipeline.engine.Snapshot).
        timings_s: wall time per stage in seconds ("decode": waiting for the decoder thread, "face",
            "model", "signal", "total").
        keyframes: about one kdphys.pipeline.engine.Keyframe per second (crop, and the frame around the face), for
            attention heatmaps; unpacks as (t_s, crop).
        max_faces: largest number of faces seen in one detection.
        settings: the engine settings used.
        file_sha256: SHA-256 of the video file's bytes (hex), for reports; None when it could not be read.
    """

    video: VideoInfo
    snapshot: Snapshot
    timings_s: dict[str, float]
    keyframes: list[Keyframe]
    max_faces: int
    settings: EngineSettings
    frames_decoded: int = 0
    notes: list[str] = field(default_factory=list)
    file_sha256: str | None = None

    def summary(self) -> dict:
        """JSON-serialisable summary: the reading (HR with range and coverage, or the reason), quality,
        settings, video facts, timings, and every window's HR, quality and accepted flag."""
        r = self.snapshot.reading
        return {
            "kdphys_version": __version__,
            "file_sha256": self.file_sha256,
            "method": self.snapshot.method,
            "signal_source": self.snapshot.signal_source,
            "hr_bpm": _rounded(r.hr_bpm, 2),
            "hr_range_bpm": None if r.hr_range_bpm is None else [round(float(v), 1) for v in r.hr_range_bpm],
            "coverage": _rounded(r.coverage, 3),
            "reason": r.reason,
            "quality": r.quality,
            "snr_db": _rounded(r.snr_db, 2),
            "confidence": _rounded(r.confidence, 3),
            "face_fraction": round(float(r.face_fraction), 3),
            "filter_band_hz": list(self.settings.band_hz),
            "window_s": self.settings.track.window_s,
            "hop_s": self.settings.track.hop_s,
            "grid_fps": self.settings.fps,
            "video": {"width": self.video.width, "height": self.video.height, "fps": round(self.video.fps, 3),
                      "duration_s": round(self.video.duration_s, 3), "codec": self.video.codec,
                      "frames_decoded": self.frames_decoded},
            "max_faces": self.max_faces,
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "notes": self.notes,
            "windows": [window_row(w, r) for w in self.snapshot.readings.windows],
        }

    def write_csv(self, path: str | Path) -> Path:
        """One row per window: start_s, end_s, hr_bpm (empty where refused), accepted (0/1), quality,
        snr_db, confidence, reason. No heart rate appears where the gate refused one, nor anywhere when the
        recording as a whole gave no reading."""
        path = Path(path)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=WINDOW_FIELDS)
            writer.writeheader()
            for w in self.snapshot.readings.windows:
                row = window_row(w, self.snapshot.reading)
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return path

    def write_waveform_csv(self, path: str | Path) -> Path:
        """One row per sample: time_s, bvp (pre-processed, arbitrary units), face (0/1), read (0/1: inside a
        window that gave a reading), beat (0/1: a beat is marked here). Read and beat are 0 throughout when the
        recording as a whole gave no reading."""
        path = Path(path)
        s = self.snapshot
        refused = s.reading.hr_bpm is None
        read = s.readings.read_mask(len(s.t_s)) & (not refused)
        beat = np.zeros(len(s.t_s), dtype=int)
        if s.beats is not None and not refused:
            beat[s.beats.peaks[s.beats.peaks < len(beat)]] = 1
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["time_s", "bvp", "face", "read", "beat"])
            for t, b, f, r, k in zip(s.t_s, s.bvp, s.face_present, read, beat):
                writer.writerow([f"{t:.4f}", f"{b:.6f}", int(f), int(r), int(k)])
        return path

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.summary(), indent=2))
        return path


WINDOW_FIELDS = ["start_s", "end_s", "hr_bpm", "accepted", "quality", "snr_db", "confidence", "reason"]


def window_row(window, summary=None) -> dict:
    """One window (kdphys.signal.readings.WindowReading) as a flat dict of WINDOW_FIELDS (None where empty).

    summary: the recording's HrReading; when it is "no reading" (too little of the recording was read),
    no window carries a heart rate either: the row is refused with the recording's reason.
    """
    r = window.reading
    if summary is not None and summary.hr_bpm is None and window.accepted:
        return {"start_s": round(window.start_s, 3), "end_s": round(window.end_s, 3), "hr_bpm": None,
                "accepted": 0, "quality": "none", "snr_db": _rounded(r.snr_db, 2),
                "confidence": _rounded(r.confidence, 3), "reason": summary.reason}
    return {"start_s": round(window.start_s, 3), "end_s": round(window.end_s, 3), "hr_bpm": _rounded(r.hr_bpm, 2),
            "accepted": int(window.accepted), "quality": r.quality, "snr_db": _rounded(r.snr_db, 2),
            "confidence": _rounded(r.confidence, 3), "reason": r.reason}


def _rounded(value, digits: int):
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def analyze_video(source: str | Path | BinaryIO, method: str = "pos", settings: EngineSettings | None = None,
                  progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                  engine: Engine | None = None) -> AnalysisResult:
    """Estimate the heart rate of a face video.

    Args:
        source: path or binary file-like object of a video (mp4, avi, mov, mkv, webm).
        method: "pos", "chrom", "green", "student", "teacher" (ignored when ``settings`` or ``engine`` given).
        settings: engine settings (method, band, window).
        progress: called as progress(fraction 0..1, message) while decoding.
        cancel: polled every frame; return True to stop (raises AnalysisCancelled).
        engine: an existing engine to feed (must have keep_all=True); built when None.
    Raises:
        kdphys.errors.VideoError: the file cannot be read as a video (message for a person).
        AnalysisCancelled: cancel() returned True.
    """
    t_start = time.perf_counter()
    settings = settings or (engine.settings if engine else EngineSettings(method=method))
    info = probe(source)
    _rewind(source)
    own_engine = engine is None
    engine = engine or Engine(settings, keep_all=True, landmarkers=upload_landmarkers())
    decode_s = 0.0
    n_frames = 0
    # Decoding runs one step ahead in a thread (PyAV releases the GIL); "decode" below is the time spent
    # waiting for a decoded frame, not the decoder's own time.
    # lazy_rgb: the tracker converts only the face's part of most frames to RGB (same pixels)
    one_thread = info.width * info.height <= ONE_THREAD_DECODE_MAX_PIXELS
    decoded = prefetch(iter_frames(source, max_side=ANALYSIS_MAX_SIDE, lazy_rgb=True, one_thread=one_thread))
    frames = engine.frames_ahead(decoded)   # landmarkers start on coming frames (engine with landmarkers > 1)
    expected = max(info.n_frames, 1)
    try:
        while True:
            t0 = time.perf_counter()
            frame = next(frames, None)
            decode_s += time.perf_counter() - t0
            if frame is None:
                break
            if cancel is not None and cancel():
                raise AnalysisCancelled("Analysis cancelled.")
            engine.push(frame.rgb, frame.t_s)
            n_frames += 1
            if progress is not None and (n_frames % 15 == 0):
                progress(min(n_frames / expected, 0.99), f"frame {n_frames} of ~{expected}")
    finally:
        frames.close()   # stops the landmarkers' calls ahead
        decoded.close()  # and the decoder thread, at once on cancel or error
        if own_engine:
            engine.tracker.close()   # its landmarkers and their threads, now rather than at garbage collection
    snapshot = engine.snapshot()
    if progress is not None:
        progress(1.0, "done")
    timings = dict(engine.timer.total_s)
    timings["decode"] = decode_s
    timings["total"] = time.perf_counter() - t_start
    notes = []
    if engine.max_faces > 1:
        notes.append(f"{engine.max_faces} faces were seen; the largest face was analysed.")
    return AnalysisResult(video=info, snapshot=snapshot, timings_s=timings, keyframes=engine.keyframes,
                          max_faces=engine.max_faces, settings=settings, frames_decoded=n_frames, notes=notes,
                          file_sha256=file_sha256(source))


def file_sha256(source, chunk_bytes: int = 1 << 20) -> str | None:
    """SHA-256 (hex) of a video given as a path or a seekable binary file object (read from its start;
    the position is restored); None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as fh:
                for chunk in iter(lambda: fh.read(chunk_bytes), b""):
                    digest.update(chunk)
            return digest.hexdigest()
        if hasattr(source, "getbuffer"):
            digest.update(source.getbuffer())
            return digest.hexdigest()
        position = source.tell()
        source.seek(0)
        for chunk in iter(lambda: source.read(chunk_bytes), b""):
            digest.update(chunk)
        source.seek(position)
        return digest.hexdigest()
    except (OSError, AttributeError, ValueError):
        return None


def _rewind(source) -> None:
    if hasattr(source, "seek"):
        source.seek(0)
