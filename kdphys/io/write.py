"""Write video files (synthetic clips, test media, re-encoded copies): RGB frames to H.264, MJPEG, VP8/VP9,
FFV1 or MPEG-4 in mp4, mov, mkv, avi or webm, with exact frame times and an optional rotation flag.

    write_video("out.mp4", frames, fps=30.0, codec="h264", crf=18)     # frames: iterable of (H, W, 3) uint8
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from kdphys.io.video import _AV_ERRORS

log = logging.getLogger(__name__)

# codec name -> (FFmpeg encoders to try in order, pixel format)
_ENCODERS: dict[str, tuple[tuple[str, ...], str]] = {
    "h264": (("libx264", "h264", "libopenh264"), "yuv420p"),
    "mjpeg": (("mjpeg",), "yuvj420p"),
    "vp8": (("libvpx",), "yuv420p"),
    "vp9": (("libvpx-vp9",), "yuv420p"),
    "ffv1": (("ffv1",), "bgr0"),
    "mpeg4": (("mpeg4",), "yuv420p"),
}
# extension -> codecs its container accepts (checked up front for a clear message)
_CONTAINER_CODECS: dict[str, set[str]] = {
    ".mp4": {"h264", "mjpeg", "vp9", "ffv1", "mpeg4"},
    ".mov": {"h264", "mjpeg", "mpeg4"},
    ".mkv": set(_ENCODERS),
    ".avi": set(_ENCODERS),
    ".webm": {"vp8", "vp9"},
}
_WRITE_TIME_BASE = Fraction(1, 60000)  # exact for 24/25/30/50/60 and 30000/1001 fps; MPEG-4 limit 65535


def available_write_codecs() -> list[str]:
    """Codec names accepted by :func:`write_video` that this PyAV build can encode."""
    return [name for name in _ENCODERS if _find_encoder(name) is not None]


def _find_encoder(codec: str) -> str | None:
    for encoder in _ENCODERS[codec][0]:
        if encoder not in av.codecs_available:
            continue
        try:
            av.Codec(encoder, "w")
        except _AV_ERRORS:
            continue
        return encoder
    return None


def _encoder_options(encoder: str, crf: float | None, width: int, height: int, fps: float) -> dict[str, str]:
    """FFmpeg encoder options for a quality level (crf: lower is better; None = encoder default)."""
    if encoder == "libx264":
        # mbtree off: with x264's macroblock-tree rate control the bytes differed from run to run for the same
        # frames (also with threads=1; more often when frames arrive slowly, as a renderer sends them), so a
        # synthetic set rebuilt from its seeds came out different. Data and evaluations must be reproducible
        # from their seeds (tests/test_video.py).
        return {"preset": "fast", "x264-params": "mbtree=0", **({"crf": f"{crf:g}"} if crf is not None else {})}
    if encoder == "libvpx-vp9":
        return {"crf": f"{31 if crf is None else crf:g}", "b": "0", "deadline": "good", "cpu-used": "4"}
    if encoder == "libvpx":
        bit_rate = int(max(1e6, 2.0 * width * height * fps))
        return {"crf": f"{10 if crf is None else crf:g}", "b": str(bit_rate), "deadline": "good", "cpu-used": "4"}
    if encoder == "mjpeg":
        return {"qmin": "1", "qmax": "3", "b": str(int(max(2e6, 4.0 * width * height * fps)))}
    return {}


def write_video(
    path: str | os.PathLike,
    frames_rgb: Iterable[np.ndarray],
    fps: float,
    codec: str = "h264",
    crf: float | None = None,
    *,
    t_s: Iterable[float] | None = None,
    rotation_deg: int = 0,
    pix_fmt: str | None = None,
) -> Path:
    """Encode RGB frames to a video file; the container comes from the extension.

    Args:
        path: output file; extension .mp4, .mov, .mkv, .avi or .webm picks the container.
        frames_rgb: iterable of (H, W, 3) uint8 RGB frames, all the same size (consumed lazily, so a
            generator keeps memory bounded). For yuv420p codecs (h264, vp8, vp9, mpeg4) H and W must be even.
        fps: frame rate, frames/s (with t_s, only the declared average).
        codec: "h264" (libx264), "mjpeg", "vp8", "vp9", "ffv1" (lossless RGB) or "mpeg4";
            see :func:`available_write_codecs`.
        crf: quality for h264/vp8/vp9 (lower = better; h264 18 is visually lossless); None = default.
            Ignored by mjpeg (fixed high quality), ffv1 (lossless) and mpeg4.
        t_s: optional presentation times in seconds, one per frame, increasing: writes a variable frame
            rate video (not for .avi). Stored with the container's resolution (1 ms in mkv/webm).
        rotation_deg: clockwise rotation a player should apply (0/90/180/270), stored as display matrix,
            read back as VideoInfo.rotation_deg.
        pix_fmt: override the encoder pixel format (e.g. "gray" for ffv1 grayscale, "yuv444p").
    Returns:
        The written path.
    Raises:
        ValueError: unknown extension or codec, codec not in this build or not allowed in the container,
            bad frame shape, no frames, or t_s not increasing / not matching the frames.
    """
    out_path = Path(path)
    codec = codec.lower()
    encoder = _check_write_args(out_path, codec, fps, rotation_deg)
    times = None if t_s is None else [float(x) for x in t_s]
    if times is not None and out_path.suffix.lower() == ".avi":
        raise ValueError("AVI cannot store uneven timestamps; write variable frame rate videos as .mkv or .mp4")
    rate = Fraction(fps).limit_denominator(1001)
    container = av.open(str(out_path), mode="w")
    try:
        n_written = _encode_all(container, encoder, codec, frames_rgb, rate, crf, times, rotation_deg, pix_fmt)
    except BaseException:
        _close_quietly(container)
        out_path.unlink(missing_ok=True)
        raise
    container.close()
    if n_written == 0:
        out_path.unlink(missing_ok=True)
        raise ValueError("write_video got no frames; pass at least one (H, W, 3) uint8 frame")
    return out_path


def _check_write_args(out_path: Path, codec: str, fps: float, rotation_deg: int) -> str:
    """Validate write_video arguments; return the FFmpeg encoder to use."""
    ext = out_path.suffix.lower()
    if ext not in _CONTAINER_CODECS:
        raise ValueError(f"unknown video extension '{ext}'; use one of {sorted(_CONTAINER_CODECS)}")
    if codec not in _ENCODERS:
        raise ValueError(f"unknown codec '{codec}'; use one of {sorted(_ENCODERS)}")
    if codec not in _CONTAINER_CODECS[ext]:
        raise ValueError(f"a {ext} file cannot hold {codec}; use one of {sorted(_CONTAINER_CODECS[ext])}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if rotation_deg % 90 != 0:
        raise ValueError(f"rotation_deg must be a multiple of 90, got {rotation_deg}")
    encoder = _find_encoder(codec)
    if encoder is None:
        raise ValueError(f"this PyAV build has no encoder for {codec}; available: {available_write_codecs()}")
    return encoder


def _encode_all(container, encoder, codec, frames_rgb, rate, crf, times, rotation_deg, pix_fmt) -> int:
    """Encode and mux every frame; returns the number written."""
    stream = None
    n_written = 0
    for i, rgb in enumerate(frames_rgb):
        rgb = _check_frame(rgb, i)
        if stream is None:
            stream = _add_stream(container, encoder, codec, rgb.shape, rate, crf, times, rotation_deg, pix_fmt)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if (rgb.shape[1], rgb.shape[0]) != (stream.width, stream.height):
            raise ValueError(f"frame {i} is {rgb.shape[1]}x{rgb.shape[0]}, earlier frames were "
                             f"{stream.width}x{stream.height}; all frames must have the same size")
        frame.pts, frame.time_base = _frame_pts(i, rate, times)
        container.mux(stream.encode(frame))
        n_written += 1
    if times is not None and n_written != len(times):
        raise ValueError(f"t_s has {len(times)} times but {n_written} frames were given")
    if stream is not None:
        container.mux(stream.encode(None))
    return n_written


def _check_frame(rgb: np.ndarray, i: int) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"frame {i} has shape {arr.shape}; frames must be (H, W, 3) RGB")
    if arr.dtype != np.uint8:
        raise ValueError(f"frame {i} has dtype {arr.dtype}; frames must be uint8 (0..255)")
    return np.ascontiguousarray(arr)


def _frame_pts(i: int, rate: Fraction, times: list[float] | None) -> tuple[int, Fraction]:
    """pts and time base of frame i: the uniform grid at rate, or the given times."""
    if times is None:
        return i, 1 / rate
    if i >= len(times):
        raise ValueError(f"t_s has {len(times)} times but more frames were given")
    if i > 0 and not times[i] > times[i - 1]:
        raise ValueError(f"t_s must increase strictly; t_s[{i}] = {times[i]} after {times[i - 1]}")
    return int(round((times[i] - times[0]) / _WRITE_TIME_BASE)), _WRITE_TIME_BASE


def _add_stream(container, encoder, codec, shape, rate, crf, times, rotation_deg, pix_fmt):
    """Create and configure the output video stream for (H, W, 3) frames."""
    height, width = shape[:2]
    stream_pix_fmt = pix_fmt or _ENCODERS[codec][1]
    if stream_pix_fmt.startswith(("yuv420", "yuvj420")) and (width % 2 or height % 2):
        raise ValueError(f"{codec} ({stream_pix_fmt}) needs even width and height, got {width}x{height}; "
                         "crop or pad the frames by one pixel")
    try:
        stream = container.add_stream(encoder, rate=rate)
    except _AV_ERRORS as exc:
        raise ValueError(f"cannot write {codec} into this container: {exc}") from exc
    stream.width, stream.height, stream.pix_fmt = width, height, stream_pix_fmt
    stream.options = _encoder_options(encoder, crf, width, height, float(rate))
    if times is not None:
        stream.codec_context.time_base = _WRITE_TIME_BASE
        stream.time_base = _WRITE_TIME_BASE
    if rotation_deg % 360:
        stream.set_display_rotation(-float(rotation_deg))  # PyAV takes counter-clockwise degrees
    return stream


def _close_quietly(container: Any) -> None:
    try:
        container.close()
    except _AV_ERRORS:
        log.debug("closing a failed output container raised", exc_info=True)
