"""Time one open-rppg model the way ``python -m kdphys bench`` times ours; prints one JSON line.

Runs inside the separate venv made by benchmarks/setup_open_rppg.sh (never in the app's venv):

    benchmarks/.venv-openrppg/bin/python benchmarks/open_rppg_peer.py --model PhysNet.rlap \
        --video webapp/sample/physrecorder-v01/video_ZIP_H264.avi --video /tmp/kdphys-bench/loop60_*.mp4

Measured, in this process (model loading and jit compilation excluded from every time):
- params: keras count_params() of the model; MACs/frame: XLA cost analysis of the jitted call (flops / 2
  / frames per call);
- ms/frame of model time: the package's jitted call on one input window (128 frames for PhysNet, one
  frame + state for FacePhys), median of --repeats runs after a warm-up, divided by frames per call;
- per video: Model.process_video(path) wall time (its own decoder, BlazeFace detection every 5 frames and
  threads, as shipped), the multiple of real time, its HR, and the process's peak RSS (ru_maxrss) after it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

RESULT_PREFIX = "KDPHYS_BENCH_RESULT "


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _keras_model(name: str):
    """The keras model behind a packaged model name (for its parameter count)."""
    import pkg_resources
    from rppg import models

    arch, data = name.split(".")
    weights = {"PhysNet": f"weights/physnet.{data}.weights.h5", "FacePhys": f"weights/FacePhys.{data}.weights.h5"}
    loader = {"PhysNet": models.load_PhysNet, "FacePhys": models.load_FacePhys}
    if arch not in loader:
        return None
    return loader[arch](pkg_resources.resource_filename("rppg", weights[arch]))[0]


def _macs_per_frame(call, x, state, frames_per_call: int) -> float | None:
    try:
        cost = call.lower(x, state).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        return float(cost["flops"]) / 2.0 / frames_per_call
    except Exception:  # cost analysis is best effort (backend dependent)
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="PhysNet.rlap")
    parser.add_argument("--video", action="append", default=[])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import numpy as np
    t0 = time.perf_counter()
    import rppg
    model = rppg.Model(args.model)
    load_s = time.perf_counter() - t0
    rss_loaded = rss_mb()
    keras_model = _keras_model(args.model)
    params = int(keras_model.count_params()) if keras_model is not None else None
    del keras_model

    shape = tuple(model.input)
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    frames_per_call = shape[0]
    macs = _macs_per_frame(model.call, x, model.state, frames_per_call)

    def run():
        out, _ = model.call(x, model.state)
        for v in out.values():
            v.block_until_ready()
    run()
    runs = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        run()
        runs.append(1000.0 * (time.perf_counter() - t) / frames_per_call)

    videos = []
    for path in args.video:
        import av
        with av.open(path) as c:
            s = c.streams.video[0]
            duration = float(s.frames / s.average_rate) if s.frames else float(c.duration / 1e6)
        t = time.perf_counter()
        result = model.process_video(path)
        wall = time.perf_counter() - t
        videos.append({"video": os.path.basename(path), "duration_s": duration, "wall_s": wall,
                       "x_realtime": duration / wall, "hr_bpm": None if not result else result.get("hr"),
                       "peak_rss_mb": peak_rss_mb()})
    out = {"model": args.model, "package": "open-rppg", "params": params, "macs_per_frame": macs,
           "input": list(shape), "ms_per_frame": float(np.median(runs)), "runs_ms_per_frame": runs,
           "load_s": load_s, "rss_after_load_mb": rss_loaded, "videos": videos, "peak_rss_mb": peak_rss_mb()}
    sys.stdout.write(RESULT_PREFIX + json.dumps(out, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
