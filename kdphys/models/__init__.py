"""Neural rPPG models: the 3D-CNN teacher, the causal 2D-CNN student, and their attention maps.

One input layout for both models: clips (B, T, 3, H, W) float32 RGB in [0, 1], T frames at 30 fps,
H = W = crop size (36 for the shipped weights; any size >= 32 runs). Both return :class:`ModelOutput`.

    from kdphys.models import Student, Teacher
    out = Student().eval()(clips)        # out.bvp (B, T); out.features {"s0".."s3": (B, T, C, H', W')}
"""

from dataclasses import dataclass

import torch


@dataclass
class ModelOutput:
    """bvp: (B, T) pulse waveform, one value per input frame, arbitrary units.
    features: named intermediate maps; teacher (B, C, T', H', W'), student (B, T, C, H', W')."""

    bvp: torch.Tensor
    features: dict[str, torch.Tensor]


# ModelOutput is defined before the submodules are imported because they import it from here.
from kdphys.models.attention import LAYER_PAIRS, align_maps, attention_map, display_maps, overlay_heatmap  # noqa: E402
from kdphys.models.student import Student, StudentConfig, StudentChunkModule, StudentStream  # noqa: E402
from kdphys.models.teacher import Teacher, TeacherConfig  # noqa: E402

__all__ = [
    "LAYER_PAIRS",
    "ModelOutput",
    "Student",
    "StudentConfig",
    "StudentChunkModule",
    "StudentStream",
    "Teacher",
    "TeacherConfig",
    "align_maps",
    "attention_map",
    "count_parameters",
    "display_maps",
    "overlay_heatmap",
]


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
