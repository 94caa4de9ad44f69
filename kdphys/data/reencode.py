"""Re-encoded copies of recordings at video-call bitrates (a training augmentation applied before extraction).

    record_150k = reencoded(record, bitrate=150_000, cache_dir=".cache/reencoded")   # H.264 copy, same clock

A video call sends 0.1-2 Mbit/s; the compression smooths away part of a weak pulse, so a model that is to
read webcam streams learns from such copies too. Copies are written once into ``cache_dir`` (git-ignored:
they are made from the dataset's videos and must never be committed) and keep the original frame times.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import av

from kdphys.data.base import VideoFileSource, VideoRecord
from kdphys.errors import NotPrepared


def reencode_video(src: Path, dst: Path, bitrate: float, codec: str = "libx264") -> Path:
    """Decode ``src`` and encode it again to ``dst`` (Matroska) at ``bitrate`` bit/s, frame times kept."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp.mkv")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="matroska") as out:
        in_stream = inp.streams.video[0]
        stream = out.add_stream(codec, rate=in_stream.average_rate or 30)
        stream.width, stream.height = in_stream.codec_context.width, in_stream.codec_context.height
        stream.pix_fmt, stream.bit_rate = "yuv420p", int(bitrate)
        stream.time_base = in_stream.time_base
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "tune": "zerolatency"}
        for frame in inp.decode(in_stream):
            frame = frame.reformat(format="yuv420p")
            frame.pict_type = 0
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(dst)
    return dst


def reencoded(record: VideoRecord, bitrate: float, cache_dir: str | Path, codec: str = "libx264",
              write: bool = True) -> VideoRecord:
    """The record with its video re-encoded at ``bitrate`` (cached by source path, size, mtime, codec and
    bitrate); record_id gains "@<kbit/s>k". ``write=False``: NotPrepared when the copy is not there."""
    src = Path(record.video_path)
    stat = src.stat()
    key = hashlib.sha1(f"{src.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{codec}|{int(bitrate)}".encode()
                       ).hexdigest()[:12]
    dst = Path(cache_dir) / f"{record.subject_id}-{src.stem}-{int(bitrate) // 1000}k-{key}.mkv"
    if not dst.is_file():
        if not write:
            raise NotPrepared(f"The {int(bitrate) // 1000} kbit/s copy of {src} is not in {cache_dir}.")
        reencode_video(src, dst, bitrate, codec)
    return dataclasses.replace(record, video_path=dst, source=VideoFileSource(dst),
                               record_id=f"{record.record_id}@{int(bitrate) // 1000}k")
