"""Export the student and the teacher to ONNX and check that ONNX Runtime gives the same BVP as torch.

    result = export_model("runs/distill/best.pt", "weights/student.onnx")
    result.max_abs_diff            # <= 1e-4 or ExportError

Student: the chunk graph (``kdphys.models.StudentChunkModule``): inputs ``frames`` (1, T, 3, S, S), any T,
plus the state (previous frame, moving average, one shifted slice per shift layer, the temporal stage's past
inputs), outputs ``bvp`` (1, T) plus the new state. A host feeds a chunk of frames and the returned state
back with the next (kdphys.methods.neural: a whole segment in one call, or one frame at a time). Parity:
torch ``Student.forward`` over a whole clip vs the ONNX graph run on the same clip in one call and in
uneven chunks, so it also checks that chunked streaming equals the batch path.

Teacher: the clip graph, fixed shape (1, T, 3, S, S) -> bvp (1, T). Parity: torch vs ONNX on the same clip.

The check clip is face-like data (a smooth colour field with a 1.2 Hz pulse and noise) unless one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kdphys.errors import KDPhysError

PARITY_TOL = 1e-4
OPSET = 18
#: Frames of the example the student graph is traced with (not 1: a dimension traced at 1 is fixed at 1),
#: and the most frames one call may take (the moving average's matrix is T x T).
EXPORT_EXAMPLE_FRAMES = 16
MAX_CHUNK_FRAMES = 4096


class ExportError(KDPhysError):
    """The exported graph disagrees with torch beyond the tolerance (or cannot be written)."""


@dataclass
class ExportResult:
    path: Path
    kind: str                 # "student" or "teacher"
    max_abs_diff: float       # ONNX Runtime vs torch on the check clip, BVP units
    n_frames: int             # frames of the check clip
    crop_size: int


def check_clip(n_frames: int, crop_size: int, seed: int = 0, fps: float = 30.0) -> np.ndarray:
    """(n_frames, 3, S, S) float32 in [0, 1]: a skin-coloured gradient with a 1.2 Hz pulse and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:crop_size, 0:crop_size] / crop_size
    base = np.stack([0.6 + 0.2 * yy, 0.45 + 0.1 * xx, 0.35 + 0.05 * (xx + yy)])       # (3, S, S)
    t_s = np.arange(n_frames) / fps
    pulse = 0.01 * np.sin(2 * np.pi * 1.2 * t_s)[:, None, None, None] * np.array([0.3, 1.0, 0.5])[:, None, None]
    clip = base[None] * (1 + pulse) + rng.normal(0, 0.01, (n_frames, 3, crop_size, crop_size))
    return np.clip(clip, 0, 1).astype(np.float32)


def export_student(student, path: str | Path, crop_size: int = 72, clip: np.ndarray | None = None,
                   tol: float = PARITY_TOL, skin_region: str | None = None) -> ExportResult:
    """Write the student's chunk graph (any number of frames per call) to ``path`` and check it against
    ``student.forward``, whole and in uneven chunks (1, 2, 3, ... frames).

    ``skin_region`` (kdphys.face.SKIN_REGIONS: the crops it was trained on) is stored in the graph's metadata,
    where ``NeuralMethod`` reads it; graphs without it are taken as "forehead_cheeks"."""
    from kdphys.models import StudentChunkModule
    from kdphys.methods.neural import OnnxStudentStream, _onnx_session

    student = student.eval()
    module = StudentChunkModule(student).eval()
    hw = (crop_size, crop_size)
    example = torch.from_numpy(check_clip(EXPORT_EXAMPLE_FRAMES, crop_size))[None]
    state = student.initial_state(example[:, 0])
    frames_dim = {1: torch.export.Dim("frames", min=1, max=MAX_CHUNK_FRAMES)}
    _export(module, (example, *state), path, module.input_names(hw), module.output_names(hw),
            dynamic_shapes={"frames": frames_dim, "state": (None,) * len(state)})
    if skin_region is not None:
        _set_metadata(path, {"skin_region": skin_region})
    clip = check_clip(64, crop_size) if clip is None else np.asarray(clip, np.float32)
    with torch.no_grad():
        ref = student(torch.from_numpy(clip)[None]).bvp[0].numpy()
    stream = OnnxStudentStream(_onnx_session(path))
    whole = stream.run(clip)
    stream.reset()
    sizes = np.cumsum(np.arange(1, len(clip) + 1))
    chunked = np.concatenate([stream.run(part) for part in np.split(clip, sizes[sizes < len(clip)])])
    result = _result(path, "student", ref, whole, crop_size, tol)
    _result(path, "student (in chunks)", ref, chunked, crop_size, tol)
    return result


def export_teacher(teacher, path: str | Path, crop_size: int = 72, n_frames: int = 128,
                   clip: np.ndarray | None = None, tol: float = PARITY_TOL) -> ExportResult:
    """Write the teacher's clip graph (1, n_frames, 3, S, S) -> (1, n_frames) and check it against torch."""
    import onnxruntime as ort

    teacher = teacher.eval()
    clip = check_clip(n_frames, crop_size) if clip is None else np.asarray(clip, np.float32)
    example = torch.from_numpy(clip)[None]
    _export(_BvpOnly(teacher).eval(), (example,), path, ["clips"], ["bvp"])
    with torch.no_grad():
        ref = teacher(example).bvp[0].numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"clips": clip[None]})[0][0]
    return _result(path, "teacher", ref, got, crop_size, tol)


def export_model(checkpoint: str | Path, out_path: str | Path, kind: str | None = None, n_frames: int = 128,
                 tol: float = PARITY_TOL) -> ExportResult:
    """Export a training checkpoint (or bare state dict with ``kind``) to ONNX, with the parity check."""
    from kdphys.models.checkpoints import load_model

    model, crop_size, skin_region, _ = load_model(checkpoint, kind)
    if type(model).__name__ == "Student":
        return export_student(model, out_path, crop_size, tol=tol, skin_region=skin_region)
    return export_teacher(model, out_path, crop_size, n_frames, tol=tol)


def _set_metadata(path: str | Path, values: dict[str, str]) -> None:
    """Add string key/values to an ONNX file's metadata_props (in place)."""
    import onnx

    graph = onnx.load(str(path))
    for key, value in values.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(graph, str(path))


class _BvpOnly(torch.nn.Module):
    """Model -> its BVP tensor only (ONNX graphs return tensors, not ModelOutput)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, clips):
        return self.model(clips).bvp


def _export(module, args: tuple, path, input_names, output_names, dynamic_shapes=None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if dynamic_shapes is not None:   # traced here: torch.onnx.export turns the specs' tuples into lists
            module = torch.export.export(module, args, dynamic_shapes=dynamic_shapes)
        torch.onnx.export(module, args, str(path), input_names=input_names, output_names=output_names,
                          opset_version=OPSET, dynamo=True, external_data=False, verbose=False)
    except Exception as err:
        raise ExportError(f"ONNX export to {path} failed: {err}") from err


def _result(path, kind, ref, got, crop_size, tol) -> ExportResult:
    diff = float(np.max(np.abs(np.asarray(ref, np.float64) - np.asarray(got, np.float64))))
    if not np.isfinite(diff) or diff > tol:
        raise ExportError(f"{kind} ONNX output differs from torch by {diff:.2e} (> {tol:.0e}); {path} is not usable.")
    return ExportResult(path=Path(path), kind=kind, max_abs_diff=diff, n_frames=len(ref), crop_size=crop_size)
