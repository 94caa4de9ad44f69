"""Where the student ONNX graph's time goes: one frame per call against a 128-frame segment per call, and
the segment's cost per operator.

    .venv/bin/python benchmarks/student_step_cost.py

Runs weights/student.onnx (1 intra-op thread, as the app) on the real clip's skin crops (cut at the model's
size, as the app does) and prints ms per frame for: ``OnnxStudentStream.step`` (uint8 crop -> float -> graph
-> state, one frame per call), ``step_float`` (float frame, one per call) and ``run`` on 128-frame segments
from a fresh state (what the engine does, uploads and live), the last also with 2 intra-op threads, wall and
CPU time (all threads). Median of 5 passes after a warm-up pass. Then
ONNX Runtime's profile of the segment call: microseconds per frame by operator type, and the five costliest
nodes (ORT's optimised graph: convolutions fused with their ReLU, NCHWc layout).
"""

from __future__ import annotations

import collections
import json
import tempfile
import time
from pathlib import Path

import numpy as np


from kdphys import paths  # noqa: E402
from kdphys.bench.clips import face_crops  # noqa: E402
from kdphys.methods.neural import OnnxStudentStream, StudentMethod, _to_float_frames  # noqa: E402

SEGMENT_FRAMES = 128


def per_frame_ms(fn, items, frames_per_item: int = 1, passes: int = 5) -> float:
    """Median over passes of the time of fn(item) per frame, ms."""
    for item in items:
        fn(item)
    times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        times.append((time.perf_counter() - t0) / (len(items) * frames_per_item))
    return 1e3 * float(np.median(times))


def student_stream(threads: int, profile_prefix: str | None = None) -> OnnxStudentStream:
    """weights/student.onnx in an ONNX Runtime session with ``threads`` intra-op threads (profiling to
    ``profile_prefix`` when given)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return OnnxStudentStream(ort.InferenceSession(str(paths.WEIGHTS_DIR / "student.onnx"), options,
                                                  providers=["CPUExecutionProvider"]))


def segment_wall_and_cpu_ms(segments: list[np.ndarray], threads: int, passes: int = 5) -> tuple[float, float]:
    """(wall, process CPU) ms per frame of 128-frame segment calls with ``threads`` intra-op threads (medians)."""
    stream = student_stream(threads)
    walls, cpus = [], []
    for index in range(passes + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        for part in segments:
            stream.reset()
            stream.run(part)
        if index:                                    # the first pass warms up
            n = len(segments) * SEGMENT_FRAMES
            walls.append((time.perf_counter() - t0) / n)
            cpus.append((time.process_time() - c0) / n)
    return 1e3 * float(np.median(walls)), 1e3 * float(np.median(cpus))


def profile_segment(segments: list[np.ndarray], calls: int = 30) -> tuple[dict, dict]:
    """({op type: us per frame}, {node name: us per frame}) of ``calls`` segment calls, from ORT's profiler."""
    with tempfile.TemporaryDirectory() as tmp:
        stream = student_stream(1, str(Path(tmp) / "student"))
        for i in range(calls):
            stream.reset()
            stream.run(segments[i % len(segments)])
        events = json.loads(Path(stream.session.end_profiling()).read_text())
    by_op, by_node = collections.Counter(), collections.Counter()
    scale = 1.0 / (calls * SEGMENT_FRAMES)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] * scale
            by_node[event["name"].removesuffix("_kernel_time")] += event["dur"] * scale
    return dict(by_op), dict(by_node)


def main() -> None:
    crops = face_crops().crops
    stream = StudentMethod(onnx_path=paths.WEIGHTS_DIR / "student.onnx").open_stream()
    frames = _to_float_frames(crops, stream.crop_size)
    segments = [frames[i:i + SEGMENT_FRAMES] for i in range(0, len(frames) - SEGMENT_FRAMES + 1, SEGMENT_FRAMES)]

    def segment(part):
        stream.reset()
        stream.run(part)

    rows = [("step (uint8 crop, one frame per call)", per_frame_ms(stream.step, crops)),
            ("step_float (one frame per call)", per_frame_ms(stream.step_float, frames)),
            (f"run ({SEGMENT_FRAMES}-frame segment per call)", per_frame_ms(segment, segments, SEGMENT_FRAMES))]
    print(f"student.onnx on {len(crops)} real-clip crops ({stream.crop_size}x{stream.crop_size}), 1 thread")
    print("| part | ms / frame |\n|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.3f} |")
    print("\n| segment call | wall ms / frame | CPU ms / frame |\n|---|---|---|")
    for threads in (1, 2):
        wall, cpu = segment_wall_and_cpu_ms(segments, threads)
        print(f"| {threads} intra-op thread{'s' if threads > 1 else ''} | {wall:.3f} | {cpu:.3f} |")
    by_op, by_node = profile_segment(segments)
    total = sum(by_op.values())
    print(f"\nSegment call, ONNX Runtime profile: {total:.1f} us per frame in operators")
    print("| operator | us / frame | share |\n|---|---|---|")
    for op, us in sorted(by_op.items(), key=lambda kv: -kv[1]):
        print(f"| {op} | {us:.1f} | {us / total:.0%} |")
    print("\n| costliest nodes | us / frame |\n|---|---|")
    for node, us in sorted(by_node.items(), key=lambda kv: -kv[1])[:5]:
        print(f"| {node} | {us:.1f} |")


if __name__ == "__main__":
    main()
