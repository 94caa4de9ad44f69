"""Classical rPPG methods (POS, CHROM, PBV, GREEN, POS or green) and the method registry."""

import subprocess
import sys

import numpy as np
import pytest

from kdphys.data.synthetic import SyntheticConfig, generate_clip
from kdphys.methods import CLASSICAL_METHODS, LAZY_METHOD_MODULES, POS, get_method, register_method
from kdphys.methods.base import BVPMethod, crop_size_for
from kdphys.signal import bandpass, hr_from_spectrum

FPS = 30.0
HRS_BPM = (45, 60, 75, 90, 120, 150)


@pytest.fixture(scope="module")
def skin_traces():
    """{(hr_bpm, motion): (ground-truth skin trace (N, 3), true mean HR, bvp (N,))} from small synthetic clips."""
    out = {}
    for i, hr in enumerate(HRS_BPM):
        for motion in (False, True):
            cfg = SyntheticConfig(hr_bpm=hr, duration_s=15.0, size=(120, 160), seed=40 + i,
                                  motion_px=5.0 if motion else 0.0, rotation_deg=4.0 if motion else 0.0,
                                  scale_jitter=0.03 if motion else 0.0, illumination_drift=0.03 if motion else 0.0,
                                  motion_kind="both")
            clip = generate_clip(cfg)
            out[(hr, motion)] = (clip.skin_rgb, clip.hr_bpm, clip.bvp)
    return out


@pytest.mark.parametrize("name", ["pos", "chrom", "pbv"])
@pytest.mark.parametrize("motion", [False, True], ids=["still", "motion"])
def test_pos_chrom_and_pbv_recover_hr_within_2_bpm(skin_traces, name, motion):
    method = get_method(name)
    errors = []
    for hr in HRS_BPM:
        trace, true_hr, _ = skin_traces[(hr, motion)]
        bvp = method.bvp(trace, FPS)
        errors.append(hr_from_spectrum(bvp, FPS, band_hz=(0.7, 3.5)).hr_bpm - true_hr)
    assert np.max(np.abs(errors)) < 2.0, dict(zip(HRS_BPM, np.round(errors, 2)))


@pytest.mark.parametrize("name", CLASSICAL_METHODS)
def test_output_is_zero_mean_and_has_contact_ppg_polarity(skin_traces, name):
    trace, _, truth = skin_traces[(75, False)]
    bvp = get_method(name).bvp(trace, FPS)
    assert bvp.shape == (len(trace),) and bvp.dtype == np.float64
    assert abs(bvp.mean()) < 1e-9 * max(1.0, np.abs(bvp).max())
    r = np.corrcoef(bandpass(bvp, FPS), bandpass(truth, FPS))[0, 1]
    assert r > 0.7                                   # up = more blood, like an oximeter


@pytest.mark.parametrize("name", CLASSICAL_METHODS)
def test_lost_face_frames_are_bridged_and_zeroed(skin_traces, name):
    trace, true_hr, _ = skin_traces[(90, False)]
    gappy = trace.copy()
    gappy[100:130] = np.nan                          # 1 s without a face
    gappy[0:5] = np.nan                              # and at the start
    bvp = get_method(name).bvp(gappy, FPS)
    assert np.isfinite(bvp).all()
    assert np.all(bvp[100:130] == 0) and np.all(bvp[:5] == 0)
    assert abs(bvp.mean()) < 1e-9 * np.abs(bvp).max()
    assert abs(hr_from_spectrum(bvp, FPS).hr_bpm - true_hr) < 3.0


@pytest.mark.parametrize("name", CLASSICAL_METHODS)
def test_degenerate_traces_give_zeros_not_errors(name):
    method = get_method(name)
    assert np.all(method.bvp(np.full((50, 3), np.nan), FPS) == 0)
    assert method.bvp(np.zeros((0, 3)), FPS).shape == (0,)
    short = method.bvp(np.random.default_rng(0).uniform(100, 110, (10, 3)), FPS)
    assert short.shape == (10,) and np.isfinite(short).all()


@pytest.mark.parametrize("name", CLASSICAL_METHODS)
def test_crops_are_averaged_into_a_trace(name, rng):
    crops = rng.integers(0, 256, size=(60, 8, 8, 3), dtype=np.uint8)
    method = get_method(name)
    expected = method.bvp(crops.reshape(60, -1, 3).mean(axis=1), FPS)
    assert np.allclose(method.bvp(crops, FPS), expected)


def _in_band_trace(pulse_bpm: float, artefact_bpm: float, artefact_rgb, seconds: float = 30.0) -> np.ndarray:
    """A skin trace (n, 3): a 0.1 % pulse along PBV's signature and a 1 % sine along ``artefact_rgb``, noise."""
    from kdphys.methods.pbv import PBV_SIGNATURE

    t = np.arange(int(seconds * FPS)) / FPS
    skin = np.array([180.0, 120.0, 100.0])
    pulse = -0.001 * np.sin(2 * np.pi * pulse_bpm / 60 * t)[:, None] * np.asarray(PBV_SIGNATURE) / 0.77
    artefact = 0.01 * np.sin(2 * np.pi * artefact_bpm / 60 * t + 1.0)[:, None] * np.asarray(artefact_rgb)
    noise = np.random.default_rng(3).normal(0, 0.0002, (len(t), 3))
    return skin * (1 + pulse + artefact + noise)


def test_pbv_removes_light_that_moves_the_channels_nearly_together():
    # What POS keeps: a change common to R, G and B in unequal proportion (web video, UBFC-rPPG subject 10).
    trace = _in_band_trace(pulse_bpm=118, artefact_bpm=55, artefact_rgb=(1.2, 1.0, 1.0))
    pos_hr = hr_from_spectrum(get_method("pos").bvp(trace, FPS), FPS).hr_bpm
    pbv_hr = hr_from_spectrum(get_method("pbv").bvp(trace, FPS), FPS).hr_bpm
    assert abs(pos_hr - 55) < 2                      # the light wins in POS
    assert abs(pbv_hr - 118) < 2, pbv_hr


def test_pbv_keeps_a_pulse_alone_and_its_polarity():
    trace = _in_band_trace(pulse_bpm=72, artefact_bpm=55, artefact_rgb=(0.0, 0.0, 0.0))
    bvp = get_method("pbv").bvp(trace, FPS)
    t = np.arange(len(trace)) / FPS
    assert np.corrcoef(bvp, np.sin(2 * np.pi * 72 / 60 * t))[0, 1] > 0.9    # more blood = darker skin = up


def test_bad_input_messages_say_what_to_do():
    pos = get_method("pos")
    with pytest.raises(ValueError, match=r"transpose"):
        pos.bvp(np.ones((3, 100)), FPS)
    with pytest.raises(ValueError, match=r"\(n_frames, 3\)"):
        pos.bvp(np.ones((100, 4)), FPS)
    with pytest.raises(ValueError, match="fps"):
        pos.bvp(np.ones((100, 3)), 0.0)
    with pytest.raises(ValueError, match="band_hz"):
        get_method("chrom", band_hz=(3.0, 1.0)).bvp(np.ones((100, 3)), FPS)


def test_registry_names_settings_and_errors():
    assert CLASSICAL_METHODS == ("pos", "chrom", "pbv", "green", "pbv-pos-or-green")
    for name in CLASSICAL_METHODS:
        method = get_method(name)
        assert isinstance(method, BVPMethod) and method.name == name and method.input_kind == "trace"
    assert get_method("POS", window_s=2.0).window_s == 2.0
    with pytest.raises(ValueError, match="Choose one of: pos, chrom, pbv, green"):
        get_method("ica")
    assert {"student", "teacher"} <= set(LAZY_METHOD_MODULES)


def test_neural_module_is_imported_only_when_asked(tmp_path, monkeypatch):
    code = ("import sys, kdphys.methods as m; m.get_method('pos'); "
            "print('kdphys.methods.neural' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    # The hook: a lazily imported module registers its names with register_method.
    (tmp_path / "fake_plugin.py").write_text(
        "from kdphys.methods import register_method, POS\n"
        "register_method('fake-neural', lambda **kw: POS(**kw))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(LAZY_METHOD_MODULES, "fake-neural", "fake_plugin")
    assert get_method("fake-neural", window_s=1.0).window_s == 1.0
    monkeypatch.setitem(LAZY_METHOD_MODULES, "missing-neural", "no_such_module_xyz")
    with pytest.raises(ImportError, match="could not be imported"):
        get_method("missing-neural")
    register_method("fake-neural", lambda **kw: POS(**kw))     # re-registering replaces, no error



class _CropMethod(BVPMethod):
    """A crop method that records the crop sizes it is given."""

    name, input_kind = "crop-probe", "crops"
    skin_region = "forehead_cheeks"     # the fake detector's random landmarks leave no eroded face oval

    def __init__(self, crop_size):
        self.crop_size, self.seen = crop_size, set()

    def bvp(self, x, fps):
        self.seen.add(x.shape[1:3])
        return np.zeros(len(x))


def test_crop_size_for_uses_the_models_own_size():
    assert crop_size_for([POS()], default=36) == 36                      # no neural method
    assert crop_size_for([POS(), _CropMethod(24)]) == 24
    assert crop_size_for([_CropMethod(24), _CropMethod(36)], default=50) == 50   # disagree: default


def test_engine_cuts_crops_at_the_methods_size():
    """Skin crops are cut at the model's size, never cut larger and resized (edge pixels would differ)."""
    from kdphys.pipeline.engine import Engine, EngineSettings
    from tests.test_face import FakeDetector, blank_frame

    method = _CropMethod(24)
    engine = Engine(EngineSettings(crop_size=72), tracker=None, method=method)
    assert engine.tracker.settings.crop_size == 24 and engine.crop_size == 24
    assert engine.tracker.settings.skin_region == "forehead_cheeks"        # the method's own region
    engine.tracker.close()
    engine.tracker.detector = FakeDetector([(100, 100, 200, 200)])
    for i in range(40):
        engine.push(blank_frame(), i / 30.0)
    engine.snapshot()
    assert method.seen == {(24, 24)}
