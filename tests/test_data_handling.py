"""No data kept: uploads analysed from memory, live frames never written, safe weights, localhost by default.

* Upload (AppTest): the temporary folder holds nothing new after an analysis, every temporary file or
  folder created during the run is gone, and no file written during the run contains the video's bytes.
* Live (LiveSession on real frames): no file is opened for writing, no image or video writer is used, and
  the temporary folder and the working folder are unchanged.
* Weights: torch files load through kdphys.models.checkpoints (SHA-256 against SHA256SUMS, then
  torch.load(weights_only=True)); a tampered file, an unlisted file in weights/ and a pickle that would
  run code are refused with WeightsError; the shipped files match their checksums.
* The server binds to localhost (.streamlit/config.toml) with XSRF protection on.
"""

from __future__ import annotations

import builtins
import io
import os
import re
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from kdphys import paths
from kdphys.models import checkpoints as weights
from kdphys.errors import WeightsError
from kdphys.io.video import iter_frames

MAIN = str(paths.REPO_ROOT / "webapp" / "main.py")
_WRITE_MODES = re.compile(r"[wax+]")


def _listing(folder: Path) -> set[str]:
    return {p.name for p in Path(folder).iterdir()}


class WriteRecorder:
    """Records every path opened for writing through builtins.open / io.open / os.open."""

    def __init__(self, monkeypatch):
        self.paths: list[str] = []
        real_open, real_os_open = builtins.open, os.open

        def rec_open(file, mode="r", *a, **k):
            if isinstance(file, (str, bytes, os.PathLike)) and _WRITE_MODES.search(str(mode)):
                self.paths.append(os.fsdecode(file))
            return real_open(file, mode, *a, **k)

        def rec_os_open(path, flags, *a, **k):
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                self.paths.append(os.fsdecode(path))
            return real_os_open(path, flags, *a, **k)

        monkeypatch.setattr(builtins, "open", rec_open)
        monkeypatch.setattr(io, "open", rec_open)
        monkeypatch.setattr(os, "open", rec_os_open)


# ------------------------------------------------------------------------------------------ upload
def test_upload_leaves_no_file_behind(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    tmp_dir = tmp_path / "tmp"          # a private temporary folder: /tmp is shared with other processes
    tmp_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_dir))
    assert Path(tempfile.gettempdir()) == tmp_dir
    video = paths.SAMPLE_VIDEO.read_bytes()
    at = AppTest.from_file(MAIN, default_timeout=90)
    at.run()
    before = _listing(tmp_dir)
    created: list[str] = []
    real_mkdtemp, real_mkstemp = tempfile.mkdtemp, tempfile.mkstemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: created.append(real_mkdtemp(*a, **k)) or created[-1])
    monkeypatch.setattr(tempfile, "mkstemp",
                        lambda *a, **k: (lambda r: created.append(r[1]) or r)(real_mkstemp(*a, **k)))
    writes = WriteRecorder(monkeypatch)
    at.file_uploader(key="video_upload").upload("private_face.avi", video, "video/x-msvideo")
    at.run()
    monkeypatch.undo()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Heart rate:" in str(m.value) for m in at.markdown), "the analysis did not run"
    assert _listing(tmp_dir) - before == set(), _listing(tmp_dir) - before
    assert created, "the CSV export's private temporary folder was expected"
    assert not [p for p in created if os.path.exists(p)], created
    for path in writes.paths:                        # whatever was written, none of it is the video
        if os.path.isfile(path) and os.path.getsize(path) >= 4096:
            assert video[100_000:104_096] not in Path(path).read_bytes(), path


# -------------------------------------------------------------------------------------------- live
def test_live_session_writes_no_frames(monkeypatch, tmp_path):
    import av
    import cv2

    from kdphys.pipeline.live import LiveSession

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    frames = [f for f in iter_frames(paths.SAMPLE_VIDEO) if f.t_s < 6.0]
    clock = [0.0]
    session = LiveSession(method="pos", clock=lambda: clock[0])
    session.process(frames[0].rgb, frames[0].t_s)               # model files are read before watching
    tmp_before, cwd_before = _listing(Path(tempfile.gettempdir())), _listing(tmp_path)

    def forbidden(*_a, **_k):
        raise AssertionError("live mode must not write images or video")

    for name in ("imwrite", "VideoWriter"):
        monkeypatch.setattr(cv2, name, forbidden)
    monkeypatch.setattr(av, "open", forbidden)
    monkeypatch.setattr(np, "save", forbidden)
    writes = WriteRecorder(monkeypatch)
    for f in frames[1:]:
        clock[0] = f.t_s
        session.process(f.rgb, f.t_s)
    status = session.status()
    tmp_after, cwd_after = _listing(Path(tempfile.gettempdir())), _listing(tmp_path)
    monkeypatch.undo()
    assert status.frames_in == len(frames) and status.signal_s >= 5.0 and status.state == "tracking", status
    assert writes.paths == [], writes.paths
    assert tmp_after == tmp_before and cwd_after == cwd_before, (tmp_after, cwd_after)


# ----------------------------------------------------------------------------------------- weights
def _student_state() -> dict:
    from kdphys.models import Student

    return Student().state_dict()


def _write_listed(folder: Path, name: str, obj) -> Path:
    path = folder / name
    torch.save(obj, path)
    (folder / weights.SUMS_NAME).write_text(f"{weights.sha256_file(path)}  {name}\n")
    return path


def test_listed_weights_load_and_tampered_weights_are_refused(tmp_path):
    from kdphys.models.checkpoints import load_model

    path = _write_listed(tmp_path, "student.pt", _student_state())
    model, crop_size, _, _ = load_model(path, kind="student")
    assert crop_size == 72 and not model.training
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF                                       # one flipped byte
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="failed its checksum"):
        load_model(path, kind="student")
    with pytest.raises(WeightsError, match="failed its checksum"):
        weights.load_torch(path)


def test_unlisted_file_in_weights_dir_is_refused(tmp_path):
    path = tmp_path / "teacher.pt"
    torch.save({"w": torch.zeros(2)}, path)
    (tmp_path / weights.SUMS_NAME).write_text("")
    with pytest.raises(WeightsError, match="not listed"):
        weights.load_torch(path, weights_dir=tmp_path)
    assert weights.verify(path, weights_dir=tmp_path / "elsewhere") is None     # own checkpoints load


class _RunsCode:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_pickle_with_code_is_refused_even_with_a_good_checksum(tmp_path):
    marker = tmp_path / "code_ran"
    path = _write_listed(tmp_path, "evil.pt", {"model": _RunsCode(str(marker))})
    assert not marker.exists()
    with pytest.raises(WeightsError, match="could not be read as torch weights"):
        weights.load_torch(path)
    assert not marker.exists(), "torch.load ran code from the file"


def test_shipped_weights_match_their_checksums():
    sums = weights.read_checksums(paths.WEIGHTS_DIR / weights.SUMS_NAME)
    assert "face_landmarker.task" in sums
    for path in paths.WEIGHTS_DIR.iterdir():
        if path.suffix in (".pt", ".onnx", ".task"):
            assert weights.verify(path) == sums[path.name], path.name


def test_every_torch_load_in_the_package_is_weights_only():
    for source in (paths.REPO_ROOT / "kdphys").rglob("*.py"):
        for call in re.findall(r"torch\.load\([^)]*\)", source.read_text()):
            assert "weights_only=True" in call, f"{source}: {call}"


# ------------------------------------------------------------------------------------------ server
def test_server_binds_to_localhost_by_default():
    config = tomllib.loads((paths.REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] in ("localhost", "127.0.0.1")
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
