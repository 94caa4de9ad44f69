"""Several people at once: three browser sessions against one ``streamlit run`` server, no state shared.

1. Playwright opens three separate browser contexts (three users) on one server; each uploads a different
   clip at the same time: the real sample clip (reference ~71 bpm from its oximeter) and two synthetic
   640x480 faces at 62 and 96 bpm. Each page must show its own file name and a heart rate within 3 bpm of
   its own truth, and none of the other files' names.
2. AppTest: two sessions of the live page each hold their own LiveSession (different objects, different
   engines), so a webcam in one tab never feeds another tab's heart rate.
"""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from kdphys import paths
from kdphys.data.reference import sample_clip_hr_bpm
from tests import media
from tests.browser_util import CHROMIUM, HR_PATTERN, launch_chromium, streamlit_server, wait_for_text

pytestmark = pytest.mark.slow        # `pytest -m "not slow"` leaves this module out

MAIN = str(paths.REPO_ROOT / "webapp" / "main.py")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed; "
                                                  "run `bash setup.sh --dev`")
def test_three_browser_sessions_get_their_own_results(tmp_path):
    from playwright.sync_api import sync_playwright

    clips = {
        paths.SAMPLE_VIDEO: sample_clip_hr_bpm(),
        **{m.path: m.hr_bpm for m in (media.write_640x480_clip(tmp_path, "alice_62bpm", 62.0, seed=31),
                                      media.write_640x480_clip(tmp_path, "bob_96bpm", 96.0, seed=32))},
    }
    shown: dict[str, str] = {}
    with streamlit_server() as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            pages = {}
            for path in clips:
                page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
                page.goto(url, wait_until="domcontentloaded")
                wait_for_text(page, r"Try the sample clip", 45)
                pages[path] = page
            started = time.monotonic()
            for path, page in pages.items():            # all three analyses run on the server at once
                page.locator("input[type=file]").first.set_input_files(str(path))
            for path, page in pages.items():
                wait_for_text(page, r"Heart rate:\s*\S", 150)
                wait_for_text(page, re.escape(path.name), 20)
                shown[path.name] = page.inner_text("body")
            print(f"\nthree concurrent analyses done in {time.monotonic() - started:.1f} s")
        finally:
            browser.close()
    for path, truth in clips.items():
        text = shown[path.name]
        match = HR_PATTERN.search(text)
        assert match, f"{path.name}: no heart rate shown: {text[-1500:]}"
        hr = float(match.group(1))
        print(f"{path.name}: shown {hr:.1f} bpm, truth {truth:.1f} bpm")
        assert abs(hr - truth) <= 3.0, (path.name, hr, truth)
        for other in clips:
            if other != path:
                assert other.name not in text, f"{other.name} appears in {path.name}'s session"


def test_live_sessions_are_per_browser_session():
    sessions = []
    for _ in range(2):
        at = AppTest.from_file(MAIN, default_timeout=60)
        at.run()
        at.switch_page("pages/live.py").run()
        assert not at.exception, [e.value for e in at.exception]
        sessions.append(at.session_state["live_session"])
        at.run()                                            # a rerun keeps the same session object
        assert at.session_state["live_session"] is sessions[-1]
    first, second = sessions
    assert first is not second
    assert first.engine is not second.engine
    assert first.engine.tracker is not second.engine.tracker
