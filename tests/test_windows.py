"""kdphys.data.windows: clips cut from whole recordings, time-stretched and re-lit, never across a lost face."""

import numpy as np
import pytest

from kdphys.data.windows import FixedWindows, Recording, TrainWindows
from kdphys.training.config import AugmentSettings
from kdphys.signal import spectral_hr_bpm
from tests.test_signal import ppg

FPS = 30.0


def recording(hr_bpm=100.0, seconds=40.0, lost=None, rid="r0", subject="s0"):
    """Crops whose skin brightness follows a PPG at hr_bpm (black border = no skin); reference the same PPG."""
    n = int(seconds * FPS)
    bvp = ppg(hr_bpm, duration_s=seconds)
    crops = np.zeros((n, 12, 12, 3), np.uint8)
    crops[:, 2:10, 2:10] = np.clip(120 + 20 * (bvp - bvp.mean()), 0, 255).astype(np.uint8)[:, None, None, None]
    face = np.ones(n, bool)
    if lost is not None:
        face[lost] = False
    return Recording(crops=crops, bvp=bvp, face=face, hr_bpm=np.full(n, hr_bpm), record_id=rid, subject_id=subject)


def test_plain_clips_have_shapes_and_a_zscored_reference():
    ds = TrainWindows({"real": (1.0, [recording()])}, chunk_len=64, augment=None, clips_per_epoch=5)
    clips, bvp = ds[0]
    assert tuple(clips.shape) == (64, 3, 12, 12) and clips.dtype.is_floating_point
    assert 0.0 <= float(clips.min()) and float(clips.max()) <= 1.0
    assert abs(float(bvp.mean())) < 1e-5 and float(bvp.std()) == pytest.approx(1.0, abs=0.02)
    assert len(ds) == 5


def test_time_stretch_moves_the_heart_rate_into_the_target_range():
    aug = AugmentSettings(p_stretch=1.0, stretch_hr_bpm=(40.0, 180.0), shift_px=0, scale=0, gain_range=(1, 1),
                        channel_gain=0, contrast=0)
    ds = TrainWindows({"real": (1.0, [recording(100.0, 60.0)])}, chunk_len=256, augment=aug, clips_per_epoch=40)
    rates = []
    for i in range(40):
        clips, bvp = ds[i]
        rate = spectral_hr_bpm(bvp.numpy(), FPS, (0.5, 4.0))
        video = spectral_hr_bpm(clips.numpy()[:, 1, 6, 6], FPS, (0.5, 4.0))
        assert abs(rate - video) < 3.0                       # crops and reference are stretched alike
        rates.append(rate)
    assert min(rates) < 60 and max(rates) > 150              # 100 bpm teaches slow and fast pulses


def test_clips_never_span_a_lost_face_and_draws_are_repeatable():
    rec = recording(seconds=20.0, lost=slice(200, 400))
    ds = TrainWindows({"real": (1.0, [rec])}, chunk_len=128, augment=AugmentSettings(), clips_per_epoch=30, seed=3)
    for i in range(30):
        clips, _ = ds[i]
        assert float(clips.abs().sum()) > 0
    a, b = ds[7], ds[7]
    assert np.array_equal(a[0].numpy(), b[0].numpy())
    ds.set_epoch(1)
    assert not np.array_equal(ds[7][0].numpy(), a[0].numpy())


def test_light_augmentation_keeps_black_black():
    aug = AugmentSettings(p_stretch=0.0, shift_px=0.0, scale=0.0, gain_range=(0.7, 1.3), channel_gain=0.1, contrast=0.2)
    ds = TrainWindows({"real": (1.0, [recording()])}, chunk_len=32, augment=aug, clips_per_epoch=4)
    clips = ds[0][0].numpy()
    assert np.all(clips[:, :, 0, :] == 0) and np.all(clips[:, :, 2:10, 2:10] > 0)


def test_groups_are_drawn_by_share_and_fixed_windows_name_their_recording():
    real, synth = recording(rid="real"), recording(rid="synth")
    real.crops[:, 2:10, 2:10, 0] = 200                       # red marks the real recording
    ds = TrainWindows({"real": (0.75, [real]), "synthetic": (0.25, [synth])}, chunk_len=32, augment=None,
                      clips_per_epoch=400)
    red = np.mean([float(ds[i][0][0, 0, 5, 5]) > 0.7 for i in range(400)])
    assert 0.65 < red < 0.85
    val = FixedWindows([recording(seconds=10.0, rid="a"), recording(seconds=10.0, rid="b", lost=slice(0, 10))], 128)
    assert val.record_ids == ["a", "a", "b"] and len(val) == 3
