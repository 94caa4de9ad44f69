"""The skin of a face: FaceMesh landmark regions, the skin mask, and square (skin-only) crops.

* ``skin_mask`` rasterises the skin of the face (the face oval, eroded off its silhouette) or, for models
  trained on it, the older forehead and cheek polygons, and cuts out the eyes, eyebrows and lips.
* ``crop_square`` cuts a square box out of a frame, replicating edge pixels where the box leaves it;
  ``crop_square_skin`` does the same but keeps only the skin-mask pixels (the neural models' input).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from kdphys.io.lazy_rgb import LazyRgb, image_region

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


def check_rgb(rgb: np.ndarray | LazyRgb) -> np.ndarray | LazyRgb:
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
    rgb = check_rgb(rgb)
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
    rgb = check_rgb(rgb)
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
