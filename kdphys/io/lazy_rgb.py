"""RGB pixels of a decoded video frame, converted from its YUV planes only where they are asked for.

An upload's face tracker reads two small parts of most frames (the skin-mask window, ~150x120 px at
640x480, and the face crop's square); only the frames the landmarker runs on (one in five) need all
their pixels. Converting every whole frame to RGB cost as much CPU as decoding it (a minute of 640x480
H.264: 1.71-1.83 s for decoding and converting, 0.89-0.90 s for decoding and one 200x200 region per
frame; ``benchmarks/upload_limits.py --parts decode``).

    image = LazyRgb(av_frame)                 # decoded yuv420p / yuvj420p frame, even size, shown as decoded
    patch = image.region(slice(100, 260), slice(200, 380))   # (160, 180, 3) uint8 RGB
    full = np.asarray(image)                  # (H, W, 3) uint8 RGB, converted once, then kept

Every pixel is the one FFmpeg's converter gives for the whole frame (same formats, colour range and
colour space; a region starts on even rows and columns so that it shares the frame's chroma samples):
tests/test_lazy_rgb.py compares them.
"""

from __future__ import annotations

import threading
from typing import Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter

#: Pixel formats whose planes ``LazyRgb`` cuts (4:2:0, 8 bit: H.264, VP8/9, MJPEG's j variant).
LAZY_FORMATS = ("yuv420p", "yuvj420p")
#: Keyword arguments of every conversion, the same for regions and whole frames.
_CONVERT = {"format": "rgb24", "interpolation": "AREA", "threads": 1}

_local = threading.local()


def _reformatter(kind: str) -> VideoReformatter:
    """A reformatter per thread and kind ("full", "region"): FFmpeg's scaler is set up once per size."""
    reformatter = getattr(_local, kind, None)
    if reformatter is None:
        reformatter = VideoReformatter()
        setattr(_local, kind, reformatter)
    return reformatter


def convert_frame(av_frame: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a whole decoded frame, no scaling, no rotation (FFmpeg's converter)."""
    return _reformatter("full").reformat(av_frame, **_CONVERT).to_ndarray()


def can_be_lazy(av_frame: Any) -> bool:
    """Whether ``LazyRgb`` can cut this frame's planes: a 4:2:0 8-bit format, even width and height (FFmpeg
    converts odd sizes by another path, whose chroma differs from that of an even region)."""
    return av_frame.format.name in LAZY_FORMATS and av_frame.width % 2 == 0 and av_frame.height % 2 == 0


def _plane(av_frame: Any, index: int) -> np.ndarray:
    """Plane ``index`` of a decoded frame as a (height, width) uint8 view (no copy)."""
    plane = av_frame.planes[index]
    rows = np.frombuffer(plane, np.uint8, count=plane.line_size * plane.height)
    return rows.reshape(plane.height, plane.line_size)[:, :plane.width]


class LazyRgb:
    """An (H, W, 3) uint8 RGB image whose pixels are converted from a decoded frame when read.

    ``region(rows, cols)`` converts just that part (the last region is kept: a part of it is sliced, not
    converted again); ``np.asarray(image)`` converts the whole frame once and keeps it. Safe to read from
    several threads (e.g. the landmarker on the whole frame while the tracker reads a region).

    Args:
        av_frame: a decoded ``av.VideoFrame`` in one of ``LAZY_FORMATS``, shown as decoded (no rotation,
            no scaling). It is kept (its planes are referenced, not copied).
    """

    ndim = 3
    dtype = np.dtype(np.uint8)

    def __init__(self, av_frame: Any):
        if not can_be_lazy(av_frame):
            raise ValueError(f"LazyRgb takes {', '.join(LAZY_FORMATS)} frames of even width and height, got "
                             f"{av_frame.format.name} {av_frame.width}x{av_frame.height}.")
        self._frame = av_frame
        self.shape = (int(av_frame.height), int(av_frame.width), 3)
        self._full: np.ndarray | None = None
        self._kept: tuple[int, int, int, int, np.ndarray] | None = None   # y0, y1, x0, x1, rgb
        self._lock = threading.Lock()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The whole frame for ``np.asarray`` (read-only, kept) or ``np.array`` (``copy=True``: a writable copy)."""
        full = self.full()
        if dtype is not None and np.dtype(dtype) != full.dtype:
            return full.astype(dtype)
        return full.copy() if copy else full

    def full(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB of the whole frame (converted on the first call, then kept; read-only)."""
        full = self._full
        if full is None:
            full = convert_frame(self._frame)
            full.flags.writeable = False
            self._full = full
        return full

    def region(self, rows: slice, cols: slice) -> np.ndarray:
        """(len(rows), len(cols), 3) uint8 RGB of ``rows`` x ``cols`` (steps of 1, inside the frame).

        Read-only; may be a view of a kept conversion."""
        height, width = self.shape[:2]
        y0, y1, _ = rows.indices(height)
        x0, x1, _ = cols.indices(width)
        if y1 <= y0 or x1 <= x0:
            return np.zeros((max(y1 - y0, 0), max(x1 - x0, 0), 3), np.uint8)
        if self._full is not None:
            return self._full[y0:y1, x0:x1]
        with self._lock:
            kept = self._kept
            if kept is None or not (kept[0] <= y0 and y1 <= kept[1] and kept[2] <= x0 and x1 <= kept[3]):
                kept = self._convert(y0, y1, x0, x1)
                self._kept = kept
        ky0, _, kx0, _, rgb = kept
        return rgb[y0 - ky0:y1 - ky0, x0 - kx0:x1 - kx0]

    def _convert(self, y0: int, y1: int, x0: int, x1: int) -> tuple[int, int, int, int, np.ndarray]:
        """Convert the even-aligned box around rows y0:y1, cols x0:x1; returns it with its bounds."""
        height, width = self.shape[:2]
        ya, xa = y0 - y0 % 2, x0 - x0 % 2
        yb, xb = min(y1 + y1 % 2, height), min(x1 + x1 % 2, width)   # even: the frame's sides are
        h, w = yb - ya, xb - xa
        packed = np.empty(h * w * 3 // 2, np.uint8)   # Y rows, then U rows, then V rows (4:2:0)
        packed[:h * w].reshape(h, w)[:] = _plane(self._frame, 0)[ya:yb, xa:xb]
        quarter = (h // 2) * (w // 2)
        for k, start in ((1, h * w), (2, h * w + quarter)):
            chroma = _plane(self._frame, k)[ya // 2:yb // 2, xa // 2:xb // 2]
            packed[start:start + quarter].reshape(h // 2, w // 2)[:] = chroma
        part = av.VideoFrame.from_ndarray(packed.reshape(-1, w), format=self._frame.format.name)
        part.color_range = self._frame.color_range
        part.colorspace = self._frame.colorspace
        rgb = _reformatter("region").reformat(part, **_CONVERT).to_ndarray()
        rgb.flags.writeable = False
        return ya, yb, xa, xb, rgb


def image_region(image: Any, rows: slice, cols: slice) -> np.ndarray:
    """``image[rows, cols]`` for an (H, W[, C]) ndarray, ``image.region(rows, cols)`` for a ``LazyRgb``."""
    if isinstance(image, LazyRgb):
        return image.region(rows, cols)
    return image[rows, cols]
