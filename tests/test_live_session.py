"""LiveSession's bookkeeping around the engine, with a scripted engine: a refused window keeps showing the last
heart rate for at most ``hold_s``, only when it was refused as "not clear enough", and never across a face
loss."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from kdphys.pipeline.engine import EngineSettings
from kdphys.pipeline.live import LiveSession, LiveSettings
from kdphys.signal.quality import HrReading, no_reading

FRAME = np.zeros((8, 8, 3), np.uint8)
READ = HrReading(hr_bpm=72.0, reason=None, quality="good", snr_db=3.0, sqi=0.6, hr_peaks_bpm=72.0,
                 face_fraction=1.0, confidence=0.9)
HOLD_S = 3.0
UNCLEAR = no_reading("the pulse is not clear enough to read.", "unclear", 1.0)


class ScriptedEngine:
    """Engine stand-in: each live_reading() answers the next item of ``answers`` (an HrReading of the method's
    own, or (source, HrReading))."""

    def __init__(self, settings: EngineSettings, answers: list[HrReading]):
        self.settings = settings
        self.answers = list(answers)
        self.duration_s = 0.0
        self.face = True

    def push(self, rgb, t_s):
        return SimpleNamespace(state="tracking" if self.face else "lost", box_xyxy=None, skin_mask=None)

    def live_reading(self) -> tuple[str, HrReading]:
        answer = self.answers.pop(0)
        return answer if isinstance(answer, tuple) else (self.settings.method, answer)


def session_with(answers, method: str = "pos"):
    clock = [0.0, 0]          # seconds, frames
    engines = []

    def factory(settings):
        engines.append(ScriptedEngine(settings, answers))
        return engines[-1]

    session = LiveSession(method=method, settings=LiveSettings(hold_s=HOLD_S), clock=lambda: clock[0],
                          engine_factory=factory)
    return session, engines[0], clock


def step(session, clock, seconds: float = 1.0):
    """``seconds`` of frames (30 fps; the clock counts frames, so whole seconds stay exact), then the page's
    status read."""
    for _ in range(int(30 * seconds)):
        clock[1] += 1
        clock[0] = clock[1] / 30.0
        session.process(FRAME, clock[0])
    return session.status()


def test_a_refused_window_shows_the_last_heart_rate_for_at_most_hold_s():
    session, engine, clock = session_with([READ] + [UNCLEAR] * 5)
    statuses = [step(session, clock) for _ in range(5)]
    assert [s.reading.hr_bpm for s in statuses] == [72.0, 72.0, 72.0, 72.0, None]
    assert [s.held_s for s in statuses] == [0.0, 1.0, 2.0, 3.0, 0.0]
    assert statuses[-1].reading.cause == "unclear"


def test_only_a_not_clear_enough_window_is_bridged():
    too_fast = no_reading("the pulse looks faster than 200 bpm.", "range", 1.0)
    session, engine, clock = session_with([READ, too_fast])
    step(session, clock)
    assert step(session, clock).reading.cause == "range"


def test_nothing_is_held_across_a_face_loss():
    session, engine, clock = session_with([READ, UNCLEAR])
    step(session, clock)
    engine.face = False
    lost = step(session, clock, seconds=2.0)
    assert lost.state == "face lost" and lost.reading.hr_bpm is None
    engine.face = True
    back = step(session, clock)
    assert back.reading.hr_bpm is None and back.reading.cause == "unclear"


def test_the_student_live_falls_back_to_pos_and_says_so():
    session, engine, clock = session_with([("pos", READ), UNCLEAR, UNCLEAR, UNCLEAR, UNCLEAR, READ], method="student")
    assert engine.settings.fallback == "pos"                 # methods.registry.LIVE_FALLBACK
    statuses = [step(session, clock) for _ in range(6)]
    assert [s.source for s in statuses] == ["pos", "pos", "pos", "pos", "student", "student"]
    assert [s.held_s for s in statuses[:5]] == [0.0, 1.0, 2.0, 3.0, 0.0]   # a held reading keeps its source
    assert statuses[4].reading.hr_bpm is None and statuses[5].reading.hr_bpm == 72.0
    assert all(s.method == "student" for s in statuses)


def test_pos_live_has_no_fallback():
    session, engine, clock = session_with([READ])
    assert engine.settings.fallback is None and step(session, clock).source == "pos"
