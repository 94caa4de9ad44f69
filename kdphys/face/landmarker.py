"""MediaPipe face landmarks: ``FaceLandmarkDetector`` wraps the Tasks ``FaceLandmarker`` (model
``weights/face_landmarker.task``, IMAGE running mode: every call is independent; the tracking is ours)."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from kdphys.errors import WeightsError
from kdphys.face.skin import check_rgb
from kdphys.paths import FACE_LANDMARKER_MODEL

N_LANDMARKS = 478

@dataclass(frozen=True)
class FaceObservation:
    """One face found by the landmarker.

    Attributes:
        landmarks_px: (478, 2) float32, pixel x, y in the frame given to ``detect`` (may lie slightly
            outside the frame when the face is cut by the border).
        box_xyxy: (4,) float32, tight box around the landmarks, x0, y0, x1, y1 in pixels (not clipped).
        n_faces: number of faces the landmarker saw in the frame (this one is the largest). Addition
            to the Detector protocol; defaults to 1 so that fake detectors need not set it.
    """

    landmarks_px: np.ndarray
    box_xyxy: np.ndarray
    n_faces: int = 1


class Detector(Protocol):
    """What ``FaceTracker`` needs from a detector (``FaceLandmarkDetector`` or a test fake)."""

    def detect(self, rgb: np.ndarray) -> FaceObservation | None: ...


def _landmark_box(landmarks_px: np.ndarray) -> np.ndarray:
    """Tight box (4,) float32 x0, y0, x1, y1 around (N, 2) pixel points."""
    lo = landmarks_px.min(axis=0)
    hi = landmarks_px.max(axis=0)
    return np.array([lo[0], lo[1], hi[0], hi[1]], dtype=np.float32)


class FaceLandmarkDetector:
    """MediaPipe Tasks FaceLandmarker on single images; returns the largest face.

    Runs in IMAGE mode: each call is independent (no hidden temporal state, any frame order, any
    cadence), which is what ``FaceTracker`` needs when it calls it only every few frames. About 10 ms
    per 640x480 frame on 2 CPU cores (the model resizes its input to 192/256 px internally, so
    shrinking the frame first does not make it faster).

    Not thread-safe: use one detector per thread. Call ``close()`` (or use ``with``) when done.
    """

    def __init__(self, model_path: str | Path = FACE_LANDMARKER_MODEL, max_faces: int = 2,
                 min_confidence: float = 0.5):
        """
        Args:
            model_path: the ``face_landmarker.task`` bundle. Nothing is ever downloaded.
            max_faces: how many faces the landmarker looks for. 2 (the default, a change from the
                contract's 1) lets ``FaceObservation.n_faces`` say "two faces"; the largest one is
                returned either way.
            min_confidence: face detection / presence threshold, 0..1.
        """
        path = Path(model_path)
        if not path.is_file():
            raise WeightsError(
                f"The face landmark model is missing: {path} does not exist. It ships with the repository "
                f"as weights/face_landmarker.task; restore it (e.g. `git checkout -- weights/`) or pass "
                f"model_path=... pointing at a MediaPipe face_landmarker.task file. Nothing is downloaded."
            )
        if max_faces < 1:
            raise ValueError(f"max_faces must be >= 1, got {max_faces}.")
        from mediapipe.tasks.python import BaseOptions, vision  # heavy import, kept local

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=int(max_faces),
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
        )
        try:
            with quiet_native_stderr():
                self._landmarker = vision.FaceLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as err:
            raise WeightsError(
                f"Could not load the face landmark model {path}: {err}. The file may be truncated or not a "
                f"MediaPipe .task bundle; restore weights/face_landmarker.task from the repository."
            ) from err
        self.model_path = path
        self.max_faces = int(max_faces)
        # Closes the graph when this object is collected, on close(), or at interpreter exit.
        self._finalizer = weakref.finalize(self, _close_landmarker, self._landmarker)
        self._finalizer.atexit = False   # _close_live_detectors does it, earlier
        _LIVE_DETECTORS.add(self)
        _register_exit_hook()

    def detect(self, rgb: np.ndarray) -> FaceObservation | None:
        """Find the largest face in one frame.

        Args:
            rgb: (H, W, 3) uint8 RGB frame (or a ``LazyRgb``: converted whole here).

        Returns:
            The largest face (by landmark-box area) with its 478 landmarks in pixels, or None when no
            face is found. ``n_faces`` counts all faces found (up to ``max_faces``).
        """
        import mediapipe as mp

        rgb = np.asarray(check_rgb(rgb))
        if not self._finalizer.alive:
            raise RuntimeError("This FaceLandmarkDetector was closed; create a new one.")
        height, width = rgb.shape[:2]
        result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        faces = result.face_landmarks
        if not faces:
            return None
        best_pts, best_area = None, -1.0
        for face in faces:
            pts = np.array([(p.x * width, p.y * height) for p in face], dtype=np.float32)
            box = _landmark_box(pts)
            area = float((box[2] - box[0]) * (box[3] - box[1]))
            if area > best_area:
                best_pts, best_area = pts, area
        return FaceObservation(landmarks_px=best_pts, box_xyxy=_landmark_box(best_pts), n_faces=len(faces))

    def close(self) -> None:
        """Release the MediaPipe graph. Safe to call twice."""
        self._finalizer()

    def __enter__(self) -> FaceLandmarkDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: What MediaPipe's C++ code (absl logging) and TF Lite print to stderr each time a landmarker is made:
#: information, not problems. Filtered by ``quiet_native_stderr``; every other line is passed on.
BENIGN_NATIVE_STDERR = (
    re.compile(r"^WARNING: Logging before InitGoogle\(\) is written to STDERR$"),
    re.compile(r"^W0000 .*face_landmarker_graph\.cc:\d+\] Sets FaceBlendshapesGraph acceleration to xnnpack"),
    re.compile(r"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$"),
    re.compile(r"^W0000 .*inference_feedback_manager\.cc:\d+\] Feedback manager requires a model with a single "
               r"signature inference"),
)
_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_native_stderr():
    """Capture what native code writes to file descriptor 2 inside the block; afterwards write back every
    line that is not in ``BENIGN_NATIVE_STDERR``. Nothing is lost: other threads' stderr in the same moment
    is passed on too. Python-level ``sys.stderr`` writes are flushed first and not affected otherwise."""
    with _STDERR_LOCK:
        if sys.stderr is not None:
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:               # no stderr at all (closed fd 2): nothing to quieten
            yield
            return
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                text = captured.read().decode(errors="replace")
                kept = [line for line in text.splitlines()
                        if line.strip() and not any(p.search(line) for p in BENIGN_NATIVE_STDERR)]
                if kept:
                    os.write(2, ("\n".join(kept) + "\n").encode())


def _close_landmarker(landmarker) -> None:
    """Close a MediaPipe landmarker; late at interpreter exit its worker thread may already be gone."""
    try:
        landmarker.close()
    except RuntimeError:  # "cannot schedule new futures after shutdown": the process is ending anyway
        pass


_LIVE_DETECTORS: weakref.WeakSet = weakref.WeakSet()
_EXIT_HOOK_REGISTERED = False


def _close_live_detectors() -> None:
    """Exit hook: close every open detector while MediaPipe's worker thread still runs."""
    for detector in list(_LIVE_DETECTORS):
        detector.close()


def _register_exit_hook() -> None:
    """Close detectors at exit before concurrent.futures stops MediaPipe's worker thread.

    MediaPipe runs every C call on a ThreadPoolExecutor; that executor stops in threading's exit hooks,
    which run before ``atexit`` handlers, so closing from ``atexit`` (or from ``__del__`` during
    teardown) fails with a traceback on stderr. ``threading._register_atexit`` hooks run in reverse
    order of registration, i.e. this one before the executor's.
    """
    global _EXIT_HOOK_REGISTERED
    if _EXIT_HOOK_REGISTERED:
        return
    register = getattr(threading, "_register_atexit", None)
    try:
        (register or atexit.register)(_close_live_detectors)
    except RuntimeError:  # already shutting down
        return
    _EXIT_HOOK_REGISTERED = True
