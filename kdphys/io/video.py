"""Read video files: RGB frames with their true timestamps, one frame at a time (writing: ``kdphys.io.write``).

Everything goes through PyAV (FFmpeg), so any common container/codec works: mp4/mov (H.264), avi (MJPG,
H.264), mkv, webm (VP8/VP9). Frames come out as (H, W, 3) uint8 RGB, upright (the display matrix of phone
videos is applied), with the presentation time from the container in seconds (first frame at 0 s).

Typical use::

    from kdphys.io.video import probe, iter_frames
    info = probe("face.mp4")                      # VideoInfo: size, fps, duration, rotation, VFR flag
    for frame in iter_frames("face.mp4", max_side=640):
        push(frame.rgb, frame.t_s)                # (H, W, 3) uint8 RGB, seconds

A file that cannot be used raises :class:`kdphys.errors.VideoError` whose message tells a person what to
do; no FFmpeg/OS error escapes ``probe``, ``iter_frames`` or ``read_video``. A file that breaks off part
way (truncated recording) yields the frames it has and stops with a logged warning.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Union

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from kdphys.errors import VideoError
from kdphys.io.lazy_rgb import LazyRgb, can_be_lazy

log = logging.getLogger(__name__)

VideoSource = Union[str, os.PathLike, BinaryIO, bytes, bytearray, memoryview]

MIN_VIDEO_FRAMES = 2
"""Fewest decodable frames a file needs to count as a video (time between frames must be measurable)."""

VFR_TOLERANCE = 0.1
"""A frame interval further than this fraction (plus one time-base tick) from the median interval makes
the timestamps uneven, i.e. the video counts as variable frame rate."""

SUPPORTED_FORMATS_TEXT = "mp4, mov, avi, mkv or webm"

_AV_ERRORS = (av.FFmpegError, OSError, ValueError, EOFError, RuntimeError)
_MP4_BOX_TYPES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
_NO_PTS_FPS = 30.0  # last-resort frame rate for streams without timestamps or rate (raw elementary streams)


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, read without decoding every frame.

    width, height: displayed size in pixels, after rotation (a portrait phone video is taller than wide).
    fps: average frame rate from the timestamps, (n_frames - 1) / (last - first time), frames/s.
    duration_s: time from the first frame's start to the last frame's end, seconds.
    n_frames: number of video packets in the container (exact for ordinary files; a frame that fails to
        decode is still counted).
    codec: FFmpeg decoder name ("h264", "mjpeg", "vp9", ...).
    rotation_deg: clockwise rotation (0/90/180/270) a player applies to show the video upright; frames
        from this module already have it applied.
    variable_frame_rate: True when frame intervals are uneven (see VFR_TOLERANCE); resample per-frame
        values onto a uniform grid (kdphys.pipeline.resample.UniformResampler) before filters that assume a
        constant rate.
    """

    path: str
    width: int
    height: int
    fps: float
    duration_s: float
    n_frames: int
    codec: str
    rotation_deg: int
    variable_frame_rate: bool


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    rgb: (H, W, 3) uint8 RGB, rotation applied, downscaled if max_side was given (a ``LazyRgb`` with the
        same pixels when ``iter_frames(..., lazy_rgb=True)`` allows).
    t_s: presentation time from the container, seconds, first frame = 0.
    index: 0-based position in decode output (presentation order).
    """

    rgb: np.ndarray
    t_s: float
    index: int


@dataclass
class _DecodeReport:
    """What went wrong while reading, for warnings and error messages."""

    bad_packets: int = 0
    demux_error: str | None = None
    last_decode_error: str | None = None


@dataclass
class _Opened:
    container: Any
    stream: Any
    name: str


# --------------------------------------------------------------------------------------------- reading


def probe(path: VideoSource) -> VideoInfo:
    """Describe a video: displayed size, average fps, duration, frame count, codec, rotation, VFR flag.

    Reads every packet header (no full decode; cheap even for long files) and decodes the first
    MIN_VIDEO_FRAMES frames to make sure the video is usable.

    Args:
        path: file path (str or Path), a seekable binary file-like object (e.g. BytesIO of an upload),
            or the file's bytes.
    Returns:
        VideoInfo (sizes in pixels after rotation, fps in frames/s, duration in seconds).
    Raises:
        VideoError: the file is missing, empty, not a video, truncated beyond use, audio only, a still
            image, has fewer than MIN_VIDEO_FRAMES frames, or no frame decodes.
    """
    opened = _open(path)
    try:
        return _probe_opened(opened)
    finally:
        _close(opened)


def iter_frames(path: VideoSource, max_side: int | None = None, lazy_rgb: bool = False,
                one_thread: bool = False) -> Iterator[Frame]:
    """Decode a video lazily, one frame at a time, in presentation order (a generator).

    Memory stays bounded whatever the resolution or length: only the frame being yielded is converted
    to RGB (the first MIN_VIDEO_FRAMES decoded frames are held briefly to check the file is a video).
    Errors are raised on the first ``next()``.

    Args:
        path: file path (str or Path), a seekable binary file-like object, or the file's bytes.
        max_side: if given, frames whose longer side exceeds it are downscaled during decode (area
            interpolation, aspect kept) so that max(H, W) <= max_side; never upscaled.
        lazy_rgb: where a frame needs no scaling and no rotation and is 4:2:0 YUV (nearly every camera
            video), ``Frame.rgb`` is a ``kdphys.io.lazy_rgb.LazyRgb``: the same pixels, converted only where
            read (``region``) or when made an array (``np.asarray``). For readers of small parts.
        one_thread: decode on the calling thread only (FFmpeg's frame threads cost ~30 % more CPU time
            and gain little on 2 cores; for callers whose other work keeps the cores busy).
    Yields:
        Frame with rgb (H, W, 3) uint8 RGB upright and t_s in seconds (first frame 0 s).
    Raises:
        VideoError: as in :func:`probe`. A file that breaks off after at least MIN_VIDEO_FRAMES frames
            does not raise: the generator stops and logs a warning.
        ValueError: max_side is not a positive integer.
    """
    if max_side is not None and int(max_side) < 1:
        raise ValueError(f"max_side must be a positive number of pixels, got {max_side}")
    opened = _open(path)
    if one_thread:
        opened.stream.thread_type = "NONE"
    try:
        yield from _iter_opened(opened, max_side, lazy_rgb)
    finally:
        _close(opened)


def read_video(path: VideoSource, max_side: int | None = None) -> tuple[np.ndarray, np.ndarray, VideoInfo]:
    """Decode a whole video into memory (use :func:`iter_frames` for long or large videos).

    Args:
        path: as in :func:`iter_frames`.
        max_side: as in :func:`iter_frames`.
    Returns:
        frames: (N, H, W, 3) uint8 RGB, upright.
        t_s: (N,) float64 presentation times in seconds, first 0.
        info: the file's VideoInfo with n_frames, width and height replaced by those of the returned
            arrays (so they match ``frames``; fps and duration are the file's).
    Raises:
        VideoError: as in :func:`probe`.
    """
    info = probe(path)
    frames: list[np.ndarray] = []
    times: list[float] = []
    for frame in iter_frames(path, max_side=max_side):
        frames.append(frame.rgb)
        times.append(frame.t_s)
    stacked = np.stack(frames)
    info = replace(info, n_frames=len(frames), width=stacked.shape[2], height=stacked.shape[1])
    return stacked, np.asarray(times, dtype=np.float64), info


def is_variable_frame_rate(t_s: np.ndarray, quantum_s: float = 0.0, tolerance: float = VFR_TOLERANCE) -> bool:
    """Whether frame times are uneven.

    Args:
        t_s: (N,) frame times in seconds, in presentation order.
        quantum_s: time-base resolution of the container in seconds (rounding there is not unevenness).
        tolerance: allowed deviation of an interval from the median interval, as a fraction of the median.
    Returns:
        True if any interval differs from the median interval by more than
        tolerance * median + quantum_s, or times repeat or go backwards. False for fewer than 3 frames.
    """
    t = np.asarray(t_s, dtype=np.float64)
    if t.size < 3:
        return False
    dt_s = np.diff(t)
    median_s = float(np.median(dt_s))
    if median_s <= 0 or np.any(dt_s <= 0):
        return True
    return bool(np.max(np.abs(dt_s - median_s)) > tolerance * median_s + quantum_s + 1e-9)


# --------------------------------------------------------------------------------------------- opening


def _open(path: VideoSource) -> _Opened:
    """Open a container and pick its video stream, turning every failure into a VideoError."""
    source, name = _source_for_av(path)
    head = _peek_head(source)
    if head == b"":
        raise VideoError(f"The file {name} is empty (0 bytes). Choose a video file ({SUPPORTED_FORMATS_TEXT}).")
    try:
        container = av.open(source, mode="r", metadata_errors="ignore")
    except _AV_ERRORS as exc:
        raise _open_error(name, head, exc) from exc
    try:
        stream = _pick_video_stream(container, name)
    except BaseException:
        container.close()
        raise
    return _Opened(container=container, stream=stream, name=name)


def _source_for_av(path: VideoSource) -> tuple[Any, str]:
    """Return what av.open accepts (str path or seekable file object) and a name for messages."""
    if isinstance(path, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(path)), "'<video bytes>'"
    if isinstance(path, (str, os.PathLike)):
        file_path = Path(path)
        if not file_path.exists():
            raise VideoError(f"Video file not found: '{file_path}'. Check the path and the file name.")
        if file_path.is_dir():
            raise VideoError(f"'{file_path}' is a folder, not a video file. Choose a video file inside it.")
        return str(file_path), f"'{file_path.name}'"
    if not hasattr(path, "read"):
        raise VideoError(
            f"Cannot read a video from a {type(path).__name__}; pass a file path or an open binary file."
        )
    name = f"'{Path(str(getattr(path, 'name', '<uploaded video>'))).name}'"
    seekable = getattr(path, "seekable", lambda: False)
    if not seekable():
        raise VideoError(
            f"The upload {name} cannot be re-read (stream is not seekable). Save it to a file or wrap its "
            "bytes in io.BytesIO first."
        )
    try:
        path.seek(0)
    except (OSError, ValueError) as exc:
        raise VideoError(f"The upload {name} could not be read ({exc}). Upload the file again.") from exc
    return path, name


def _peek_head(source: Any) -> bytes:
    """First 16 bytes of the file (b"" for an empty one); restores a file object's position."""
    try:
        if isinstance(source, str):
            with open(source, "rb") as handle:
                return handle.read(16)
        head = source.read(16)
        source.seek(0)
        return bytes(head)
    except PermissionError as exc:
        raise VideoError(f"No permission to read the video ({exc.filename}). Check the file's permissions.") from exc
    except (OSError, ValueError) as exc:
        raise VideoError(f"The video could not be read ({exc}). Check the file exists and can be opened.") from exc


def _open_error(name: str, head: bytes, exc: BaseException) -> VideoError:
    """A person-readable error for a file FFmpeg could not open."""
    if isinstance(exc, PermissionError):
        return VideoError(f"No permission to read {name}. Check the file's permissions.")
    if head[4:8] in _MP4_BOX_TYPES:
        return VideoError(
            f"{name} is an incomplete or damaged MP4/MOV file: its index (the 'moov' atom) is missing or "
            "unreadable. This happens "
            "when a recording is interrupted or a copy/upload did not finish. Copy or upload the complete "
            "file again, or re-export it."
        )
    return VideoError(
        f"{name} is not a video file that can be read (no known video format found in it). "
        f"Choose a video file ({SUPPORTED_FORMATS_TEXT})."
    )


def _pick_video_stream(container: Any, name: str) -> Any:
    """The first video stream with a decoder, or a VideoError saying why there is none."""
    videos = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not videos:
        if container.streams.audio:
            raise VideoError(
                f"{name} contains no video track, only audio. Choose a video file in which the face is visible."
            )
        raise VideoError(f"{name} contains no video track. Choose a video file ({SUPPORTED_FORMATS_TEXT}).")
    stream = videos[0]
    if stream.codec_context is None:
        codec = getattr(getattr(stream, "codec", None), "name", "unknown")
        raise VideoError(
            f"{name} uses the video codec '{codec}', which this installation cannot decode. Convert it to "
            "H.264 MP4 (for example: ffmpeg -i in.file -c:v libx264 out.mp4)."
        )
    stream.thread_type = "AUTO"
    return stream


def _close(opened: _Opened) -> None:
    try:
        opened.container.close()
    except _AV_ERRORS:  # closing a broken container must not hide the real outcome
        log.debug("closing %s failed", opened.name, exc_info=True)


def _is_still_image(opened: _Opened) -> bool:
    """True for a picture file (png, jpeg, ...) that FFmpeg opened with an image demuxer."""
    fmt = opened.container.format.name or ""
    return fmt.endswith("_pipe") or fmt in ("image2", "image2pipe")


def _too_few_frames_error(opened: _Opened, n_decoded: int, report: _DecodeReport) -> VideoError:
    """VideoError for a file with fewer than MIN_VIDEO_FRAMES decodable frames."""
    name, codec = opened.name, opened.stream.codec_context.name
    if _is_still_image(opened):
        return VideoError(
            f"{name} is a still image ({codec}), not a video. Heart rate needs a video: record at least "
            f"a few seconds of the face ({SUPPORTED_FORMATS_TEXT})."
        )
    if n_decoded == 0:
        log.debug("%s: no frame decoded; last decoder error: %s", name, report.last_decode_error)
        return VideoError(
            f"None of the frames in {name} could be decoded (codec {codec}); the file is probably "
            "corrupt or truncated. Re-export or re-record it (H.264 MP4 plays everywhere)."
        )
    return VideoError(
        f"{name} has only {n_decoded} decodable frame(s); at least {MIN_VIDEO_FRAMES} frames are needed "
        "(a video, not a single picture). Record a longer video: 10 seconds or more works best."
    )


# --------------------------------------------------------------------------------------------- decoding


def _packets(opened: _Opened, report: _DecodeReport) -> Iterator[Any]:
    """Demux the video stream's packets; a container error ends the iteration and is recorded."""
    demuxer = opened.container.demux(opened.stream)
    while True:
        try:
            packet = next(demuxer)
        except StopIteration:
            return
        except _AV_ERRORS as exc:
            report.demux_error = str(exc)
            return
        yield packet


def _decode(opened: _Opened, packet: Any, report: _DecodeReport) -> list[Any]:
    """Decode one packet (or flush with an empty one); an undecodable packet is skipped and counted."""
    try:
        return opened.stream.decode(packet)
    except _AV_ERRORS as exc:
        report.bad_packets += 1
        report.last_decode_error = str(exc)
        return []


def _decoded_frames(opened: _Opened, report: _DecodeReport) -> Iterator[Any]:
    """All decodable av.VideoFrame of the stream in presentation order, ending with a decoder flush.

    Empty packets are skipped: FFmpeg would take them as end of stream (AVI marks dropped frames so).
    """
    for packet in _packets(opened, report):
        if packet.size > 0:
            yield from _decode(opened, packet, report)
    yield from _decode(opened, None, report)


def _nominal_fps(stream: Any) -> float:
    """Frame rate the container declares, frames/s (fallback _NO_PTS_FPS)."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) < 1000:
            return float(rate)
    return _NO_PTS_FPS


def _declared_length(opened: _Opened) -> tuple[int, float]:
    """Frame count and duration in seconds the container header declares (0 where it does not say)."""
    stream = opened.stream
    n_frames = int(stream.frames) if stream.frames and stream.frames > 0 else 0
    duration_s = 0.0
    if stream.duration and stream.time_base:
        duration_s = float(stream.duration * stream.time_base)
    elif opened.container.duration:
        duration_s = opened.container.duration / av.time_base
    return n_frames, duration_s


def _warn_if_incomplete(opened: _Opened, n_frames: int, last_t_s: float, report: _DecodeReport) -> None:
    """Log a warning when the file ended before its header says it should, or packets were skipped.

    n_frames: frames read; last_t_s: time of the last one, seconds from the first frame.
    """
    declared_frames, declared_s = _declared_length(opened)
    frame_s = 1.0 / _nominal_fps(opened.stream)
    if declared_frames:
        short = n_frames < declared_frames - max(2, 0.02 * declared_frames)
    else:
        short = declared_s > 0 and last_t_s + frame_s < declared_s - max(3 * frame_s, 0.02 * declared_s)
    if report.demux_error is not None:
        log.warning("%s: reading stopped early (%s) after %d frames; the file looks truncated. "
                    "Using the frames read so far.", opened.name, report.demux_error, n_frames)
    elif short:
        log.warning("%s: the video ended after %d frames (%.2f s) but its header promises %s; the file may "
                    "be truncated. Using the frames read so far.", opened.name, n_frames, last_t_s + frame_s,
                    f"{declared_frames} frames" if declared_frames else f"{declared_s:.2f} s")
    if report.bad_packets:
        log.warning("%s: skipped %d undecodable packet(s) (%s); the file may be damaged.",
                    opened.name, report.bad_packets, report.last_decode_error)


def _rotation_cw_deg(av_frame: Any) -> int:
    """Clockwise display rotation of a decoded frame from its display matrix: 0, 90, 180 or 270."""
    try:
        ccw_deg = av_frame.rotation
    except _AV_ERRORS:
        return 0
    return int(round(-float(ccw_deg) / 90.0)) % 4 * 90


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) in pixels after downscaling so the longer side is at most max_side."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(av_frame: Any, max_side: int | None, reformatter: VideoReformatter) -> np.ndarray:
    """Convert a decoded frame to (H, W, 3) uint8 RGB, downscaled and rotated upright.

    The reformatter is shared across a video's frames so FFmpeg's scaler is set up once (about 3x faster).
    """
    width, height = _scaled_size(av_frame.width, av_frame.height, max_side)
    rgb_frame = reformatter.reformat(av_frame, width=width, height=height, format="rgb24", interpolation="AREA")
    rgb = rgb_frame.to_ndarray()
    quarter_turns_cw = _rotation_cw_deg(av_frame) // 90
    if quarter_turns_cw:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=-quarter_turns_cw))
    return rgb


def _lazy_rgb(av_frame: Any, max_side: int | None) -> LazyRgb | None:
    """The frame as a ``LazyRgb`` when it needs no scaling or rotation and its format allows, else None."""
    if not can_be_lazy(av_frame) or _rotation_cw_deg(av_frame):
        return None
    if _scaled_size(av_frame.width, av_frame.height, max_side) != (av_frame.width, av_frame.height):
        return None
    return LazyRgb(av_frame)


class _Clock:
    """Turns frame pts into seconds from the first frame; falls back to index / fps without pts."""

    def __init__(self, stream: Any):
        self.time_base = stream.time_base
        self.fps = _nominal_fps(stream)
        self.first_pts: int | None = None
        self.last_t_s = -1.0 / self.fps

    def seconds(self, av_frame: Any) -> float:
        pts = av_frame.pts
        time_base = av_frame.time_base or self.time_base
        if pts is None or time_base is None:
            self.last_t_s += 1.0 / self.fps
            return self.last_t_s
        if self.first_pts is None:
            self.first_pts = pts
        self.last_t_s = float((pts - self.first_pts) * time_base)
        return self.last_t_s


def _iter_opened(opened: _Opened, max_side: int | None, lazy_rgb: bool = False) -> Iterator[Frame]:
    """Body of iter_frames: hold back the first frames until MIN_VIDEO_FRAMES prove the file a video."""
    report = _DecodeReport()
    clock = _Clock(opened.stream)
    reformatter = VideoReformatter()
    held: list[Any] = []
    index = 0
    for av_frame in _decoded_frames(opened, report):
        if index == 0 and len(held) < MIN_VIDEO_FRAMES - 1:
            held.append(av_frame)
            continue
        for item in (*held, av_frame):
            rgb = _lazy_rgb(item, max_side) if lazy_rgb else None
            if rgb is None:
                rgb = _to_rgb(item, max_side, reformatter)
            yield Frame(rgb=rgb, t_s=clock.seconds(item), index=index)
            index += 1
        held = []
    if index == 0:
        raise _too_few_frames_error(opened, len(held), report)
    _warn_if_incomplete(opened, index, clock.last_t_s, report)


def _probe_opened(opened: _Opened) -> VideoInfo:
    """Body of probe: packet times for all packets, first frames decoded to check the file."""
    report = _DecodeReport()
    stream = opened.stream
    pts_list: list[int] = []
    n_packets = 0
    decoded: list[Any] = []
    for packet in _packets(opened, report):
        if packet.size == 0:
            continue
        n_packets += 1
        stamp = packet.pts if packet.pts is not None else packet.dts
        if stamp is not None:
            pts_list.append(int(stamp))
        if len(decoded) < MIN_VIDEO_FRAMES:
            decoded.extend(_decode(opened, packet, report))
    if len(decoded) < MIN_VIDEO_FRAMES:
        decoded.extend(_decode(opened, None, report))
    if len(decoded) < MIN_VIDEO_FRAMES:
        raise _too_few_frames_error(opened, len(decoded), report)
    first = decoded[0]
    rotation_deg = _rotation_cw_deg(first)
    width, height = (first.height, first.width) if rotation_deg in (90, 270) else (first.width, first.height)
    t_s, quantum_s = _packet_times_s(stream, pts_list, n_packets)
    if report.demux_error is not None:
        _warn_if_incomplete(opened, n_packets, float(t_s[-1]), _DecodeReport(demux_error=report.demux_error))
    fps, duration_s = _rate_and_duration(t_s, _nominal_fps(stream))
    return VideoInfo(
        path=opened.name.strip("'"),
        width=int(width),
        height=int(height),
        fps=fps,
        duration_s=duration_s,
        n_frames=max(n_packets, len(decoded)),
        codec=stream.codec_context.name,
        rotation_deg=rotation_deg,
        variable_frame_rate=is_variable_frame_rate(t_s, quantum_s=quantum_s),
    )


def _packet_times_s(stream: Any, pts_list: list[int], n_packets: int) -> tuple[np.ndarray, float]:
    """Sorted packet times in seconds from the first (N,), and one time-base tick in seconds.

    Falls back to a uniform grid at the declared rate when packets carry no timestamps.
    """
    if stream.time_base and len(pts_list) == n_packets and n_packets >= 2:
        ticks = np.sort(np.asarray(pts_list, dtype=np.int64))
        return (ticks - ticks[0]).astype(np.float64) * float(stream.time_base), float(stream.time_base)
    return np.arange(n_packets, dtype=np.float64) / _nominal_fps(stream), 0.0


def _rate_and_duration(t_s: np.ndarray, nominal_fps: float) -> tuple[float, float]:
    """Average fps from (N,) frame times and duration (span plus one median frame interval), seconds."""
    if t_s.size >= 2 and t_s[-1] > t_s[0]:
        span_s = float(t_s[-1] - t_s[0])
        fps = (t_s.size - 1) / span_s
        median_dt_s = float(np.median(np.diff(t_s)))
        return fps, span_s + (median_dt_s if median_dt_s > 0 else 1.0 / fps)
    return nominal_fps, t_s.size / nominal_fps
