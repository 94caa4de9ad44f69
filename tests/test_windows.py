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


def test_beat_cycle_label_keeps_rate_and_beats_and_drops_the_dicrotic_wave():
    from kdphys.data.reference import beat_cycle_wave, beats_from_contact_ppg
    from kdphys.signal import preprocess
    from tests.test_signal import harmonic_ratio

    rate = np.linspace(60.0, 90.0, int(40 * FPS))                 # a climbing heart rate
    wave = ppg(rate, duration_s=40.0, dicrotic=0.9, gap_fraction=0.45)   # a diastolic wave nearly as tall as the systole
    cycle = beat_cycle_wave(wave, FPS)
    assert cycle.shape == wave.shape and np.all(np.abs(cycle) <= 1.0)
    beats = beats_from_contact_ppg(preprocess(wave, FPS), FPS)
    assert np.all(cycle[beats] > 0.999)                           # 1 at every systolic peak
    crossings = np.sum((cycle[:-1] > 0.99) & (cycle[1:] <= 0.99))
    assert abs(crossings - len(beats)) <= 1                       # one cycle per beat, no second peak
    head, tail = slice(0, 450), slice(-450, None)
    assert harmonic_ratio(preprocess(wave[head], FPS), 61.0) > 0.2  # the waveform's shape has a 2nd harmonic
    assert harmonic_ratio(cycle[head], 61.0) < 0.01                 # its beat cycle has none
    assert spectral_hr_bpm(cycle[tail], FPS, (0.5, 4.0)) == pytest.approx(spectral_hr_bpm(wave[tail], FPS, (0.5, 4.0)),
                                                                      abs=1.5)


def test_beat_cycle_label_splits_a_missed_beat():
    from kdphys.data.reference import beat_cycle_wave

    wave = ppg(75.0, duration_s=30.0, dicrotic=0.3)
    period = 60.0 / 75.0 * FPS
    gone = slice(int(12 * FPS), int(12 * FPS + 1.6 * period))
    wave[gone] = wave[gone].min()                                 # one or two beats lost by the oximeter
    cycle = beat_cycle_wave(wave, FPS)
    assert spectral_hr_bpm(cycle, FPS, (0.5, 4.0)) == pytest.approx(75.0, abs=1.0)
    peaks = np.flatnonzero((cycle[1:-1] > cycle[:-2]) & (cycle[1:-1] >= cycle[2:]))
    assert np.max(np.diff(peaks)) < 1.3 * period                  # no cycle spans the gap


def test_make_recording_label_choice():
    from kdphys.data.windows import make_recording
    from kdphys.pipeline.extract import VideoSignals

    rec = recording(75.0, 30.0)
    signals = VideoSignals(t_s=np.arange(len(rec.bvp)) / FPS, trace=np.zeros((len(rec.bvp), 3)), face=rec.face,
                           crops=rec.crops, bvp_ref=rec.bvp)
    as_recorded = make_recording(signals, "r", "s", FPS)
    cycle = make_recording(signals, "r", "s", FPS, label="beat_cycle")
    assert np.array_equal(as_recorded.bvp, rec.bvp)
    assert not np.allclose(cycle.bvp, rec.bvp) and np.array_equal(cycle.hr_bpm, as_recorded.hr_bpm)
    with pytest.raises(ValueError, match="label"):
        make_recording(signals, "r", "s", FPS, label="sine")
