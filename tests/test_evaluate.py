"""Evaluation on a tiny folder-format synthetic set: table, per-video CSV, Bland-Altman PNG, both protocols."""

from __future__ import annotations

import argparse
import csv

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow        # `pytest -m "not slow"` leaves this module out

HR_BPM = (62.0, 84.0, 108.0, 126.0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from kdphys.data.synthetic import SyntheticConfig, write_clip

    root = tmp_path_factory.mktemp("eval_folder")
    for i, hr in enumerate(HR_BPM):
        # lossless H.264 (crf 0): at crf 10 one of these small faces read 58 bpm off in one run out of three
        cfg = SyntheticConfig(hr_bpm=hr, duration_s=8.0, size=(160, 160), pulse_amplitude=3.0, noise_std=1.0,
                              skin_tone=-0.6 + 0.4 * i, seed=10 + i)
        write_clip(cfg, root, name=f"clip_{i}", crf=0)
    return root


def test_pos_chrom_and_student_rows_with_csv_and_plots(folder, tmp_path):
    from kdphys.data.folder import VideoFolder
    from kdphys.evaluation.evaluate import EvalSettings, evaluate
    from kdphys.models import Student

    torch.manual_seed(0)
    ckpt = tmp_path / "student.pt"
    torch.save(Student().state_dict(), ckpt)
    settings = EvalSettings(protocol="cross", cache_dir=str(tmp_path / "cache"), crop_size=72)
    report = evaluate({"synthetic": VideoFolder(folder)}, ["pos", "chrom", f"student=student={ckpt}"],
                      out_dir=tmp_path / "out", settings=settings, progress=False)

    by_method = {s.method: s for s in report.summaries}
    assert set(by_method) == {"pos", "chrom", "student"}
    assert all(s.n == len(HR_BPM) for s in report.summaries)
    assert by_method["pos"].mae_bpm < 5.0, report.markdown          # clean synthetic pulses: POS is close
    assert by_method["pos"].pearson_r > 0.95 and by_method["pos"].snr_db > 0
    refs = sorted(r.hr_ref_bpm for r in report.rows if r.method == "pos")
    assert np.allclose(refs, HR_BPM, atol=3.0)                       # reference HR from the CSV's BVP

    lines = report.markdown.strip().splitlines()
    assert lines[2].startswith("| dataset | method | n | MAE (bpm)") and len(lines) == 2 + 2 + 3
    assert "| synthetic | pos | 4 |" in report.markdown
    with open(report.csv_path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * len(HR_BPM) and {"hr_ref_bpm", "hr_est_bpm", "snr_db"} <= set(rows[0])
    assert (tmp_path / "out" / "results.md").read_text() == report.markdown
    assert len(report.plots) == 3
    for png in report.plots:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    assert len(list((tmp_path / "cache").glob("*.npz"))) == len(HR_BPM)   # one face pass per video


def test_intra_protocol_and_cli_command(folder, tmp_path, capsys):
    from kdphys.cli import evaluate as command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(["--dataset", f"folder={folder}", "--method", "pos", "--protocol", "intra",
                              "--window", "4", "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "o"),
                              "--quiet"])
    assert command.run(args) == 0
    printed = capsys.readouterr().out
    assert "| folder | pos |" in printed and "Protocol: intra" in printed
    with open(tmp_path / "o" / "per_video.csv") as f:
        rows = list(csv.DictReader(f))
    assert len({r["video"] for r in rows}) == 1 and len(rows) == 2     # 1 test subject of 4, two 4-s windows

    from kdphys.errors import KDPhysError
    with pytest.raises(KDPhysError, match="KIND=ROOT"):
        command.parse_datasets([str(folder)])
