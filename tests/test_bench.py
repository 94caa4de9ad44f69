"""Smoke tests of ``python -m kdphys bench``: parameter counts print, and the measurement functions and
tables are well formed on tiny inputs. No timing assertions (times depend on the machine)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from kdphys.bench import measure
from kdphys.bench.clips import CropSet, remux_repeated
from kdphys.bench.suite import BenchContext, models_table, targets_table
from kdphys.bench.tables import Table, cell, si
from kdphys.paths import REPO_ROOT

pytestmark = pytest.mark.slow        # `pytest -m "not slow"` leaves this module out


def test_bench_params_prints_both_parameter_counts():
    proc = subprocess.run([sys.executable, "-m", "kdphys", "bench", "--params"], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("|")[1].strip(): line for line in proc.stdout.splitlines() if line.startswith("| ")}
    for name in ("student", "teacher"):
        assert name in rows, proc.stdout
        params = int(rows[name].split("|")[2].strip().replace(",", ""))
        assert params > 10_000
    student = int(rows["student"].split("|")[2].strip().replace(",", ""))
    teacher = int(rows["teacher"].split("|")[2].strip().replace(",", ""))
    assert student <= 230_000 < teacher
    assert "MACs" in proc.stdout and "M |" in rows["teacher"]


def test_params_and_macs_are_consistent():
    r = measure.params_and_macs()
    assert r["student"]["macs_per_frame"] > 1e6
    assert r["teacher"]["macs_per_frame"] > r["student"]["macs_per_frame"]


def _tiny_crops(n: int = 40) -> CropSet:
    rng = np.random.default_rng(0)
    t = np.arange(n) / 30.0
    pulse = 2.0 * np.sin(2 * np.pi * 1.2 * t)
    crops = np.clip(120 + pulse[:, None, None, None] + rng.normal(0, 1, (n, 72, 72, 3)), 0, 255).astype(np.uint8)
    trace = crops.reshape(n, -1, 3).mean(axis=1).astype(np.float32)
    return CropSet("tiny", crops, trace, 30.0, 72.0)


@pytest.mark.parametrize("name", ["student-torch", "student-onnx", "student-onnx-step", "teacher", "pos"])
def test_time_model_returns_a_well_formed_record(name):
    import torch
    torch.set_num_threads(1)
    r = measure.time_model(name, _tiny_crops(), n_frames=8, repeats=2, with_hr=True, torch_threads=1)
    assert r["model"] == name and r["ms_per_frame"] > 0 and len(r["runs_ms_per_frame"]) == 2
    assert r["peak_rss_mb"] > 0 and r["peak_delta_mb"] > -1.0
    assert r["weights"] in ("trained", "untrained", "–")
    if name != "pos":
        assert r["params"] > 10_000 and r["macs_per_frame"] > 1e6
    table = models_table({name: r, "broken": {"error": "ValueError: boom"}})
    assert isinstance(table, Table) and len(table.rows) == 2
    assert all(len(row) == len(table.columns) for row in table.rows)
    assert "boom" in table.to_markdown()


def test_onnx_student_runs_on_the_threads_asked_for():
    threads = lambda m: m.session.get_session_options().intra_op_num_threads   # noqa: E731
    assert threads(measure.build_method("student-onnx", onnx_threads=2)[0]) == 2
    assert threads(measure.build_method("student-onnx")[0]) == 1              # as the app runs it
    r = measure.time_model("student-onnx", _tiny_crops(), n_frames=8, repeats=2, with_hr=False, onnx_threads=2)
    assert r["onnx_threads"] == 2 and r["ms_per_frame"] > 0
    assert measure.time_model("student-onnx", _tiny_crops(), n_frames=8, repeats=2, with_hr=False)["onnx_threads"] == 1


def test_speed_target_is_judged_on_the_same_threads_and_as_the_app_runs_it():
    ms = {"student-onnx": 0.13, "student-onnx all cores": 0.06, "teacher 1 thread": 0.8, "teacher": 0.4}
    ctx = BenchContext(results={"models": {k: {"ms_per_frame": v} for k, v in ms.items()}})
    rows = {row[0]: row for row in targets_table(ctx).rows}
    same = next(r for k, r in rows.items() if "same threads" in k)
    app = next(r for k, r in rows.items() if "as the app runs it" in k)
    assert "6.2x on 1 thread each" in same[1] and "6.7x on every core each" in same[1] and same[2] == "yes"
    assert app[1].startswith("3.1x") and app[2] == "no"


def test_table_markdown_and_cells():
    t = Table("T", ["a", "b"])
    t.add(1234, 0.5)
    t.add(None, True)
    with pytest.raises(ValueError):
        t.add(1)
    md = t.to_markdown()
    assert "| 1,234 | 0.5 |" in md and "| – | yes |" in md
    assert cell(3.14159) == "3.14" and si(46.28e6) == "46.28M"


def test_remux_repeated_makes_a_longer_video(tmp_path):
    from kdphys.io.video import probe
    from kdphys.io.write import write_video
    frames = [np.full((64, 64, 3), 40 + 5 * i, np.uint8) for i in range(15)]
    src = write_video(tmp_path / "a.mp4", frames, fps=30.0, codec="h264", crf=10)
    out = remux_repeated(src, tmp_path / "b.mp4", 3)
    info = probe(out)
    assert info.n_frames == 45
    assert info.duration_s == pytest.approx(1.5, abs=0.05)


def test_upload_cpu_bound_is_duration_over_cpu_per_core():
    from kdphys.bench.suite import upload_cpu_bound

    assert upload_cpu_bound({"duration_s": 60.0, "cpu_s": 6.0, "cores": 2}) == pytest.approx(20.0)
    assert upload_cpu_bound({"duration_s": 60.0, "cpu_s": 3.0, "cores": 1}) == pytest.approx(20.0)
    assert upload_cpu_bound({"duration_s": 60.0, "error": "x"}) is None


def test_upload_record_counts_cpu_of_all_threads_within_the_cores_wall_allows():
    from kdphys.paths import SAMPLE_VIDEO

    from kdphys.pipeline.upload import upload_landmarkers

    r = measure.upload(str(SAMPLE_VIDEO), name="pos")
    assert r["frames"] > 500 and r["wall_s"] > 0 and r["cores"] >= 1
    assert r["landmarkers"] == upload_landmarkers() and r["walls_s"] == [r["wall_s"]]   # as the app runs it
    # CPU time is process-wide: positive, and no more than every core busy for the whole wall time.
    assert 0.0 < r["cpu_s"] <= r["wall_s"] * r["cores"] * 1.05 + 0.05
