"""The per-frame face tracker: the landmarker every few frames, a smoothed crop box, held landmarks and skin
mask in between, and an explicit "lost" state.

    tracker = FaceTracker(TrackerSettings(crop_size=72, detect_every=5))
    for frame in frames:                       # (H, W, 3) uint8 RGB
        res = tracker.update(frame)
        if res.state == "tracking":
            trace.append(res.skin_rgb)         # (3,) mean skin R, G, B, 0..255
    tracker.close()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from kdphys.face.landmarker import Detector, FaceLandmarkDetector
from kdphys.face.skin import (DEFAULT_SKIN_REGION, SKIN_REGIONS, SkinRegion, check_rgb, crop_square,
                              crop_square_skin, skin_mask)
from kdphys.io.lazy_rgb import LazyRgb, image_region

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
        rgb = check_rgb(rgb)
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
