"""``python -m kdphys cv`` on three tiny synthetic "subjects": the shared synthetic steps, then one fold
fine-tunes teacher, distilled student and student without distillation on the other two and reads the
held-out one with each and with POS."""

from __future__ import annotations

import argparse

import pytest

pytestmark = pytest.mark.slow        # `pytest -m "not slow"` leaves this module out


@pytest.fixture(scope="module")
def subjects(tmp_path_factory):
    from kdphys.data.synthetic import SyntheticConfig, write_clip

    root = tmp_path_factory.mktemp("cv_subjects")
    for i, hr in enumerate((66.0, 90.0, 114.0)):
        cfg = SyntheticConfig(hr_bpm=hr, duration_s=12.0, size=(128, 128), pulse_amplitude=3.0, noise_std=1.0,
                              seed=40 + i)
        write_clip(cfg, root, name=f"person{i}", crf=10)
    return root


def test_one_fold_trains_three_models_and_writes_the_table(subjects, tmp_path):
    import torch

    from kdphys.cli import cv

    torch.set_num_threads(2)
    parser = argparse.ArgumentParser()
    cv.add_arguments(parser)
    synthetic = ["data.dataset=synthetic", f"data.root={tmp_path / 'synthetic'}", "data.synthetic.n_train=2",
                 "data.synthetic.n_val=1", "data.synthetic.duration_s=6.0", "data.synthetic.size_hw=[128, 128]",
                 "data.synthetic.pulse_amplitude_range=[2.5, 3.5]", "data.synthetic.crf_choices=[10]"]
    sets = ["epochs=1", "progress=false", *synthetic, "data.real.dataset=folder",
            f"data.real.root={subjects}", "data.real.bitrates=[]", "data.chunk_len=64", "data.crop_size=24",
            "data.clips_per_epoch=8", f"data.cache_dir={tmp_path / 'cache'}", "loss.max_lag_frames=5"]
    args = parser.parse_args(["--folds", "person1", "--out", str(tmp_path / "cv"), "--release-dir",
                              str(tmp_path / "release")] + sum([["--set", s] for s in sets], []))
    assert cv.run(args) == 0
    for step in ("teacher", "distill", "student"):
        assert (tmp_path / "release" / f"{step}-synthetic" / "DONE").is_file()     # shared, synthetic only
        assert (tmp_path / "cv" / "person1" / step / "best.pt").is_file()
        assert (tmp_path / "cv" / "person1" / step / "DONE").is_file()
    table = (tmp_path / "cv" / "results.md").read_text()
    for method in ("pos", "teacher", "student (KD)", "student (no KD)"):
        assert f"| {method} |" in table
    assert "| person1 |" in table and "1 folds" in table
    rows = (tmp_path / "cv" / "per_fold.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and all("person1" in r for r in rows[1:])
    assert cv.run(args) == 0                      # a second run skips the finished steps


def test_train_release_takes_the_synthetic_steps_from_earlier_weights(tmp_path):
    """--synthetic-from copies an earlier release's teacher.pt / student.pt / student-nokd.pt in as the
    synthetic steps (their DONE written, nothing trained) and refuses a file of the wrong kind."""
    import shutil

    from kdphys import paths
    from kdphys.cli import train_release
    from kdphys.errors import KDPhysError

    old = tmp_path / "old"
    old.mkdir()
    for name in train_release.SHIPPED_NAMES.values():
        shutil.copyfile(paths.WEIGHTS_DIR / name, old / name)
    parser = argparse.ArgumentParser()
    train_release.add_arguments(parser)
    for step in train_release.SYNTHETIC_STEPS:
        folder = tmp_path / "release" / step
        args = parser.parse_args(["--steps", step, "--synthetic-from", str(old), "--set", f"out_dir={folder}"])
        assert train_release.run(args) == 0
        source = old / train_release.SHIPPED_NAMES[step.removesuffix("_synthetic")]
        assert (folder / "best.pt").read_bytes() == source.read_bytes()
        assert (folder / "DONE").is_file()
    shutil.copyfile(old / "teacher.pt", old / "student.pt")            # a teacher where a student belongs
    with pytest.raises(KDPhysError, match="not a student"):
        train_release.seed_synthetic_step("distill_synthetic", old, tmp_path / "wrong")


def test_shipped_config_is_the_same_from_any_clone():
    """Repository paths become relative and the progress-bar setting is left out, at any depth; other values
    (paths outside the repository included) stay as they are."""
    from kdphys.cli.train_release import shipped_config
    from kdphys.paths import REPO_ROOT

    config = {"out_dir": str(REPO_ROOT / "runs" / "release" / "distill"), "progress": True, "epochs": 3,
              "data": {"root": str(REPO_ROOT / "runs" / "release" / "synthetic"), "progress": False,
                       "real": {"root": "/elsewhere/ubfc"}, "bitrates": [150000.0]}}
    shipped = shipped_config(config)
    assert shipped == {"out_dir": "runs/release/distill", "epochs": 3,
                       "data": {"root": "runs/release/synthetic", "real": {"root": "/elsewhere/ubfc"},
                                "bitrates": [150000.0]}}
    assert config["progress"] is True                                     # the input is not changed


def test_fresh_retrains_from_the_start_instead_of_resuming_a_finished_run(tmp_path, monkeypatch):
    """--fresh removes the step's last.pt, best.pt, DONE and log.csv before training (train would otherwise
    resume at the finished run's last epoch and train none); without it a finished step is skipped."""
    from types import SimpleNamespace

    import kdphys.training.data
    import kdphys.training.loop
    from kdphys.cli import train_release

    out = tmp_path / "teacher"
    out.mkdir()
    for name in train_release.RUN_FILES:
        (out / name).write_text("earlier run")
    seen = []

    def fake_train(cfg):
        seen.append(sorted(p.name for p in out.iterdir()))
        (out / "best.pt").write_text("new run")
        return SimpleNamespace(best_val_mae_bpm=1.0, epochs_run=6)

    monkeypatch.setattr(kdphys.training.loop, "train", fake_train)
    monkeypatch.setattr(kdphys.training.data, "prepare", lambda data: None)
    parser = argparse.ArgumentParser()
    train_release.add_arguments(parser)
    args = ["--steps", "teacher", "--set", f"out_dir={out}"]
    assert train_release.run(parser.parse_args(args)) == 0
    assert seen == []                                                    # finished: skipped
    assert train_release.run(parser.parse_args(args + ["--fresh"])) == 0
    assert seen == [[]]                                                  # trained from a clean folder
    assert (out / "DONE").read_text().startswith("best_val_mae_bpm=1.000")
