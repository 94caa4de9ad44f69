"""The face of the synthetic generator: a real portrait cut out of its backdrop, with its skin regions.

The portrait is ``skimage.data.astronaut()`` (public domain, NASA; shipped with scikit-image, offline).
Once per process (cached) we find its face with ``kdphys.face.FaceLandmarkDetector`` and derive, in the
coordinates of a head-and-shoulders crop:

* ``alpha``: the person matte (GrabCut seeded by the face oval, a head ellipse and a torso polygon),
  feathered and faded out towards the crop's left, right and bottom edges;
* ``face_skin``: the skin that carries the pulse: inside the FaceMesh face oval, skin-coloured in YCrCb,
  with eyes, eyebrows and lips (plus a margin) cut out and shadows / hair excluded;
* ``tone_skin``: all visible skin (face and ears), feathered, which skin-tone augmentation recolours.

    base = subject_base()           # SubjectBase, computed once (~0.5 s: landmarker + GrabCut)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from kdphys import face as kface

#: FaceMesh face-oval landmark indices, in order around the face (MediaPipe FACE_LANDMARKS_FACE_OVAL).
FACE_OVAL_IDX = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
                 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
#: Skin test in YCrCb (Chai and Ngan 1999): Cr in [133, 173], Cb in [77, 127]; plus luma limits that drop
#: shadows, dark hair and specular highlights.
SKIN_CR = (133, 173)
SKIN_CB = (77, 127)
SKIN_Y = (70, 250)
#: Largest Mahalanobis distance from the face's own skin colour model (see ``personal_skin_test``).
SKIN_MAX_DISTANCE = 3.0
#: Margin cut around eyes, eyebrows and lips, as a fraction of the face width.
FEATURE_MARGIN_FRACTION = 0.035
#: The upper half of the face oval is shrunk towards its centre by this fraction (fringe of hair).
HAIRLINE_SHRINK = 0.12
#: Crop below the face box, in face heights (shoulders).
CROP_BELOW_FACE = 1.6


@dataclass(frozen=True)
class SubjectBase:
    """The portrait and its regions, in the coordinates of the head-and-shoulders crop.

    Attributes:
        rgb: (h, w, 3) uint8 RGB crop.
        alpha: (h, w) float32 0..1 person matte.
        face_skin: (h, w) bool facial skin (the pulse region, before feathering).
        tone_skin: (h, w) float32 0..1 skin to recolour.
        landmarks_px: (478, 2) float32 FaceMesh landmarks, x, y in crop pixels.
        skin_rgb: (3,) float64 mean R, G, B of ``face_skin``.
        mirror_index: (478,) int, FaceMesh index permutation of a mirrored face: after flipping the image,
            landmark i of the mirrored face is the flipped landmark ``mirror_index[i]``.
    """

    rgb: np.ndarray
    alpha: np.ndarray
    face_skin: np.ndarray
    tone_skin: np.ndarray
    landmarks_px: np.ndarray
    skin_rgb: np.ndarray
    mirror_index: np.ndarray

    @property
    def face_box_xyxy(self) -> np.ndarray:
        """(4,) float32 tight landmark box, crop pixels."""
        lm = self.landmarks_px
        return np.array([*lm.min(axis=0), *lm.max(axis=0)], dtype=np.float32)


def _poly(landmarks_px: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
    return np.round(landmarks_px[list(idx)]).astype(np.int32).reshape(-1, 1, 2)


def skin_colour_test(rgb: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose YCrCb colour is in the skin range (``SKIN_CR``, ``SKIN_CB``, ``SKIN_Y``)."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    return ((cr >= SKIN_CR[0]) & (cr <= SKIN_CR[1]) & (cb >= SKIN_CB[0]) & (cb <= SKIN_CB[1])
            & (y >= SKIN_Y[0]) & (y <= SKIN_Y[1]))


def personal_skin_test(rgb: np.ndarray, landmarks_px: np.ndarray, max_distance: float = SKIN_MAX_DISTANCE) -> np.ndarray:
    """(H, W) bool: pixels close to this face's own skin colour.

    A Gaussian model of the chroma (Cr, Cb) is fitted to the cheeks and forehead
    (``kdphys.face.skin_mask``); pixels within ``max_distance`` (Mahalanobis) of it pass. This separates
    blond hair from skin, which the fixed YCrCb box does not, and ignores shading (luma).
    """
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(np.float64)
    core = ycc[kface.skin_mask(landmarks_px, rgb.shape[:2], "forehead_cheeks")]
    inv_cov = np.linalg.inv(np.cov(core.T) + 1e-3 * np.eye(2))
    diff = ycc - core.mean(axis=0)
    return np.einsum("hwi,ij,hwj->hw", diff, inv_cov, diff) <= max_distance ** 2


def face_skin_mask(rgb: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """The pulse region: face oval, skin-coloured, minus eyes / brows / lips with a margin. (H, W) bool."""
    h, w = rgb.shape[:2]
    oval = np.zeros((h, w), np.uint8)
    outline = landmarks_px[list(FACE_OVAL_IDX)].copy()
    centre = outline.mean(axis=0)
    top = outline[:, 1] < centre[1]                            # the hairline: pull it in, hair hangs over it
    outline[top] = centre + (1.0 - HAIRLINE_SHRINK) * (outline[top] - centre)
    cv2.fillPoly(oval, [np.round(outline).astype(np.int32).reshape(-1, 1, 2)], 1)
    oval = cv2.erode(oval, np.ones((3, 3), np.uint8))          # the oval runs along the jaw edge
    features = np.zeros((h, w), np.uint8)
    polys = [_poly(landmarks_px, idx) for idx in kface.EXCLUDED_POLYGONS]
    cv2.fillPoly(features, polys, 1)
    margin_px = max(1, int(round(FEATURE_MARGIN_FRACTION * np.ptp(landmarks_px[:, 0]))))
    cv2.polylines(features, polys, isClosed=True, color=1, thickness=2 * margin_px + 1)
    skin = (oval > 0) & (features == 0) & skin_colour_test(rgb) & personal_skin_test(rgb, landmarks_px)
    skin = skin.astype(np.uint8)
    skin = cv2.morphologyEx(skin, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) & (oval > 0) & (features == 0)
    skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(skin, connectivity=8)
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 0.01 * oval.sum()]
    return np.isin(labels, keep)


def _person_matte(rgb: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """GrabCut person matte (H, W) float32 0..1, computed at half resolution and feathered."""
    h, w = rgb.shape[:2]
    x0, y0 = landmarks_px.min(axis=0)
    x1, y1 = landmarks_px.max(axis=0)
    cx, cy, fw, fh = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    seed = np.full((h, w), cv2.GC_BGD, np.uint8)
    cv2.ellipse(seed, (int(cx), int(cy - 0.12 * fh)), (int(0.95 * fw), int(0.85 * fh)), 0, 0, 360,
                cv2.GC_PR_FGD, -1)
    torso = np.array([[cx - 0.5 * fw, y1 - 5], [cx + 0.5 * fw, y1 - 5], [cx + 2.2 * fw, y1 + 1.2 * fh],
                      [cx + 2.2 * fw, h], [cx - 2.2 * fw, h], [cx - 2.2 * fw, y1 + 1.2 * fh]], np.int32)
    cv2.fillPoly(seed, [torso], cv2.GC_PR_FGD)
    cv2.fillPoly(seed, [_poly(landmarks_px, FACE_OVAL_IDX)], cv2.GC_FGD)
    small_bgr = cv2.cvtColor(cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
    small_seed = cv2.resize(seed, (w // 2, h // 2), interpolation=cv2.INTER_NEAREST)
    cv2.setRNGSeed(0)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cut, _, _ = cv2.grabCut(small_bgr, small_seed, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    fg = ((cut == cv2.GC_FGD) | (cut == cv2.GC_PR_FGD)).astype(np.float32)
    fg = cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.GaussianBlur(fg, (0, 0), 1.5)
    ramp_x = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / (0.08 * w), 0, 1)
    ramp_y = np.clip((h - 1 - np.arange(h)) / (0.15 * h), 0, 1)
    return (alpha * ramp_x[None, :] * ramp_y[:, None]).astype(np.float32)


def _tone_mask(rgb: np.ndarray, alpha: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """Visible skin near the face (face, ears), feathered, (H, W) float32 0..1."""
    h, w = rgb.shape[:2]
    x0, y0 = landmarks_px.min(axis=0)
    x1, y1 = landmarks_px.max(axis=0)
    near = np.zeros((h, w), np.uint8)
    cv2.ellipse(near, (int((x0 + x1) / 2), int((y0 + y1) / 2)), (int(0.75 * (x1 - x0)), int(0.7 * (y1 - y0))),
                0, 0, 360, 1, -1)
    skin = skin_colour_test(rgb) & personal_skin_test(rgb, landmarks_px) & (near > 0) & (alpha > 0.5)
    skin = skin.astype(np.float32)
    skin = cv2.morphologyEx(skin, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return cv2.GaussianBlur(skin, (0, 0), 2.0)


@lru_cache(maxsize=1)
def subject_base() -> SubjectBase:
    """Find the face in the portrait and build its regions (once per process).

    Raises:
        kdphys.errors.WeightsError: the face landmark model is missing (see kdphys.face).
        RuntimeError: the landmarker found no face in the portrait (would mean a broken model file).
    """
    import skimage.data

    full = skimage.data.astronaut()
    with kface.FaceLandmarkDetector(max_faces=1) as detector:
        obs = detector.detect(full)
        obs_mirrored = detector.detect(np.ascontiguousarray(full[:, ::-1]))
    if obs is None or obs_mirrored is None:
        raise RuntimeError("The face landmarker found no face in skimage.data.astronaut(); check "
                           "weights/face_landmarker.task.")
    x0, y0, x1, y1 = obs.box_xyxy
    bottom = int(min(full.shape[0], y1 + CROP_BELOW_FACE * (y1 - y0)))
    rgb = np.ascontiguousarray(full[:bottom])
    landmarks = obs.landmarks_px.astype(np.float32)
    alpha = _person_matte(rgb, landmarks)
    skin = face_skin_mask(rgb, landmarks) & (alpha > 0.99)
    flipped = landmarks.copy()
    flipped[:, 0] = full.shape[1] - 1 - flipped[:, 0]
    dist = np.linalg.norm(obs_mirrored.landmarks_px[:, None, :] - flipped[None, :, :], axis=2)
    return SubjectBase(rgb=rgb, alpha=alpha, face_skin=skin, tone_skin=_tone_mask(rgb, alpha, landmarks),
                       landmarks_px=landmarks, skin_rgb=rgb[skin].mean(axis=0), mirror_index=dist.argmin(axis=1))
