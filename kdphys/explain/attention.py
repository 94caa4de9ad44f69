"""Teacher and student attention over the face: maps of the keyframes' crops and how far they agree.

    att = attention_comparison(result.keyframes)    # teacher vs student attention over keyframe crops
    att.agreement[att.display_index].mean()         # cosine of the aligned maps, 0..1 (1 = same place)

Attention maps follow kdphys.models.attention (channel mean of |F|^2, L2-normalised per frame); the
teacher's (T', H', W') maps are aligned in time and space to the student's per-frame maps with
``align_maps``, and agreement is the cosine similarity of the two aligned maps per frame. Because maps are
non-negative the score lies in 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kdphys.errors import KDPhysError, WeightsError
from kdphys.models.checkpoints import shipped_model

@dataclass
class AttentionComparison:
    """Teacher and student attention over keyframe crops.

    Attributes:
        t_s: (K,) keyframe times, seconds.
        crops: (K, S, S, 3) uint8 RGB face crops.
        views: K pictures (V, V, 3) uint8 RGB of the video around the face (None where a keyframe has none).
        boxes: K crop boxes (4,) x0, y0, x1, y1 in view pixels (None without a view).
        layer_pairs: (teacher layer, student layer) names, in the order of the map arrays.
        display_index: index of the pair shown by default (the teacher's ``display_layer``, 18x18).
        teacher_maps: per pair, (K, h, w) float maps aligned to the student's (L2-normalised per frame).
        student_maps: per pair, (K, h, w) float maps.
        agreement: per pair, (K,) cosine similarity of the aligned maps, 0..1.
    """

    t_s: np.ndarray
    crops: np.ndarray
    layer_pairs: list[tuple[str, str]]
    teacher_maps: list[np.ndarray] = field(default_factory=list)
    student_maps: list[np.ndarray] = field(default_factory=list)
    agreement: list[np.ndarray] = field(default_factory=list)
    display_index: int = -1
    views: list = field(default_factory=list)
    boxes: list = field(default_factory=list)

    def mean_agreement(self, pair_index: int | None = None) -> float:
        """Mean agreement over keyframes for one layer pair (the teacher's display layer by default)."""
        return float(np.mean(self.agreement[self.display_index if pair_index is None else pair_index]))

    def overlays(self, k: int, pair_index: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(teacher overlay, student overlay), each (S, S, 3) uint8: keyframe k with the heatmap on top."""
        from kdphys.models.attention import overlay_heatmap

        pair_index = self.display_index if pair_index is None else pair_index
        crop = self.crops[k]
        return (overlay_heatmap(crop, self.teacher_maps[pair_index][k]),
                overlay_heatmap(crop, self.student_maps[pair_index][k]))


def attention_comparison(keyframes: list[tuple[float, np.ndarray]], min_frames: int = 8,
                         teacher=None, student=None) -> AttentionComparison:
    """Run teacher and student on the keyframe crops and compare their attention maps.

    Args:
        keyframes: kdphys.pipeline.engine.Keyframe list (AnalysisResult.keyframes), about one per second; (t_s,
            crop (S, S, 3) uint8 RGB) pairs work too (no view of the frame then).
        min_frames: shorter keyframe lists are repeated up to this length so that the teacher's temporal
            pooling has something to pool (the output is cut back to the keyframes).
        teacher, student: kdphys.models Teacher / Student; loaded from weights/ when None.
    Raises:
        WeightsError: the teacher or the student weights are missing.
        KDPhysError: fewer than 2 keyframes.
    """
    import torch

    from kdphys.models.attention import LAYER_PAIRS, align_maps, attention_map

    if len(keyframes) < 2:
        raise KDPhysError("Too few face crops to compare attention (the video is too short or has no face).")
    teacher = teacher if teacher is not None else shipped_model("teacher")
    student = student if student is not None else shipped_model("student")
    t_s = np.array([t for t, _ in keyframes], dtype=float)
    crops = np.stack([c for _, c in keyframes]).astype(np.uint8)
    k = len(crops)
    reps = int(np.ceil(min_frames / k))
    clip = np.concatenate([crops] * reps)[: max(k, min_frames)]
    x = torch.from_numpy(clip).float().div(255.0).permute(0, 3, 1, 2).unsqueeze(0)  # (1, T, 3, S, S)
    with torch.no_grad():
        t_out, s_out = teacher(x), student(x)
        out = AttentionComparison(t_s=t_s, crops=crops, layer_pairs=[],
                                  views=[getattr(kf, "view", None) for kf in keyframes],
                                  boxes=[getattr(kf, "box_xyxy", None) for kf in keyframes])
        for t_name, s_name in LAYER_PAIRS:
            if t_name not in t_out.features or s_name not in s_out.features:
                continue
            t_map, s_map = align_maps(attention_map(t_out.features[t_name], layout=teacher.feature_layout),
                                      attention_map(s_out.features[s_name], layout=student.feature_layout))
            t_np = t_map[0].float().numpy()[:k]
            s_np = s_map[0].float().numpy()[:k]
            out.layer_pairs.append((t_name, s_name))
            out.teacher_maps.append(t_np)
            out.student_maps.append(s_np)
            out.agreement.append(cosine_per_frame(t_np, s_np))
            if t_name == getattr(teacher, "display_layer", None):
                out.display_index = len(out.layer_pairs) - 1
    if not out.layer_pairs:
        raise WeightsError("The teacher and student expose no matching feature layers for attention maps.")
    return out


def cosine_per_frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of two (K, h, w) map stacks, per frame -> (K,); 0 where a map is all zero."""
    a2 = a.reshape(len(a), -1).astype(np.float64)
    b2 = b.reshape(len(b), -1).astype(np.float64)
    num = (a2 * b2).sum(axis=1)
    den = np.linalg.norm(a2, axis=1) * np.linalg.norm(b2, axis=1)
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)
