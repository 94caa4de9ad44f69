"""The synthetic generator: the pulse it injects, where it injects it, motion, determinism, files."""

import csv
import json

import cv2
import numpy as np
import pytest

from kdphys.data.synthetic import (GREEN_PULSE_FRACTION, SyntheticConfig, generate_clip, iter_frames,
                                   iter_synthetic_frames, write_clip)
from kdphys.data.synthetic.pulse import beat_shape
from kdphys.data.synthetic.subject import FACE_OVAL_IDX
from kdphys.face import LEFT_EYE_IDX, LIPS_IDX, RIGHT_EYE_IDX
from kdphys.signal import hr_from_spectrum

SMALL = (120, 160)     # (H, W)
QUIET = dict(noise_std=0.0, illumination_drift=0.0, flicker_amplitude=0.0, motion_px=0.0, rotation_deg=0.0)


@pytest.mark.parametrize("hr_bpm", [45.0, 72.0, 150.0])
def test_bvp_has_the_requested_heart_rate(hr_bpm):
    clip = generate_clip(SyntheticConfig(hr_bpm=hr_bpm, duration_s=20.0, size=SMALL, seed=3))
    assert abs(clip.hr_bpm - hr_bpm) < 0.5
    assert abs(hr_from_spectrum(clip.bvp, 30.0).hr_bpm - hr_bpm) < 1.0
    assert np.std(clip.hr_inst_bpm) > 0.5            # HRV is on (default hrv_bpm = 2)
    assert np.std(clip.hr_inst_bpm) < 4.0


def test_beat_has_systolic_peak_and_dicrotic_notch():
    u = np.linspace(0, 1, 1000, endpoint=False)
    wave = beat_shape(u)
    assert abs(wave.mean()) < 1e-6 and np.ptp(wave) == pytest.approx(1.0, abs=1e-3)
    systolic = np.argmax(wave)
    assert 0.1 < u[systolic] < 0.25
    later = wave[systolic:]
    notch = systolic + int(np.argmin(later[: int(0.3 * len(u))]))          # the dip after the peak ...
    assert wave[notch + 1:notch + 150].max() > wave[notch] + 0.02          # ... followed by a rise


def test_pulse_is_strongest_in_green_and_darkens_skin():
    clip = generate_clip(SyntheticConfig(hr_bpm=80, duration_s=10.0, size=SMALL, seed=5, **QUIET))
    rel = clip.skin_rgb / clip.skin_rgb.mean(axis=0) - 1.0                   # (N, 3) relative change
    amp = np.array([np.polyfit(clip.bvp, rel[:, c], 1)[0] for c in range(3)])  # change per unit pulse
    assert np.all(amp < 0)                                                   # more blood -> darker
    assert abs(amp[1]) > abs(amp[0]) and abs(amp[1]) > abs(amp[2])
    ptp_green = np.ptp(rel[:, 1])
    assert 0.5 * GREEN_PULSE_FRACTION < ptp_green < 2.0 * GREEN_PULSE_FRACTION   # ~0.6 %, physiological


def test_pulse_rgb_sets_the_colour_signature_and_training_sets_jitter_it():
    def channel_amplitudes(pulse_rgb):
        clip = generate_clip(SyntheticConfig(hr_bpm=80, duration_s=6.0, size=SMALL, seed=5, pulse_rgb=pulse_rgb,
                                             **QUIET))
        rel = clip.skin_rgb / clip.skin_rgb.mean(axis=0) - 1.0
        return np.array([np.polyfit(clip.bvp, rel[:, c], 1)[0] for c in range(3)])

    red_heavy = channel_amplitudes((1.5, 1.0, 0.2))
    assert red_heavy[0] / red_heavy[1] == pytest.approx(1.5, rel=0.15)     # rounding to uint8 blurs it a bit
    assert red_heavy[2] / red_heavy[1] == pytest.approx(0.2, abs=0.1)

    from kdphys.training.config import SyntheticSetConfig
    from kdphys.data.synthetic.sets import draw_clip_settings
    plain = [draw_clip_settings(np.random.default_rng(0), SyntheticSetConfig(), 1) for _ in range(2)]
    jittered = [draw_clip_settings(rng, SyntheticSetConfig(pulse_rgb_jitter=0.3), 1)
                for rng in [np.random.default_rng(0)] for _ in range(20)]
    assert "pulse_rgb" not in plain[0]
    assert {k: v for k, v in jittered[0].items() if k != "pulse_rgb"} == plain[0]   # other draws unchanged
    reds = np.array([s["pulse_rgb"][0] for s in jittered])
    assert all(s["pulse_rgb"][1] == 1.0 for s in jittered) and reds.std() > 0.03 and reds.min() > 0


def _polygon_mask(points, shape_hw, grow_px):
    mask = np.zeros(shape_hw, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    kernel = np.ones((2 * abs(grow_px) + 1,) * 2, np.uint8)
    return (cv2.dilate(mask, kernel) if grow_px > 0 else cv2.erode(mask, kernel)).astype(bool)


def test_only_facial_skin_carries_the_pulse():
    cfg = SyntheticConfig(hr_bpm=90, duration_s=2.0, size=(240, 320), seed=6, **QUIET)
    frames = list(iter_synthetic_frames(cfg))
    stack = np.stack([f.rgb for f in frames]).astype(np.int16)
    varying = (stack != stack[0]).any(axis=(0, 3))                          # (H, W) pixels that change
    background = frames[0].subject_alpha == 0
    assert background.sum() > 0.2 * background.size
    assert not varying[background].any()
    landmarks, shape = frames[0].landmarks_px, cfg.size
    oval = _polygon_mask(landmarks[list(FACE_OVAL_IDX)], shape, grow_px=2)
    assert not varying[~oval].any()                                          # hair, neck, suit: still
    for idx in (RIGHT_EYE_IDX, LEFT_EYE_IDX, LIPS_IDX):
        assert not varying[_polygon_mask(landmarks[list(idx)], shape, grow_px=-1)].any()
    skin = frames[0].skin_mask
    assert skin.sum() > 0.3 * oval.sum()                                     # most of the face pulses
    assert varying[skin].mean() > 0.8


def test_motion_moves_the_face():
    still = generate_clip(SyntheticConfig(duration_s=3.0, size=SMALL, seed=2))
    moving = generate_clip(SyntheticConfig(duration_s=3.0, size=SMALL, seed=2, motion_px=6.0, rotation_deg=5.0,
                                           motion_kind="both"))
    centre_still = np.nanmean(still.landmarks_px, axis=1)                    # (N, 2)
    centre_moving = np.nanmean(moving.landmarks_px, axis=1)
    assert np.ptp(centre_still, axis=0).max() < 1e-3
    assert np.ptp(centre_moving, axis=0).max() > 4.0
    assert np.abs(moving.frames[40].astype(int) - still.frames[40].astype(int)).mean() > 1.0


def test_the_landmarker_sees_the_face_where_the_generator_put_it():
    from kdphys.face import FaceLandmarkDetector

    cfg = SyntheticConfig(duration_s=0.5, size=(240, 320), seed=4, motion_px=10.0, rotation_deg=8.0,
                          skin_tone=-0.8, flip=True, face_center=(0.4, 0.5))
    frame = list(iter_synthetic_frames(cfg))[-1]
    with FaceLandmarkDetector() as detector:
        obs = detector.detect(frame.rgb)
        no_face = detector.detect(next(iter_frames(SyntheticConfig(duration_s=0.1, size=(240, 320),
                                                                   include_face=False)))[0])
    assert obs is not None and no_face is None
    face_w = np.ptp(frame.landmarks_px[:, 0])
    assert np.median(np.linalg.norm(obs.landmarks_px - frame.landmarks_px, axis=1)) < 0.08 * face_w


def test_same_seed_same_clip_other_seed_other_clip():
    cfg = dict(duration_s=1.0, size=SMALL, motion_px=3.0, illumination_drift=0.05, flicker_hz=1.0,
               flicker_amplitude=0.02, skin_tone=0.5)
    a = generate_clip(SyntheticConfig(seed=11, **cfg))
    b = generate_clip(SyntheticConfig(seed=11, **cfg))
    c = generate_clip(SyntheticConfig(seed=12, **cfg))
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.bvp, b.bvp)
    assert not np.array_equal(a.frames, c.frames) and not np.allclose(a.bvp, c.bvp)
    streamed = np.stack([rgb for rgb, _, _ in iter_frames(SyntheticConfig(seed=11, **cfg))])
    assert np.array_equal(streamed, a.frames)


def test_no_face_option_gives_background_only():
    clip = generate_clip(SyntheticConfig(include_face=False, duration_s=1.0, size=SMALL, seed=1))
    assert np.isnan(clip.hr_bpm) and np.all(clip.bvp == 0)
    assert np.isnan(clip.skin_rgb).all()
    assert clip.frames.shape == (30, *SMALL, 3)


def test_skin_tone_runs_from_darker_to_lighter():
    means = [generate_clip(SyntheticConfig(skin_tone=tone, duration_s=0.2, size=SMALL, **QUIET)).skin_rgb.mean()
             for tone in (-1.0, 0.0, 1.0)]
    assert means[0] < 0.6 * means[1] and means[2] > means[1]


def test_illumination_flicker_is_multiplicative_everywhere():
    clip = generate_clip(SyntheticConfig(duration_s=2.0, size=SMALL, seed=3, noise_std=0.0, flicker_hz=2.0,
                                         flicker_amplitude=0.05))
    corner = clip.frames[:, :10, :10].reshape(len(clip.frames), -1).mean(axis=1)
    assert np.ptp(corner) / corner.mean() == pytest.approx(0.10, abs=0.02)
    assert hr_from_spectrum(corner, 30.0, band_hz=(0.7, 5.0)).hr_bpm == pytest.approx(120.0, abs=3.0)


def test_settings_out_of_range_say_what_to_do():
    with pytest.raises(ValueError, match="fraction"):
        generate_clip(SyntheticConfig(flicker_amplitude=1.5, size=SMALL, duration_s=0.1))
    with pytest.raises(ValueError, match="background"):
        generate_clip(SyntheticConfig(background="beach", size=SMALL, duration_s=0.1))


def test_write_clip_files_parse(tmp_path):
    from kdphys.io.video import read_video

    cfg = SyntheticConfig(hr_bpm=66, duration_s=1.0, size=SMALL, seed=9)
    clip = generate_clip(cfg)
    video = write_clip(clip, tmp_path, name="clip_000", crf=23)
    assert video == tmp_path / "clip_000.mp4" and video.stat().st_size > 1000
    with open(tmp_path / "clip_000.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time_s", "bvp"] and len(rows) == 31
    table = np.array(rows[1:], dtype=float)
    assert np.allclose(table[:, 0], clip.t_s, atol=1e-6) and np.allclose(table[:, 1], clip.bvp, atol=1e-6)
    meta = json.loads((tmp_path / "clip_000.json").read_text())
    assert meta["hr_bpm"] == pytest.approx(clip.hr_bpm, abs=1e-3)
    assert meta["config"]["seed"] == 9 and meta["config"]["size"] == [120, 160]
    frames, t_s, info = read_video(video)
    assert frames.shape == clip.frames.shape
    assert np.abs(frames.astype(int) - clip.frames.astype(int)).mean() < 4.0      # H.264 crf 23

    streamed = write_clip(cfg, tmp_path, name="streamed")                        # from a config, streaming
    assert (tmp_path / "streamed.csv").read_text() == (tmp_path / "clip_000.csv").read_text()
    assert streamed.is_file()
    no_face = write_clip(SyntheticConfig(include_face=False, duration_s=0.5, size=SMALL), tmp_path, name="nf")
    assert json.loads(no_face.with_suffix(".json").read_text())["hr_bpm"] is None


def test_sets_written_before_pulse_rgb_jitter_keep_their_fingerprint():
    import dataclasses
    import hashlib

    from kdphys.training.config import SyntheticSetConfig
    from kdphys.data.synthetic.sets import set_config_dict, set_fingerprint

    cfg = SyntheticSetConfig(n_train=3)
    older = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "pulse_rgb_jitter"}
    assert set_fingerprint(cfg) == hashlib.sha1(json.dumps(older, sort_keys=True).encode()).hexdigest()[:10]
    jittered = SyntheticSetConfig(n_train=3, pulse_rgb_jitter=0.3)
    assert set_config_dict(jittered)["pulse_rgb_jitter"] == 0.3 and set_fingerprint(jittered) != set_fingerprint(cfg)
