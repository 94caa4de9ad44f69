"""Face finding for rPPG: MediaPipe landmarks, a skin mask, and a per-frame face tracker.

Five-line use::

    tracker = FaceTracker(TrackerSettings(crop_size=72, detect_every=5))
    for frame in frames:                       # (H, W, 3) uint8 RGB
        res = tracker.update(frame)
        if res.state == "tracking":
            trace.append(res.skin_rgb)         # (3,) mean skin R, G, B, 0..255
    tracker.close()

Pieces:

* ``FaceLandmarkDetector`` wraps the MediaPipe Tasks ``FaceLandmarker`` (model
  ``weights/face_landmarker.task``, IMAGE running mode: every call is independent; the tracking is ours).
* ``skin_mask`` rasterises the skin of the face (the face oval, eroded off its silhouette) or, for models
  trained on it, the older forehead and cheek polygons, and cuts out the eyes, eyebrows and lips.
* ``crop_square`` cuts a square box out of a frame, replicating edge pixels where the box leaves it;
  ``crop_square_skin`` does the same but keeps only the skin-mask pixels (the neural models' input).
* ``FaceTracker`` runs the landmarker every ``detect_every`` frames, smooths the crop box, holds the
  landmarks in between and reports an explicit "lost" state (no crop, no colour) when the face is gone.
"""

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
from typing import Literal, Protocol

import cv2
import numpy as np

from kdphys.errors import WeightsError
from kdphys.lazy_rgb import LazyRgb, image_region
from kdphys.paths import FACE_LANDMARKER_MODEL

N_LANDMARKS = 478

# ---------------------------------------------------------------------------------------------------
# FaceMesh landmark indices (canonical 468-point mesh + 10 iris points). "Right"/"left" are the
# subject's; in an unmirrored frame the subject's right side is on the image's left.
# ---------------------------------------------------------------------------------------------------

#: Forehead: a band above the eyebrows, from the inner brow tops (107, 336) and the glabella (9) up to
#: the upper forehead (109, 10, 338). Same region as pyVHR's "forehead" ROI.
FOREHEAD_IDX = (9, 107, 66, 105, 104, 69, 108, 151, 337, 299, 333, 334, 296, 336)
#: Subject's right cheek (image left): below the lower eyelid (117..120), along the nose side
#: (47, 126, 209 is avoided: that is the nostril wing) down to the nasolabial fold (203, 206, 216) and
#: back up along the outer cheek (207, 187, 147, 123).
RIGHT_CHEEK_IDX = (117, 118, 119, 120, 47, 126, 142, 203, 206, 216, 207, 187, 147, 123, 116)
#: Subject's left cheek (image right): mirror of RIGHT_CHEEK_IDX.
LEFT_CHEEK_IDX = (346, 347, 348, 349, 277, 355, 371, 423, 426, 436, 427, 411, 376, 352, 345)

#: Eye contours (eyelid margins).
RIGHT_EYE_IDX = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_IDX = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
#: Eyebrows: upper edge then lower edge, as a closed polygon.
RIGHT_BROW_IDX = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW_IDX = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
#: Outer lip contour.
LIPS_IDX = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
#: Iris centres and rings (468..477), inside the eye contours.
IRIS_IDX = tuple(range(468, 478))

#: Face oval (silhouette from the hairline over the temples, jaw and chin), clockwise from the forehead top.
FACE_OVAL_IDX = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
                 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)

#: Skin regions (``skin_mask(region=...)``): filled polygons before the excluded ones are cut out.
#: "face": the whole face oval, eroded by ``FACE_EROSION_FRACTION`` of the face width so that its edge
#: keeps off hair, ears and background when the face moves between landmark updates. Averaging more
#: skin beats compression noise: on the 8 UBFC-rPPG dev subjects (H.264 at 80-210 kbit/s) POS's 10 s
#: windows were within 5 bpm of the oximeter in 68 % against 58 % with "forehead_cheeks"; on the sample
#: clip the whole-clip SNR was +1.3 against +1.8 dB (docs/DESIGN.md, "Skin region").
#: "forehead_cheeks": forehead band and both cheeks (the shipped models until they were retrained).
SKIN_REGIONS = {"face": (FACE_OVAL_IDX,), "forehead_cheeks": (FOREHEAD_IDX, RIGHT_CHEEK_IDX, LEFT_CHEEK_IDX)}
SkinRegion = Literal["face", "forehead_cheeks"]
DEFAULT_SKIN_REGION: SkinRegion = "face"
FACE_EROSION_FRACTION = 0.05
EXCLUDED_POLYGONS = (RIGHT_EYE_IDX, LEFT_EYE_IDX, RIGHT_BROW_IDX, LEFT_BROW_IDX, LIPS_IDX)
#: Margin cut around excluded polygons, as a fraction of the landmark box width (eyelashes, lip edge).
EXCLUSION_MARGIN_FRACTION = 0.03


@dataclass(frozen=True)
class FaceObservation:
    """One face found by the landmarker.

    Attributes:
        landmarks_px: (478, 2) float32, pixel x, y in the frame given to ``detect`` (may lie slightly
            outside the frame when the face is cut by the border).
        box_xyxy: (4,) float32, tight box around the landmarks, x0, y0, x1, y1 in pixels (not clipped).
        n_faces: number of faces the landmarker saw in the frame (this one is the largest). Addition
            to docs/CONTRACTS.md; defaults to 1 so that fake detectors need not set it.
    """

    landmarks_px: np.ndarray
    box_xyxy: np.ndarray
    n_faces: int = 1


class Detector(Protocol):
    """What ``FaceTracker`` needs from a detector (``FaceLandmarkDetector`` or a test fake)."""

    def detect(self, rgb: np.ndarray) -> FaceObservation | None: ...


def _check_rgb(rgb: np.ndarray | LazyRgb) -> np.ndarray | LazyRgb:
    """Return ``rgb`` as a C-contiguous (H, W, 3) uint8 array (a ``LazyRgb`` as it is), or raise ValueError
    saying what is wrong."""
    if isinstance(rgb, LazyRgb):
        return rgb
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", type(rgb).__name__)
        raise ValueError(f"Expected an (H, W, 3) RGB image, got {shape}. Convert grey or RGBA frames to RGB first.")
    if rgb.dtype != np.uint8:
        raise ValueError(f"Expected a uint8 RGB image (0..255), got dtype {rgb.dtype}. Use frame.astype(np.uint8).")
    return np.ascontiguousarray(rgb)


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

        rgb = np.asarray(_check_rgb(rgb))
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


def _polygon_px(landmarks_px: np.ndarray, indices: tuple[int, ...]) -> np.ndarray:
    """(K, 1, 2) int32 polygon for cv2 drawing functions."""
    return np.round(landmarks_px[list(indices)]).astype(np.int32).reshape(-1, 1, 2)


def skin_mask(landmarks_px: np.ndarray, shape_hw: tuple[int, int], region: SkinRegion = DEFAULT_SKIN_REGION
              ) -> np.ndarray:
    """Skin pixels of the face, with eyes, eyebrows and lips cut out.

    The polygons of ``SKIN_REGIONS[region]`` (FaceMesh indices) are filled; ``RIGHT_EYE_IDX``,
    ``LEFT_EYE_IDX``, ``RIGHT_BROW_IDX``, ``LEFT_BROW_IDX``, ``LIPS_IDX`` are then cleared, together with a
    margin of ``EXCLUSION_MARGIN_FRACTION`` of the face width around them. "face" masks are then eroded by
    ``FACE_EROSION_FRACTION`` of the face width (off the silhouette and a little further off the features).

    Args:
        landmarks_px: (478, 2) float pixel x, y (468 also works: the iris points are not used).
        shape_hw: (H, W) of the frame the landmarks belong to.
        region: "face" or "forehead_cheeks" (see ``SKIN_REGIONS``).

    Returns:
        (H, W) bool mask, True on skin. All False when the polygons lie outside the frame.
    """
    if region not in SKIN_REGIONS:
        raise ValueError(f"region must be one of {sorted(SKIN_REGIONS)}, got {region!r}.")
    landmarks_px = np.asarray(landmarks_px, dtype=np.float32)
    if landmarks_px.ndim != 2 or landmarks_px.shape[1] != 2 or landmarks_px.shape[0] < 468:
        raise ValueError(f"Expected FaceMesh landmarks of shape (478, 2), got {landmarks_px.shape}.")
    height, width = int(shape_hw[0]), int(shape_hw[1])
    mask = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(mask, [_polygon_px(landmarks_px, idx) for idx in SKIN_REGIONS[region]], 1)
    excluded = [_polygon_px(landmarks_px, idx) for idx in EXCLUDED_POLYGONS]
    cv2.fillPoly(mask, excluded, 0)
    face_width_px = float(np.ptp(landmarks_px[:468, 0]))
    margin_px = max(1, int(round(EXCLUSION_MARGIN_FRACTION * face_width_px)))
    cv2.polylines(mask, excluded, isClosed=True, color=0, thickness=2 * margin_px + 1)
    if region == "face":   # off the silhouette, and a little further off eyes, brows and lips
        radius = max(1, int(round(FACE_EROSION_FRACTION * face_width_px)))
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return mask.view(bool)


def _square_patch(image: np.ndarray | LazyRgb, box_xyxy: np.ndarray) -> np.ndarray:
    """The square around a box (side max(width, height), same centre), edge-replicated outside the image.

    Args:
        image: (H, W) or (H, W, C) array, or a ``LazyRgb`` (only the square's pixels are converted).
        box_xyxy: (4,) x0, y0, x1, y1 in pixels (may extend beyond the image).

    Returns:
        (side, side[, C]) view or copy of ``image``, side = round(max(box width, box height)) >= 1.
    """
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    side_px = max(1, int(round(max(x1 - x0, y1 - y0))))
    left = int(round((x0 + x1) / 2.0 - side_px / 2.0))
    top = int(round((y0 + y1) / 2.0 - side_px / 2.0))
    height, width = image.shape[:2]
    if 0 <= left and 0 <= top and left + side_px <= width and top + side_px <= height:
        return image_region(image, slice(top, top + side_px), slice(left, left + side_px))
    rows = np.clip(np.arange(top, top + side_px), 0, height - 1)   # replicate edges
    cols = np.clip(np.arange(left, left + side_px), 0, width - 1)
    inside = image_region(image, slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return inside[rows - rows[0]][:, cols - cols[0]]


def crop_square(rgb: np.ndarray, box_xyxy: np.ndarray, size: int) -> np.ndarray:
    """Square crop around a box, resized, with edge pixels replicated where the box leaves the frame.

    The square is centred on the box centre with side max(box width, box height), so a square box is
    used as is. Resizing uses cv2.INTER_AREA.

    Args:
        rgb: (H, W, 3) uint8 RGB frame.
        box_xyxy: (4,) x0, y0, x1, y1 in pixels (may extend beyond the frame).
        size: output side in pixels.

    Returns:
        (size, size, 3) uint8 RGB.
    """
    rgb = _check_rgb(rgb)
    if size < 1:
        raise ValueError(f"crop size must be >= 1 pixel, got {size}.")
    patch = _square_patch(rgb, box_xyxy)
    if patch.shape[0] == size:
        return np.ascontiguousarray(patch)
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)


def crop_square_skin(rgb: np.ndarray, mask: np.ndarray, box_xyxy: np.ndarray, size: int,
                     min_coverage: float = 0.5) -> np.ndarray:
    """Like ``crop_square``, but only skin shows: each output pixel is the mean colour of the skin-mask
    pixels it covers, and black (0) where less than ``min_coverage`` of it is skin.

    Neural models then see the same pixels as the skin trace of the classical methods: hair, background,
    eyes and glasses carry no pulse and only add noise (on the real sample clip, with a crop box of 1.5x
    the landmark box, POS on the mean of the whole 36x36 crop reads -4.1 dB SNR, on this crop's skin
    pixels +1.5 dB).

    Args:
        rgb: (H, W, 3) uint8 RGB frame.
        mask: (H, W) bool skin mask of the frame (``skin_mask``).
        box_xyxy: (4,) x0, y0, x1, y1 in pixels (may extend beyond the frame).
        size: output side in pixels.
        min_coverage: fraction of an output pixel's area that must be skin for it to show, 0..1.

    Returns:
        (size, size, 3) uint8 RGB, 0 off the skin.
    """
    rgb = _check_rgb(rgb)
    if size < 1:
        raise ValueError(f"crop size must be >= 1 pixel, got {size}.")
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match the frame {rgb.shape[:2]}.")
    skin = _square_patch(np.asarray(mask, dtype=bool), box_xyxy).view(np.uint8)   # 0/1
    patch = _square_patch(rgb, box_xyxy)
    weight = skin.astype(np.float32)
    weighted = cv2.bitwise_and(patch, patch, mask=skin).astype(np.float32)   # = patch * skin, in float32
    if weight.shape[0] != size:
        weight = cv2.resize(weight, (size, size), interpolation=cv2.INTER_AREA)
        weighted = cv2.resize(weighted, (size, size), interpolation=cv2.INTER_AREA)
    shown = weight >= min_coverage
    colour = weighted / np.maximum(weight, 1e-6)[..., None]
    return np.where(shown[..., None], np.clip(np.rint(colour), 0, 255), 0).astype(np.uint8)


@dataclass
class TrackerSettings:
    """Settings of ``FaceTracker``.

    Defaults measured on the sample clip (640x480, 2 CPU cores): detect_every=5 costs about 2.3 ms per
    frame on average (landmarker ~10 ms on one frame in five, 0.3 ms otherwise) against ~11 ms with
    detect_every=1, with the same POS heart rate and SNR; detect_every=10 starts to distort the
    in-band skin trace (held landmarks go stale).

    Attributes:
        crop_size: side of the face crop in pixels (the neural models take 72).
        detect_every: run the landmarker on one frame in this many while tracking (1 = every frame).
            Landmarks and the skin mask are held in between; the crop box keeps gliding (EMA).
        smoothing: EMA weight of the newest measured box per frame, 0 < smoothing <= 1 (1 = no smoothing).
        box_scale: side of the square crop / side of the tight landmark box (its larger dimension).
            1.1: the skin mask lies inside the landmark box, so a tight crop gives the skin more of the
            model's pixels (real clip, 36x36 skin crop: 11 % skin at 1.1 vs 6 % at 1.5; POS on the
            crop's skin pixels +1.8 vs +1.6 dB SNR), with a margin for the gliding box.
        lost_after_misses: consecutive failed detections after which the state is "lost".
        snap_fraction: when a new detection's box centre moves more than this fraction of the crop side,
            or its side changes by more than this fraction, the box jumps there instead of gliding.
        lost_detect_every: while lost (no face held), run the landmarker on one frame in this many.
            1 = every frame: fastest recovery; a frame without a face costs about as much as one with.
        landmark_smoothing: smallest EMA weight of a new detection's landmarks (1 = no smoothing). The
            weight grows to 1 as the median landmark displacement reaches ``landmark_motion_fraction``
            of the face width, so landmark jitter (which moves the skin mask's edges and adds noise to
            the skin colour) is damped while real head motion is followed at once.
        landmark_motion_fraction: displacement, as a fraction of the face width, treated as real motion.
        crop_pixels: "skin" (default): the crop shows only skin-mask pixels, black elsewhere
            (``crop_square_skin``), which is what the neural models are trained on; "all": the whole
            square (``crop_square``), for display.
        skin_region: which skin the mask (trace and skin crops) covers: "face" (default) or
            "forehead_cheeks" (what models trained before the change expect); see ``SKIN_REGIONS``.
    """

    crop_size: int = 72
    detect_every: int = 5
    smoothing: float = 0.3
    box_scale: float = 1.1
    lost_after_misses: int = 3
    snap_fraction: float = 0.3
    lost_detect_every: int = 1
    landmark_smoothing: float = 0.25
    landmark_motion_fraction: float = 0.05
    crop_pixels: Literal["skin", "all"] = "skin"
    skin_region: SkinRegion = DEFAULT_SKIN_REGION

    def __post_init__(self) -> None:
        if self.crop_size < 1:
            raise ValueError(f"crop_size must be >= 1 pixel, got {self.crop_size}.")
        if self.detect_every < 1 or self.lost_detect_every < 1:
            raise ValueError("detect_every and lost_detect_every must be >= 1 (1 = every frame).")
        if not 0.0 < self.smoothing <= 1.0:
            raise ValueError(f"smoothing is the EMA weight of the new box, 0 < smoothing <= 1; got {self.smoothing}.")
        if self.box_scale <= 0:
            raise ValueError(f"box_scale must be > 0, got {self.box_scale}.")
        if self.lost_after_misses < 1:
            raise ValueError(f"lost_after_misses must be >= 1, got {self.lost_after_misses}.")
        if not 0.0 < self.landmark_smoothing <= 1.0:
            raise ValueError(f"landmark_smoothing must be in (0, 1], got {self.landmark_smoothing}.")
        if self.skin_region not in SKIN_REGIONS:
            raise ValueError(f"skin_region must be one of {sorted(SKIN_REGIONS)}, got {self.skin_region!r}.")
        if self.crop_pixels not in ("skin", "all"):
            raise ValueError(f'crop_pixels must be "skin" or "all", got {self.crop_pixels!r}.')


@dataclass(frozen=True)
class TrackResult:
    """What ``FaceTracker.update`` reports for one frame.

    Attributes:
        state: "tracking" (a face is held: crop and colour are valid) or "lost" (no face: all None).
        box_xyxy: (4,) float32 smoothed square crop box x0, y0, x1, y1 in pixels, or None when lost.
        crop: (crop_size, crop_size, 3) uint8 RGB, or None when lost or not asked for (``update(...,
            crop=False)``); black off the skin when ``TrackerSettings.crop_pixels`` is "skin".
        skin_rgb: (3,) float64 mean R, G, B (0..255) of the skin-mask pixels, or None when lost (or
            when the mask holds no pixel, e.g. the face is almost out of the frame).
        skin_mask: (H, W) bool in frame coordinates, or None when lost. Read-only, shared between
            frames until the next detection; copy it before changing it.
        n_faces: faces seen at the last detection (0 after a failed one).
        detected: True when the landmarker ran on this frame.
        landmarks_px: (478, 2) float32 held landmarks, or None when lost. Addition to the contract.
    """

    state: Literal["tracking", "lost"]
    box_xyxy: np.ndarray | None
    crop: np.ndarray | None
    skin_rgb: np.ndarray | None
    skin_mask: np.ndarray | None
    n_faces: int
    detected: bool
    landmarks_px: np.ndarray | None = None


@dataclass
class _HeldFace:
    """Internal state while a face is held."""

    landmarks_px: np.ndarray                 # (478, 2) float32
    target_cxcys: np.ndarray                 # (3,) centre x, centre y, side of the latest measured crop box
    box_cxcys: np.ndarray                    # (3,) smoothed crop box
    mask: np.ndarray                         # (H, W) bool, read-only
    mask_window: tuple[slice, slice] | None  # rows, cols bounding the mask (None: empty mask)
    mask_window_u8: np.ndarray | None = None  # uint8 copy of mask[window] for cv2.mean


def _mask_window(mask: np.ndarray) -> tuple[slice, slice] | None:
    """Rows/cols slices bounding the True pixels of an (H, W) bool mask, or None if it has none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


class FaceTracker:
    """Per-frame face crops and mean skin colour, with the landmarker run only every few frames.

    Per ``update``:

    * The landmarker runs when no face is held (every ``lost_detect_every`` frames), on the frame after
      a failed detection (retry), and otherwise every ``detect_every`` frames.
    * A successful detection sets the target crop box (square, ``box_scale`` x the landmark box side,
      same centre), replaces the held landmarks and rebuilds the skin mask.
    * Every frame the crop box moves toward the target by ``smoothing`` (EMA: less jitter, no steps every
      ``detect_every`` frames); a jump larger than ``snap_fraction`` of the side snaps instead.
    * Failed detections are counted; while fewer than ``lost_after_misses`` in a row, the last face is
      held (state "tracking"). At ``lost_after_misses`` the state becomes "lost": box, crop, colour,
      mask are None (never a fall-back to the whole frame). The first successful detection recovers.
    * Before the first face is found the state is "lost". A change of frame size resets the tracker.
    """

    def __init__(self, settings: TrackerSettings | None = None, detector: Detector | None = None,
                 owns_detector: bool = False):
        """
        Args:
            settings: ``TrackerSettings`` (defaults when None).
            detector: anything with ``detect(rgb) -> FaceObservation | None``; a
                ``FaceLandmarkDetector`` is created (and owned, closed by ``close``) when None.
            owns_detector: close the given detector in ``close`` too.
        """
        self.settings = settings if settings is not None else TrackerSettings()
        self._owns_detector = detector is None or owns_detector
        self.detector = detector if detector is not None else FaceLandmarkDetector()
        self.reset()

    def reset(self) -> None:
        """Forget the held face; the next ``update`` runs the landmarker."""
        self._held: _HeldFace | None = None
        self._misses = 0
        self._frames_since_detect = 0
        self._n_faces = 0
        self._shape_hw: tuple[int, int] | None = None
        self._force_detect = True

    def close(self) -> None:
        """Close the detector if this tracker created it."""
        if self._owns_detector and hasattr(self.detector, "close"):
            self.detector.close()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def state(self) -> Literal["tracking", "lost"]:
        """Current state: "tracking" while a face is held, else "lost"."""
        return "tracking" if self._held is not None else "lost"

    def update(self, rgb: np.ndarray | LazyRgb, crop: bool = True) -> TrackResult:
        """Process one frame.

        Args:
            rgb: (H, W, 3) uint8 RGB frame, or a ``LazyRgb`` (uploads: only the face's part is converted;
                same results). Frames are assumed consecutive.
            crop: cut the face crop (False: ``TrackResult.crop`` is None, which saves about 0.25 ms per
                640x480 frame for methods that use only the skin colour).

        Returns:
            ``TrackResult`` for this frame.
        """
        rgb = _check_rgb(rgb)
        shape_hw = (rgb.shape[0], rgb.shape[1])
        if shape_hw != self._shape_hw:
            self.reset()
            self._shape_hw = shape_hw
        detected = self._should_detect()
        if detected:
            self._detect(rgb)
        else:
            self._frames_since_detect += 1
        if self._held is None:
            return TrackResult("lost", None, None, None, None, self._n_faces, detected)
        self._glide_box()
        return self._result(rgb, detected, crop)

    def _should_detect(self) -> bool:
        """Whether the landmarker runs on this frame (see the class docstring for the rule)."""
        s = self.settings
        if self._force_detect or (self._misses > 0 and self._held is not None):
            return True
        every = s.detect_every if self._held is not None else s.lost_detect_every
        return self._frames_since_detect + 1 >= every

    def _detect(self, rgb: np.ndarray) -> None:
        """Run the detector and update held face, miss count and box target."""
        self._force_detect = False
        self._frames_since_detect = 0
        obs = self.detector.detect(rgb)
        if obs is None:
            self._n_faces = 0
            self._misses += 1
            if self._misses >= self.settings.lost_after_misses:
                self._held = None
            return
        self._n_faces = int(getattr(obs, "n_faces", 1))
        self._misses = 0
        previous = self._held
        landmarks = np.asarray(obs.landmarks_px, dtype=np.float32)
        if previous is not None:
            landmarks = self._smooth_landmarks(previous.landmarks_px, landmarks)
        target = self._target_box(np.asarray(obs.box_xyxy, dtype=np.float64))
        mask = skin_mask(landmarks, rgb.shape[:2], self.settings.skin_region)
        mask.flags.writeable = False
        window = _mask_window(mask)
        window_u8 = np.ascontiguousarray(mask[window], dtype=np.uint8) if window is not None else None
        box = target.copy() if previous is None or self._is_jump(previous.box_cxcys, target) else previous.box_cxcys
        self._held = _HeldFace(landmarks, target, box, mask, window, window_u8)

    def _smooth_landmarks(self, held: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Motion-adaptive EMA of landmarks (478, 2): damp jitter, follow real motion at once."""
        s = self.settings
        face_width_px = max(float(np.ptp(new[:, 0])), 1.0)
        moved_px = float(np.median(np.hypot(*(new - held).T)))
        motion = min(moved_px / (s.landmark_motion_fraction * face_width_px), 1.0)
        weight = s.landmark_smoothing + (1.0 - s.landmark_smoothing) * motion
        return ((1.0 - weight) * held + weight * new).astype(np.float32)

    def _target_box(self, box_xyxy: np.ndarray) -> np.ndarray:
        """(3,) centre x, centre y, side of the square crop box for a tight landmark box."""
        x0, y0, x1, y1 = box_xyxy
        side = self.settings.box_scale * max(x1 - x0, y1 - y0, 1.0)
        return np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0, side])

    def _is_jump(self, box_cxcys: np.ndarray, target: np.ndarray) -> bool:
        """True when ``target`` is too far from ``box_cxcys`` to glide there."""
        f = self.settings.snap_fraction
        side = box_cxcys[2]
        moved = float(np.hypot(*(target[:2] - box_cxcys[:2])))
        return moved > f * side or abs(target[2] - side) > f * side

    def _glide_box(self) -> None:
        """One EMA step of the smoothed box toward the latest target."""
        held = self._held
        a = self.settings.smoothing
        held.box_cxcys = (1.0 - a) * held.box_cxcys + a * held.target_cxcys

    def _result(self, rgb: np.ndarray, detected: bool, want_crop: bool = True) -> TrackResult:
        """Crop (when wanted), skin colour and mask for the held face on this frame."""
        held = self._held
        cx, cy, side = held.box_cxcys
        box = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], dtype=np.float32)
        if isinstance(rgb, LazyRgb):
            _convert_once(rgb, box if want_crop else None, held.mask_window)
        crop = None
        if want_crop and self.settings.crop_pixels == "skin":
            crop = crop_square_skin(rgb, held.mask, box, self.settings.crop_size)
        elif want_crop:
            crop = crop_square(rgb, box, self.settings.crop_size)
        skin_rgb = None
        if held.mask_window is not None:
            rows, cols = held.mask_window
            mean_bgra = cv2.mean(image_region(rgb, rows, cols), mask=held.mask_window_u8)
            skin_rgb = np.array(mean_bgra[:3], dtype=np.float64)   # channels as stored: R, G, B
        return TrackResult("tracking", box, crop, skin_rgb, held.mask, self._n_faces, detected,
                           held.landmarks_px)


def _convert_once(image: LazyRgb, box_xyxy: np.ndarray | None, window: tuple[slice, slice] | None) -> None:
    """Convert the part of a ``LazyRgb`` that a frame's crop box (2 px margin for the square's rounding)
    and skin-mask window cover, in one go, so that reading each of them is a slice of it."""
    height, width = image.shape[:2]
    bounds = []
    if box_xyxy is not None:
        x0, y0, x1, y1 = (float(v) for v in box_xyxy)
        bounds.append((int(np.floor(y0)) - 2, int(np.ceil(y1)) + 2, int(np.floor(x0)) - 2, int(np.ceil(x1)) + 2))
    if window is not None:
        rows, cols = window
        bounds.append((rows.start, rows.stop, cols.start, cols.stop))
    if not bounds:
        return
    y0, y1 = max(min(b[0] for b in bounds), 0), min(max(b[1] for b in bounds), height)
    x0, x1 = max(min(b[2] for b in bounds), 0), min(max(b[3] for b in bounds), width)
    image.region(slice(y0, y1), slice(x0, x1))
