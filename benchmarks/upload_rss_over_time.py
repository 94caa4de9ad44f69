"""Resident memory during one long upload analysis, sampled as it goes: does anything grow with the video?

    .venv/bin/python benchmarks/upload_rss_over_time.py                       # 10 min video, 1 and 2 landmarkers
    .venv/bin/python benchmarks/upload_rss_over_time.py --minutes 3 --method pos --landmarkers 2

The bench's memory table compares the peak of a 10-minute upload with a 1-minute one; this prints the RSS
(MB) at every tenth of the analysis, one fresh process per landmarker count, so that a growth per minute
of video can be read off (with ``keep_all`` the per-sample buffers are meant to be the only thing that grows).
The video is the bench's looped real clip (``kdphys.bench.clips.long_video``, 640x480 H.264).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time



def sample_one(video: str, method: str, landmarkers: int) -> dict:
    """Analyse ``video`` in this process; RSS (MB) after loading and at every tenth of the frames."""
    from kdphys.pipeline.upload import analyze_video
    from kdphys.bench.measure import rss_mb
    from kdphys.pipeline.engine import Engine, EngineSettings

    engine = Engine(EngineSettings(method=method), keep_all=True, landmarkers=landmarkers)
    samples: list[tuple[float, float]] = []

    def progress(fraction: float, _message: str) -> None:
        if not samples or fraction - samples[-1][0] >= 0.1:
            samples.append((fraction, rss_mb()))

    loaded_mb = rss_mb()
    t0 = time.perf_counter()
    analyze_video(video, settings=engine.settings, engine=engine, progress=progress)
    return {"landmarkers": landmarkers, "loaded_mb": loaded_mb, "wall_s": time.perf_counter() - t0,
            "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="video length (default 10)")
    parser.add_argument("--method", default="student", help="analysis method (default student)")
    parser.add_argument("--landmarkers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--_child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        video, method, landmarkers = args._child
        print("RESULT " + json.dumps(sample_one(video, method, int(landmarkers))))
        return
    from kdphys.bench.clips import long_video

    video = long_video(60.0 * args.minutes)
    print(f"video: {video} ({args.minutes:g} min), method {args.method}; RSS in MB at each tenth of the analysis")
    print("| landmarkers | wall s | after loading | " + " | ".join(f"{10 * k}%" for k in range(10)) + " | growth MB/min |")
    print("|---" * 14 + "|")
    for n in args.landmarkers:
        proc = subprocess.run([sys.executable, __file__, "--_child", str(video), args.method, str(n)],
                              capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(f"| {n} | failed: {proc.stderr.strip().splitlines()[-1:]} |")
            continue
        r = json.loads(line[len("RESULT "):])
        rss = [mb for _, mb in r["samples"]]
        first, last = r["samples"][1] if len(rss) > 1 else r["samples"][0], r["samples"][-1]
        growth = (last[1] - first[1]) / max((last[0] - first[0]) * args.minutes, 1e-9)
        cells = " | ".join(f"{mb:.0f}" for mb in rss[:10])
        print(f"| {n} | {r['wall_s']:.1f} | {r['loaded_mb']:.0f} | {cells} | {growth:.2f} |")
    print("growth: (RSS at the last sample - RSS at 10 %) / minutes of video between them.")


if __name__ == "__main__":
    main()
