"""Where an upload's time goes, thread by thread: py-spy samples of the Python threads and the CPU time of
every thread (MediaPipe's graph threads included, which py-spy cannot see), for one analysis of the bench's
60 s 640x480 video.

    .venv/bin/python benchmarks/profile_upload.py                        # POS, the app's upload engine
    .venv/bin/python benchmarks/profile_upload.py --method student --landmarkers 1   # as uploads ran before

Needs py-spy (requirements-dev.txt). Prints:

1. CPU seconds per thread kind during the analysis, from /proc/self/task/*/stat read every 15 frames
   (a thread's last reading counts), against the process total.
2. py-spy's samples of the Python threads (``py-spy record --nonblocking`` without ``--idle``, 100 Hz):
   the functions where they were (self samples, top 15; waits grouped) and each thread's share.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


RATE_HZ = 100
#: Leaf frames where a Python thread sleeps (py-spy still reports some of them as on CPU).
WAITS = ("Condition.wait", "_worker (thread.py", "SimpleQueue.get", "Queue.get")


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread of this process, keyed "tid name"."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[f"{tid} {name}"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def child(method: str, landmarkers: int) -> None:
    """Run one analysis; print per-thread-kind CPU seconds as JSON."""
    from kdphys.pipeline.upload import analyze_video
    from kdphys.bench.clips import long_video
    from kdphys.pipeline.engine import Engine, EngineSettings
    from kdphys.io.video import iter_frames

    video = long_video(60.0)
    engine = Engine(EngineSettings(method=method), keep_all=True, landmarkers=landmarkers)
    detector = engine.tracker.detector
    getattr(detector, "warm_up", detector.detect)(next(iter(iter_frames(video))).rgb)
    before, cpu0 = thread_cpu_s(), time.process_time()
    last: dict[str, float] = {}

    def progress(_fraction: float, _message: str) -> None:   # every 15 frames: threads that end are kept
        for key, cpu in thread_cpu_s().items():
            last[key] = max(cpu, last.get(key, 0.0))

    t0 = time.perf_counter()
    analyze_video(video, settings=engine.settings, engine=engine, progress=progress)
    wall, total = time.perf_counter() - t0, time.process_time() - cpu0
    kinds: dict[str, float] = collections.Counter()
    for key, cpu in (last or thread_cpu_s()).items():
        name = key.split(" ", 1)[1]
        kind = "MediaPipe graph threads" if name.startswith("drishti") else f"'{name}' threads"
        kinds[kind] += cpu - before.get(key, 0.0)
    kinds["not seen by the samples (threads started and ended between two, or after the last)"] = \
        total - sum(kinds.values())
    print("RESULT " + json.dumps({"wall_s": wall, "cpu_s": total, "kinds": kinds}))


def summarise_raw(path: Path) -> tuple[collections.Counter, collections.Counter, int]:
    """(self samples per function, samples per thread, total) from py-spy's raw (collapsed) output."""
    functions: collections.Counter = collections.Counter()
    threads: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        head, *frames = stack.split(";")
        # "thread (tid): Name", or "thread (tid)" for a thread Python did not name
        thread = head.split(":", 1)[1].strip() if ":" in head else "(unnamed)"
        leaf = re.sub(r" \(.*/", " (", frames[-1]) if frames else "?"
        if any(leaf.startswith(w) for w in WAITS):
            leaf = "(waiting: lock, condition or queue)"
        elif "dispatch_and_free" in leaf:
            leaf = "(in a MediaPipe C call: the graph's threads do the work)"
        functions[leaf] += int(count)
        threads[thread] += int(count)
        total += int(count)
    return functions, threads, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="pos")
    parser.add_argument("--landmarkers", type=int, default=None,
                        help="default: kdphys.pipeline.upload.upload_landmarkers(), as the app runs uploads")
    parser.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.landmarkers is None:
        from kdphys.pipeline.upload import upload_landmarkers
        args.landmarkers = upload_landmarkers()
    if args._child:
        child(args.method, args.landmarkers)
        return
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        sys.exit("py-spy is not installed: `.venv/bin/pip install -r requirements-dev.txt`.")
    from kdphys.bench.clips import long_video

    long_video(60.0)                                   # build the cached video outside the profile
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "samples.txt"
        cmd = [py_spy, "record", "--threads", "--nonblocking", "-r", str(RATE_HZ), "-f", "raw", "-o", str(raw), "--",
               sys.executable, __file__, "--_child", "--method", args.method, "--landmarkers", str(args.landmarkers)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None or not raw.exists():
            sys.exit(f"profiling failed: {proc.stderr.strip().splitlines()[-3:]}")
        result = json.loads(line[len("RESULT "):])
        functions, threads, total = summarise_raw(raw)
    print(f"{args.method}, {args.landmarkers} landmarker(s): analysis {result['wall_s']:.2f} s wall "
          f"({60.0 / result['wall_s']:.1f}x real time), {result['cpu_s']:.2f} s CPU (process, under py-spy)\n")
    print("| threads | CPU s | share |\n|---|---|---|")
    for kind, cpu in sorted(result["kinds"].items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {cpu:.2f} | {100 * cpu / result['cpu_s']:.0f} % |")
    print(f"\npy-spy, Python threads on CPU: {total} samples at {RATE_HZ} Hz (includes the set-up before the "
          "analysis: imports, loading)\n")
    print("| Python thread | samples | share |\n|---|---|---|")
    for thread, n in threads.most_common(8):
        print(f"| {thread} | {n} | {100 * n / total:.0f} % |")
    print("\n| function (self) | samples | share |\n|---|---|---|")
    for function, n in functions.most_common(15):
        print(f"| {function} | {n} | {100 * n / total:.1f} % |")


if __name__ == "__main__":
    main()
