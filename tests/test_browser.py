"""Real-browser tests: Playwright drives Debian's Chromium against `streamlit run webapp/main.py` on loopback.

1. Open /analyze directly (no "Page not found", no "Deploy"), upload the sample clip; the HR shown is
   within 2 bpm of the reference HR computed here from the clip's finger-oximeter BVP.csv; the compare
   table fits the page; screenshots of every page go to tests.browser_util.SCREENSHOT_DIR (a temporary folder;
   KDPHYS_SCREENSHOT_DIR=docs/screenshots refreshes the README's pictures).
2. The Live page with Chromium's fake webcam playing a y4m made from the real clip, inside a private
   network namespace (`unshare -rn`): frames reach the engine and an HR appears.

Skipped only when /usr/bin/chromium is missing (`bash setup.sh --dev` installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from kdphys import paths
from kdphys.explain import model_status
from kdphys.data.reference import sample_clip_hr_bpm
from tests.browser_util import (CHROMIUM, HR_PATTERN, REPO_ROOT, SCREENSHOT_DIR, in_private_network,
                                launch_chromium, streamlit_server, wait_for_text, write_y4m)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason="Debian's Chromium (/usr/bin/chromium) is not installed; "
                                        "run `bash setup.sh --dev`")]


def _shot(page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / name), full_page=True)


#: True once the page's script has finished running (Streamlit's running indicator is gone).
SCRIPT_DONE = """() => !document.querySelector(
  '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]')"""
#: The compare table's right edge and its container's, px (a table cut off at the right is wider).
TABLE_FITS = """() => { const t = document.querySelector('[data-testid="stTable"] table');
  const box = document.querySelector('[data-testid="stMain"]') || document.body;
  if (!t) return null; return {table: t.getBoundingClientRect().right, page: box.getBoundingClientRect().right,
  scroll: t.parentElement.scrollWidth - t.parentElement.clientWidth}; }"""


def test_upload_sample_hr_matches_reference_and_screenshots():
    from playwright.sync_api import sync_playwright

    ref_hr = sample_clip_hr_bpm()
    with streamlit_server() as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 3200})
            page.goto(f"{url}/analyze", wait_until="domcontentloaded")     # a link to the page opens it
            wait_for_text(page, r"Try the sample clip", 30)
            page.wait_for_timeout(1500)
            opened_directly = page.inner_text("body")
            page.locator("input[type=file]").first.set_input_files(str(paths.SAMPLE_VIDEO))
            shown = wait_for_text(page, r"Heart rate:\s*(.*)", 75).group(1)   # a number or "no reading: ..."
            wait_for_text(page, r"Compare with a reference", 20)
            text = page.inner_text("body")    # the uploaded clip's result
            page.get_by_role("button", name="Try the sample clip").click()   # adds the oximeter comparison
            wait_for_text(page, r"Reference heart rate", 60)
            page.wait_for_timeout(2000)      # let the plotly charts draw
            _shot(page, "analyze.png")
            fits = None
            for slug, marker in (("live", "Live webcam"), ("compare", "Teacher vs student"),
                                 ("about", "Not a medical device")):
                page.goto(f"{url}/{slug}", wait_until="domcontentloaded")
                wait_for_text(page, re.escape(marker), 30)
                if slug == "compare":
                    page.get_by_role("button", name="Compare on the sample clip").click()
                    wait_for_text(page, r"POS \(classical\):\s*([0-9.]+ bpm|no reading)", 90)
                    if model_status()["teacher"].available and model_status()["student"].available:
                        wait_for_text(page, r"Over the whole video", 60)
                        page.wait_for_function(SCRIPT_DONE, timeout=90_000)   # the animation below it too
                    fits = page.evaluate(TABLE_FITS)
                page.wait_for_timeout(2000)
                _shot(page, f"{slug}.png")
        finally:
            browser.close()
    # issue 16, item 9: /analyze opens the page (no "Page not found" dialog), and viewers get no "Deploy"
    assert "Page not found" not in opened_directly and "Deploy" not in opened_directly, opened_directly[:500]
    assert "Analyse a video" in opened_directly
    # item 5: the compare table is not cut off at the right
    assert fits is not None and fits["table"] <= fits["page"] + 1 and fits["scroll"] <= 0, fits
    match = HR_PATTERN.search(text)
    print(f"shown: {shown!r}; reference {ref_hr:.2f} bpm; table {fits}")
    assert match, f"no heart rate shown for the sample clip: {shown}"
    assert abs(float(match.group(1)) - ref_hr) <= 2.0, (match.group(0), ref_hr)
    assert paths.SAMPLE_VIDEO.name in text


@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                    reason="needs unshare (util-linux) and ip (iproute2) for a private loopback network")
def test_live_page_fake_webcam_reaches_engine_and_shows_hr(tmp_path):
    y4m = tmp_path / "face.y4m"
    n_frames, fps = write_y4m(y4m, paths.SAMPLE_VIDEO, start_s=0.0, end_s=20.0)   # the whole clip, looped
    assert n_frames > 500
    out = tmp_path / "live.json"
    driver = [sys.executable, REPO_ROOT / "tests" / "browser_util.py", "live", "--y4m", y4m, "--out", out,
              "--shot", SCREENSHOT_DIR / "live.png", "--timeout", "170"]
    proc = subprocess.run(in_private_network(driver), cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)
    if proc.returncode != 0 and not out.exists():
        if "unshare" in proc.stderr and "Operation not permitted" in proc.stderr:
            pytest.skip(f"user namespaces are not allowed here: {proc.stderr.strip()[-300:]}")
        pytest.fail(f"live driver failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    result = json.loads(out.read_text())
    print(f"live: {result}")
    assert result["app_navigation"], "the live page URL opened on a fresh server must use main.py's navigation"
    page = result.get("page_text", "")
    frames = result.get("frames_processed") or int(re.search(r"Frames processed\s+(\d+)", page).group(1))
    assert frames > 100, result                          # the webcam frames reach the engine
    # The page asks for H.264 (webapp/webrtc_codecs.py): through VP8, whose denoiser weakens the clip's already weak
    # pulse, an HR appeared after 45-95 s (once never within 108 s) and one CI run read 76.4 bpm; through H.264
    # started at 1.5 Mbit/s, benchmarks/live_browser.py saw the first HR after 7-8 s. The 170 s budget is for
    # loaded machines (a timing is never asserted).
    assert result["ok"], f"{result}\n{proc.stderr[-3000:]}"
    assert result.get("codec") == "video/H264", result
    ref_hr = sample_clip_hr_bpm()
    assert abs(result["hr_bpm"] - ref_hr) <= 5.0, (result["hr_bpm"], ref_hr)
