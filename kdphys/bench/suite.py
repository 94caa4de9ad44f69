"""The benchmark sections of ``python -m kdphys bench`` and the tables they print.

    tables = run_bench(BenchSettings(sections=("params", "models")), emit=print)

Sections: params, models, pipeline, upload, memory, peers, int8 (see docs/PERFORMANCE.md). Measurements
run in fresh subprocesses (``isolate=True``, kdphys.bench.worker) so that each peak RSS is clean; tests
use ``isolate=False`` on tiny inputs.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kdphys.bench.tables import Table, cell, si
from kdphys.bench.worker import RESULT_PREFIX
from kdphys.paths import REPO_ROOT, SAMPLE_VIDEO, WEIGHTS_DIR

#: (row label, model, threads, compute HR) of the models section. threads: torch's for torch models (None =
#: torch's default, one per core), ONNX Runtime's intra-op threads for the ONNX student (None = 1 as in the
#: app; 0 = one per core, as the teacher row).
MODEL_RUNS = (("student-torch", "student-torch", None, False), ("student-torch 1 thread", "student-torch", 1, True),
              ("student-onnx", "student-onnx", None, True), ("student-onnx all cores", "student-onnx", 0, False),
              ("student-onnx step", "student-onnx-step", None, False),
              ("teacher", "teacher", None, True), ("teacher 1 thread", "teacher", 1, False), ("pos", "pos", None, True))
#: ONNX Runtime runs the student on one thread (kdphys.methods.neural): its same-thread teacher row.
SAME_THREADS_TEACHER = {"student-onnx": "teacher 1 thread", "student-onnx step": "teacher 1 thread",
                        "student-onnx all cores": "teacher",
                        "student-torch": "teacher", "student-torch 1 thread": "teacher 1 thread"}
SECTIONS = ("params", "models", "pipeline", "upload", "memory", "peers", "int8")
PEER_MODELS = ("PhysNet.rlap", "FacePhys.rlap")
PEER_VENV = REPO_ROOT / "benchmarks" / ".venv-openrppg"
PEER_SCRIPT = REPO_ROOT / "benchmarks" / "open_rppg_peer.py"
PEER_SETUP = REPO_ROOT / "benchmarks" / "setup_open_rppg.sh"

#: Targets of issue 6.
TARGET_STUDENT_VS_TEACHER = 4.0
TARGET_LIVE_FPS = 30.0
TARGET_UPLOAD_X_REALTIME = 20.0
TARGET_MEMORY_FLAT_MB = 50.0


@dataclass
class BenchSettings:
    """What to run and how hard.

    sections: any of SECTIONS. repeats: timed runs per model (median reported). n_frames: frames per
    timed run of the streaming models. live_frames: frames of the live run (None = the whole clip).
    upload_s: length of the upload video, s. upload_repeats: timed analyses of it per model (median reported).
    memory_long_s: length of the long memory video, s.
    peers: open-rppg model names. isolate: run measurements in subprocesses (clean peak RSS).
    video: the real clip.
    """

    sections: tuple[str, ...] = SECTIONS
    repeats: int = 5
    n_frames: int = 300
    live_frames: int | None = None
    upload_s: float = 60.0
    upload_repeats: int = 3
    memory_long_s: float = 600.0
    peers: tuple[str, ...] = PEER_MODELS
    isolate: bool = True
    video: Path = SAMPLE_VIDEO
    worker_timeout_s: float = 900.0


@dataclass
class BenchContext:
    """Results shared between sections (ratios across sections), keyed by section and model."""

    results: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------- running
def call(task: str, isolate: bool, timeout_s: float = 900.0, **kwargs) -> dict:
    """Run a kdphys.bench.worker task here or in a fresh subprocess; {"error": ...} when it fails."""
    if not isolate:
        from kdphys.bench.worker import run_task
        try:
            return run_task(task, kwargs)
        except Exception as err:  # a failed measurement becomes a table row, not a crash
            return {"error": f"{type(err).__name__}: {err}"}
    cmd = [sys.executable, "-m", "kdphys.bench.worker", task, json.dumps(kwargs, default=str)]
    return _run_json(cmd, timeout_s)


def _run_json(cmd: list[str], timeout_s: float, env: dict | None = None) -> dict:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=REPO_ROOT,
                              env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s: {' '.join(cmd[:4])}"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    tail = [ln for ln in (proc.stderr or "").strip().splitlines() if ln.strip()][-3:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def _err(result: dict) -> str | None:
    return result.get("error") if isinstance(result, dict) else "no result"


def _ref(result: dict) -> str:
    if "hr_bpm" not in result:
        return "–"
    hr, ref = result.get("hr_bpm"), result.get("ref_hr_bpm")
    if hr is None:
        return "no reading"
    text = f"{hr:.1f}"
    if ref is not None:
        text += f" ({hr - ref:+.1f})"
    return text if result.get("weights") != "untrained" else text + " untrained"


# ------------------------------------------------------------------------------------------- sections
def machine_table(settings: BenchSettings) -> Table:
    import onnxruntime
    import torch

    t = Table("Machine and inputs", ["item", "value"])
    load1, load5, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    t.add("CPU", f"{platform.processor() or platform.machine()}, {cores} cores")
    t.add("load average (1 / 5 min) at start", f"{load1:.2f} / {load5:.2f}")
    t.add("python / torch / onnxruntime", f"{platform.python_version()} / {torch.__version__} / {onnxruntime.__version__}")
    t.add("torch threads (app default)", torch.get_num_threads())
    have = [p for p in ("student.pt", "student.onnx", "teacher.pt") if (WEIGHTS_DIR / p).is_file()]
    t.add("weights present", ", ".join(have) or "none (untrained models of the same architecture)")
    t.add("real clip", str(Path(settings.video).relative_to(REPO_ROOT)) if Path(settings.video).is_relative_to(REPO_ROOT)
          else str(settings.video))
    if load5 > 0.5 * cores:
        t.notes.append(f"The CPU was busy before the benchmark started (load {load5:.1f} on {cores} cores, e.g. a "
                       "training run): every time below is inflated; rerun `python -m kdphys bench` on an idle machine.")
    return t


def params_section(settings: BenchSettings, ctx: BenchContext) -> list[Table]:
    r = call("params", isolate=False)
    ctx.results["params"] = r
    t = Table("Parameters and multiply-accumulates", ["model", "parameters", "MACs / frame", "weights"])
    if _err(r):
        t.add("student / teacher", None, None, _err(r))
        return [t]
    for name in ("student", "teacher"):
        t.add(name, r[name]["params"], si(r[name]["macs_per_frame"]), r[name]["weights"])
    sizes = ", ".join(f"{n} {r[n].get('crop_size', 72)}x{r[n].get('crop_size', 72)}" for n in ("student", "teacher"))
    t.notes.append("MACs: torch.utils.flop_counter.FlopCounterMode (conv/linear FLOPs / 2) on a clip at each "
                   f"model's input size ({sizes}) divided by its frames (student 8 frames, teacher 128).")
    return [t]


def models_section(settings: BenchSettings, ctx: BenchContext) -> list[Table]:
    results = {}
    for label, name, threads, with_hr in MODEL_RUNS:
        onnx = name.startswith("student-onnx")
        results[label] = call("time_model", settings.isolate, settings.worker_timeout_s, name=name, crops="real",
                              n_frames=settings.n_frames, repeats=settings.repeats,
                              torch_threads=None if onnx else threads, onnx_threads=threads if onnx else None,
                              with_hr=with_hr)
    ctx.results["models"] = results
    return [models_table(results)]


def models_table(results: dict) -> Table:
    t = Table("Model time per frame on the real clip's face crops (at each model's input size)",
              ["model", "weights", "parameters", "MACs / frame", "ms / frame (median)", "frames / s",
               "x faster than teacher (best)", "x faster than teacher (same threads)", "peak RSS rise MB",
               "HR on real clip (error) bpm"])
    teacher = best_teacher_ms(results)
    for name, r in results.items():
        if _err(r):
            t.add(name, None, None, None, None, None, None, None, None, _err(r))
            continue
        ms = r["ms_per_frame"]
        same = results.get(SAME_THREADS_TEACHER.get(name, ""), {}).get("ms_per_frame")
        t.add(name, r["weights"], r["params"], si(r["macs_per_frame"]) if r["macs_per_frame"] else "<1k (numpy)",
              f"{ms:.3f}", 1000.0 / ms, (teacher / ms) if teacher else None, (same / ms) if same else None,
              r["peak_delta_mb"], _ref(r))
    t.notes += [
        "Student and teacher rows: 128-frame segments (float frames at the model's size) from a fresh state, one "
        "call each, as the engine runs them (uploads and live), time / 128; the app's windows overlap by 32 "
        "frames, so each costs 128/96 of this per output frame. 'student-onnx step': the same ONNX graph streamed "
        "one uint8 crop per call (conversion included). POS: the skin-colour trace -> BVP. Median of the timed "
        "runs after one warm-up run.",
        "Peak RSS rise: in a fresh process with all modules imported and the crops loaded, the peak RSS "
        "(VmHWM, reset just before) while building and running the model, minus the RSS before.",
        "HR: the app's post-processing on the whole 20 s clip; error vs the oximeter (BVP.csv); '–' = not "
        "computed for that setting (same model).",
        "torch threads: the app leaves torch at its default (one per core); '1 thread' rows set "
        "torch.set_num_threads(1). ONNX Runtime runs the student with 1 intra-op thread (kdphys.methods.neural); "
        "'student-onnx all cores' gives it one per core, as the teacher row has. "
        "'best': against the teacher's faster thread setting; 'same threads': against the teacher row with the "
        "same number of threads.",
    ]
    return t


def best_teacher_ms(results: dict) -> float | None:
    """The teacher's ms/frame at its faster thread setting, from the models section's results."""
    return min((r["ms_per_frame"] for k, r in results.items() if k.startswith("teacher") and r.get("ms_per_frame")),
               default=None)


def pipeline_section(settings: BenchSettings, ctx: BenchContext) -> list[Table]:
    results = {}
    for name in ("student-onnx", "pos"):
        results[name] = call("live", settings.isolate, settings.worker_timeout_s, video=str(settings.video),
                             name=name, max_frames=settings.live_frames)
    ctx.results["pipeline"] = results
    t = Table("Live pipeline at 640x480 (decode -> face tracking -> crop -> model -> HR), real clip",
              ["model", "frames", "fps", "decode ms", "face ms", "model ms", "draw+other ms", "reading ms",
               f">= {TARGET_LIVE_FPS:.0f} fps"])
    for name, r in results.items():
        if _err(r):
            t.add(name, None, None, None, None, None, None, None, _err(r))
            continue
        s = r["stages_ms"]
        t.add(name, r["frames"], r["fps"], s["decode"], s["face"], s["model"], s["draw+other"], s["reading"],
              r["fps"] >= TARGET_LIVE_FPS)
    t.notes.append("Frames go through kdphys.pipeline.live.LiveSession.process as fast as they decode (one thread); the "
                   "HR, quality gate and waveform (LiveSession.status) are recomputed once per second of video. "
                   "Stage times are ms per frame (reading: its cost spread over all frames); face = MediaPipe "
                   "landmarker every 5th frame + skin mean + crop.")
    return [t]


def upload_cpu_bound(result: dict) -> float | None:
    """Best multiple of real time the measured CPU work allows: duration / (CPU s / cores)."""
    if not result.get("cpu_s") or not result.get("cores"):
        return None
    return result["duration_s"] / (result["cpu_s"] / result["cores"])


def upload_section(settings: BenchSettings, ctx: BenchContext) -> list[Table]:
    from kdphys.bench.clips import long_video

    video = long_video(settings.upload_s)
    results = {}
    for name in ("student-onnx", "pos", "teacher"):
        results[name] = call("upload", settings.isolate, settings.worker_timeout_s, video=str(video), name=name,
                             repeats=settings.upload_repeats)
    ctx.results["upload"] = results
    t = Table(f"Upload analysis of a {settings.upload_s:.0f} s 30 fps 640x480 H.264 video (model loading excluded)",
              ["model", "landmarkers", "wall s", "x real time", "runs x real time", "CPU s", "x bound", "decode s",
               "face s", "model s", "reading s", "peak RSS MB", "rise MB", "HR bpm", f">= {TARGET_UPLOAD_X_REALTIME:.0f}x"])
    for name, r in results.items():
        if _err(r):
            t.add(name, None, None, None, None, None, None, None, None, None, None, None, None, _err(r), None)
            continue
        ts = r["timings_s"]
        runs_x = ", ".join(f"{r['duration_s'] / w:.1f}" for w in r.get("walls_s", [r["wall_s"]]))
        t.add(name, r.get("landmarkers"), r["wall_s"], r["x_realtime"], runs_x, r["cpu_s"], upload_cpu_bound(r),
              ts.get("decode"), ts.get("face"), ts.get("model"), ts.get("model_window", 0.0) + ts.get("signal", 0.0),
              r["peak_rss_mb"], r["peak_delta_mb"], r["hr_bpm"] if r["hr_bpm"] is not None else "no reading",
              r["x_realtime"] >= TARGET_UPLOAD_X_REALTIME)
    cores = next((r["cores"] for r in results.values() if not _err(r)), None)
    t.notes.append(f"Video: the real clip looped to {settings.upload_s:.0f} s ({video}). "
                   "kdphys.pipeline.upload.analyze_video with an engine built beforehand as analyze_video builds it "
                   "(landmarkers working ahead of the tracker on their own threads, lazy RGB frames; landmarkers "
                   "and model loaded and warmed up outside the timing), "
                   f"{settings.upload_repeats} runs per model, each with a fresh engine: wall s, x real time and "
                   "CPU s are the medians, 'runs x real time' every run (fastest first). face s: the tracker's "
                   "time on the main thread, including waits for the landmarkers. CPU s: process CPU time during "
                   "the analysis, all threads (main, decoder, landmarkers). "
                   f"x bound: video duration / (CPU s / {cores} cores), the multiple of real time that the same "
                   "work could reach if it were spread perfectly over every core. Peak RSS: VmHWM of the fresh "
                   "process during the analysis (reset after loading); rise: over its RSS after loading. HR: the "
                   "looped video jumps every 20 s (pulse phase breaks), so the whole-recording quality gate may "
                   "give no reading; the HR rows of the models table are on the unlooped clip.")
    return [t]


def memory_section(settings: BenchSettings, ctx: BenchContext) -> list[Table]:
    from kdphys.bench.clips import long_video

    rows = []
    for seconds in (60.0, settings.memory_long_s):
        video = long_video(seconds)
        rows.append((seconds, video, call("upload", True, settings.worker_timeout_s, video=str(video),
                                          name="student-onnx")))
    ctx.results["memory"] = rows
    t = Table("Memory vs video length (upload analysis, student ONNX, one fresh process per video)",
              ["video", "length s", "frames", "wall s", "x real time", "peak RSS MB", "rise MB", "vs 1 min MB",
               f"flat (±{TARGET_MEMORY_FLAT_MB:.0f} MB)"])
    base = rows[0][2].get("peak_rss_mb")
    for seconds, video, r in rows:
        if _err(r):
            t.add(video.name, seconds, None, None, None, None, None, None, _err(r))
            continue
        diff = r["peak_rss_mb"] - base if base is not None else None
        t.add(video.name, r["duration_s"], r["frames"], r["wall_s"], r["x_realtime"], r["peak_rss_mb"],
              r["peak_delta_mb"], diff, None if diff is None else abs(diff) <= TARGET_MEMORY_FLAT_MB)
    t.notes.append("The long video is the 60 s video's H.264 packets remuxed end to end (built streaming; "
                   "decoded one frame at a time by the app).")
    return [t]


def ensure_peer_venv() -> str | None:
    """Create benchmarks/.venv-openrppg with open-rppg when missing; None when ready, else what failed."""
    python = PEER_VENV / "bin" / "python"
    if python.is_file():
        return None
    proc = subprocess.run(["bash", str(PEER_SETUP)], capture_output=True, text=True, cwd=REPO_ROOT)
    if proc.returncode != 0 or not python.is_file():
        tail = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING: Location")][-4:]
        return f"{PEER_SETUP.name} failed (exit {proc.returncode}): " + " | ".join(tail)
    return None


def peers_section(settings: BenchSettings, ctx: BenchContext) -> list[Table]:
    from kdphys.bench.clips import long_video

    t = Table("open-rppg 0.1.1 pretrained peers, same clips, same machine, same run",
              ["model", "parameters", "MACs / frame", "ms / frame", "x slower than student-onnx",
               "20 s clip wall s", "x real time", "60 s video wall s", "x real time", "HR real clip bpm",
               "peak RSS MB"])
    failure = ensure_peer_venv()
    if failure:
        t.add("open-rppg", None, None, None, None, None, None, None, None, failure, None)
        return [t]
    videos = [str(settings.video), str(long_video(settings.upload_s))]
    student_ms = ctx.results.get("models", {}).get("student-onnx", {}).get("ms_per_frame")
    ups = ctx.results.get("upload", {}).get("student-onnx", {})
    results = {}
    for model in settings.peers:
        cmd = [str(PEER_VENV / "bin" / "python"), str(PEER_SCRIPT), "--model", model,
               "--repeats", str(settings.repeats)] + sum((["--video", v] for v in videos), [])
        r = results[model] = _run_json(cmd, settings.worker_timeout_s)
        if _err(r):
            t.add(model, None, None, None, None, None, None, None, None, _err(r), None)
            continue
        v20, v60 = (r["videos"] + [{}, {}])[:2]
        t.add(model, r["params"], si(r["macs_per_frame"]), f"{r['ms_per_frame']:.3f}",
              r["ms_per_frame"] / student_ms if student_ms else None, v20.get("wall_s"), v20.get("x_realtime"),
              v60.get("wall_s"), v60.get("x_realtime"), v20.get("hr_bpm"), r["peak_rss_mb"])
    ctx.results["peers"] = results
    if ups.get("wall_s"):
        t.notes.append(f"Our upload of the same 60 s video (student ONNX, table above): {ups['wall_s']:.1f} s, "
                       f"{ups['x_realtime']:.1f}x real time.")
    t.notes.append("Peers run in benchmarks/.venv-openrppg (keras 3 on jax, CPU) through benchmarks/open_rppg_peer.py: "
                   "model time = the package's jitted call on one input window (PhysNet 128x32x32, FacePhys one "
                   "36x36 frame + state) / frames; wall = Model.process_video (its own decoder, BlazeFace every "
                   "5 frames, worker threads) after loading/jit. MACs from XLA cost analysis. Peak RSS: whole "
                   "process (jax + keras), after both videos.")
    return [t]


def int8_section(settings: BenchSettings, ctx: BenchContext) -> list[Table]:
    from kdphys.bench.clips import (SYNTHETIC_HR_BPM, SYNTHETIC_SEEDS, model_crop_size, synthetic_crop_path,
                                    synthetic_crops)

    synthetic_crops()                                     # builds the cache files
    crop_size = model_crop_size()
    paths = [str(synthetic_crop_path(seed, hr, crop_size)) for seed, hr in zip(SYNTHETIC_SEEDS, SYNTHETIC_HR_BPM)]
    r = call("int8", settings.isolate, settings.worker_timeout_s, crops="real", synthetic=paths,
             n_frames=settings.n_frames, repeats=settings.repeats)
    ctx.results["int8"] = r
    t = Table("INT8 student (ONNX Runtime quantization) vs fp32",
              ["variant", "file kB", "ms / frame", "x faster than fp32", "HR real clip (error) bpm",
               "synthetic HR MAE bpm", "BVP r vs fp32 (real, synthetic...)"])
    if _err(r):
        t.add("int8", None, None, None, _err(r), None, None)
        return [t]
    fp32_ms = r["variants"]["fp32"]["ms_per_frame"]
    tag = " untrained" if r["weights"] == "untrained" else ""
    for name, v in r["variants"].items():
        hr = v["real_hr_bpm"]
        hr_text = "no reading" if hr is None else f"{hr:.1f} ({hr - v['real_ref_bpm']:+.1f}){tag}"
        mae = v["synthetic_mae_bpm"]
        t.add(name, v["size_kb"], f"{v['ms_per_frame']:.3f}", fp32_ms / v["ms_per_frame"], hr_text,
              None if mae is None else f"{mae:.1f}{tag}",
              ", ".join("–" if x is None else f"{x:.3f}" for x in v["r_vs_fp32"]))
    refs = r["variants"]["fp32"]["synthetic_ref_bpm"]
    t.notes += [f"Held-out synthetic set: kdphys.data.synthetic seeds 10000-10002 at {', '.join(f'{x:g}' for x in refs)} "
                "bpm, 12 s, 320x240, face-tracked on the rendered frames (no codec).",
                "int8-dynamic: quantize_dynamic (int8 weights, activations quantized per call). int8-static: "
                "quantize_static QDQ, per-channel, MinMax calibration on 300 real-clip crops, Conv only, stem conv "
                "left in float (its input is the sub-1 % pulsatile change). State tensors stay float."]
    if r["weights"] == "untrained":
        t.notes.append("Untrained student: HR columns are meaningless; 'BVP r vs fp32' still measures the "
                       "quantization error.")
    return [t]


SECTION_FUNCS: dict[str, Callable[[BenchSettings, BenchContext], list[Table]]] = {
    "params": params_section, "models": models_section, "pipeline": pipeline_section, "upload": upload_section,
    "memory": memory_section, "peers": peers_section, "int8": int8_section,
}


def targets_table(ctx: BenchContext) -> Table:
    t = Table("Targets (issue 6)", ["target", "measured", "met"])
    models = ctx.results.get("models", {})
    s = models.get("student-onnx", {}).get("ms_per_frame")
    te = best_teacher_ms(models)
    te_same = models.get(SAME_THREADS_TEACHER["student-onnx"], {}).get("ms_per_frame")
    s_all = models.get("student-onnx all cores", {}).get("ms_per_frame")
    te_all = models.get(SAME_THREADS_TEACHER["student-onnx all cores"], {}).get("ms_per_frame")
    target = f"student ONNX >= {TARGET_STUDENT_VS_TEACHER:.0f}x faster per frame than the teacher"
    if s and te_same and s_all and te_all:
        t.add(f"{target}, on the same threads", f"{te_same / s:.1f}x on 1 thread each ({s:.3f} vs {te_same:.3f} ms), "
              f"{te_all / s_all:.1f}x on every core each ({s_all:.3f} vs {te_all:.3f} ms)",
              min(te_same / s, te_all / s_all) >= TARGET_STUDENT_VS_TEACHER)
    if s and te:
        t.add(f"{target}, as the app runs it (1 thread) against the teacher at its best",
              f"{te / s:.1f}x ({s:.3f} vs {te:.3f} ms)", te / s >= TARGET_STUDENT_VS_TEACHER)
    live = ctx.results.get("pipeline", {}).get("student-onnx", {})
    if live.get("fps"):
        t.add(f"live pipeline >= {TARGET_LIVE_FPS:.0f} fps at 640x480", f"{live['fps']:.1f} fps",
              live["fps"] >= TARGET_LIVE_FPS)
    for name, label in (("pos", "POS"), ("student-onnx", "student ONNX")):
        up = ctx.results.get("upload", {}).get(name, {})
        if up.get("x_realtime"):
            bound = upload_cpu_bound(up)
            t.add(f"upload >= {TARGET_UPLOAD_X_REALTIME:.0f}x real time (640x480), {label}",
                  f"{up['x_realtime']:.1f}x median" + (f" (CPU bound on these cores: {bound:.1f}x)" if bound else ""),
                  up["x_realtime"] >= TARGET_UPLOAD_X_REALTIME)
    mem = ctx.results.get("memory")
    if mem and all(not _err(r) for _, _, r in mem):
        diff = mem[-1][2]["peak_rss_mb"] - mem[0][2]["peak_rss_mb"]
        t.add(f"memory flat: {mem[-1][0] / 60:.0f} min vs 1 min within ±{TARGET_MEMORY_FLAT_MB:.0f} MB",
              f"{diff:+.1f} MB", abs(diff) <= TARGET_MEMORY_FLAT_MB)
    return t


def run_bench(settings: BenchSettings, emit: Callable[[str], None] = print) -> list[Table]:
    """Run the chosen sections in order, emitting each table as Markdown as soon as it is ready."""
    unknown = [s for s in settings.sections if s not in SECTION_FUNCS]
    if unknown:
        raise ValueError(f"unknown bench section(s) {unknown}; choose from {SECTIONS}")
    ctx = BenchContext()
    tables = [machine_table(settings)]
    emit(tables[0].to_markdown())
    for name in SECTIONS:
        if name in settings.sections:
            for table in SECTION_FUNCS[name](settings, ctx):
                tables.append(table)
                emit(table.to_markdown())
    target = targets_table(ctx)
    if target.rows:
        tables.append(target)
        emit(target.to_markdown())
    return tables


__all__ = ["BenchContext", "BenchSettings", "SECTIONS", "call", "cell", "run_bench"]
