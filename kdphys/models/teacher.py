"""PhysNet-style 3D CNN teacher (Yu et al., BMVC 2019; PhysNet_padding_Encoder_Decoder_MAX layout).

Input clips (B, T, 3, H, W) float32 RGB in [0, 1] (T frames at 30 fps, H = W = 72 by default) ->
ModelOutput(bvp (B, T), features {name: (B, C, T', H', W')}). ~0.77M parameters.

Architecture at 72x72 (k = kernel t,h,w):

    name  op                                   out (C, T', H', W')
    norm  per-pixel temporal-mean normalisation (3, T, 72, 72)
    b1    conv k1x5x5 3->16 + BN + ReLU          (16, T, 72, 72)
          maxpool 1x2x2
    b2    conv k3x3x3 16->32 + BN + ReLU         (32, T, 36, 36)
    b3    conv k3x3x3 32->64 + BN + ReLU         (64, T, 36, 36)
          maxpool 2x2x2
    b4,b5 2 x conv k3x3x3 64->64 + BN + ReLU     (64, T/2, 18, 18)
          maxpool 2x2x2
    b6,b7 2 x conv k3x3x3 64->64 + BN + ReLU     (64, T/4, 9, 9)
          maxpool 1x2x2
    b8,b9 2 x conv k3x3x3 64->64 + BN + ReLU     (64, T/4, 4, 4)
    up1   convT k4x1x1 s2 64->64 + BN + ELU      (64, T/2, 4, 4)
    up2   convT k4x1x1 s2 64->64 + BN + ELU      (64, T, 4, 4)
          spatial mean -> (T, 1, 1); conv 1x1x1 64->1 -> bvp (B, T)
          (T not a multiple of 4: linear resampling of the BVP to T samples)

Input normalisation: each pixel and colour channel is divided by its mean over the clip,
x / mean_t(x) - 1. Under the skin reflection model C(t) = I(t) * rho * (1 + p(t)) this removes the
skin reflectance rho (skin tone) and the light level, leaving the relative pulsatile change p(t)
(~0.1-1 %) and motion; it is the "temporal normalisation" step of POS/CHROM. The target BVP itself
(not its derivative) is then a near-linear function of the input, unlike with frame differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from kdphys.models import ModelOutput


@dataclass
class TeacherConfig:
    """Teacher settings. width: channels of the deep blocks (64 in PhysNet).
    norm_eps: added to the clip mean before dividing (RGB in [0, 1]); norm_clip: the normalised input is
    clamped to +-norm_clip (saturated or near-black pixels would otherwise blow up)."""

    width: int = 64
    norm_eps: float = 1.0 / 255.0
    norm_clip: float = 1.0


def temporal_mean_normalise(clips: torch.Tensor, eps: float, clip: float) -> torch.Tensor:
    """(B, T, 3, H, W) in [0, 1] -> (B, 3, T, H, W) relative change to each pixel's clip mean, clamped."""
    x = clips.permute(0, 2, 1, 3, 4)
    mean = x.mean(dim=2, keepdim=True)
    return ((x - mean) / (mean + eps)).clamp(-clip, clip)


def _conv_bn_relu(c_in: int, c_out: int, kernel: tuple[int, int, int]) -> nn.Sequential:
    padding = tuple(k // 2 for k in kernel)
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, kernel, padding=padding, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


def _upsample_time(width: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose3d(width, width, (4, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0), bias=False),
        nn.BatchNorm3d(width),
        nn.ELU(inplace=True),
    )


class Teacher(nn.Module):
    """PhysNet-style 3D CNN. forward(clips (B, T, 3, H, W)) -> ModelOutput(bvp (B, T), features).

    features: "b1" .. "b9" -> (B, C, T', H', W') after each conv block (see the module docstring).
    Works for any T >= 4 and H, W >= 16; the output is resampled to exactly T frames.
    """

    feature_layout = "BCTHW"
    display_layer = "b5"

    def __init__(self, config: TeacherConfig | None = None):
        super().__init__()
        self.config = config or TeacherConfig()
        w = self.config.width
        k3 = (3, 3, 3)
        self.blocks = nn.ModuleDict(
            {
                "b1": _conv_bn_relu(3, 16, (1, 5, 5)),
                "b2": _conv_bn_relu(16, 32, k3),
                "b3": _conv_bn_relu(32, w, k3),
                "b4": _conv_bn_relu(w, w, k3),
                "b5": _conv_bn_relu(w, w, k3),
                "b6": _conv_bn_relu(w, w, k3),
                "b7": _conv_bn_relu(w, w, k3),
                "b8": _conv_bn_relu(w, w, k3),
                "b9": _conv_bn_relu(w, w, k3),
            }
        )
        # pooling applied before the named block
        self.pool_before = {
            "b2": nn.MaxPool3d((1, 2, 2)),
            "b4": nn.MaxPool3d((2, 2, 2)),
            "b6": nn.MaxPool3d((2, 2, 2)),
            "b8": nn.MaxPool3d((1, 2, 2)),
        }
        self.up1 = _upsample_time(w)
        self.up2 = _upsample_time(w)
        self.head = nn.Conv3d(w, 1, 1)

    def forward(self, clips: torch.Tensor) -> ModelOutput:
        _check_clips(clips, min_frames=4, min_side=16)
        n_frames = clips.shape[1]
        x = temporal_mean_normalise(clips, self.config.norm_eps, self.config.norm_clip)
        features: dict[str, torch.Tensor] = {}
        for name, block in self.blocks.items():
            if name in self.pool_before:
                x = self.pool_before[name](x)
            x = block(x)
            features[name] = x
        x = self.up2(self.up1(x))
        x = x.mean(dim=(3, 4), keepdim=True)                  # global spatial average (B, C, T'', 1, 1)
        bvp = self.head(x)[:, 0, :, 0, 0]                     # (B, T'')
        if bvp.shape[1] != n_frames:                          # T not a multiple of 4: back to T samples
            bvp = F.interpolate(bvp[:, None], size=n_frames, mode="linear", align_corners=False)[:, 0]
        return ModelOutput(bvp=bvp, features=features)


def _check_clips(clips: torch.Tensor, min_frames: int, min_side: int) -> None:
    """Raise a ValueError that says what to pass when clips is not (B, T, 3, H, W) of usable size."""
    if clips.ndim != 5 or clips.shape[2] != 3:
        raise ValueError(
            f"expected clips of shape (B, T, 3, H, W) (RGB in [0, 1]), got {tuple(clips.shape)}; "
            "add a batch dimension with clip[None] and put channels third."
        )
    if clips.shape[1] < min_frames or min(clips.shape[3:]) < min_side:
        raise ValueError(
            f"clips need at least {min_frames} frames and {min_side}x{min_side} pixels, got "
            f"T={clips.shape[1]}, {clips.shape[3]}x{clips.shape[4]}."
        )
