"""Helpers for the browser tests: a streamlit server subprocess, Chromium flags, a y4m writer, page text waits.

Also a driver for the live-webcam test, run inside a private network namespace:

    unshare -rn sh -c 'ip link set lo up; ip addr add 127.0.0.2/8 dev lo;
                       python tests/browser_util.py live --y4m clip.y4m --out result.json --shot live.png'

(aioice, the ICE library behind streamlit-webrtc, skips 127.0.0.1, so the server and Chromium talk over
127.0.0.2 in a namespace of their own; nothing leaves the machine.)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FAKE_CAMERA_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                     "--allow-loopback-in-peer-connection"]
#: Where the browser tests save their page screenshots: a temporary folder, so that a test run leaves the
#: checkout as it was; KDPHYS_SCREENSHOT_DIR=docs/screenshots refreshes the README's pictures.
SCREENSHOT_DIR = REPO_ROOT / os.environ.get("KDPHYS_SCREENSHOT_DIR",
                                            str(Path(tempfile.gettempdir()) / "kdphys-screenshots"))
HR_PATTERN = re.compile(r"Heart rate:\s*([0-9]+(?:\.[0-9]+)?)\s*bpm")
#: Wraps the browser's RTCPeerConnection so that the page's connections can be asked for statistics.
TRACK_CONNECTIONS = """(() => { const Original = window.RTCPeerConnection; if (!Original || window.__pcs) return;
  window.__pcs = []; function Tracked(...args) { const pc = new Original(...args); window.__pcs.push(pc); return pc; }
  Tracked.prototype = Original.prototype; Object.setPrototypeOf(Tracked, Original);
  window.RTCPeerConnection = Tracked; })();"""
OUTBOUND_VIDEO = """async () => { const out = []; for (const pc of (window.__pcs || [])) { const stats = await pc.getStats();
  const codecs = {}; stats.forEach(r => { if (r.type === 'codec') codecs[r.id] = r.mimeType; });
  stats.forEach(r => { if (r.type === 'outbound-rtp' && r.kind === 'video') out.push({codec: codecs[r.codecId],
    encoder: r.encoderImplementation, bytes: r.bytesSent, t_ms: r.timestamp, width: r.frameWidth,
    height: r.frameHeight, fps: r.framesPerSecond, limited_by: r.qualityLimitationReason}); }); } return out; }"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(host: str = "127.0.0.1", port: int | None = None, timeout_s: float = 60.0):
    """Run ``streamlit run webapp/main.py`` on host:port; yields the base URL; stops the process after."""
    port = port or free_port(host)
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"kdphys-streamlit-{port}.log"
    streamlit_exe = Path(sys.executable).parent / "streamlit"      # as a user starts it (no PYTHONPATH)
    cmd = [str(streamlit_exe), "run", str(REPO_ROOT / "webapp" / "main.py"),
           "--server.port", str(port), "--server.address", host, "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_for_port(host, port, proc, timeout_s, log_path)
            yield f"http://{host}:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_port(host: str, port: int, proc: subprocess.Popen, timeout_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not listen on {host}:{port} within {timeout_s} s")


def launch_chromium(playwright, extra_args: list[str] | None = None):
    """Debian's Chromium through Playwright (no browser download)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_FLAGS + list(extra_args or []))


def wait_for_text(page, pattern: re.Pattern | str, timeout_s: float) -> re.Match:
    """Poll the page's visible text until ``pattern`` matches; return the match (raises on timeout)."""
    pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = page.inner_text("body")
        match = pattern.search(text)
        if match:
            return match
        time.sleep(0.5)
    raise AssertionError(f"text {pattern.pattern!r} did not appear within {timeout_s} s; page text:\n{text[-2000:]}")


def write_y4m(path: Path, video: Path, start_s: float, end_s: float, ping_pong: bool = False,
              size_wh: tuple[int, int] | None = None) -> tuple[int, float]:
    """Write ``start_s``..``end_s`` of a video as a y4m file (text header + raw I420 frames); Chromium's fake
    camera loops it. ``ping_pong`` appends the frames backwards (no jump at the loop point, but a reversed
    pulse: the live HR read 55 bpm on one such run, so the test plays the clip forward only).

    Returns (number of frames written, fps).
    """
    import cv2

    from kdphys.io.video import iter_frames, probe

    fps = probe(video).fps
    frames: list[bytes] = []                 # I420 frames, (w * h * 3 / 2) bytes each
    h = w = 0
    for frame in iter_frames(video):
        if frame.t_s > end_s:
            break
        if frame.t_s >= start_s:
            rgb = frame.rgb if size_wh is None else cv2.resize(frame.rgb, size_wh, interpolation=cv2.INTER_AREA)
            h, w = rgb.shape[:2]
            frames.append(np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)).tobytes())
    order = list(range(len(frames)))
    if ping_pong:
        order += list(range(len(frames) - 2, 0, -1))
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{int(round(fps * 1000))}:1000 Ip A1:1 C420jpeg\n".encode())
        for i in order:
            fh.write(b"FRAME\n")
            fh.write(frames[i])
    return len(order), fps


# ------------------------------------------------------------------------------------ live driver
#: Run inside `unshare -rn` before the driver: loopback up, with the 127.0.0.2 that aioice accepts.
PRIVATE_LOOPBACK_SETUP = "ip link set lo up && ip addr add 127.0.0.2/8 dev lo"


def in_private_network(argv: list[str]) -> list[str]:
    """The command line that runs ``argv`` in a private network namespace with PRIVATE_LOOPBACK_SETUP."""
    return ["unshare", "-rn", "sh", "-c", f"{PRIVATE_LOOPBACK_SETUP} && exec {shlex.join(str(a) for a in argv)}"]


@contextlib.contextmanager
def fake_camera_browser(y4m: Path):
    """A fresh streamlit server on 127.0.0.2 and a Chromium page whose fake camera plays ``y4m`` and whose
    RTCPeerConnections are tracked (TRACK_CONNECTIONS, for OUTBOUND_VIDEO). Yields (page, server URL); the
    browser is closed on exit. Run inside ``in_private_network``."""
    from playwright.sync_api import sync_playwright

    with streamlit_server(host="127.0.0.2") as url, sync_playwright() as pw:
        browser = launch_chromium(pw, FAKE_CAMERA_FLAGS + [f"--use-file-for-fake-video-capture={y4m}"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(TRACK_CONNECTIONS)
            yield page, url
        finally:
            browser.close()


def live_driver(y4m: Path, out_json: Path, shot: Path | None, timeout_s: float) -> int:
    """Open the live page with a fake camera playing ``y4m``; record frames processed and the HR shown."""
    result: dict = {"ok": False}
    with fake_camera_browser(y4m) as (page, url):
        try:
            page.goto(f"{url}/live", wait_until="domcontentloaded")
            wait_for_text(page, r"Live webcam", 30)
            result["app_navigation"] = "Analyse a video" in page.inner_text("body")   # main.py's st.navigation
            frame = _webrtc_frame(page, 45)
            frame.get_by_role("button", name=re.compile("start", re.I)).click()
            started = time.monotonic()
            frames = wait_for_text(page, re.compile(r"Frames processed\s*([1-9][0-9]*)"), 40)
            result["frames_first_seen"] = int(frames.group(1))
            result["frames_seen_after_s"] = round(time.monotonic() - started, 1)
            with contextlib.suppress(Exception):
                size = wait_for_text(page, re.compile(r"video (\d+)×(\d+)"), 15)
                result["video_wh_early"] = [int(size.group(1)), int(size.group(2))]
            hr = wait_for_text(page, HR_PATTERN, max(timeout_s - (time.monotonic() - started), 5))
            result["hr_bpm"] = float(hr.group(1))
            result["hr_after_s"] = round(time.monotonic() - started, 1)
            with contextlib.suppress(Exception):
                result["codec"] = frame.evaluate(OUTBOUND_VIDEO)[0]["codec"]     # what the browser sends
            text = page.inner_text("body")
            m = re.search(r"Frames processed\s*([0-9]+)", text)
            result["frames_processed"] = int(m.group(1)) if m else None
            m = re.search(r"Frames per second\s*([0-9.]+)", text)
            result["fps"] = float(m.group(1)) if m else None
            m = re.search(r"video (\d+)×(\d+)", text)
            result["video_wh"] = [int(m.group(1)), int(m.group(2))] if m else None
            if shot is not None:
                time.sleep(1.5)
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=True)
            result["ok"] = True
        except Exception as err:  # noqa: BLE001 - reported to the test as JSON
            result["error"] = f"{type(err).__name__}: {err}"
            with contextlib.suppress(Exception):
                page.screenshot(path=str(out_json.with_suffix(".png")), full_page=True)
                result["page_text"] = page.inner_text("body")[-3000:]
                result["frames"] = [f.url for f in page.frames]
    out_json.write_text(json.dumps(result))
    return 0 if result["ok"] else 1


def _webrtc_frame(page, timeout_s: float):
    """The streamlit-webrtc component's iframe (its START button lives there)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for fr in page.frames:
            with contextlib.suppress(Exception):
                if fr.get_by_role("button", name=re.compile("^start$", re.I)).count():
                    return fr
        time.sleep(0.5)
    raise AssertionError("the webrtc component (START button) did not appear")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    live = sub.add_parser("live", help="drive the live page with a fake camera")
    live.add_argument("--y4m", type=Path, required=True)
    live.add_argument("--out", type=Path, required=True)
    live.add_argument("--shot", type=Path)
    live.add_argument("--timeout", type=float, default=80.0)
    args = parser.parse_args(argv)
    return live_driver(args.y4m, args.out, args.shot, args.timeout)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    sys.exit(main())
