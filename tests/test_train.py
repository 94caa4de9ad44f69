"""Training: config loading, student learning on configs/tiny.yaml, distillation + resume, and DDP on 2 CPU processes.

The tiny synthetic set (clips -> kdphys.pipeline.extract recordings, cached) is built once per module and shared.
"""

from __future__ import annotations

import csv
import os
import socket

import numpy as np
import pytest
import torch

from kdphys.training.config import ConfigError, load_config
from kdphys.paths import REPO_ROOT

TINY = REPO_ROOT / "configs" / "tiny.yaml"


def tiny_config(tmp_root, out_name: str, *overrides: str):
    return load_config(TINY, [f"out_dir={tmp_root / out_name}", f"data.root={tmp_root / 'synthetic'}",
                              f"data.cache_dir={tmp_root / 'cache'}", "progress=false", *overrides])


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    """The tiny synthetic set and its extraction cache, built once."""
    from kdphys.training.data import prepare

    root = tmp_path_factory.mktemp("tiny")
    groups, val = prepare(tiny_config(root, "unused").data, progress=False)
    assert len(groups["synthetic"][1]) == 6 and len(val) == 3
    return root


def read_log(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_config_files_load_and_unknown_keys_are_refused(tmp_path):
    for name in ("teacher", "student", "distill", "tiny"):
        cfg = load_config(REPO_ROOT / "configs" / f"{name}.yaml")
        assert cfg.data.chunk_len >= 32 and cfg.loss.dilate_alpha == 0.5
    assert load_config(REPO_ROOT / "configs" / "distill.yaml").mode == "distill"
    cfg = load_config(TINY, ["epochs=2", "loss.attention_weight=0.25", "data.band_hz=[0.7, 3.5]"])
    assert (cfg.epochs, cfg.loss.attention_weight, cfg.data.band_hz) == (2, 0.25, (0.7, 3.5))
    with pytest.raises(ConfigError, match="loss.atention_weight"):
        load_config(TINY, ["loss.atention_weight=1"])
    with pytest.raises(ConfigError, match="teacher"):
        load_config(TINY, ["mode=teachr"])


def test_model_settings_are_typed_and_reach_the_model_and_its_checkpoint_kwargs():
    import dataclasses

    from kdphys.models import StudentConfig, TeacherConfig
    from kdphys.models.checkpoints import build_model

    cfg = load_config(None, ["model.student.widths=[4, 8, 16, 32]", "model.teacher.width=16"])
    assert cfg.model.student == StudentConfig(widths=(4, 8, 16, 32))
    assert cfg.model.teacher == TeacherConfig(width=16)
    student = build_model("student", cfg.model.student)
    stored = dataclasses.asdict(cfg.model.student)                      # as save_checkpoint writes it
    rebuilt = build_model("student", {**stored, "widths": list(stored["widths"])})   # as YAML/JSON give it back
    assert [p.shape for p in student.parameters()] == [p.shape for p in rebuilt.parameters()]
    assert sum(p.numel() for p in student.parameters()) < sum(p.numel() for p in build_model("student").parameters())
    with pytest.raises(ConfigError, match="model.student.widht"):
        load_config(None, ["model.student.widht=[4, 8, 16, 32]"])
    with pytest.raises(ConfigError, match="model.student.widths"):
        load_config(None, ["model.student.widths=[4, 8]"])


@pytest.mark.slow
def test_student_training_lowers_validation_loss_and_mae(tiny_root):
    from kdphys.training.loop import train

    torch.set_num_threads(2)
    cfg = tiny_config(tiny_root, "student", "mode=student")
    result = train(cfg)
    log = read_log(cfg.out_dir + "/log.csv")
    assert [int(r["epoch"]) for r in log] == list(range(cfg.epochs + 1))
    initial, best = result.initial_val, min(result.history[1:], key=lambda r: r["val_loss"])
    assert best["val_loss"] < initial.loss - 0.05, (initial, result.history)
    assert result.best_val_mae_bpm < initial.mae_bpm, (initial, result.history)
    # the per-video heart rates are what the MAE is made of
    assert len(initial.videos) == initial.n_clips >= 2
    assert np.mean([abs(p - r) for _, r, p in initial.videos]) == pytest.approx(initial.mae_bpm)
    assert all(40.0 <= r <= 210.0 for _, r, _ in initial.videos)     # references in the HR band, bpm
    ckpt = torch.load(result.checkpoint, weights_only=True)
    assert ckpt["kind"] == "student" and ckpt["config"]["mode"] == "student"
    assert ckpt["best_val_mae_bpm"] == pytest.approx(result.best_val_mae_bpm)


@pytest.mark.slow
def test_distillation_lowers_validation_mae_below_the_untrained_student(tiny_root):
    """The issue's check, on the tiny CI config: teacher (3 epochs), then distillation with it frozen."""
    from kdphys.training.loop import train

    torch.set_num_threads(2)
    teacher = train(tiny_config(tiny_root, "kd-teacher", "mode=teacher", "epochs=3"))
    result = train(tiny_config(tiny_root, "kd-student", "mode=distill", f"teacher_checkpoint={teacher.checkpoint}"))
    assert result.history[1]["train_attention"] > 0
    assert result.best_val_mae_bpm < result.initial_val.mae_bpm, (result.initial_val, result.history)
    assert min(r["val_loss"] for r in result.history[1:]) < result.initial_val.loss - 0.05


@pytest.mark.slow
def test_distill_uses_teacher_and_resumes(tiny_root):
    from kdphys.training.loop import train

    torch.set_num_threads(2)
    teacher = train(tiny_config(tiny_root, "teacher", "mode=teacher", "epochs=1", "max_steps_per_epoch=2"))
    assert teacher.checkpoint.is_file()
    cfg = tiny_config(tiny_root, "distill", "mode=distill", f"teacher_checkpoint={teacher.checkpoint}",
                      "epochs=1", "max_steps_per_epoch=2", "loss.output_kd_weight=0.5")
    first = train(cfg)
    assert first.history[1]["train_attention"] > 0 and first.history[1]["train_output_kd"] > 0
    resumed = train(tiny_config(tiny_root, "distill", "mode=distill", f"teacher_checkpoint={teacher.checkpoint}",
                                "epochs=2", "max_steps_per_epoch=2"))
    assert resumed.initial_val is None and resumed.epochs_run == 1
    assert [int(r["epoch"]) for r in read_log(cfg.out_dir + "/log.csv")] == [0, 1, 2]
    assert torch.load(resumed.last_checkpoint, weights_only=True)["epoch"] == 2

    from kdphys.errors import KDPhysError
    with pytest.raises(KDPhysError, match="teacher_checkpoint"):
        train(tiny_config(tiny_root, "distill-missing", "mode=distill"))
    with pytest.raises(KDPhysError, match="not a teacher"):
        train(tiny_config(tiny_root, "distill-wrong", "mode=distill", f"teacher_checkpoint={first.checkpoint}"))


def _ddp_worker(rank: int, world: int, port: int, cfg, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    from kdphys.training.loop import cleanup_distributed, train

    result = train(cfg)
    torch.save({"state": result.model.state_dict(), "rank": rank, "history": len(result.history)},
               f"{out_dir}/rank{rank}.pt")
    cleanup_distributed()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ddp_two_cpu_processes_agree(tiny_root, tmp_path):
    import torch.multiprocessing as mp

    cfg = tiny_config(tiny_root, "ddp", "mode=student", "epochs=1", "max_steps_per_epoch=2", "batch_size=2",
                      "device=cpu")
    mp.start_processes(_ddp_worker, args=(2, _free_port(), cfg, str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert [r["rank"] for r in ranks] == [0, 1]
    assert ranks[0]["history"] == 2 and ranks[1]["history"] == 0      # only rank 0 validates and logs
    assert (tiny_root / "ddp" / "best.pt").is_file() and (tiny_root / "ddp" / "last.pt").is_file()
    for name, value in ranks[0]["state"].items():
        assert torch.equal(value, ranks[1]["state"][name]), name
    saved = torch.load(tiny_root / "ddp" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(saved[k], v) for k, v in ranks[0]["state"].items())
    torch.manual_seed(cfg.seed)
    from kdphys.training.loop import build_model
    untrained = build_model("student", {}).state_dict()
    assert any(not torch.equal(untrained[k], v) for k, v in ranks[0]["state"].items() if v.is_floating_point())


def test_cosine_schedule_runs_from_lr_to_its_floor_and_constant_stays():
    from kdphys.training.config import OptimConfig
    from kdphys.training.loop import epoch_lr

    cosine = OptimConfig(lr=1e-3, schedule="cosine", min_lr_fraction=0.1)
    rates = [epoch_lr(cosine, epoch, 5) for epoch in range(1, 6)]
    assert rates[0] == pytest.approx(1e-3)
    assert rates[-1] == pytest.approx(1e-4)
    assert rates[2] == pytest.approx(0.55e-3)                # half-way: the mean of lr and the floor
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert {epoch_lr(OptimConfig(lr=2e-3), epoch, 5) for epoch in range(1, 6)} == {2e-3}


def test_init_weights_takes_a_student_without_the_temporal_stage_and_refuses_other_mismatches(tmp_path):
    from kdphys.errors import KDPhysError
    from kdphys.models import Student, StudentConfig
    from kdphys.training.loop import init_weights

    torch.manual_seed(0)
    saved = Student(StudentConfig(widths=(4, 8, 16, 32), temporal_channels=0))
    with torch.no_grad():
        saved.head.weight.add_(1.0)                                   # not what a fresh student has
    path = tmp_path / "plain.pt"
    torch.save({"model": saved.state_dict(), "kind": "student"}, path)
    grown = Student(StudentConfig(widths=(4, 8, 16, 32), temporal_channels=8))
    init_weights(grown, path, "student")
    clips = torch.rand(1, 16, 3, 36, 36)
    with torch.no_grad():
        assert torch.equal(grown.eval()(clips).bvp, saved.eval()(clips).bvp)
    with pytest.raises(KDPhysError, match="does not match"):        # other widths: not a temporal-stage gap
        init_weights(Student(StudentConfig(temporal_channels=8)), path, "student")
    torch.save({"model": grown.state_dict(), "kind": "student"}, tmp_path / "grown.pt")
    with pytest.raises(KDPhysError, match="does not match"):        # a stage the new student lacks
        init_weights(Student(StudentConfig(widths=(4, 8, 16, 32), temporal_channels=0)), tmp_path / "grown.pt",
                     "student")
    with pytest.raises(KDPhysError, match="not a teacher"):
        init_weights(grown, path, "teacher")
