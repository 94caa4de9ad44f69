"""Neural rPPG methods behind the BVPMethod interface: the torch Teacher/Student or the student's ONNX graph.

    method = NeuralMethod.from_file("weights/student.onnx")     # or a .pt checkpoint of kdphys.training.loop
    bvp = method.bvp(crops, fps=30.0)           # crops (n_frames, S, S, 3) uint8 RGB -> (n_frames,)
    stream = method.open_stream()               # StudentMethod only: stream.step(crop) -> float per frame

``from_file`` returns a ``StudentMethod`` (adds ``open_stream``) for a student and a plain
``NeuralMethod`` for the teacher. Sequences run in overlapping windows of ``window_len`` frames, each from
a fresh state (the teacher needs a clip; the student was trained on 128-frame chunks from a fresh state and
reads worse when streamed for longer, see docs/DESIGN.md), z-scored and cross-faded into the next over
``overlap_len`` frames by ``kdphys.methods.segments.SegmentedRunner``; the engine runs both models in the
same windows (``engine_segment``), live and on uploads. Crops of another size are resized to the model's
crop size; crops at another frame rate are mapped to the model's 30 fps by nearest frame and the output
interpolated back. Weights load with ``torch.load(weights_only=True)``.

Registered names (kdphys.methods.get_method): "student" (weights/student.onnx when present, else
weights/student.pt), "student-torch" (weights/student.pt), "teacher" (weights/teacher.pt).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kdphys.errors import WeightsError
from kdphys.methods import register_method
from kdphys.methods.base import BVPMethod
from kdphys.methods.segments import SegmentedRunner
from kdphys.models.checkpoints import LEGACY_SKIN_REGION, load_model
from kdphys.signal import znorm
from kdphys.paths import WEIGHTS_DIR

MODEL_FPS = 30.0


def _to_float_frames(crops: np.ndarray, crop_size: int) -> np.ndarray:
    """(N, S, S, 3) uint8 RGB -> (N, 3, crop_size, crop_size) float32 in [0, 1] (resized if needed)."""
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"neural methods take face crops (n_frames, S, S, 3) uint8 RGB, got {crops.shape}.")
    if crops.shape[1:3] != (crop_size, crop_size):
        import cv2
        crops = np.stack([cv2.resize(c, (crop_size, crop_size), interpolation=cv2.INTER_AREA) for c in crops])
    x = crops.astype(np.float32)
    if crops.dtype == np.uint8:
        x /= 255.0
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


class NeuralMethod(BVPMethod):
    """A Teacher or Student (torch) or a student ONNX Runtime session as a BVPMethod (input_kind="crops").

    Args:
        model: a kdphys.models Teacher or Student (put in eval mode here), or None with ``onnx_path``.
        onnx_path: a student chunk graph written by kdphys.models.export (frames + state -> bvp + state).
        name: method name shown in tables and the app.
        crop_size: face-crop side the model was trained on, pixels.
        skin_region: the skin its crops show (``kdphys.face.SKIN_REGIONS``): what it was trained on. Models
            saved without it were trained on "forehead_cheeks" crops.
        window_len, overlap_len: windowing of long sequences, frames at 30 fps.
        device: torch device for ``model``.
        onnx_threads: ONNX Runtime intra-op threads for ``onnx_path`` (the app: 1).
    """

    input_kind = "crops"

    def __init__(self, model=None, onnx_path: str | Path | None = None, name: str | None = None,
                 crop_size: int = 72, window_len: int = 128, overlap_len: int = 32, device: str = "cpu",
                 skin_region: str = LEGACY_SKIN_REGION, onnx_threads: int = 1):
        if (model is None) == (onnx_path is None):
            raise ValueError("NeuralMethod needs exactly one of model (torch) or onnx_path.")
        self.model = model.eval().to(device) if model is not None else None
        self.session = None
        self.source_path: Path | None = Path(onnx_path) if onnx_path is not None else None   # set by from_file too
        self.device = device
        if onnx_path is not None:
            self.session = _onnx_session(onnx_path, onnx_threads)
            crop_size = int(self.session.get_inputs()[0].shape[-1])
            skin_region = self.session.get_modelmeta().custom_metadata_map.get("skin_region", LEGACY_SKIN_REGION)
        self.kind = "student" if self.session is not None or type(model).__name__ == "Student" else "teacher"
        self.name = name or self.kind
        self.crop_size = int(crop_size)
        self.skin_region = str(skin_region)
        self.window_len = int(window_len)
        self.overlap_len = int(overlap_len)

    # ----------------------------------------------------------------------------------- loading
    @classmethod
    def from_file(cls, path: str | Path, kind: str | None = None, **kw) -> NeuralMethod:
        """From a .onnx student graph, a training checkpoint (.pt from kdphys.training.loop) or a bare state dict
        (then ``kind`` "student"/"teacher" says which model, with default settings)."""
        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"Model weights {path} not found. Train them (python -m kdphys distill) or "
                               "point to an existing .pt/.onnx file.")
        if path.suffix.lower() == ".onnx":
            return StudentMethod(onnx_path=path, **kw)
        loaded = load_model(path, kind)
        cls = StudentMethod if type(loaded.model).__name__ == "Student" else NeuralMethod
        method = cls(model=loaded.model, crop_size=kw.pop("crop_size", loaded.crop_size),
                     skin_region=kw.pop("skin_region", loaded.skin_region), **kw)
        method.source_path = path
        return method

    # ----------------------------------------------------------------------------------- inference
    def bvp(self, x: np.ndarray, fps: float) -> np.ndarray:
        """crops (n_frames, S, S, 3) uint8 RGB at ``fps`` -> BVP (n_frames,) float64, zero mean."""
        n_frames = len(x)
        if n_frames == 0:
            return np.zeros(0)
        if abs(fps - MODEL_FPS) > 0.02 * MODEL_FPS:          # map to 30 fps by nearest frame, and back
            t_model = np.arange(int(round(n_frames / fps * MODEL_FPS))) / MODEL_FPS
            idx = np.clip(np.rint(t_model * fps).astype(int), 0, n_frames - 1)
            bvp_model = self.bvp(np.asarray(x)[idx], MODEL_FPS)
            return znorm(np.interp(np.arange(n_frames) / fps, t_model, bvp_model))
        runner = SegmentedRunner(self._run_window, self.window_len, self.overlap_len)
        for frame in _to_float_frames(x, self.crop_size):
            runner.push(frame)
        return runner.result()

    @property
    def engine_segment(self) -> tuple[int, int]:
        """(segment frames, overlap frames) the engine runs the model in: its own windows."""
        return self.window_len, self.overlap_len

    def _run_window(self, frames: np.ndarray) -> np.ndarray:
        """(T, 3, S, S) float32 -> (T,) BVP, from a fresh state (torch model, or the ONNX chunk graph in one call)."""
        if self.session is not None:
            return OnnxStudentStream(self.session).run(frames)
        import torch
        n = len(frames)
        if self.kind == "teacher" and n < 4:            # the teacher needs a few frames: repeat the last
            frames = np.concatenate([frames, np.repeat(frames[-1:], 4 - n, axis=0)])
        with torch.no_grad():
            clips = torch.from_numpy(frames)[None].to(self.device)
            return self.model(clips).bvp[0, :n].cpu().numpy().astype(np.float64)



class StudentMethod(NeuralMethod):
    """NeuralMethod for the causal student, which can also stream (``open_stream``, one frame per call).

    The engine does not stream it: it runs it in ``engine_segment`` = (window_len, overlap_len) frame
    segments from a fresh state, the length and start of the training chunks; streamed past them, the
    release no-distillation student's real-clip SNR in the app fell from 0.0 to -2.1 dB (docs/DESIGN.md).
    """

    def open_stream(self):
        """Frame-by-frame runner: ``.step(crop (S, S, 3) uint8) -> float``, ``.reset()``."""
        if self.session is not None:
            return OnnxStudentStream(self.session, self.crop_size)
        return TorchStudentStream(self.model, self.crop_size, self.device)


class TorchStudentStream:
    """Student.stream() for uint8 crops: step(crop (S, S, 3) uint8) -> float BVP sample."""

    def __init__(self, model, crop_size: int, device: str = "cpu"):
        self.model, self.crop_size, self.device = model, crop_size, device
        self.stream = model.stream()

    def reset(self) -> None:
        self.stream.reset()

    def step(self, crop: np.ndarray) -> float:
        import torch
        frame = torch.from_numpy(_to_float_frames(np.asarray(crop)[None], self.crop_size)).to(self.device)
        return float(self.stream.step(frame)[0])


class OnnxStudentStream:
    """The exported student chunk graph driven by ONNX Runtime: frames and state in, BVP and state out; any
    number of frames per call (a whole segment, or one frame when streaming)."""

    def __init__(self, session, crop_size: int | None = None):
        self.session = session
        self.crop_size = crop_size or int(session.get_inputs()[0].shape[-1])
        self.input_names = [i.name for i in session.get_inputs()]
        self.state: list[np.ndarray] | None = None

    def reset(self) -> None:
        self.state = None

    def initial_state(self, frame: np.ndarray) -> list[np.ndarray]:
        """As Student.initial_state for ``frame`` (1, 3, S, S): previous frame = moving average = the first
        frame, shifted slices and temporal pasts = 0."""
        state = [frame.copy(), frame.copy()]
        for inp in self.session.get_inputs()[3:]:
            state.append(np.zeros([1, *inp.shape[1:]], np.float32))
        return state

    def run(self, frames: np.ndarray) -> np.ndarray:
        """frames (T, 3, S, S) float32 [0, 1] that follow the ones run before -> BVP (T,) float64."""
        frames = np.ascontiguousarray(frames[None], np.float32)
        if self.state is None:
            self.state = self.initial_state(frames[:, 0])
        outputs = self.session.run(None, dict(zip(self.input_names, [frames, *self.state])))
        self.state = outputs[1:]
        return outputs[0][0].astype(np.float64)

    def step_float(self, frame: np.ndarray) -> float:
        """frame (3, S, S) float32 [0, 1] -> BVP sample."""
        return float(self.run(frame[None])[0])

    def step(self, crop: np.ndarray) -> float:
        return self.step_float(_to_float_frames(np.asarray(crop)[None], self.crop_size)[0])


# --------------------------------------------------------------------------------------------- helpers
def _onnx_session(path: str | Path, threads: int = 1):
    """An ONNX Runtime CPU session of a student chunk graph with ``threads`` intra-op threads (the app: 1)."""
    import onnxruntime as ort
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"ONNX model {path} not found. Export it with: python -m kdphys export.")
    from kdphys.models.checkpoints import verify

    verify(path)                                     # checksum against weights/SHA256SUMS
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)      # the app: 1, keeping the other core for the landmarker
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types
        raise WeightsError(f"{path} is not a loadable ONNX model ({err}). Re-export it: python -m kdphys export.") from err
    if len(session.get_inputs()[0].shape) != 5:
        raise WeightsError(f"{path} is a one-frame step graph from an older export; the app runs chunk graphs "
                           "(frames (1, T, 3, S, S)). Re-export it: python -m kdphys export.")
    return session


def _student(**kw) -> NeuralMethod:
    onnx_path = WEIGHTS_DIR / "student.onnx"
    if "weights" not in kw and onnx_path.is_file():
        return StudentMethod(onnx_path=onnx_path, name="student")
    return _student_torch(**kw)


def _student_torch(weights: str | Path | None = None, **kw) -> NeuralMethod:
    return NeuralMethod.from_file(weights or WEIGHTS_DIR / "student.pt", kind="student", name="student", **kw)


def _teacher(weights: str | Path | None = None, **kw) -> NeuralMethod:
    return NeuralMethod.from_file(weights or WEIGHTS_DIR / "teacher.pt", kind="teacher", name="teacher", **kw)


register_method("student", _student)
register_method("student-torch", _student_torch)
register_method("teacher", _teacher)
