"""The one-page PDF report (kdphys.explain.report): rendered, then read back with pypdf; from the API and the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys

import pytest
from pypdf import PdfReader

from kdphys import paths
from kdphys.pipeline.upload import analyze_video
from kdphys.pipeline.engine import EngineSettings
from kdphys.explain import compare_with_reference, coverage_text, hr_text, quality_explanation
from kdphys.signal.quality import QualitySettings
from kdphys.data.reference import sample_clip_reference
from kdphys.explain.report import NOT_A_MEDICAL_DEVICE, build_report, write_report

pytestmark = pytest.mark.slow        # `pytest -m "not slow"` leaves this module out


def _text(pdf) -> tuple[str, PdfReader]:
    """All text of a PDF (path or bytes) with its whitespace collapsed, and the reader."""
    import io

    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split()), reader


@pytest.fixture(scope="module")
def sample_result():
    return analyze_video(paths.SAMPLE_VIDEO, method="pos")


def test_report_holds_everything_on_one_page(sample_result, tmp_path):
    cmp = compare_with_reference(sample_result.snapshot, sample_clip_reference())
    when = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.timezone.utc)
    path = write_report(sample_result, tmp_path / "r.pdf", source_name="video_ZIP_H264.avi", comparison=cmp,
                        created=when)
    text, reader = _text(path)
    reading = sample_result.snapshot.reading
    assert len(reader.pages) == 1
    assert "video_ZIP_H264.avi" in text
    assert hashlib.sha256(paths.SAMPLE_VIDEO.read_bytes()).hexdigest() == sample_result.file_sha256
    assert sample_result.file_sha256 in text.replace(" ", "")
    assert "2026-12-02 09:30" in text and "POS (classical)" in text and "no weights (classical method)" in text
    assert f"Heart rate: {hr_text(reading)}" in text
    assert " ".join(coverage_text(reading, len(sample_result.snapshot.readings.windows)).split()) in text
    assert " ".join(quality_explanation(reading).split()) in text
    for words in ("Pulse waveform", "Heart rate over time", "Spectrum of the pulse", "Comparison with the reference",
                  f"{cmp.loa_low_bpm:+.1f} to {cmp.loa_high_bpm:+.1f} bpm", f"{cmp.mae_bpm:.1f} bpm"):
        assert words in text, words
    flat = " ".join(text.split())
    assert f"{len(cmp.t_s)} (those the video read" in flat
    assert (f"; {cmp.read_without_reference} more without a heart rate in the reference)" in flat) == \
        (cmp.read_without_reference > 0), flat
    assert " ".join(NOT_A_MEDICAL_DEVICE.split()) in text
    images = reader.pages[0].images
    assert len(images) == 3, [i.name for i in images]         # waveform, trend, spectrum


def test_report_of_a_refused_recording_has_no_heart_rate():
    result = analyze_video(paths.SAMPLE_VIDEO, settings=EngineSettings(quality=QualitySettings(min_coverage=0.9)))
    assert result.snapshot.reading.hr_bpm is None
    text, reader = _text(build_report(result, "clip.avi"))
    assert len(reader.pages) == 1
    assert "No reading" in text and "Heart rate:" not in text
    assert "Not shown: fewer than two 10 s windows were read." in text
    assert "bpm" not in text.replace("40 bpm", "").replace("200 bpm", ""), text   # no heart rate anywhere


def test_cli_writes_the_report(tmp_path):
    out = tmp_path / "report.pdf"
    proc = subprocess.run([sys.executable, "-m", "kdphys", "analyze", str(paths.SAMPLE_VIDEO), "--quiet",
                           "--report", str(out), "--reference", str(paths.SAMPLE_BVP_CSV)],
                          capture_output=True, text=True, timeout=300, cwd=paths.REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"wrote {out}" in proc.stdout and "limits of agreement" in proc.stdout
    text, reader = _text(out)
    assert len(reader.pages) == 1 and paths.SAMPLE_VIDEO.name in text and "Comparison with the reference" in text
