"""The bad-input matrix: every odd file through the CLI (``python -m kdphys analyze``) and the upload page.

Each input (written by tests/media.py into a temporary folder) must give either a clear message or a
correct heart rate: never a traceback, a hang (every run has a time limit) or a made-up number.

    case                 expected
    zero_byte            error "empty (0 bytes)"
    random_bytes         error "not a video file"
    truncated_mp4        error "incomplete or damaged MP4" (index lost)
    audio_only           error "only audio"
    image_as_mp4         error "still image"
    one_frame            error "1 decodable frame"
    two_seconds          no reading "2.0 s long; at least 5 s"
    uhd_4k (1 s)         no reading "1.0 s long" (decoded at 3840x2160, downscaled)
    portrait_rotated     reading (rotation applied: 240x320 shown)
    variable_frame_rate  reading (true timestamps)
    grayscale            no reading "no colour" (or a correct reading)
    dark, overexposed    a correct reading or no reading
    two_faces            the larger face's HR (or none) and the note "2 faces were seen"
    no_face              no reading "face"
    still_photo          no reading (no pulse)
    truncated_mkv        the frames before the cut: a correct reading or no reading
    good                 reading (control)
    over the upload limit (page only): refused before analysis with the size and the limit.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import re
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from kdphys import cli, paths
from tests import media
from webapp.ui import GENERIC_ERROR

pytestmark = pytest.mark.slow        # `pytest -m "not slow"` leaves this module out

MAIN = str(paths.REPO_ROOT / "webapp" / "main.py")
HR_RE = re.compile(r"Heart rate:\s*([0-9]+(?:\.[0-9]+)?)\s*bpm")
CLI_HR_RE = re.compile(r"heart rate:\s*([0-9]+(?:\.[0-9]+)?)\s*bpm")
RUN_TIMEOUT_S = 60          # far above the few seconds each case takes: a hang fails the test
CASES = list(media.ALL_CASES)
MIME = {".mp4": "video/mp4", ".avi": "video/x-msvideo", ".mkv": "video/x-matroska"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """case name -> Media, written on first use and shared by the CLI and the page tests."""
    out_dir = tmp_path_factory.mktemp("bad_inputs")
    cache: dict[str, media.Media] = {}

    def get(name: str) -> media.Media:
        if name not in cache:
            cache[name] = media.ALL_CASES[name](out_dir)
        return cache[name]

    return get


def _with_time_limit(fn, *args, timeout_s: float = RUN_TIMEOUT_S):
    """fn(*args) in a worker thread; fails the test (a hang) if it takes longer than timeout_s."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args).result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"{getattr(fn, '__name__', fn)} did not finish within {timeout_s} s (hang)")
    finally:
        pool.shutdown(wait=False)


def _check_hr(m: media.Media, hr: float | None, message: str) -> None:
    """The common rule: no number where none is due, and a number only within tol_bpm of the truth."""
    low = message.lower()
    if m.expect == "reading":
        assert hr is not None, f"{m.path.name}: expected a reading near {m.hr_bpm:.1f} bpm; got: {message}"
    if hr is not None:
        assert m.expect in ("reading", "reading_or_none"), f"{m.path.name}: made-up number {hr} bpm"
        assert abs(hr - m.hr_bpm) <= m.tol_bpm, f"{m.path.name}: {hr} bpm, truth {m.hr_bpm:.1f} bpm"
        return
    assert m.expect != "reading"
    if m.words:
        assert any(w in low for w in m.words), f"{m.path.name}: message lacks {m.words}: {message}"


# ----------------------------------------------------------------------------------------- CLI
def _cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", CASES)
def test_cli_analyze(inputs, case):
    """kdphys.cli.main(["analyze", FILE]) in-process: exit 2 + one "error:" line, 1 + "no reading", 0 + HR."""
    m = inputs(case)
    code, out, err = _with_time_limit(_cli, ["analyze", str(m.path), "--quiet"])
    assert "Traceback" not in out + err
    match = CLI_HR_RE.search(out)
    hr = float(match.group(1)) if match else None
    if m.expect == "error":
        assert code == 2 and out == "", (code, out, err)
        assert err.startswith("error: ") and err.count("\n") == 1, err
        _check_hr(m, None, err)
        return
    assert code in (0, 1), (code, out, err)
    assert (code == 0) == (hr is not None), out
    _check_hr(m, hr, out)
    if hr is None:
        assert "heart rate: no reading: " in out, out
    if case == "two_faces":
        assert "note: 2 faces were seen; the largest face was analysed." in out


@pytest.mark.parametrize("case", ["zero_byte", "random_bytes"])
def test_cli_subprocess_bad_file_one_line_no_traceback(inputs, case):
    """The real entry point as a user runs it: one line on stderr, exit code 2, within the time limit."""
    m = inputs(case)
    proc = subprocess.run([sys.executable, "-m", "kdphys", "analyze", str(m.path), "--quiet"],
                          cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and any(w in lines[0].lower() for w in m.words), proc.stderr


# ---------------------------------------------------------------------------------- upload page
def page_text(at: AppTest) -> str:
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def _upload(name: str, data: bytes, mime: str = "video/mp4") -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=RUN_TIMEOUT_S)
    at.run()
    at.file_uploader(key="video_upload").upload(name, data, mime)
    at.run()
    return at


@pytest.mark.parametrize("case", CASES)
def test_upload_page(inputs, case):
    """The Analyse page with the file uploaded: a specific message or a correct HR, never a traceback."""
    m = inputs(case)
    at = _upload(m.path.name, m.path.read_bytes(), MIME[m.path.suffix])
    assert not at.exception, [e.value for e in at.exception]
    text = page_text(at)
    assert "Traceback" not in text and GENERIC_ERROR not in text, text
    match = HR_RE.search(text)
    hr = float(match.group(1)) if match else None
    errors = " ".join(str(e.value) for e in at.error)
    if m.expect == "error":
        assert f"Could not analyse {m.path.name}" in errors, text
        _check_hr(m, hr, errors)
        return
    assert not errors, errors
    warnings = " ".join(str(e.value) for e in at.warning)
    if hr is None:
        assert "Heart rate:** no reading: " in warnings, text
    _check_hr(m, hr, warnings if hr is None else text)
    if "size_wh" in m.extra:
        w, h = m.extra["size_wh"]
        assert f"{w}×{h}" in text, text
    if case == "two_faces":
        assert "2 faces were seen; the largest face was analysed." in text


@pytest.fixture
def upload_limit_mb():
    """Lower server.maxUploadSize for one test (the shipped limit, 500 MB, is too big to upload here)."""
    from streamlit import config

    shipped = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    yield 1
    config.set_option("server.maxUploadSize", shipped)


def test_upload_over_size_limit_is_refused_before_analysis(upload_limit_mb, monkeypatch):
    """A file over the limit (the 3 MB sample clip against a 1 MB limit) is refused with its size and the
    limit, and never decoded; AppTest's uploader does not enforce the limit itself, the page does."""
    import kdphys.pipeline.upload

    def must_not_run(*_a, **_k):
        raise AssertionError("an oversized upload was analysed")

    monkeypatch.setattr(kdphys.pipeline.upload, "analyze_video", must_not_run)
    at = AppTest.from_file(MAIN, default_timeout=RUN_TIMEOUT_S)
    at.run()
    at.file_uploader(key="video_upload").upload("big.avi", paths.SAMPLE_VIDEO.read_bytes(), "video/x-msvideo")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(str(e.value) for e in at.error)
    assert "big.avi is 2.9 MB, over this app's upload limit of 1 MB" in errors, page_text(at)
    assert HR_RE.search(page_text(at)) is None


def test_shipped_upload_limit_is_set():
    """.streamlit/config.toml sets the limit the page enforces (500 MB)."""
    import tomllib

    config = tomllib.loads((paths.REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 500
