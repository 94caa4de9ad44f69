"""Teacher / student shapes, sizes, causality, streaming parity, ONNX step export, attention maps."""

import numpy as np
import pytest
import torch

from kdphys.models import (
    LAYER_PAIRS,
    Student,
    StudentConfig,
    StudentChunkModule,
    Teacher,
    align_maps,
    attention_map,
    count_parameters,
    display_maps,
    overlay_heatmap,
)

# One thread: on a loaded 2-core machine two OpenMP threads made these tests 3-4x slower (measured).


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _clips(b: int, t: int, size: int = 72, seed: int = 0) -> torch.Tensor:
    """Skin-like random clips (B, T, 3, S, S) in [0, 1] with a small per-frame pulse."""
    g = torch.Generator().manual_seed(seed)
    base = 0.3 + 0.4 * torch.rand(b, 1, 3, size, size, generator=g)
    pulse = 0.01 * torch.sin(torch.arange(t, dtype=torch.float32) * 2 * np.pi * 1.2 / 30)[None, :, None, None, None]
    noise = 0.01 * torch.randn(b, t, 3, size, size, generator=g)
    return (base * (1 + pulse) + noise).clamp(0, 1)


def _trained_like(model: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Give the BatchNorms non-trivial running statistics (as after training), then switch to eval."""
    model.train()
    with torch.no_grad():
        for k in range(2):
            model(_clips(2, 8, size=36, seed=seed + k))
    return model.eval()


def test_parameter_counts():
    n_student = count_parameters(Student())
    n_teacher = count_parameters(Teacher())
    print(f"student {n_student} parameters, teacher {n_teacher}")
    assert 35_000 <= n_student <= 45_000       # (8, 16, 32, 64), one block per stage, temporal stage; the paper's 0.23M
    assert count_parameters(Student(StudentConfig(temporal_channels=0))) == n_student - 14_529
    assert 700_000 <= n_teacher <= 850_000   # PhysNet: 0.77M


@pytest.mark.parametrize("n_frames", [32, 128])
def test_student_shapes(n_frames):
    with torch.no_grad():
        out = Student().eval()(_clips(1, n_frames))
    assert out.bvp.shape == (1, n_frames)
    expected = {"s0": (8, 72, 72), "s1": (16, 36, 36), "s2": (32, 18, 18), "s3": (64, 9, 9)}
    for name, chw in expected.items():
        assert out.features[name].shape == (1, n_frames, *chw)
    assert torch.isfinite(out.bvp).all()


@pytest.mark.parametrize("n_frames", [32, 128, 30])
def test_teacher_shapes(n_frames):
    with torch.no_grad():
        out = Teacher().eval()(_clips(1, n_frames))
    assert out.bvp.shape == (1, n_frames)
    assert out.features["b3"].shape == (1, 64, n_frames, 36, 36)
    assert out.features["b5"].shape == (1, 64, n_frames // 2, 18, 18)
    assert out.features["b7"].shape == (1, 64, n_frames // 4, 9, 9)
    assert torch.isfinite(out.bvp).all()


def test_layer_pairs_name_existing_features_of_equal_resolution():
    clips = _clips(1, 16)
    with torch.no_grad():
        t_feat = Teacher().eval()(clips).features
        s_feat = Student().eval()(clips).features
    assert 2 <= len(LAYER_PAIRS) <= 3
    for t_name, s_name in LAYER_PAIRS:
        assert t_feat[t_name].shape[-2:] == s_feat[s_name].shape[-2:]


def _with_temporal_output(student: Student, seed: int = 2) -> Student:
    """Random weights in the temporal stage's output layer (zero at initialisation, which would hide it)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        student.temporal_out.weight.copy_(torch.randn(student.temporal_out.weight.shape, generator=gen))
    return student


def test_temporal_stage_streams_as_the_batch_path_and_stays_causal():
    student = _with_temporal_output(_trained_like(Student(StudentConfig(temporal_channels=8))))
    clips = _clips(2, 40, size=36, seed=5)
    with torch.no_grad():
        batch = student(clips).bvp
        plain = Student(StudentConfig(**{**student.config.__dict__, "temporal_channels": 0}))
        plain.load_state_dict({k: v for k, v in student.state_dict().items() if not k.startswith("temporal")})
        assert (plain.eval()(clips).bvp - batch).abs().max() > 1e-3      # the stage changes the output
    stream = student.stream()
    steps = torch.stack([stream.step(clips[:, t]) for t in range(clips.shape[1])], dim=1)
    assert (steps - batch).abs().max().item() <= 1e-5
    past = 2 * (1 + 2 + 4 + 8)                              # kernel 3, dilations 1, 2, 4, 8
    assert stream.state_size_floats == 2 * 3 * 36 * 36 + 2 * 18 * 18 + 4 * 9 * 9 + 8 * 4 * 4 + 8 * past
    changed = clips.clone()
    changed[:, 25:] = torch.rand_like(changed[:, 25:])
    with torch.no_grad():
        moved = student(changed).bvp
    assert torch.allclose(batch[:, :25], moved[:, :25], rtol=0, atol=1e-7)
    assert (batch[:, 25:] - moved[:, 25:]).abs().max() > 1e-4


def test_temporal_stage_starts_as_the_student_without_it():
    fresh = Student(StudentConfig(temporal_channels=8)).eval()
    clips = _clips(1, 20, size=36, seed=4)
    with torch.no_grad():
        plain = Student(StudentConfig(temporal_channels=0)).eval()
        plain.load_state_dict({k: v for k, v in fresh.state_dict().items() if not k.startswith("temporal")})
        assert torch.equal(fresh(clips).bvp, plain(clips).bvp)


def test_stream_equals_batch_forward():
    student = _trained_like(Student())
    clips = _clips(2, 12, seed=5)
    with torch.no_grad():
        batch = student(clips).bvp
    stream = student.stream()
    steps = torch.stack([stream.step(clips[:, t]) for t in range(clips.shape[1])], dim=1)
    assert steps.shape == batch.shape
    assert (steps - batch).abs().max().item() <= 1e-5
    # previous frame + moving average (2 x 3 x 72 x 72) + 3 shifted slices (C_in / 4 of 8, 16, 32 channels)
    # + the temporal stage's past inputs (32 channels x 2 x dilation 1, 2, 4, 8)
    assert stream.state_size_floats == 2 * 3 * 72 * 72 + 2 * 36 * 36 + 4 * 18 * 18 + 8 * 9 * 9 + 32 * 2 * 15
    stream.reset()
    assert stream.state_size_floats == 0
    again = stream.step(clips[:, 0])
    assert torch.allclose(again, batch[:, 0], atol=1e-5)


def test_stream_refuses_training_mode():
    stream = Student().train().stream()
    with pytest.raises(RuntimeError, match="eval"):
        stream.step(torch.rand(1, 3, 72, 72))


def test_student_is_causal():
    student = _trained_like(Student())
    clips = _clips(1, 12, seed=3)
    changed = clips.clone()
    changed[:, 7:] = torch.rand_like(changed[:, 7:])
    with torch.no_grad():
        a, b = student(clips), student(changed)
    assert torch.allclose(a.bvp[:, :7], b.bvp[:, :7], rtol=0, atol=1e-7)
    assert torch.allclose(a.features["s3"][:, :7], b.features["s3"][:, :7], rtol=0, atol=1e-7)
    assert (a.bvp[:, 7:] - b.bvp[:, 7:]).abs().min() > 1e-6   # while the changed frames do matter


def test_models_ignore_absolute_brightness():
    clips = _clips(1, 16, size=36, seed=7)
    student, teacher = _trained_like(Student()), _trained_like(Teacher())
    with torch.no_grad():
        for model in (student, teacher):
            bright, dark = model(clips).bvp[0], model(clips * 0.5).bvp[0]
            r = np.corrcoef(bright.numpy(), dark.numpy())[0, 1]
            assert r > 0.98, f"{type(model).__name__}: r = {r:.3f} between bright and dark copies"


def test_bad_input_shape_message():
    with pytest.raises(ValueError, match=r"\(B, T, 3, H, W\)"):
        Student()(torch.rand(8, 3, 72, 72))
    with pytest.raises(ValueError, match=r"\(B, T, 3, H, W\)"):
        Teacher()(torch.rand(1, 8, 72, 72, 3))


@pytest.mark.parametrize("temporal_channels", [0, 8])
def test_chunk_graph_takes_any_number_of_frames_and_matches_forward(tmp_path, temporal_channels):
    pytest.importorskip("onnxruntime")
    from kdphys.methods.neural import OnnxStudentStream, _onnx_session
    from kdphys.models.export import export_student

    student = _trained_like(Student(StudentConfig(temporal_channels=temporal_channels)))
    if temporal_channels:
        _with_temporal_output(student)
    export_student(student, tmp_path / "student.onnx", crop_size=36)
    stream = OnnxStudentStream(_onnx_session(tmp_path / "student.onnx"))
    module = StudentChunkModule(student)
    assert stream.input_names == module.input_names((36, 36))
    clips = _clips(1, 40, size=36, seed=9)
    with torch.no_grad():
        reference = student(clips).bvp[0].numpy()
    frames = clips[0].numpy()
    whole = stream.run(frames)
    stream.reset()
    one_by_one = np.array([stream.step_float(f) for f in frames])
    stream.reset()
    uneven = np.concatenate([stream.run(frames[:1]), stream.run(frames[1:17]), stream.run(frames[17:])])
    for got in (whole, one_by_one, uneven):
        assert got.shape == reference.shape
        assert np.abs(got - reference).max() <= 1e-4
    assert [tuple(s.shape[1:]) for s in stream.state] == module.state_shapes((36, 36))


def test_chunk_equals_forward_and_carries_state():
    student = _with_temporal_output(_trained_like(Student()))
    clips = _clips(2, 24, size=36, seed=3)
    with torch.no_grad():
        reference = student(clips).bvp
        first, state = student.chunk(clips[:, :10], student.initial_state(clips[:, 0]))
        second, _ = student.chunk(clips[:, 10:], state)
    assert torch.allclose(torch.cat([first, second], dim=1), reference, atol=1e-5)


def test_step_graph_from_an_older_export_is_refused_with_advice(tmp_path):
    pytest.importorskip("onnxruntime")
    from kdphys.errors import WeightsError
    from kdphys.methods.neural import _onnx_session

    path = tmp_path / "old_step.onnx"
    torch.onnx.export(torch.nn.Conv2d(3, 1, 1), (torch.zeros(1, 3, 36, 36),), str(path), input_names=["frame"],
                      dynamo=False, opset_version=17)
    with pytest.raises(WeightsError, match="kdphys export"):
        _onnx_session(path)


# ----- attention maps -----

def test_attention_map_unit_norm_per_frame():
    g = torch.Generator().manual_seed(0)
    teacher_feat = torch.randn(2, 8, 6, 9, 9, generator=g)      # (B, C, T, H, W)
    student_feat = torch.randn(2, 6, 8, 18, 18, generator=g)    # (B, T, C, H, W)
    for feat, layout, t in ((teacher_feat, "BCTHW", 6), (student_feat, "BTCHW", 6)):
        amap = attention_map(feat, layout=layout)
        assert amap.shape[:2] == (2, t)
        norms = amap.flatten(2).norm(dim=2)
        assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
        assert (amap >= 0).all()
    zero = attention_map(torch.zeros(1, 2, 4, 3, 3), layout="BTCHW")
    assert torch.equal(zero, torch.zeros_like(zero))
    with pytest.raises(ValueError, match="layout"):
        attention_map(teacher_feat, layout="NCHW")


def test_align_maps_time_and_space():
    teacher_map = torch.rand(2, 8, 18, 18)     # T' = 8
    student_map = torch.rand(2, 32, 9, 9)      # T = 32
    a_t, a_s = align_maps(teacher_map, student_map)
    assert a_t.shape == a_s.shape == (2, 32, 9, 9)
    for amap in (a_t, a_s):
        assert torch.allclose(amap.flatten(2).norm(dim=2), torch.ones(2, 32), atol=1e-5)
    # a teacher constant in time stays constant after interpolation
    const = torch.rand(1, 1, 9, 9).expand(1, 4, 9, 9)
    a_c, _ = align_maps(const, torch.rand(1, 16, 9, 9))
    assert torch.allclose(a_c[0, 0], a_c[0, -1], atol=1e-6)


def test_overlay_heatmap_shape_dtype_and_blend():
    crop = np.full((72, 72, 3), 120, np.uint8)
    amap = np.zeros((9, 9), np.float32)
    amap[4, 4] = 1.0
    out = overlay_heatmap(crop, amap)
    assert out.shape == (72, 72, 3) and out.dtype == np.uint8
    assert not np.array_equal(out, crop)
    assert np.array_equal(overlay_heatmap(crop, amap, alpha=0.0), crop)
    # JET: the hot centre is red-ish, the cold corner blue-ish (RGB order)
    assert out[36, 36, 0] > out[36, 36, 2] and out[0, 0, 2] > out[0, 0, 0]
    with pytest.raises(ValueError, match="uint8"):
        overlay_heatmap(crop.astype(np.float32), amap)


@pytest.mark.parametrize("model_cls", [Student, Teacher])
def test_display_maps(model_cls):
    model = _trained_like(model_cls())
    model.train()
    maps = display_maps(model, _clips(1, 16))
    assert model.training                                  # state restored
    assert maps.shape == (16, 72, 72) and maps.dtype == np.float32
    assert maps.min() >= 0 and np.allclose(maps.reshape(16, -1).max(axis=1), 1.0, atol=1e-5)
