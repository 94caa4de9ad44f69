"""Where the student ONNX step's time goes: the whole step, the float step and ONNX Runtime's run alone.

    .venv/bin/python benchmarks/student_step_cost.py

Runs weights/student.onnx on the real clip's skin crops (cut at the model's size, as the app does) and
prints ms per frame for: ``OnnxStudentStream.step`` (uint8 crop -> float -> graph -> state),
``step_float`` (float frame -> graph -> state) and ``session.run`` with fixed inputs; the last once more
with ORT_ENABLE_ALL graph optimisation. Median of 5 passes over the clip after a warm-up pass.
"""

from __future__ import annotations

import time

import numpy as np


from kdphys import paths  # noqa: E402
from kdphys.bench.clips import face_crops  # noqa: E402
from kdphys.methods.neural import StudentMethod, _to_float_frames  # noqa: E402


def per_frame_ms(fn, items, passes: int = 5) -> float:
    """Median over passes of the mean time of fn(item), ms."""
    for item in items:
        fn(item)
    times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        times.append((time.perf_counter() - t0) / len(items))
    return 1e3 * float(np.median(times))


def main() -> None:
    import onnxruntime as ort

    crops = face_crops().crops
    stream = StudentMethod(onnx_path=paths.WEIGHTS_DIR / "student.onnx").open_stream()
    frames = _to_float_frames(crops, stream.crop_size)
    rows = [("step (uint8 crop)", per_frame_ms(stream.step, crops)),
            ("step_float", per_frame_ms(stream.step_float, frames))]
    feeds = dict(zip(stream.input_names, [frames[0][None], *stream.state]))
    rows.append(("session.run", per_frame_ms(lambda _: stream.session.run(None, feeds), crops)))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(paths.WEIGHTS_DIR / "student.onnx"), options, providers=["CPUExecutionProvider"])
    rows.append(("session.run, ORT_ENABLE_ALL", per_frame_ms(lambda _: session.run(None, feeds), crops)))
    print(f"student.onnx on {len(crops)} real-clip crops ({stream.crop_size}x{stream.crop_size}), 1 thread")
    print("| part | ms / frame |\n|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.3f} |")


if __name__ == "__main__":
    main()
