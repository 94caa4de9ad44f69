"""Model files, in one place: build a model, load it (checksummed, weights only), the shipped ones by
name, and the checksum list.

    from kdphys.models.checkpoints import load_model, shipped_model, verify
    loaded = load_model("runs/release/distill/best.pt")   # LoadedModel(model, crop_size, skin_region, kind)
    teacher = shipped_model("teacher")                    # weights/teacher.pt, loaded once per process
    verify("weights/student.onnx")               # checksum only (ONNX Runtime loads the file itself)

Rules:
* A file whose folder has a ``SHA256SUMS`` (sha256sum format: "<64 hex>  <file name>") that lists it must
  match its checksum.
* A file inside ``weights/`` (what the app loads by default) must be listed there: an unlisted or altered
  file is refused. ``python -m kdphys train-release`` rewrites the list when it ships new weights.
* A file elsewhere (your own training checkpoint under runs/) without a listing is loaded, still with
  ``weights_only=True`` (no code in the file is ever run).
Every failure raises :class:`kdphys.errors.WeightsError` with what to do.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import threading
from pathlib import Path
from typing import Any, NamedTuple

from kdphys.errors import WeightsError
from kdphys.paths import WEIGHTS_DIR

SUMS_NAME = "SHA256SUMS"
_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


def sha256_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_checksums(sums_path: str | Path) -> dict[str, str]:
    """{file name: lower-case hex SHA-256} from a sha256sum-format file ({} when it does not exist)."""
    sums_path = Path(sums_path)
    if not sums_path.is_file():
        return {}
    out = {}
    for n, line in enumerate(sums_path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise WeightsError(f"{sums_path} line {n} is not '<sha256>  <file name>': {line[:80]!r}. "
                               "Regenerate it with: python -m kdphys train-release --steps ship")
        out[match.group(2).strip()] = match.group(1).lower()
    return out


def _in_weights_dir(path: Path, weights_dir: Path) -> bool:
    try:
        return path.resolve().parent == weights_dir.resolve()
    except OSError:
        return False


def verify(path: str | Path, sums_path: str | Path | None = None, weights_dir: str | Path = WEIGHTS_DIR) -> str | None:
    """Check a weights file against its checksum list.

    Args:
        path: the weights file.
        sums_path: the checksum list (default: SHA256SUMS next to the file).
        weights_dir: the shipped-weights folder, in which every file must be listed.
    Returns:
        the file's SHA-256 when it was checked, None when it is an unlisted file outside weights_dir.
    Raises:
        WeightsError: missing file, checksum mismatch, or an unlisted file in weights_dir.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"Model weights {path} not found. Train them (python -m kdphys train-release) or "
                           "point to an existing file.")
    sums_path = Path(sums_path) if sums_path is not None else path.parent / SUMS_NAME
    expected = read_checksums(sums_path).get(path.name)
    if expected is None:
        if _in_weights_dir(path, Path(weights_dir)):
            raise WeightsError(f"{path.name} is not listed in {sums_path}, so it is not loaded (it may have been "
                               "replaced). Reinstall the shipped weights, or run python -m kdphys train-release "
                               "--steps ship to rebuild them and their checksums.")
        return None
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(f"{path} failed its checksum (SHA-256 {actual[:12]}..., {sums_path.name} says "
                           f"{expected[:12]}...): the file is damaged or was changed, so it is not loaded. "
                           "Reinstall the shipped weights or re-run python -m kdphys train-release --steps ship.")
    return actual


def load_torch(path: str | Path, map_location: str = "cpu", sums_path: str | Path | None = None,
               weights_dir: str | Path = WEIGHTS_DIR) -> Any:
    """``torch.load(path, weights_only=True)`` after :func:`verify`; any failure is a WeightsError."""
    import torch

    verify(path, sums_path, weights_dir)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle/zip/torch errors: one clear message
        raise WeightsError(f"{path} could not be read as torch weights ({type(err).__name__}: {err}). "
                           "It is not a plain weights file; re-train or reinstall it.") from err


#: Skin region of models saved before the region was recorded (kdphys.face.SKIN_REGIONS).
LEGACY_SKIN_REGION = "forehead_cheeks"
#: The shipped torch file of each model.
SHIPPED_FILES = {"teacher": "teacher.pt", "student": "student.pt"}
_load_lock = threading.Lock()


def build_model(kind: str, settings=None):
    """A new Teacher or Student ("teacher" / "student") from its TeacherConfig / StudentConfig, or from the
    keyword arguments of one as a checkpoint stores them (lists become tuples, as YAML and JSON give them)."""
    from kdphys.models import Student, StudentConfig, Teacher, TeacherConfig

    if isinstance(settings, (TeacherConfig, StudentConfig)):
        settings = dataclasses.asdict(settings)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(settings or {}).items()}
    if kind == "teacher":
        return Teacher(TeacherConfig(**kwargs))
    if kind == "student":
        return Student(StudentConfig(**kwargs))
    raise WeightsError(f"Unknown model kind {kind!r}; use 'teacher' or 'student'.")


class LoadedModel(NamedTuple):
    """A model read from a file: the torch module (eval mode), its crop side (pixels), skin region, kind."""

    model: Any
    crop_size: int
    skin_region: str
    kind: str


def load_model(path: str | Path, kind: str | None = None, map_location: str = "cpu") -> LoadedModel:
    """The model from a training checkpoint or a bare state dict (checksummed, weights_only), with the crop
    size and skin region it was trained on (72 and "forehead_cheeks" where the file does not say).

    Args:
        path: a .pt file. kind: "student" / "teacher", needed for a bare state dict.
    Raises:
        WeightsError: missing, damaged, or not matching the architecture.
    """
    ckpt = load_torch(path, map_location=map_location)
    crop_size, skin_region = 72, LEGACY_SKIN_REGION
    if isinstance(ckpt, dict) and "model" in ckpt and "kind" in ckpt:     # a training checkpoint
        kind, kwargs, state = ckpt["kind"], ckpt.get("model_kwargs") or {}, ckpt["model"]
        data = ckpt.get("config", {}).get("data", {})
        crop_size = int(data.get("crop_size", 72))
        skin_region = str(data.get("skin_region", LEGACY_SKIN_REGION))
    else:
        if kind not in ("student", "teacher"):
            raise WeightsError(f"{path} is a bare state dict: say whether it is a 'student' or a 'teacher'.")
        kwargs, state = {}, ckpt
    if kind == "student" and "temporal_channels" not in kwargs and not any(k.startswith("temporal") for k in state):
        kwargs = {**kwargs, "temporal_channels": 0}      # saved before the student had a temporal stage
    model = build_model(kind, kwargs)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise WeightsError(f"{path} does not match the {kind} architecture ({err}).") from err
    return LoadedModel(model.eval(), crop_size, skin_region, kind)


@functools.lru_cache(maxsize=4)
def shipped_model(name: str, weights_dir: Path = WEIGHTS_DIR):
    """The shipped torch module ("teacher" or "student", from ``SHIPPED_FILES``) in eval mode, loaded once per
    process. Raises WeightsError when it is missing or cannot be loaded."""
    if name not in SHIPPED_FILES:
        raise WeightsError(f"No shipped torch model called {name!r}; use one of {sorted(SHIPPED_FILES)}.")
    with _load_lock:
        return load_model(Path(weights_dir) / SHIPPED_FILES[name], kind=name).model


def write_checksums(weights_dir: str | Path) -> Path:
    """``SUMS_NAME`` in ``weights_dir`` listing every .pt, .onnx and .task file (sha256sum format)."""
    weights_dir = Path(weights_dir)
    lines = [f"{sha256_file(path)}  {path.name}" for path in sorted(weights_dir.iterdir())
             if path.suffix in (".pt", ".onnx", ".task")]
    out = weights_dir / SUMS_NAME
    out.write_text("\n".join(lines) + "\n")
    return out
