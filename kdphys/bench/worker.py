"""Run one benchmark measurement in this (fresh) process and print its result as one JSON line.

    python -m kdphys.bench.worker time_model '{"name": "teacher", "crops": "real"}'

Used by kdphys.bench.suite so that every peak-RSS figure comes from a process that ran only that
measurement. The result line starts with ``RESULT_PREFIX``.
"""

from __future__ import annotations

import json
import sys

RESULT_PREFIX = "KDPHYS_BENCH_RESULT "


def _crops(spec):
    from kdphys.bench import clips

    if spec == "real":
        return clips.face_crops()
    return clips.CropSet.load(spec)


def run_task(task: str, kwargs: dict) -> dict:
    """Dispatch a task name to kdphys.bench.measure (crop sets given as "real" or an .npz path)."""
    from kdphys.bench import clips, measure

    kwargs = dict(kwargs)
    if task == "time_model":
        return measure.time_model(crop_set=_crops(kwargs.pop("crops", "real")), **kwargs)
    if task == "live":
        return measure.live_pipeline(**kwargs)
    if task == "upload":
        return measure.upload(**kwargs)
    if task == "int8":
        real = _crops(kwargs.pop("crops", "real"))
        synthetic = [clips.CropSet.load(p) for p in kwargs.pop("synthetic")]
        return measure.int8_eval(real, synthetic, **kwargs)
    if task == "params":
        return measure.params_and_macs()
    raise ValueError(f"unknown benchmark task {task!r}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    task, kwargs = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    result = run_task(task, kwargs)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, default=float) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
