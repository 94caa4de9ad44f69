"""Spatial attention maps of feature tensors: for distillation (teacher -> student) and for display.

attention map of a feature tensor F = channel-wise mean of |F|^p (p = 2), L2-normalised per frame
(Zagoruyko & Komodakis 2017, applied frame by frame). The 3D teacher's maps live on its own time grid
T' (T, T/2 or T/4); :func:`align_maps` resamples them to the student's T frames and pools both maps
to the smaller spatial size, so paired layers can be compared frame by frame.

Layer pairs (teacher name, student name), chosen by equal spatial resolution at a 72x72 crop and equal
relative depth (second, third and fourth resolution level of both networks):

    ("b3", "s1")  36x36   teacher block 3 (after 2 convs at 36x36, full T)   student stage 1
    ("b5", "s2")  18x18   teacher block 5 (T/2)                               student stage 2
    ("b7", "s3")   9x9    teacher block 7 (T/4)                               student stage 3

The 72x72 level (edges, texture) and the teacher's 4x4 level (too coarse to say where skin is) are
left out.

Five-line use::

    from kdphys.models.attention import display_maps, overlay_heatmap
    maps = display_maps(student, clip[None])          # (T, 72, 72) float in [0, 1]
    rgb = overlay_heatmap(crop_uint8, maps[0])        # (72, 72, 3) uint8 RGB
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

LAYER_PAIRS: tuple[tuple[str, str], ...] = (("b3", "s1"), ("b5", "s2"), ("b7", "s3"))

Layout = Literal["BCTHW", "BTCHW"]
_EPS = 1e-8


def attention_map(feat: torch.Tensor, layout: Layout, p: float = 2.0) -> torch.Tensor:
    """Per-frame spatial attention map of a feature tensor -> (B, T, H, W), unit L2 norm per frame.

    feat: (B, C, T, H, W) for the 3D teacher (layout="BCTHW") or (B, T, C, H, W) for the 2D student
    (layout="BTCHW"); both are 5-D, so the layout must be given. A frame whose features are all zero
    maps to all zeros.
    """
    if feat.ndim != 5:
        raise ValueError(f"attention_map expects a 5-D feature tensor, got shape {tuple(feat.shape)}.")
    if layout == "BCTHW":
        channel_dim = 1
    elif layout == "BTCHW":
        channel_dim = 2
    else:
        raise ValueError(f"layout must be 'BCTHW' (teacher) or 'BTCHW' (student), got {layout!r}.")
    amap = feat.abs().pow(p).mean(dim=channel_dim)   # (B, T, H, W)
    return _normalise_frames(amap)


def _normalise_frames(amap: torch.Tensor) -> torch.Tensor:
    """Divide each frame of (B, T, H, W) by its L2 norm over (H, W)."""
    norm = amap.flatten(2).norm(dim=2)[:, :, None, None]
    return amap / (norm + _EPS)


def _resample_time(amap: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Linear interpolation of (B, T', H, W) maps to (B, n_frames, H, W) along time."""
    if amap.shape[1] == n_frames:
        return amap
    b, t, h, w = amap.shape
    flat = amap.permute(0, 2, 3, 1).reshape(b, h * w, t)
    flat = F.interpolate(flat, size=n_frames, mode="linear", align_corners=False)
    return flat.reshape(b, h, w, n_frames).permute(0, 3, 1, 2)


def _pool_space(amap: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    """Adaptive average pooling of (B, T, H, W) maps to (B, T, *size_hw)."""
    if tuple(amap.shape[2:]) == tuple(size_hw):
        return amap
    return F.adaptive_avg_pool2d(amap, size_hw)


def align_maps(teacher_map: torch.Tensor, student_map: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bring a teacher map (B, T', H1, W1) and a student map (B, T, H2, W2) to one shape (B, T, h, w).

    Time: the teacher is linearly interpolated T' -> T (the student has one map per input frame).
    Space: both are adaptively average-pooled to h = min(H1, H2), w = min(W1, W2). Both are then
    re-normalised to unit L2 per frame (pooling changes the norm).
    """
    if teacher_map.ndim != 4 or student_map.ndim != 4 or teacher_map.shape[0] != student_map.shape[0]:
        raise ValueError(
            f"align_maps expects (B, T', H, W) and (B, T, h, w) maps with one batch size, got "
            f"{tuple(teacher_map.shape)} and {tuple(student_map.shape)}."
        )
    size_hw = (min(teacher_map.shape[2], student_map.shape[2]), min(teacher_map.shape[3], student_map.shape[3]))
    teacher = _pool_space(_resample_time(teacher_map, student_map.shape[1]), size_hw)
    student = _pool_space(student_map, size_hw)
    return _normalise_frames(teacher), _normalise_frames(student)


def overlay_heatmap(crop_rgb: np.ndarray, att_map: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend a JET-coloured attention map over a face crop.

    crop_rgb: (S, S, 3) uint8 RGB (any H x W works). att_map: (h, w) float, any scale; resized to the
    crop with bilinear interpolation and min-max scaled to 0..1. alpha: weight of the heatmap.
    Returns (S, S, 3) uint8 RGB.
    """
    crop_rgb = np.asarray(crop_rgb)
    att_map = np.asarray(att_map, dtype=np.float32)
    if crop_rgb.ndim != 3 or crop_rgb.shape[2] != 3 or crop_rgb.dtype != np.uint8:
        raise ValueError(f"overlay_heatmap needs an (H, W, 3) uint8 RGB crop, got {crop_rgb.shape} {crop_rgb.dtype}.")
    if att_map.ndim != 2:
        raise ValueError(f"overlay_heatmap needs a 2-D (h, w) map, got shape {att_map.shape}.")
    h, w = crop_rgb.shape[:2]
    resized = cv2.resize(att_map, (w, h), interpolation=cv2.INTER_LINEAR)
    resized = np.nan_to_num(resized, nan=0.0, posinf=0.0, neginf=0.0)
    span = float(resized.max() - resized.min())
    scaled = (resized - resized.min()) / span if span > 0 else np.zeros_like(resized)
    heat_bgr = cv2.applyColorMap(np.round(scaled * 255).astype(np.uint8), cv2.COLORMAP_JET)
    heat_rgb = cv2.cvtColor(heat_bgr, cv2.COLOR_BGR2RGB)
    blended = (1.0 - alpha) * crop_rgb.astype(np.float32) + alpha * heat_rgb.astype(np.float32)
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def display_maps(model: torch.nn.Module, clips: torch.Tensor, layer: str | None = None) -> np.ndarray:
    """Per-frame attention maps of one clip at crop resolution, for display.

    model: a Teacher or Student (uses its ``feature_layout`` and ``display_layer`` attributes).
    clips: (1, T, 3, S, S) float32 RGB in [0, 1]. layer: feature name (default: the model's
    ``display_layer``, the 18x18 level). Returns (T, S, S) float32, each frame scaled to max 1.
    Runs the model in eval mode without gradients (its train/eval state is restored).
    """
    if clips.ndim != 5 or clips.shape[0] != 1:
        raise ValueError(f"display_maps expects one clip (1, T, 3, S, S), got {tuple(clips.shape)}.")
    layer = layer or model.display_layer
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(clips)
    finally:
        model.train(was_training)
    if layer not in out.features:
        raise KeyError(f"display_maps: no feature {layer!r}; available: {sorted(out.features)}.")
    amap = attention_map(out.features[layer], layout=model.feature_layout)     # (1, T', h, w)
    amap = _resample_time(amap, clips.shape[1])[0]                              # (T, h, w)
    amap = F.interpolate(amap[:, None], size=tuple(clips.shape[3:]), mode="bilinear", align_corners=False)[:, 0]
    peak = amap.flatten(1).amax(dim=1)[:, None, None]
    return (amap / (peak + _EPS)).clamp(0, 1).numpy().astype(np.float32)
