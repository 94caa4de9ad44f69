"""The fallback (EngineSettings.fallback): where the method gives no reading, a classical method reads the
recording (uploads) or the live window, and the result names it; where the method reads, or nothing can be
read, nothing changes."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from kdphys.errors import KDPhysError
from kdphys.io.video import iter_frames
from kdphys.methods.base import BVPMethod
from kdphys.methods.registry import method_label
from kdphys.pipeline.engine import Engine, EngineSettings
from kdphys.pipeline.upload import analyze_video
from kdphys.signal import hr_from_spectrum
from tests import media


class NoiseFromCrops(BVPMethod):
    """A crop method that never finds a pulse: white noise, one sample per crop."""

    name: ClassVar[str] = "student"
    input_kind: ClassVar[str] = "crops"

    def bvp(self, x: np.ndarray, fps: float) -> np.ndarray:
        return np.random.default_rng(len(x)).normal(size=len(x))


def _snapshot(path, fallback: str | None):
    engine = Engine(EngineSettings(method="student", fallback=fallback), method=NoiseFromCrops(), keep_all=True)
    return analyze_video(path, engine=engine).snapshot


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory):
    return media.write_face_clip(tmp_path_factory.mktemp("fallback"), "face", hr_bpm=78.0, duration_s=15.0)


def test_a_method_without_a_reading_is_read_by_the_fallback_and_the_result_says_so(face_clip):
    alone = _snapshot(face_clip.path, None)
    assert alone.reading.hr_bpm is None and alone.signal_source == "student"
    snap = _snapshot(face_clip.path, "pbv-pos-or-green")
    assert snap.reading.hr_bpm is not None, snap.reading.reason
    assert abs(snap.reading.hr_bpm - face_clip.hr_bpm) <= 3.0
    assert snap.method == "student" and snap.signal_source in ("pbv", "pos", "green")
    assert method_label(snap.method, snap.signal_source).startswith("Student (small neural network), no reading "
                                                                   "from it: read with ")


@pytest.mark.parametrize("case", ["still_photo", "no_face"])
def test_a_face_without_a_pulse_gets_no_number_from_the_fallback_either(tmp_path, case):
    m = media.ALL_CASES[case](tmp_path)
    snap = _snapshot(m.path, "pbv-pos-or-green")
    assert snap.reading.hr_bpm is None and snap.signal_source == "student", snap.reading


def test_the_fallback_must_read_the_skin_colour():
    with pytest.raises(KDPhysError, match="classical"):
        Engine(EngineSettings(method="pos", fallback="student"))


def test_live_the_fallback_reads_the_window_the_method_gives_none_in(face_clip):
    engines = {fb: Engine(EngineSettings(method="student", fallback=fb), method=NoiseFromCrops())
               for fb in (None, "pos")}
    for frame in iter_frames(face_clip.path):
        for engine in engines.values():
            engine.push(frame.rgb, frame.t_s)
    source, alone = engines[None].live_reading()
    assert source == "student" and alone.hr_bpm is None and alone.cause == "unclear"
    source, reading = engines["pos"].live_reading()
    assert source == "pos" and reading.hr_bpm is not None, reading.reason
    assert abs(reading.hr_bpm - face_clip.hr_bpm) <= 3.0
    assert engines["pos"].reading() == reading
    t_s, wave = engines["pos"].waveform(fallback=True)    # the page plots the signal the reading came from
    assert len(wave) == len(t_s) and abs(hr_from_spectrum(wave, 30.0).hr_bpm - face_clip.hr_bpm) <= 3.0
    assert not np.allclose(wave, engines["pos"].waveform()[1])
