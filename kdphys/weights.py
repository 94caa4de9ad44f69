"""Load model weights safely: SHA-256 checked against a ``SHA256SUMS`` list, torch files with weights_only.

    from kdphys.weights import load_torch, verify
    state = load_torch("weights/teacher.pt")     # checksum (weights/SHA256SUMS) + torch.load(weights_only=True)
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

import hashlib
import re
from pathlib import Path
from typing import Any

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
