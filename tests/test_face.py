"""Tests of kdphys.face: landmarker on real frames, skin mask, crop_square, and the FaceTracker logic."""

from __future__ import annotations

import itertools

import av
import cv2
import numpy as np
import pytest
from skimage import data as skdata

from kdphys import face, paths
from kdphys.errors import WeightsError
from kdphys.face import FaceObservation, FaceTracker, TrackerSettings, crop_square, crop_square_skin, skin_mask


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def clip_frames() -> list[np.ndarray]:
    """Frames 0, 1, 2 and 300 (10 s) of the real clip, (480, 640, 3) uint8 RGB."""
    container = av.open(str(paths.SAMPLE_VIDEO))
    try:
        wanted = {0, 1, 2, 300}
        frames = [f.to_ndarray(format="rgb24") for i, f in
                  enumerate(itertools.islice(container.decode(video=0), 301)) if i in wanted]
    finally:
        container.close()
    assert len(frames) == 4
    return frames


@pytest.fixture(scope="module")
def detector():
    det = face.FaceLandmarkDetector()
    yield det
    det.close()


@pytest.fixture(scope="module")
def clip_face(detector, clip_frames) -> FaceObservation:
    obs = detector.detect(clip_frames[0])
    assert obs is not None, "no face found on frame 0 of the sample clip"
    return obs


def blank_frame() -> np.ndarray:
    return np.zeros((480, 640, 3), dtype=np.uint8)


def noise_frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (480, 640, 3), dtype=np.uint8)


class FakeDetector:
    """Returns a scripted FaceObservation (or None) per call; counts calls."""

    def __init__(self, boxes_xyxy, template_seed: int = 0):
        self._boxes = list(boxes_xyxy)
        rng = np.random.default_rng(template_seed)
        unit = rng.uniform(0.0, 1.0, (478, 2))
        unit[0], unit[1] = (0.0, 0.0), (1.0, 1.0)   # so the tight box is exactly the scripted box
        self._unit = unit
        self.calls = 0

    def detect(self, rgb):
        box = self._boxes[min(self.calls, len(self._boxes) - 1)]
        self.calls += 1
        if box is None:
            return None
        x0, y0, x1, y1 = box
        pts = (self._unit * [x1 - x0, y1 - y0] + [x0, y0]).astype(np.float32)
        return FaceObservation(landmarks_px=pts, box_xyxy=np.array(box, dtype=np.float32))


def box_centres(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)


# ------------------------------------------------------------------------------------------- detector
def test_detects_face_on_real_clip_with_plausible_box(detector, clip_frames):
    for rgb in clip_frames:
        obs = detector.detect(rgb)
        assert obs is not None
        assert obs.landmarks_px.shape == (478, 2) and obs.landmarks_px.dtype == np.float32
        assert obs.n_faces == 1
        x0, y0, x1, y1 = obs.box_xyxy
        width, height = x1 - x0, y1 - y0
        # a webcam head-and-shoulders shot: face in the middle, 15..60 % of the frame width
        assert 0.15 * 640 < width < 0.6 * 640 and 0.8 < height / width < 1.6
        assert 0 <= x0 and x1 <= 640 and 0 <= y0 and y1 <= 480
        assert 160 < (x0 + x1) / 2 < 480 and 120 < (y0 + y1) / 2 < 360
        # tight box really is the landmark extent
        np.testing.assert_allclose(obs.box_xyxy[:2], obs.landmarks_px.min(axis=0), atol=1e-3)
        np.testing.assert_allclose(obs.box_xyxy[2:], obs.landmarks_px.max(axis=0), atol=1e-3)


def test_detects_astronaut_face(detector):
    img = skdata.astronaut()                   # (512, 512, 3); Eileen Collins' face near x 180-270, y 70-180
    obs = detector.detect(img)
    assert obs is not None
    cx, cy = (obs.box_xyxy[0] + obs.box_xyxy[2]) / 2, (obs.box_xyxy[1] + obs.box_xyxy[3]) / 2
    assert 170 < cx < 290 and 80 < cy < 180
    assert 60 < obs.box_xyxy[2] - obs.box_xyxy[0] < 160


@pytest.mark.parametrize("make_frame", [blank_frame, noise_frame])
def test_no_face_gives_none(detector, make_frame):
    assert detector.detect(make_frame()) is None


def test_reports_two_faces_and_returns_largest(detector, clip_frames):
    face_crop = clip_frames[0][100:400, 200:500]                       # (300, 300, 3), one face
    smaller = cv2.resize(face_crop, (240, 240), interpolation=cv2.INTER_AREA)
    smaller = np.pad(smaller, ((30, 30), (0, 0), (0, 0)), mode="edge")
    obs = detector.detect(np.ascontiguousarray(np.hstack([smaller, face_crop])))
    assert obs is not None and obs.n_faces == 2
    assert obs.box_xyxy[0] > 240                                       # the larger face, on the right
    assert obs.box_xyxy[2] - obs.box_xyxy[0] > 110


def test_missing_model_raises_weights_error(tmp_path):
    missing = tmp_path / "nothing.task"
    with pytest.raises(WeightsError, match="nothing.task"):
        face.FaceLandmarkDetector(model_path=missing)


def test_corrupt_model_raises_weights_error(tmp_path):
    bad = tmp_path / "bad.task"
    bad.write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="bad.task"):
        face.FaceLandmarkDetector(model_path=bad)


def test_detect_rejects_wrong_input(detector):
    with pytest.raises(ValueError, match="RGB"):
        detector.detect(np.zeros((48, 64), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((48, 64, 3), dtype=np.float32))


# ------------------------------------------------------------------------------------------ skin mask
def test_skin_mask_covers_sensible_fraction_and_excludes_features(clip_face, clip_frames):
    rgb = clip_frames[0]
    mask = skin_mask(clip_face.landmarks_px, rgb.shape[:2])
    assert mask.shape == (480, 640) and mask.dtype == bool
    x0, y0, x1, y1 = clip_face.box_xyxy
    box_area = (x1 - x0) * (y1 - y0)
    assert 0.08 < mask.sum() / box_area < 0.35
    assert not mask[: int(y0) - 5].any() and not mask[int(y1) + 5:].any()   # nothing outside the face

    excluded = set(itertools.chain(*face.EXCLUDED_POLYGONS, face.IRIS_IDX))
    for idx in excluded:
        x, y = np.round(clip_face.landmarks_px[idx]).astype(int)
        assert not mask[y, x], f"landmark {idx} (eye/brow/mouth) is inside the skin mask"
    # centres of both cheeks and of the forehead band are skin
    lm = clip_face.landmarks_px
    for point in (lm[50], lm[280], (lm[9] + lm[151]) / 2):
        x, y = np.round(point).astype(int)
        assert mask[y, x]
    # skin colour: red dominates blue, not saturated
    r, g, b = rgb[mask].mean(axis=0)
    assert r > b and 40 < g < 230


def test_skin_mask_cuts_out_eye_polygon_lying_on_the_cheek(clip_face):
    """Exclusion is applied after filling: an eye contour moved onto the cheek leaves a hole there."""
    lm = clip_face.landmarks_px.copy()
    centre = lm[50].copy()                                   # right cheek centre
    angles = np.linspace(0, 2 * np.pi, len(face.RIGHT_EYE_IDX), endpoint=False)
    lm[list(face.RIGHT_EYE_IDX)] = centre + 8.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    mask = skin_mask(lm, (480, 640))
    cx, cy = np.round(centre).astype(int)
    assert not mask[cy - 8:cy + 9, cx - 8:cx + 9].any()      # the "eye" and its margin
    assert mask[cy, cx + 30] or mask[cy, cx - 30]            # the cheek around it stays (hole + erosion)


def test_skin_mask_outside_frame_is_empty(clip_face):
    shifted = clip_face.landmarks_px + np.float32(2000.0)
    assert not skin_mask(shifted, (480, 640)).any()


# ----------------------------------------------------------------------------------------- crop_square
def gradient_image(height: int = 40, width: int = 60) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 4, yy * 6, (xx + yy) % 256], axis=-1).astype(np.uint8)


def test_crop_square_inside_is_exact_slice():
    img = gradient_image()
    crop = crop_square(img, np.array([10, 5, 30, 25]), size=20)
    np.testing.assert_array_equal(crop, img[5:25, 10:30])


def test_crop_square_pads_with_edge_values_at_borders():
    img = gradient_image()
    crop = crop_square(img, np.array([-10, -10, 10, 10]), size=20)  # centred on the top-left corner
    assert crop.shape == (20, 20, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop[:10, :10], np.broadcast_to(img[0, 0], (10, 10, 3)))
    np.testing.assert_array_equal(crop[10:, 10:], img[:10, :10])
    np.testing.assert_array_equal(crop[:10, 10:], np.broadcast_to(img[0, :10], (10, 10, 3)))
    np.testing.assert_array_equal(crop[10:, :10], np.broadcast_to(img[:10, :1], (10, 10, 3)))
    # bottom-right corner, fully outside the frame: all the corner pixel
    far = crop_square(img, np.array([100, 100, 110, 110]), size=8)
    np.testing.assert_array_equal(far, np.broadcast_to(img[-1, -1], (8, 8, 3)))


def test_crop_square_makes_non_square_box_square_and_resizes():
    img = gradient_image()
    crop = crop_square(img, np.array([20, 10, 30, 30]), size=5)   # 10 x 20 box -> 20 x 20 square
    assert crop.shape == (5, 5, 3)
    expected = cv2.resize(img[10:30, 15:35], (5, 5), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(crop, expected)


# ---------------------------------------------------------------------------------------------- tracker
def test_tracker_on_real_clip_gives_crop_and_skin_colour(detector, clip_frames):
    tracker = FaceTracker(TrackerSettings(crop_size=64, detect_every=2), detector=detector)
    results = [tracker.update(rgb) for rgb in clip_frames[:3]]
    assert [r.detected for r in results] == [True, False, True]
    for r in results:
        assert r.state == "tracking" and r.n_faces == 1
        assert r.crop.shape == (64, 64, 3) and r.crop.dtype == np.uint8
        assert r.skin_rgb.shape == (3,) and r.skin_rgb[0] > r.skin_rgb[2]
        assert r.skin_mask.shape == (480, 640)
        x0, y0, x1, y1 = r.box_xyxy
        assert abs((x1 - x0) - (y1 - y0)) < 1e-3                        # square
    # crop side is box_scale x the landmark box side
    obs = detector.detect(clip_frames[0])
    side = max(obs.box_xyxy[2] - obs.box_xyxy[0], obs.box_xyxy[3] - obs.box_xyxy[1])
    assert results[0].box_xyxy[2] - results[0].box_xyxy[0] == pytest.approx(TrackerSettings().box_scale * side, rel=1e-3)
    # skin colour equals the mean of the masked pixels
    np.testing.assert_allclose(results[0].skin_rgb, clip_frames[0][results[0].skin_mask].mean(axis=0), atol=1e-6)


def test_tracker_goes_lost_after_misses_then_recovers(detector, clip_frames):
    settings = TrackerSettings(detect_every=1, lost_after_misses=3)
    tracker = FaceTracker(settings, detector=detector)
    assert tracker.update(clip_frames[0]).state == "tracking"
    held = [tracker.update(blank_frame()), tracker.update(noise_frame())]
    for r in held:                                 # fewer than 3 misses: last face held
        assert r.state == "tracking" and r.detected and r.n_faces == 0 and r.crop is not None
    lost = tracker.update(blank_frame())
    assert lost.state == "lost" and lost.detected
    assert lost.crop is None and lost.skin_rgb is None and lost.box_xyxy is None and lost.skin_mask is None
    again = tracker.update(noise_frame(1))
    assert again.state == "lost" and again.detected  # keeps trying every frame while lost
    back = tracker.update(clip_frames[1])
    assert back.state == "tracking" and back.crop.shape == (72, 72, 3) and back.n_faces == 1


def test_tracker_starts_lost_without_face(detector):
    tracker = FaceTracker(detector=detector)
    r = tracker.update(blank_frame())
    assert r.state == "lost" and r.crop is None and r.detected


def test_detect_cadence_and_reset():
    fake = FakeDetector([(100, 100, 200, 200)])
    tracker = FaceTracker(TrackerSettings(detect_every=5), detector=fake)
    frame = blank_frame()
    flags = [tracker.update(frame).detected for _ in range(11)]
    assert flags == [True, False, False, False, False, True, False, False, False, False, True]
    tracker.reset()
    assert tracker.update(frame).detected
    assert tracker.update(np.zeros((240, 320, 3), np.uint8)).detected   # new frame size: fresh start


def test_miss_while_tracking_retries_next_frame():
    fake = FakeDetector([(100, 100, 200, 200), None, (100, 100, 200, 200)])
    tracker = FaceTracker(TrackerSettings(detect_every=5, lost_after_misses=3), detector=fake)
    frame = blank_frame()
    results = [tracker.update(frame) for _ in range(8)]
    assert [r.detected for r in results] == [True, False, False, False, False, True, True, False]
    assert all(r.state == "tracking" for r in results)


def test_lost_state_throttled_detection():
    fake = FakeDetector([None])
    tracker = FaceTracker(TrackerSettings(lost_detect_every=3), detector=fake)
    flags = [tracker.update(blank_frame()).detected for _ in range(7)]
    assert flags == [True, False, False, True, False, False, True]


def test_ema_smoothing_reduces_box_jitter():
    rng = np.random.default_rng(7)
    n = 300
    offsets = rng.normal(0.0, 4.0, (n, 2))
    raw = [(300 + dx, 200 + dy, 400 + dx, 300 + dy) for dx, dy in offsets]
    tracker = FaceTracker(TrackerSettings(detect_every=1, smoothing=0.3), detector=FakeDetector(raw))
    smoothed = [tracker.update(blank_frame()).box_xyxy for _ in range(n)]
    raw_std = box_centres(raw)[20:].std(axis=0)
    smooth_std = box_centres(smoothed)[20:].std(axis=0)
    # an EMA with weight a keeps sqrt(a / (2 - a)) = 0.42 of white jitter
    assert np.all(smooth_std < 0.6 * raw_std)
    assert np.all(smooth_std > 0.2 * raw_std)
    no_smoothing = FaceTracker(TrackerSettings(detect_every=1, smoothing=1.0), detector=FakeDetector(raw))
    unsmoothed = [no_smoothing.update(blank_frame()).box_xyxy for _ in range(n)]
    np.testing.assert_allclose(box_centres(unsmoothed), box_centres(raw), atol=1e-3)


def test_large_jump_snaps_box():
    boxes = [(100, 100, 200, 200)] * 3 + [(350, 250, 450, 350)]
    tracker = FaceTracker(TrackerSettings(detect_every=1, smoothing=0.3), detector=FakeDetector(boxes))
    results = [tracker.update(blank_frame()) for _ in range(4)]
    np.testing.assert_allclose(box_centres([results[-1].box_xyxy])[0], (400, 300), atol=1e-3)
    # a small move glides instead
    small = [(100, 100, 200, 200), (104, 100, 204, 200)]
    tracker = FaceTracker(TrackerSettings(detect_every=1, smoothing=0.3), detector=FakeDetector(small))
    first, second = tracker.update(blank_frame()), tracker.update(blank_frame())
    assert box_centres([first.box_xyxy])[0, 0] == pytest.approx(150, abs=1e-3)
    assert box_centres([second.box_xyxy])[0, 0] == pytest.approx(150 + 0.3 * 4, abs=1e-3)


def test_crop_has_configured_size_and_is_padded_at_border():
    frame = np.full((240, 320, 3), 90, dtype=np.uint8)
    fake = FakeDetector([(-40, -40, 60, 60)])           # face partly outside the frame
    tracker = FaceTracker(TrackerSettings(crop_size=36, crop_pixels="all"), detector=fake)
    r = tracker.update(frame)
    assert r.state == "tracking" and r.crop.shape == (36, 36, 3)
    assert np.all(r.crop == 90)                        # edge padding, no black border


def test_skin_crop_keeps_skin_colour_and_blacks_out_the_rest():
    """Skin pixels keep their colour exactly (no blending with the background at the mask edge)."""
    frame = np.zeros((120, 120, 3), np.uint8)
    frame[:, :60] = (200, 150, 120)                    # "skin" on the left half
    frame[:, 60:] = (10, 240, 10)                      # background on the right half
    mask = np.zeros((120, 120), bool)
    mask[20:100, 20:50] = True
    crop = crop_square_skin(frame, mask, np.array([0, 0, 120, 120]), size=12)
    shown = crop.reshape(-1, 3).any(axis=1)
    assert shown.sum() == 3 * 8                        # 30 x 80 px of skin -> 3 x 8 output pixels
    np.testing.assert_array_equal(crop.reshape(-1, 3)[shown], np.tile([200, 150, 120], (24, 1)))
    np.testing.assert_array_equal(crop[2:10, 2:5], np.full((8, 3, 3), (200, 150, 120)))


def test_skin_crop_threshold_and_size_checks():
    frame = np.full((40, 40, 3), 100, np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[:, :15] = True                                # 15 of every 20 columns: 75 % of the left pixel
    box = np.array([0, 0, 40, 40])
    assert crop_square_skin(frame, mask, box, 2, min_coverage=0.5)[:, 0].min() == 100
    assert crop_square_skin(frame, mask, box, 2, min_coverage=0.8)[:, 0].max() == 0
    with pytest.raises(ValueError, match="mask"):
        crop_square_skin(frame, mask[:20], box, 2)


def test_tracker_skin_crop_is_the_default_and_black_off_the_mask(detector, clip_frames):
    tracker = FaceTracker(TrackerSettings(crop_size=36, detect_every=1), detector=detector)
    r = tracker.update(clip_frames[0])
    assert r.state == "tracking"
    shown = r.crop.any(axis=2)
    assert 0.05 < shown.mean() < 0.4                   # forehead + cheeks, not hair or background
    full = FaceTracker(TrackerSettings(crop_size=36, detect_every=1, crop_pixels="all"), detector=detector)
    assert full.update(clip_frames[0]).crop.any(axis=2).mean() == 1.0
    with pytest.raises(ValueError, match="crop_pixels"):
        TrackerSettings(crop_pixels="face")


def test_settings_validation():
    with pytest.raises(ValueError, match="smoothing"):
        TrackerSettings(smoothing=0.0)
    with pytest.raises(ValueError, match="detect_every"):
        TrackerSettings(detect_every=0)


def test_making_a_landmarker_prints_no_mediapipe_chatter_but_other_stderr_passes(capfd):
    import os

    from kdphys.face import quiet_native_stderr

    face.FaceLandmarkDetector().close()
    err = capfd.readouterr().err
    assert "W0000" not in err and "XNNPACK delegate" not in err and "InitGoogle" not in err
    with quiet_native_stderr():
        os.write(2, b"W0000 00:00:1.0 1 inference_feedback_manager.cc:121] Feedback manager requires a model "
                    b"with a single signature inference. Disabling support for feedback tensors.\n")
        os.write(2, b"E0000 something real went wrong\n")
    err = capfd.readouterr().err
    assert err == "E0000 something real went wrong\n"
