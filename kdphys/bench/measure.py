"""Measurements behind ``python -m kdphys bench``. Each function returns a plain dict (JSON-serialisable)
so that it can run in a fresh subprocess (kdphys.bench.worker) for a clean peak-RSS figure.

Model names: "student-torch" (torch, 128-frame segments), "student-onnx" (the exported chunk graph in ONNX
Runtime, one 128-frame segment per call, 1 thread as in the app), "student-onnx-step" (the same graph streamed
one frame per call), "student-int8" (a quantized copy), "teacher" (torch, 128-frame segments), "pos" (numpy,
skin-colour trace).
Weights: weights/student.pt, student.onnx, teacher.pt when present ("trained"); else untrained models of
the same architecture ("untrained": speed is the same, accuracy is meaningless).

Memory: ``peak_rss_mb`` is the process's peak resident set (VmHWM, which ``reset_peak_rss`` resets to the
current RSS; getrusage ru_maxrss where it cannot); ``rss_mb`` the current one (/proc/self/statm). Deltas
are the peak during the measurement minus the RSS before it. ``ru_maxrss_mb``: peak of the whole process.
"""

from __future__ import annotations

import hashlib
import os
import resource
import time
from pathlib import Path

import numpy as np

from kdphys.bench.clips import CropSet, bench_dir
from kdphys.paths import WEIGHTS_DIR
from kdphys.signal import DEFAULT_BAND_HZ

MODEL_NAMES = ("student-torch", "student-onnx", "student-onnx-step", "teacher", "pos")
STREAM_MODEL = "student-onnx-step"
SEGMENT_FRAMES = 128
BAND_HZ = DEFAULT_BAND_HZ


# ------------------------------------------------------------------------------------------- memory
def rss_mb() -> float:
    """Current resident set size of this process, MB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process since start or the last ``reset_peak_rss`` (VmHWM), MB.

    Falls back to getrusage ru_maxrss (peak since start) where /proc/self/status has no VmHWM."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def preload_modules() -> None:
    """Import everything a measurement may import, so that RSS deltas measure data, not code."""
    import onnxruntime  # noqa: F401
    import torch  # noqa: F401
    from torch.utils import flop_counter  # noqa: F401

    import kdphys.pipeline.upload  # noqa: F401
    import kdphys.pipeline.engine  # noqa: F401
    import kdphys.pipeline.live  # noqa: F401
    import kdphys.methods.neural  # noqa: F401
    import kdphys.signal  # noqa: F401


# ------------------------------------------------------------------------------------------- models
def _source_hash(*modules) -> str:
    h = hashlib.sha1()
    for module in modules:
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:10]


def shipped_torch(kind: str):
    """(model in eval mode, "trained"/"untrained", where it came from) for kind "student" or "teacher"."""
    from kdphys.models import Student, Teacher

    path = WEIGHTS_DIR / f"{kind}.pt"
    if path.is_file():
        from kdphys.models.checkpoints import load_model
        return load_model(path, kind).model, "trained", str(path.relative_to(WEIGHTS_DIR.parent))
    import torch
    torch.manual_seed(0)
    cls = Student if kind == "student" else Teacher
    return cls().eval(), "untrained", f"{cls.__name__}() (no weights/{kind}.pt)"


def student_torch():
    return shipped_torch("student")


def teacher_torch():
    return shipped_torch("teacher")


def student_onnx() -> tuple[Path, str, str]:
    """(path of the student chunk graph, "trained"/"untrained", where it came from).

    weights/student.onnx when present; else the torch student (trained or not) exported with
    kdphys.models.export to the bench cache (re-exported when the model or export code changes)."""
    path = WEIGHTS_DIR / "student.onnx"
    if path.is_file():
        return path, "trained", "weights/student.onnx"
    import kdphys.models.export
    import kdphys.models.student
    from kdphys.models.export import export_student

    model, state, source = student_torch()
    out = bench_dir() / f"student_{state}_{_source_hash(kdphys.models.student, kdphys.models.export)}.onnx"
    if state == "trained":
        out = bench_dir() / f"student_trained_{_stamp_file(WEIGHTS_DIR / 'student.pt')}.onnx"
    if not out.is_file():
        export_student(model, out)
    return out, state, f"{source} exported by kdphys.models.export to {out}"


def _stamp_file(path: Path) -> str:
    st = path.stat()
    return hashlib.sha1(f"{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:10]


def build_method(name: str, onnx_path: str | Path | None = None, onnx_threads: int = 1):
    """(BVPMethod, "trained"/"untrained", source) for a model name (see the module docstring); ONNX students
    run on ``onnx_threads`` intra-op threads."""
    from kdphys.methods import get_method
    from kdphys.methods.neural import NeuralMethod, StudentMethod

    if name == "pos":
        return get_method("pos"), "–", "kdphys.methods.pos"
    if name == "student-torch":
        model, state, source = student_torch()
        return StudentMethod(model=model, name="student-torch", crop_size=crop_size_of("student.pt", "student")), state, source
    if name in ("student-onnx", STREAM_MODEL, "student-int8"):
        if onnx_path is None:
            onnx_path, state, source = student_onnx()
        else:
            state, source = ("trained" if (WEIGHTS_DIR / "student.onnx").is_file() else "untrained"), str(onnx_path)
        return StudentMethod(onnx_path=onnx_path, name=name, onnx_threads=onnx_threads), state, source
    if name == "teacher":
        model, state, source = teacher_torch()
        return NeuralMethod(model=model, name="teacher", crop_size=crop_size_of("teacher.pt", "teacher")), state, source
    raise ValueError(f"unknown benchmark model {name!r}; choose one of {MODEL_NAMES}")


def param_count(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def macs_per_frame(model, n_frames: int = 8, crop_size: int = 72) -> float:
    """Multiply-accumulates per frame (torch.utils.flop_counter: conv/linear/matmul FLOPs / 2 / frames)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    clips = torch.rand(1, n_frames, 3, crop_size, crop_size)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(clips)
    return counter.get_total_flops() / 2.0 / n_frames


def crop_size_of(weights_name: str, kind: str) -> int:
    """Input crop side (pixels) of a shipped model (from its checkpoint config); 72 without weights."""
    path = WEIGHTS_DIR / weights_name
    if not path.is_file():
        return 72
    from kdphys.models.checkpoints import load_model
    return load_model(path, kind).crop_size


def params_and_macs() -> dict:
    """Parameters and MACs/frame of student and teacher at their input size (no video needed)."""
    student, s_state, s_src = student_torch()
    teacher, t_state, t_src = teacher_torch()
    s_size, t_size = crop_size_of("student.pt", "student"), crop_size_of("teacher.pt", "teacher")
    return {
        "student": {"params": param_count(student), "macs_per_frame": macs_per_frame(student, 8, s_size),
                    "weights": s_state, "source": s_src, "crop_size": s_size},
        "teacher": {"params": param_count(teacher),
                    "macs_per_frame": macs_per_frame(teacher, SEGMENT_FRAMES, t_size),
                    "weights": t_state, "source": t_src, "crop_size": t_size},
    }


# ------------------------------------------------------------------------------------------- HR
def hr_bpm(bvp: np.ndarray, fps: float) -> float | None:
    """HR of a BVP with the app's post-processing (signal.preprocess + hr_from_spectrum), bpm."""
    from kdphys import signal as sig

    bvp = np.asarray(bvp, np.float64)
    if len(bvp) < 2 * fps or not np.isfinite(bvp).all() or bvp.std() == 0:
        return None
    return sig.spectral_hr_bpm(bvp, fps, BAND_HZ)


def method_bvp(method, crop_set: CropSet) -> np.ndarray:
    """Whole-clip BVP of a method on a crop set (trace for POS, crops for neural ones)."""
    from kdphys.pipeline.engine import fill_gaps

    if method.input_kind == "trace":
        return method.bvp(fill_gaps(crop_set.trace), crop_set.fps)
    return method.bvp(crop_set.crops, crop_set.fps)


# ------------------------------------------------------------------------------------------- model time
def _median_ms_per_frame(run, frames_per_call: int, repeats: int, warmup: int,
                         budget_s: float = 1.5) -> tuple[float, list[float], int]:
    """Median ms/frame of ``run(k)`` (k calls of ``frames_per_call`` frames) over ``repeats`` runs after
    ``warmup``; k is cut so that one run takes about ``budget_s`` (slow models on a busy CPU)."""
    t0 = time.perf_counter()
    run(1)
    one = max(time.perf_counter() - t0, 1e-6)
    for _ in range(max(warmup - 1, 0)):
        run(1)
    k = max(1, min(int(budget_s / one), 1_000_000))
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(k)
        runs.append(1000.0 * (time.perf_counter() - t0) / (k * frames_per_call))
    return float(np.median(runs)), runs, k * frames_per_call


def time_model(name: str, crop_set: CropSet, n_frames: int = 300, repeats: int = 5, warmup: int = 1,
               onnx_path: str | None = None, with_hr: bool = True, torch_threads: int | None = None,
               onnx_threads: int | None = None) -> dict:
    """Model time per frame of one model on the clip's crops, and its HR on the whole clip.

    Student (torch / ONNX) and teacher: 128-frame segments of float frames from a fresh state, one call each,
    as the engine runs them (time / 128); "student-onnx-step": the ONNX graph streamed one uint8 crop per call
    over up to ``n_frames`` crops (conversion included); POS: the trace of ``n_frames`` samples.
    ms/frame = median over ``repeats`` runs after ``warmup``.
    torch_threads: torch.set_num_threads for this process (None = torch's default, as in the app).
    onnx_threads: ONNX Runtime intra-op threads of an ONNX student (None = 1, as in the app; 0 = torch's
    default count, one per core: the teacher row's).
    Peak memory: VmHWM reset before the model is built, read after the timed runs (before the HR).
    """
    import torch

    preload_modules()
    if torch_threads:
        torch.set_num_threads(torch_threads)
    rss0 = rss_mb()
    reset_peak_rss()
    t_load = time.perf_counter()
    threads = 1 if onnx_threads is None else onnx_threads or torch.get_num_threads()
    method, state, source = build_method(name, onnx_path, threads)
    load_s = time.perf_counter() - t_load
    n = min(n_frames, len(crop_set.crops))
    crops = crop_set.crops[:n]
    if name == "pos":
        from kdphys.pipeline.engine import fill_gaps
        trace = fill_gaps(crop_set.trace[:n])

        def run(k):
            for _ in range(k):
                method.bvp(trace, crop_set.fps)
        per = n
    elif name == STREAM_MODEL:
        stream = method.open_stream()

        def run(k):                      # k frames, cycling through the crops
            for i in range(k):
                stream.step(crops[i % n])
        per = 1
    else:
        from kdphys.methods.neural import _to_float_frames
        frames = crop_set.crops[:SEGMENT_FRAMES]
        if len(frames) < SEGMENT_FRAMES:
            frames = np.concatenate([frames] * int(np.ceil(SEGMENT_FRAMES / len(frames))))[:SEGMENT_FRAMES]
        frames = _to_float_frames(frames, method.crop_size)          # the model's input size

        def run(k):                      # k segments from a fresh state, as the engine runs them
            for _ in range(k):
                method._run_window(frames)
        per = SEGMENT_FRAMES
    ms, runs, frames_per_run = _median_ms_per_frame(run, per, repeats, warmup,
                                                    budget_s=max(1.5, 0.004 * n_frames))
    peak = peak_rss_mb()
    if name == "pos":
        params, macs = 0, None
    else:
        model = method.model if method.model is not None else student_torch()[0]
        params = param_count(model)
        macs = macs_per_frame(model, SEGMENT_FRAMES if name == "teacher" else 8, method.crop_size)
    result = {"model": name, "weights": state, "source": source, "params": params, "macs_per_frame": macs,
              "ms_per_frame": ms, "runs_ms_per_frame": runs, "frames_per_run": frames_per_run,
              "repeats": repeats, "load_s": load_s, "torch_threads": torch.get_num_threads(),
              "onnx_threads": threads,
              "rss_before_mb": rss0, "peak_rss_mb": peak, "peak_delta_mb": peak - rss0}
    if with_hr:
        result["hr_bpm"] = hr_bpm(method_bvp(method, crop_set), crop_set.fps)
        result["ref_hr_bpm"] = crop_set.hr_bpm
    return result


# ------------------------------------------------------------------------------------------- pipelines
def _engine(name: str, keep_all: bool, onnx_path: str | None = None, landmarkers: int = 1):
    """The engine as the app builds it: ``keep_all`` and ``landmarkers`` as for an upload
    (``kdphys.pipeline.upload.upload_landmarkers()``) or for the live page (False, 1)."""
    from kdphys.pipeline.engine import Engine, EngineSettings

    method, state, source = build_method(name, onnx_path)
    engine = Engine(EngineSettings(method=name), method=method, keep_all=keep_all, landmarkers=landmarkers)
    return engine, state, source


def _warm(engine, video: Path) -> None:
    """One landmarker call and one short model run, the way the engine runs it, before timing (first
    calls allocate)."""
    from kdphys.io.video import iter_frames

    frame = next(iter(iter_frames(video)))
    detector = engine.tracker.detector
    getattr(detector, "warm_up", detector.detect)(frame.rgb)   # every landmarker of a LookaheadDetector
    if engine.method.input_kind == "crops":
        engine.method.bvp(np.zeros((8, engine.crop_size, engine.crop_size, 3), np.uint8), engine.settings.fps)


def live_pipeline(video: str, name: str = "student-onnx", max_frames: int | None = None,
                  onnx_path: str | None = None) -> dict:
    """The live path as fast as it goes: decode -> LiveSession.process (face tracking, crop, resampling,
    model segments, ROI drawing) -> LiveSession.status once per second of video (HR, quality, waveform).

    Returns fps (frames / wall s) and ms/frame per stage: decode, face (tracker), model (resample +
    the student's 128-frame segments as they fill), draw+other (rest of process()), reading (status(),
    which also runs the student's open segment).
    """
    from kdphys.pipeline.live import LiveSession
    from kdphys.io.video import iter_frames

    preload_modules()
    engine, state, source = _engine(name, keep_all=False, onnx_path=onnx_path)
    _warm(engine, Path(video))
    rss0 = rss_mb()
    reset_peak_rss()
    clock = {"t": 0.0}
    session = LiveSession(method=name, clock=lambda: clock["t"], engine_factory=lambda s: engine)
    decode_s = process_s = status_s = 0.0
    n = 0
    frames = iter_frames(video)
    last_status = -1.0
    hr = None
    t_start = time.perf_counter()
    while max_frames is None or n < max_frames:
        t0 = time.perf_counter()
        frame = next(frames, None)
        t1 = time.perf_counter()
        decode_s += t1 - t0
        if frame is None:
            break
        clock["t"] = frame.t_s
        session.process(frame.rgb, frame.t_s)
        t2 = time.perf_counter()
        process_s += t2 - t1
        if frame.t_s - last_status >= 1.0:
            status = session.status()
            hr = status.reading.hr_bpm
            last_status = frame.t_s
            status_s += time.perf_counter() - t2
        n += 1
    wall = time.perf_counter() - t_start
    timer = engine.timer.total_s
    face_s, model_s = timer.get("face", 0.0), timer.get("model", 0.0)
    per = lambda s: 1000.0 * s / max(n, 1)   # noqa: E731
    return {"model": name, "weights": state, "source": source, "frames": n, "wall_s": wall,
            "fps": n / wall if wall > 0 else None, "hr_bpm": hr,
            "stages_ms": {"decode": per(decode_s), "face": per(face_s), "model": per(model_s),
                          "draw+other": per(process_s - face_s - model_s), "reading": per(status_s)},
            "peak_rss_mb": peak_rss_mb(), "peak_delta_mb": peak_rss_mb() - rss0}


def upload(video: str, name: str = "student-onnx", onnx_path: str | None = None, repeats: int = 1) -> dict:
    """analyze_video on a file with a pre-built engine, built as analyze_video builds it (landmarkers
    working ahead: ``upload_landmarkers()``); model and landmarker loading excluded. ``repeats`` runs, each
    with a fresh engine (wall and CPU times: medians; peak RSS: over all runs).

    Returns wall s (median) and every run's, multiple of real time (video duration / median wall), CPU s of
    the whole process during the analysis (median; all threads: main, decoder, landmarkers) and the cores
    it may use, the landmarkers, per-stage seconds from the median run, HR, peak RSS of this process during
    the analyses (VmHWM, reset after each run's loading; the highest) and the largest rise of a run over
    the RSS after its loading (ru_maxrss where VmHWM cannot be reset)."""
    from kdphys.pipeline.upload import analyze_video, upload_landmarkers, usable_cores

    preload_modules()
    landmarkers = upload_landmarkers()
    runs = []
    for _ in range(max(int(repeats), 1)):
        engine, state, source = _engine(name, keep_all=True, onnx_path=onnx_path, landmarkers=landmarkers)
        _warm(engine, Path(video))
        rss0 = rss_mb()
        reset_peak_rss()                    # each run's peak counts its analysis, not the loading before it
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = analyze_video(video, settings=engine.settings, engine=engine)
        runs.append({"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0, "result": result,
                     "rss0": rss0, "peak": peak_rss_mb()})
        engine.tracker.close()
    runs.sort(key=lambda run: run["wall_s"])
    median = runs[len(runs) // 2]
    result, wall = median["result"], median["wall_s"]
    duration = result.video.duration_s
    worst = max(runs, key=lambda run: run["peak"] - run["rss0"])
    return {"model": name, "weights": state, "source": source, "video": Path(video).name,
            "duration_s": duration, "frames": result.frames_decoded, "wall_s": wall,
            "walls_s": [run["wall_s"] for run in runs], "x_realtime": duration / wall if wall > 0 else None,
            "cpu_s": float(np.median([run["cpu_s"] for run in runs])), "cores": usable_cores(),
            "landmarkers": landmarkers,
            "timings_s": {k: float(v) for k, v in result.timings_s.items()},
            "hr_bpm": result.snapshot.reading.hr_bpm, "reason": result.snapshot.reading.reason,
            "rss_after_load_mb": worst["rss0"], "peak_rss_mb": max(run["peak"] for run in runs),
            "peak_delta_mb": worst["peak"] - worst["rss0"],
            "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


# ------------------------------------------------------------------------------------------- INT8
class _CalibrationReader:
    """onnxruntime CalibrationDataReader: the fp32 chunk graph's real inputs (frames + state), the crops run
    in 32-frame chunks."""

    def __init__(self, onnx_path: Path, crops: np.ndarray, chunk_frames: int = 32):
        from kdphys.methods.neural import OnnxStudentStream, _onnx_session, _to_float_frames

        stream = OnnxStudentStream(_onnx_session(onnx_path))
        frames = _to_float_frames(crops, stream.crop_size)
        stream.state = stream.initial_state(np.ascontiguousarray(frames[None, 0]))
        self.feeds = []
        for start in range(0, len(frames), chunk_frames):
            chunk = np.ascontiguousarray(frames[None, start:start + chunk_frames])
            self.feeds.append(dict(zip(stream.input_names, [chunk, *stream.state])))
            stream.run(chunk[0])
        self._it = iter(self.feeds)

    def get_next(self):
        return next(self._it, None)

    def rewind(self):
        self._it = iter(self.feeds)


def quantize_student(fp32_path: Path, calibration_crops: np.ndarray, out_dir: Path | None = None) -> dict:
    """INT8 copies of the student chunk graph -> {variant: path}.

    "int8-dynamic": quantize_dynamic, weights int8, Conv/MatMul activations quantized at run time.
    "int8-static": quantize_static (QDQ, per-channel weights, MinMax calibration on real crops), Conv
    only, the stem conv kept in float (its input is the ~0.1-1 % pulsatile change: 8 bits would erase it).
    State tensors (previous frame, moving average, shifted slices) are never quantized outside Conv.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out_dir = Path(out_dir or bench_dir())
    tag = _stamp_file(fp32_path)
    pre = out_dir / f"student_pre_{tag}.onnx"
    if not pre.is_file():
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
    paths = {"int8-dynamic": out_dir / f"student_int8_dynamic_{tag}.onnx",
             "int8-static": out_dir / f"student_int8_static_{tag}.onnx"}
    if not paths["int8-dynamic"].is_file():
        quantize_dynamic(str(pre), str(paths["int8-dynamic"]), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["Conv", "MatMul", "Gemm"])
    if not paths["int8-static"].is_file():
        convs = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type == "Conv"]
        quantize_static(str(pre), str(paths["int8-static"]), _CalibrationReader(fp32_path, calibration_crops),
                        quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"], per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=convs[:1])
    return {k: str(v) for k, v in paths.items()}


def int8_eval(real: CropSet, synthetic: list[CropSet], n_frames: int = 300, repeats: int = 5) -> dict:
    """Speed and accuracy of the fp32 student graph and its INT8 copies.

    Per variant: ms/frame (128-frame segments, as time_model), HR on the real clip and on each held-out synthetic
    clip, HR MAE on the synthetic set, and the Pearson r of its BVP with the fp32 BVP (quantization error
    independent of training)."""
    fp32_path, state, source = student_onnx()
    variants = {"fp32": str(fp32_path), **quantize_student(fp32_path, real.crops[:300])}
    clips = [real, *synthetic]
    fp32_bvp = None
    out = {"weights": state, "source": source, "variants": {}}
    for variant, path in variants.items():
        timing = time_model("student-onnx", real, n_frames=n_frames, repeats=repeats, onnx_path=path, with_hr=False)
        method = build_method("student-onnx", path)[0]
        bvps = [method_bvp(method, c) for c in clips]
        if fp32_bvp is None:
            fp32_bvp = bvps
        hrs = [hr_bpm(b, c.fps) for b, c in zip(bvps, clips)]
        synth_err = [abs(h - c.hr_bpm) for h, c in zip(hrs[1:], synthetic) if h is not None]
        r = [float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 0 and np.std(b) > 0 else None
             for a, b in zip(bvps, fp32_bvp)]
        out["variants"][variant] = {
            "path": path, "size_kb": Path(path).stat().st_size / 1024, "ms_per_frame": timing["ms_per_frame"],
            "real_hr_bpm": hrs[0], "real_ref_bpm": real.hr_bpm,
            "synthetic_hr_bpm": hrs[1:], "synthetic_ref_bpm": [c.hr_bpm for c in synthetic],
            "synthetic_mae_bpm": float(np.mean(synth_err)) if synth_err else None,
            "r_vs_fp32": r}
    return out
