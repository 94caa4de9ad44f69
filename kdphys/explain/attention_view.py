"""Attention maps drawn over the face in the video: pictures, a colour scale and a short animation.

    att = explain.attention_comparison(result.keyframes)   # teacher and student maps per keyframe
    rgb = over_face(att, k=3, who="student")                # (V, V, 3) uint8: the face with the heatmap
    gif = animation_gif(att)                                # bytes: teacher | student over the clip
    bar = colour_scale()                                    # (h, w, 3) uint8 legend, low -> high

Each map (h, w) lives on the models' face crop; the crop's box in the keyframe's view of the frame
(kdphys.pipeline.engine.Keyframe) places it back over the face. A map is scaled to its own maximum (maps are
L2-normalised, so their shapes compare, not their sizes); its colour and its opacity grow with the
attention, so the face stays visible where the model does not look.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: OpenCV colour map of the heatmaps and of the colour scale (blue = little attention, red = most).
COLOUR_MAP = cv2.COLORMAP_TURBO
#: Opacity of the heatmap at the map's maximum (0 at zero attention), 0..1.
MAX_OPACITY = 0.7
#: The colour the scale's legend is drawn over (a light skin tone), RGB.
SKIN_TONE = (222, 188, 165)
#: Layer pairs of kdphys.models.attention.LAYER_PAIRS, in order, in words.
LAYER_LABELS = ("early layer", "middle layer", "late layer")
#: Side of each picture in the animation, pixels.
ANIMATION_SIDE_PX = 224


def layer_label(pair_index: int) -> str:
    """"early layer" / "middle layer" / "late layer" for a layer pair index (0, 1, 2)."""
    return LAYER_LABELS[pair_index] if 0 <= pair_index < len(LAYER_LABELS) else f"layer {pair_index + 1}"


def scaled_map(att_map: np.ndarray, side_px: int) -> np.ndarray:
    """(h, w) attention map -> (side_px, side_px) float32 in 0..1 (cubic resize, scaled to its maximum)."""
    m = np.nan_to_num(np.asarray(att_map, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    m = np.clip(cv2.resize(m, (side_px, side_px), interpolation=cv2.INTER_CUBIC), 0.0, None)
    top = float(m.max())
    return m / top if top > 0 else m


def colours(values: np.ndarray) -> np.ndarray:
    """(...,) floats in 0..1 -> (..., 3) uint8 RGB of COLOUR_MAP."""
    v = np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)
    bgr = cv2.applyColorMap(v.reshape(-1, 1), COLOUR_MAP).reshape(v.shape + (3,))
    return bgr[..., ::-1].copy()


def heat_over_view(view: np.ndarray, box_xyxy: np.ndarray, att_map: np.ndarray,
                   max_opacity: float = MAX_OPACITY) -> np.ndarray:
    """The view (V, V, 3) uint8 RGB with ``att_map`` (h, w) drawn in the crop box (4,) x0, y0, x1, y1 px.

    Returns a new (V, V, 3) uint8 RGB image; the box's outline is drawn thin and white.
    """
    out = np.array(view, dtype=np.uint8, copy=True)
    x0, y0, x1, y1 = (int(round(float(v))) for v in box_xyxy)
    side = max(1, min(x1 - x0, y1 - y0))
    m = scaled_map(att_map, side)
    heat = colours(m).astype(np.float32)
    alpha = (max_opacity * m)[..., None]
    # the part of the box inside the view
    vx0, vy0 = max(x0, 0), max(y0, 0)
    vx1, vy1 = min(x0 + side, out.shape[1]), min(y0 + side, out.shape[0])
    if vx1 <= vx0 or vy1 <= vy0:
        return out
    region = out[vy0:vy1, vx0:vx1].astype(np.float32)
    sub = (slice(vy0 - y0, vy1 - y0), slice(vx0 - x0, vx1 - x0))
    out[vy0:vy1, vx0:vx1] = np.round((1.0 - alpha[sub]) * region + alpha[sub] * heat[sub]).astype(np.uint8)
    cv2.rectangle(out, (vx0, vy0), (vx1 - 1, vy1 - 1), (255, 255, 255), 1)
    return out


def _view_of(att, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Keyframe k's view and crop box; the crop itself, enlarged, when the keyframe has no view."""
    view = att.views[k] if k < len(att.views) else None
    if view is not None and att.boxes[k] is not None:
        return view, att.boxes[k]
    crop = att.crops[k]
    big = cv2.resize(crop, (ANIMATION_SIDE_PX, ANIMATION_SIDE_PX), interpolation=cv2.INTER_NEAREST)
    return big, np.array([0, 0, ANIMATION_SIDE_PX, ANIMATION_SIDE_PX], dtype=np.float32)


def over_face(att, k: int, who: str, pair_index: int | None = None) -> np.ndarray:
    """Keyframe k of an AttentionComparison with the teacher's or the student's map over the face.

    Args:
        att: kdphys.explain.AttentionComparison. who: "teacher" or "student".
        pair_index: layer pair (default: the comparison's display pair, the middle layer).
    Returns:
        (V, V, 3) uint8 RGB.
    """
    pair_index = att.display_index if pair_index is None else pair_index
    maps = {"teacher": att.teacher_maps, "student": att.student_maps}[who]
    view, box = _view_of(att, k)
    return heat_over_view(view, box, maps[pair_index][k])


def colour_scale(width_px: int = 320, height_px: int = 44) -> np.ndarray:
    """A legend (height_px, width_px, 3) uint8 RGB: the colour map from little to most attention, with the
    opacity it has on the face (drawn over a skin tone), labelled."""
    bar_h = max(6, height_px // 2)
    img = Image.new("RGB", (width_px, height_px), "white")
    values = np.linspace(0.0, 1.0, width_px)
    alpha = (MAX_OPACITY * values)[:, None]
    ramp = np.round((1.0 - alpha) * np.array(SKIN_TONE, float) + alpha * colours(values)).astype(np.uint8)
    img.paste(Image.fromarray(np.repeat(ramp[None], bar_h, axis=0)), (0, 0))
    draw = ImageDraw.Draw(img)
    font = _font(max(10, height_px - bar_h - 6))
    draw.text((0, bar_h + 2), "little attention", fill=(31, 41, 51), font=font)
    right = "most attention"
    draw.text((width_px - draw.textlength(right, font=font), bar_h + 2), right, fill=(31, 41, 51), font=font)
    return np.asarray(img)


def _font(size_px: int):
    try:
        return ImageFont.load_default(size=size_px)
    except TypeError:  # Pillow without sized default fonts
        return ImageFont.load_default()


def _labelled(rgb: np.ndarray, text: str, side_px: int) -> Image.Image:
    """A picture resized to side_px with a caption strip under it."""
    strip_px = 22
    img = Image.new("RGB", (side_px, side_px + strip_px), "white")
    img.paste(Image.fromarray(rgb).resize((side_px, side_px), Image.BILINEAR), (0, 0))
    ImageDraw.Draw(img).text((6, side_px + 3), text, fill=(31, 41, 51), font=_font(15))
    return img


def animation_frames(att, pair_index: int | None = None, max_frames: int = 30,
                     side_px: int = ANIMATION_SIDE_PX) -> list[Image.Image]:
    """Pictures for the animation: per keyframe (at most ``max_frames``, evenly spread), the teacher's and
    the student's map over the face side by side, with the time and the agreement."""
    pair_index = att.display_index if pair_index is None else pair_index
    n = len(att.t_s)
    picks = np.unique(np.linspace(0, n - 1, min(n, max_frames)).round().astype(int))
    label = layer_label(pair_index)
    frames = []
    for k in picks:
        left = _labelled(over_face(att, k, "teacher", pair_index), f"teacher, {label}", side_px)
        right = _labelled(over_face(att, k, "student", pair_index), f"student, {label}", side_px)
        strip_px = 24
        frame = Image.new("RGB", (2 * side_px + 8, left.height + strip_px), "white")
        frame.paste(left, (0, 0))
        frame.paste(right, (side_px + 8, 0))
        agreement = float(att.agreement[pair_index][k])
        caption = f"{att.t_s[k]:.0f} s into the video · agreement {agreement:.2f}"
        ImageDraw.Draw(frame).text((6, left.height + 3), caption, fill=(31, 41, 51), font=_font(15))
        frames.append(frame)
    return frames


def animation_gif(att, pair_index: int | None = None, max_frames: int = 30, frame_ms: int = 500) -> bytes:
    """An animated GIF (bytes) of ``animation_frames``, looping, ``frame_ms`` per keyframe."""
    frames = animation_frames(att, pair_index, max_frames)
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0,
                   optimize=False)
    return buffer.getvalue()
