"""Bad and odd inputs for the reliability tests, each written into a folder the test owns (tmp_path).

Every ``write_*`` function takes the output folder and returns a :class:`Media`: the file, what a correct
result is (``hr_bpm`` for a clip that should read, ``None`` for one that must not), and words the message
should contain. Faces come from ``kdphys.data.synthetic`` (a real portrait with a known pulse) at small
sizes and written near-losslessly (H.264 crf 0): at crf 18 the codec erases the synthetic pulse of a
small face.

    from tests import media
    clip = media.write_face_clip(tmp_path, "face", hr_bpm=80)      # Media(path, hr_bpm=~80, ...)
    bad = media.ALL_CASES["random_bytes"](tmp_path)                 # Media(path, hr_bpm=None, words=[...])
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import av
import cv2
import numpy as np

from kdphys import paths
from kdphys.data.synthetic import SyntheticConfig, generate_clip
from kdphys.io.write import write_video

#: Default synthetic frame size (H, W): small enough to render, encode and analyse in about a second.
SMALL_HW = (240, 320)
FPS = 30.0


@dataclass(frozen=True)
class Media:
    """One test input.

    path: the file written.
    expect: "error" (the reader refuses it with a VideoError), "no_reading" (analysed, no heart rate)
        or "reading" (a heart rate within ``tol_bpm`` of ``hr_bpm``). "reading_or_none" accepts either a
        correct reading or no reading (never a wrong number).
    hr_bpm: ground-truth mean heart rate, bpm (None without a pulse).
    words: lower-case fragments, one of which the message must contain (errors and no-readings).
    tol_bpm: largest allowed |reading - hr_bpm|, bpm.
    """

    path: Path
    expect: str
    hr_bpm: float | None = None
    words: tuple[str, ...] = ()
    tol_bpm: float = 3.0
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------- synthetic faces
@functools.lru_cache(maxsize=16)
def _clip(hr_bpm: float, duration_s: float, size_hw: tuple[int, int], seed: int, fps: float = FPS,
          pulse_amplitude: float = 1.0, include_face: bool = True, face_scale: float = 1.0,
          face_center: tuple[float, float] = (0.5, 0.45), noise_std: float = 2.0):
    """A rendered synthetic clip (cached per process: several cases reuse the same frames)."""
    cfg = SyntheticConfig(hr_bpm=hr_bpm, duration_s=duration_s, size=size_hw, fps=fps, seed=seed,
                          pulse_amplitude=pulse_amplitude, include_face=include_face, face_scale=face_scale,
                          face_center=face_center, noise_std=noise_std)
    return generate_clip(cfg)


def face_frames(hr_bpm: float = 78.0, duration_s: float = 10.0, size_hw: tuple[int, int] = SMALL_HW,
                seed: int = 1, **kw) -> tuple[np.ndarray, float]:
    """(frames (N, H, W, 3) uint8 RGB, true mean HR bpm) of a synthetic face with a pulse."""
    clip = _clip(float(hr_bpm), float(duration_s), tuple(size_hw), int(seed), **kw)
    return clip.frames, clip.hr_bpm


def write_face_clip(out_dir: Path, name: str, hr_bpm: float = 78.0, duration_s: float = 10.0,
                    size_hw: tuple[int, int] = SMALL_HW, seed: int = 1, crf: float = 0,
                    transform: Callable[[np.ndarray], np.ndarray] | None = None, ext: str = "mp4",
                    codec: str = "h264", **kw) -> Media:
    """A synthetic face video that should read ``hr_bpm``; ``transform`` maps each (H, W, 3) frame."""
    frames, true_hr = face_frames(hr_bpm, duration_s, size_hw, seed, **kw)
    out = Path(out_dir) / f"{name}.{ext}"
    gen = (transform(f) if transform else f for f in frames)
    write_video(out, gen, fps=FPS, codec=codec, crf=crf if codec == "h264" else None)
    return Media(out, "reading", hr_bpm=true_hr)


# --------------------------------------------------------------------------------------- bad files
def write_zero_byte(out_dir: Path) -> Media:
    path = Path(out_dir) / "empty.mp4"
    path.write_bytes(b"")
    return Media(path, "error", words=("empty", "0 bytes"))


def write_random_bytes(out_dir: Path, n_bytes: int = 50_000) -> Media:
    path = Path(out_dir) / "random.mp4"
    path.write_bytes(np.random.default_rng(1).bytes(n_bytes))
    return Media(path, "error", words=("not a video",))


def write_truncated_mp4(out_dir: Path) -> Media:
    """The first 40 % of a face mp4 (the index, 'moov', is at the end, so it is lost)."""
    full = write_face_clip(out_dir, "full_for_truncation", duration_s=4.0).path
    path = Path(out_dir) / "truncated.mp4"
    data = full.read_bytes()
    path.write_bytes(data[: int(0.4 * len(data))])
    return Media(path, "error", words=("incomplete", "damaged"))


def write_truncated_mkv(out_dir: Path) -> Media:
    """A 10 s face mkv cut after 60 % of its bytes: the frames before the cut are usable (6 s)."""
    frames, true_hr = face_frames(duration_s=10.0)
    full = Path(out_dir) / "full_for_truncation.mkv"
    write_video(full, iter(frames), fps=FPS, codec="h264", crf=0)
    path = Path(out_dir) / "truncated.mkv"
    data = full.read_bytes()
    path.write_bytes(data[: int(0.6 * len(data))])
    return Media(path, "reading_or_none", hr_bpm=true_hr, words=("no reading",))


def write_audio_only(out_dir: Path) -> Media:
    path = Path(out_dir) / "audio.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(20):
            samples = (0.1 * np.sin(np.arange(1024) / 5.0)).astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return Media(path, "error", words=("only audio", "no video"))


def write_image_as_mp4(out_dir: Path) -> Media:
    """A JPEG photo of a face, renamed .mp4."""
    frames, _ = face_frames(duration_s=1.0)
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR))
    assert ok
    path = Path(out_dir) / "photo.mp4"
    path.write_bytes(jpg.tobytes())
    return Media(path, "error", words=("still image",))


def write_one_frame(out_dir: Path) -> Media:
    frames, _ = face_frames(duration_s=1.0)
    path = Path(out_dir) / "one_frame.mp4"
    write_video(path, frames[:1], fps=FPS, codec="h264", crf=0)
    return Media(path, "error", words=("1 decodable frame", "at least"))


def write_two_seconds(out_dir: Path) -> Media:
    m = write_face_clip(out_dir, "two_seconds", duration_s=2.0)
    return Media(m.path, "no_reading", words=("2.0 s long", "at least 5 s"))


def write_4k(out_dir: Path, duration_s: float = 1.0) -> Media:
    """1 s of 3840x2160 (a face rendered at 540x960 and scaled x4), MJPEG in .avi (fast to encode)."""
    frames, _ = face_frames(duration_s=duration_s, size_hw=(540, 960))
    path = Path(out_dir) / "uhd_4k.avi"
    write_video(path, (cv2.resize(f, (3840, 2160), interpolation=cv2.INTER_LINEAR) for f in frames),
                fps=FPS, codec="mjpeg")
    return Media(path, "no_reading", words=("1.0 s long", "at least 5 s"), extra={"size_wh": (3840, 2160)})


def write_4k_reading(out_dir: Path) -> Media:
    """6 s at 3840x2160 should read (slow: about 15 s to write and analyse; used only where noted)."""
    m = write_4k(out_dir, duration_s=6.0)
    return Media(m.path, "reading_or_none", hr_bpm=face_frames(duration_s=6.0, size_hw=(540, 960))[1])


def write_portrait_rotated(out_dir: Path) -> Media:
    """A phone held upright: a 240x320 (W x H) portrait scene stored as 320x240 landscape pixels with a
    display matrix saying "rotate 90 degrees clockwise" (what phones write)."""
    frames, true_hr = face_frames(size_hw=(320, 240), seed=2)
    path = Path(out_dir) / "portrait.mp4"
    stored = (np.ascontiguousarray(np.rot90(f, k=1)) for f in frames)       # 90 deg counter-clockwise
    write_video(path, stored, fps=FPS, codec="h264", crf=0, rotation_deg=90)
    return Media(path, "reading", hr_bpm=true_hr, extra={"size_wh": (240, 320), "rotation_deg": 90})


def write_variable_frame_rate(out_dir: Path) -> Media:
    """A face rendered at 60 fps, of which frames are kept at uneven intervals (16-67 ms, mean ~33 ms)."""
    frames, true_hr = face_frames(duration_s=10.0, fps=60.0, seed=3)
    rng = np.random.default_rng(5)
    keep = [0]
    while True:
        step = int(rng.choice([1, 2, 2, 2, 3, 4]))
        if keep[-1] + step >= len(frames):
            break
        keep.append(keep[-1] + step)
    t_s = np.asarray(keep) / 60.0
    path = Path(out_dir) / "vfr.mkv"
    write_video(path, (frames[k] for k in keep), fps=FPS, codec="h264", crf=0, t_s=t_s)
    return Media(path, "reading", hr_bpm=true_hr, extra={"vfr": True})


def write_grayscale(out_dir: Path) -> Media:
    m = write_face_clip(out_dir, "grayscale",
                        transform=lambda f: np.repeat(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2))
    return Media(m.path, "reading_or_none", hr_bpm=m.hr_bpm, words=("no reading",))


def write_dark(out_dir: Path) -> Media:
    """Very dark: every pixel at 6 % of its level (skin around 10 of 255)."""
    m = write_face_clip(out_dir, "dark", transform=lambda f: np.rint(f * 0.06).astype(np.uint8))
    return Media(m.path, "reading_or_none", hr_bpm=m.hr_bpm, words=("no reading",))


def write_overexposed(out_dir: Path) -> Media:
    """Overexposed: levels x3, clipped at 255 (skin saturated)."""
    m = write_face_clip(out_dir, "overexposed",
                        transform=lambda f: np.clip(f.astype(np.uint16) * 3, 0, 255).astype(np.uint8))
    return Media(m.path, "reading_or_none", hr_bpm=m.hr_bpm, words=("no reading",))


def write_two_faces(out_dir: Path) -> Media:
    """Two people side by side: a large face at 66 bpm (left) and a smaller one at 96 bpm (right)."""
    big, hr_big = face_frames(hr_bpm=66.0, size_hw=(240, 320), seed=4, face_scale=1.1)
    small, _ = face_frames(hr_bpm=96.0, size_hw=(240, 320), seed=5, face_scale=0.75)
    path = Path(out_dir) / "two_faces.mp4"
    write_video(path, (np.concatenate([a, b], axis=1) for a, b in zip(big, small)), fps=FPS, codec="h264", crf=0)
    return Media(path, "reading_or_none", hr_bpm=hr_big, words=("no reading",), extra={"faces": 2})


def write_no_face(out_dir: Path) -> Media:
    frames = _clip(72.0, 8.0, SMALL_HW, 6, include_face=False).frames
    path = Path(out_dir) / "no_face.mp4"
    write_video(path, iter(frames), fps=FPS, codec="h264", crf=0)
    return Media(path, "no_reading", words=("face",))


def write_still_photo(out_dir: Path) -> Media:
    """A printed photo held before the camera: the face never changes colour (no pulse), sensor noise only."""
    frames = _clip(72.0, 10.0, SMALL_HW, 7, pulse_amplitude=0.0).frames
    path = Path(out_dir) / "still_photo.mp4"
    write_video(path, iter(frames), fps=FPS, codec="h264", crf=0)
    return Media(path, "no_reading", words=("no reading",))


def write_good_clip(out_dir: Path) -> Media:
    """A plain 10 s synthetic face at 78 bpm: the control case, it must read."""
    return write_face_clip(out_dir, "good", hr_bpm=78.0)


#: case name -> writer. Order: refused files first, then analysed ones.
ALL_CASES: dict[str, Callable[[Path], Media]] = {
    "zero_byte": write_zero_byte,
    "random_bytes": write_random_bytes,
    "truncated_mp4": write_truncated_mp4,
    "audio_only": write_audio_only,
    "image_as_mp4": write_image_as_mp4,
    "one_frame": write_one_frame,
    "two_seconds": write_two_seconds,
    "uhd_4k": write_4k,
    "portrait_rotated": write_portrait_rotated,
    "variable_frame_rate": write_variable_frame_rate,
    "grayscale": write_grayscale,
    "dark": write_dark,
    "overexposed": write_overexposed,
    "two_faces": write_two_faces,
    "no_face": write_no_face,
    "still_photo": write_still_photo,
    "truncated_mkv": write_truncated_mkv,
    "good": write_good_clip,
}


def write_640x480_clip(out_dir: Path, name: str, hr_bpm: float, seed: int, duration_s: float = 12.0) -> Media:
    """A 640x480 synthetic face as MJPEG .avi (high quality, fast to encode) for browser uploads."""
    frames, true_hr = face_frames(hr_bpm, duration_s, (480, 640), seed)
    path = Path(out_dir) / f"{name}.avi"
    write_video(path, iter(frames), fps=FPS, codec="mjpeg")
    return Media(path, "reading", hr_bpm=true_hr)


def sample_clip() -> Path:
    """The shipped real clip (640x480, 30 fps, 20 s, reference about 71 bpm)."""
    return paths.SAMPLE_VIDEO
