"""The live page in a real browser: heart rates shown over time, by the video codec the browser sends.

    .venv/bin/python -m benchmarks.live_browser                               # H264,VP8 and VP8,H264; 2 x 120 s
    .venv/bin/python -m benchmarks.live_browser --codecs VP8,H264 --seconds 60 --repeats 1
    .venv/bin/python -m benchmarks.live_browser --codecs H264,VP8 --method student
    .venv/bin/python -m benchmarks.live_browser --codecs H264,VP8 --start-kbps 0 1500 --sample-every 1

Each run starts `streamlit run webapp/main.py` with KDPHYS_LIVE_VIDEO_CODECS set to one preference order
and KDPHYS_LIVE_START_KBPS to one start bit rate (webapp/webrtc_codecs.py; 0 = the browser's own), opens
the live page in Debian's Chromium with its fake camera playing the sample clip (looped, as in
tests/test_browser.py), presses START and every 5 s (``--sample-every``) records the page's heart rate
(or its "no reading" reason), the achieved fps and the browser's outbound video statistics (codec,
encoder, bit rate); the CPU of the streamlit server and of Chromium (all their processes) is measured from
the first sample to the last (server: decoding, the live engine, re-encoding the video sent back).
Run it as a module from the repository root (it uses the browser tests' helpers in tests/browser_util.py).
Each run is a private network namespace (`unshare -rn`, loopback 127.0.0.2; nothing leaves the machine)
and needs Debian's Chromium (`bash setup.sh --dev`). Needs 2-3 minutes per run; prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

from kdphys import paths  # noqa: E402
from kdphys.data.reference import sample_clip_hr_bpm  # noqa: E402
from tests.browser_util import (HR_PATTERN, OUTBOUND_VIDEO, _webrtc_frame, fake_camera_browser,  # noqa: E402
                                in_private_network, wait_for_text, write_y4m)
from webapp.ui import method_label  # noqa: E402
from webapp.webrtc_codecs import DEFAULT_START_KBPS, ENV_VAR, START_KBPS_ENV_VAR  # noqa: E402

SERVER, BROWSER = r"streamlit run", r"chrom"        # command-line patterns for the CPU columns


def process_cpu_s(pattern: str) -> float:
    """CPU seconds (user + system) so far of every process whose command line matches ``pattern``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
            if re.search(pattern, cmd):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):      # the process ended meanwhile
            continue
    return total


def one_run(y4m: Path, seconds: float, method: str | None = None, every_s: float = 5.0) -> dict:
    """Inside the namespace: the live page for ``seconds`` after START, with ``method`` chosen first (the
    page's default when None); samples every ``every_s`` seconds."""
    samples, last = [], None
    with fake_camera_browser(y4m) as (page, url):
        page.goto(f"{url}/live", wait_until="domcontentloaded")
        wait_for_text(page, r"Live webcam", 30)
        if method is not None:
            page.get_by_text(method_label(method), exact=True).click()
            time.sleep(3)                               # the rerun that switches the session's method
        frame = _webrtc_frame(page, 45)
        frame.get_by_role("button", name=re.compile("start", re.I)).click()
        started = time.monotonic()
        cpu0 = None
        while time.monotonic() - started < seconds:
            time.sleep(every_s)
            stats = (frame.evaluate(OUTBOUND_VIDEO) or [None])[0]
            text = page.inner_text("body")
            hr = HR_PATTERN.search(text)
            reason = re.search(r"no reading: ([^.\n]*)", text)
            kbps = None
            if stats and last and stats["t_ms"] > last["t_ms"]:
                kbps = 8.0 * (stats["bytes"] - last["bytes"]) / (stats["t_ms"] - last["t_ms"])
            last = stats or last
            if cpu0 is None:               # from the first sample on (connection set up)
                cpu0 = (time.monotonic(), process_cpu_s(SERVER), process_cpu_s(BROWSER))
            fps = re.search(r"Frames per second\s*([0-9.]+)", text)
            shown_method = re.search(r"([^\n·]+?) · \d+ s of signal", text)     # the caption under the waveform
            samples.append({"t_s": round(time.monotonic() - started, 1), "hr_bpm": float(hr.group(1)) if hr else None,
                            "fps": float(fps.group(1)) if fps else None,
                            "method": shown_method.group(1).strip() if shown_method else None,
                            "by_fallback": bool(hr) and "This heart rate comes from" in text,
                            "reason": None if hr or not reason else reason.group(1), "kbps": kbps,
                            "codec": stats and stats["codec"], "encoder": stats and stats["encoder"],
                            "sent_size": stats and f"{stats.get('width')}x{stats.get('height')}",
                            "limited_by": stats and stats.get("limited_by")})
        wall = time.monotonic() - cpu0[0]
        cpu = {"server_core_pct": 100 * (process_cpu_s(SERVER) - cpu0[1]) / wall,
               "browser_core_pct": 100 * (process_cpu_s(BROWSER) - cpu0[2]) / wall}
    return {"samples": samples, **cpu}


def run_in_namespace(codecs: str, kbps: int, y4m: Path, seconds: float, method: str | None = None,
                     every_s: float = 5.0) -> dict:
    """One run in a private network namespace with KDPHYS_LIVE_VIDEO_CODECS=codecs and
    KDPHYS_LIVE_START_KBPS=kbps; its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        inner = [sys.executable, "-m", "benchmarks.live_browser", "--inner", "--y4m", y4m, "--seconds", seconds, "--out", out,
                 "--sample-every", every_s]
        inner += ["--method", method] if method else []
        env = {**os.environ, ENV_VAR: codecs, START_KBPS_ENV_VAR: str(kbps)}
        proc = subprocess.run(in_private_network(inner), cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=seconds + 180)
        if not out.is_file():
            raise SystemExit(f"the run with {codecs} failed:\n{proc.stderr[-2000:]}")
        return json.loads(out.read_text())


def summary_row(codecs: str, kbps_start: int, result: dict, ref_hr: float) -> str:
    samples = result["samples"]
    early = [s["kbps"] for s in samples if s["kbps"] is not None and s["t_s"] <= 10.5]
    methods = sorted({s["method"] for s in samples if s.get("method")})
    shown = [(s["t_s"], s["hr_bpm"]) for s in samples if s["hr_bpm"] is not None]
    errors = np.array([abs(hr - ref_hr) for _, hr in shown])
    sent = {f"{s['codec']} ({s['encoder']})" for s in samples if s["codec"]}
    kbps = [s["kbps"] for s in samples if s["kbps"] is not None]
    first = f"{shown[0][0]:.0f} s" if shown else "never"
    err = f"{np.median(errors):.1f} / {errors.max():.1f}" if errors.size else "-"
    fps = [s["fps"] for s in samples if s["fps"] is not None]
    after = [s for s in samples if shown and s["t_s"] > shown[0][0]]
    share_after = f"{100 * sum(s['hr_bpm'] is not None for s in after) / len(after):.0f}%" if after else "-"
    by_fallback = sum(bool(s.get("by_fallback")) for s in samples)
    share_after += f" ({by_fallback} by the fallback)" if by_fallback else ""
    sizes = Counter(s.get("sent_size") for s in samples if s.get("sent_size"))
    size_text = ", ".join(f"{k} {100 * v / sum(sizes.values()):.0f}%" for k, v in sizes.most_common(2)) or "?"
    limits = Counter(s.get("limited_by") for s in samples if s.get("limited_by"))
    limit_text = ", ".join(f"{k} {100 * v / sum(limits.values()):.0f}%" for k, v in limits.most_common(2)) or "?"
    return (f"| {', '.join(methods) or '?'} | {codecs} | {kbps_start or 'browser'} | {', '.join(sorted(sent)) or '?'} | "
            f"{np.median(early) if early else float('nan'):.0f} | {np.median(kbps) if kbps else float('nan'):.0f} | "
            f"{len(shown)}/{len(samples)} | {first} | {share_after} | {err} | {size_text} | {limit_text} | "
            f"{np.median(fps) if fps else float('nan'):.1f} | "
            f"{result['server_core_pct']:.0f} / {result['browser_core_pct']:.0f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codecs", nargs="+", default=["H264,VP8", "VP8,H264"],
                        help="KDPHYS_LIVE_VIDEO_CODECS values to compare")
    parser.add_argument("--start-kbps", type=int, nargs="+", default=[DEFAULT_START_KBPS],
                        help="KDPHYS_LIVE_START_KBPS values to compare (0 = the browser's own start bit rate)")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long each run samples after START")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds between samples of the page")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--method", help="method chosen on the page before START (default: the page's default)")
    parser.add_argument("--samples-dir", type=Path, help="also write each run's samples there as JSON")
    parser.add_argument("--camera-size", metavar="WxH", help="the fake camera's frame size (default: the clip's own)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--y4m", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        args.out.write_text(json.dumps(one_run(args.y4m, args.seconds, args.method, args.sample_every)))
        return
    ref_hr = sample_clip_hr_bpm()
    print(f"sample clip looped, oximeter {ref_hr:.1f} bpm; method {args.method or 'the page default'}; the page "
          f"sampled every {args.sample_every:g} s for {args.seconds:.0f} s after START")
    print("| method shown | preference | start kbit/s | sent (encoder) | median kbit/s, first 10 s | median kbit/s | "
          "samples with a heart rate | first | with one after the first | median / max error (bpm) | sent size | "
          "quality limited by | page fps | CPU % of a core: server / browser |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        y4m = Path(tmp) / "face.y4m"
        size = tuple(int(v) for v in args.camera_size.lower().split("x")) if args.camera_size else None
        write_y4m(y4m, paths.SAMPLE_VIDEO, start_s=0.0, end_s=20.0, size_wh=size)
        for _ in range(args.repeats):
            for codecs in args.codecs:
                for kbps in args.start_kbps:
                    result = run_in_namespace(codecs, kbps, y4m, args.seconds, args.method, args.sample_every)
                    print(summary_row(codecs, kbps, result, ref_hr), flush=True)
                    if args.samples_dir is not None:
                        args.samples_dir.mkdir(parents=True, exist_ok=True)
                        name = f"{codecs.replace(',', '-')}_{kbps}_{time.strftime('%H%M%S')}.json"
                        (args.samples_dir / name).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
