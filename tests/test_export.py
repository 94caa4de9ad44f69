"""ONNX export: student chunk graph and teacher clip graph match torch within 1e-4; NeuralMethod runs them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdphys.training.config import config_to_dict, load_config
from kdphys.paths import REPO_ROOT


def _trained_like(model, seed: int = 0):
    """Random but non-trivial weights and BatchNorm statistics (an untrained net's output is nearly constant)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=gen) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape, generator=gen) + 0.5)
    return model.eval()


def _checkpoint(tmp_path, model, kind: str, crop_size: int):
    cfg = load_config(REPO_ROOT / "configs" / "tiny.yaml", [f"data.crop_size={crop_size}"])
    path = tmp_path / f"{kind}.pt"
    torch.save({"model": model.state_dict(), "kind": kind, "model_kwargs": {}, "config": config_to_dict(cfg),
                "epoch": 1, "best_val_mae_bpm": 1.0}, path)
    return path


def test_student_onnx_streaming_graph_matches_torch(tmp_path):
    from kdphys.models.export import check_clip, export_model
    from kdphys.methods.neural import NeuralMethod, StudentMethod
    from kdphys.models import Student

    torch.manual_seed(0)
    torch.set_num_threads(2)
    student = _trained_like(Student())
    ckpt = _checkpoint(tmp_path, student, "student", crop_size=48)
    result = export_model(ckpt, tmp_path / "student.onnx")
    assert result.kind == "student" and result.crop_size == 48 and result.n_frames == 64
    assert result.max_abs_diff <= 1e-4
    assert (tmp_path / "student.onnx").stat().st_size > 100_000        # weights inside the file

    clip = check_clip(40, 48, seed=3)                                   # (T, 3, S, S) float 0..1
    crops = np.rint(clip.transpose(0, 2, 3, 1) * 255).astype(np.uint8)
    with torch.no_grad():
        ref = student(torch.from_numpy(crops.transpose(0, 3, 1, 2).astype(np.float32) / 255)[None]).bvp[0].numpy()
    onnx_method = NeuralMethod.from_file(tmp_path / "student.onnx")
    assert isinstance(onnx_method, StudentMethod) and onnx_method.crop_size == 48
    stream = onnx_method.open_stream()
    streamed = np.array([stream.step(c) for c in crops])
    assert np.max(np.abs(streamed - ref)) <= 1e-4
    torch_method = NeuralMethod.from_file(ckpt)
    bvp_onnx, bvp_torch = onnx_method.bvp(crops, 30.0), torch_method.bvp(crops, 30.0)
    assert bvp_onnx.shape == bvp_torch.shape == (40,)
    assert np.corrcoef(bvp_onnx, bvp_torch)[0, 1] > 0.999
    long_crops = np.concatenate([crops] * 8)                            # 320 frames: three fresh-state windows
    np.testing.assert_allclose(onnx_method.bvp(long_crops, 30.0), torch_method.bvp(long_crops, 30.0), atol=1e-3)

    from kdphys.pipeline.engine import Engine, EngineSettings
    live = Engine(EngineSettings(method="student", history_s=20.0), method=onnx_method)
    # not streamed past its training chunks: 128-frame fresh-state windows
    assert (live._segments.segment_len, live._segments.overlap_len) == (128, 32)
    assert live._segments.max_samples == 600                            # live memory bounded by the history
    assert Engine(method=onnx_method, keep_all=True)._segments.max_samples is None


def test_teacher_onnx_matches_torch_and_windows_cover_long_input(tmp_path):
    from kdphys.models.export import export_model
    from kdphys.methods.neural import NeuralMethod
    from kdphys.models import Teacher

    torch.manual_seed(1)
    torch.set_num_threads(2)
    teacher = _trained_like(Teacher(), seed=1)
    ckpt = _checkpoint(tmp_path, teacher, "teacher", crop_size=32)
    result = export_model(ckpt, tmp_path / "teacher.onnx", n_frames=32)
    assert result.kind == "teacher" and result.max_abs_diff <= 1e-4 and result.n_frames == 32

    method = NeuralMethod.from_file(ckpt, window_len=32, overlap_len=8)
    assert not hasattr(method, "open_stream")            # the engine must not try to stream the teacher
    crops = np.random.default_rng(0).integers(90, 160, (75, 40, 40, 3), dtype=np.uint8)   # resized to 32
    bvp = method.bvp(crops, 30.0)
    assert bvp.shape == (75,) and np.all(np.isfinite(bvp))
    assert method.bvp(crops[::2], 15.0).shape == (38,)   # other frame rates map to 30 fps and back


def test_missing_or_bad_weights_say_what_to_do(tmp_path):
    from kdphys.errors import WeightsError
    from kdphys.methods.neural import NeuralMethod

    with pytest.raises(WeightsError, match="not found"):
        NeuralMethod.from_file(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="could not be read"):
        NeuralMethod.from_file(bad, kind="student")
