"""Tests of kdphys.io.lazy_rgb: a region converted alone has exactly the pixels of the whole frame's
conversion, for the formats camera videos use, and the face crop and skin colour read through it match."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kdphys import paths
from kdphys.face import crop_square, crop_square_skin
from kdphys.io.lazy_rgb import LazyRgb, image_region
from kdphys.io.video import iter_frames
from kdphys.io.write import write_video


def paired_frames(source, n: int, **kw) -> list[tuple[object, np.ndarray]]:
    """The first n frames of a video twice: lazily and fully converted (the reference)."""
    lazy = itertools.islice(iter_frames(source, lazy_rgb=True, **kw), n)
    eager = itertools.islice(iter_frames(source, **kw), n)
    return [(a.rgb, b.rgb) for a, b in zip(lazy, eager)]


def random_regions(shape_hw, n: int, seed: int):
    rng = np.random.default_rng(seed)
    height, width = shape_hw
    for _ in range(n):
        y0, x0 = int(rng.integers(0, height - 1)), int(rng.integers(0, width - 1))
        y1, x1 = int(rng.integers(y0 + 1, height + 1)), int(rng.integers(x0 + 1, width + 1))
        yield slice(y0, y1), slice(x0, x1)


def assert_regions_match(pairs, n_regions: int = 60):
    for k, (lazy, eager) in enumerate(pairs):
        assert isinstance(lazy, LazyRgb) and lazy.shape == eager.shape
        for rows, cols in random_regions(eager.shape[:2], n_regions, seed=k):
            np.testing.assert_array_equal(lazy.region(rows, cols), eager[rows, cols])
        np.testing.assert_array_equal(np.asarray(lazy), eager)


def test_regions_of_the_real_clip_match_the_whole_frame():
    pairs = paired_frames(paths.SAMPLE_VIDEO, 4)
    assert_regions_match(pairs)


def write_odd_mjpeg(path, frames) -> str:
    """An MJPEG (yuvj420p, full range) video of odd width and height; kdphys.io.video.write_video refuses odd
    4:2:0 sizes, cameras and FFmpeg do not."""
    import av

    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return str(path)


@pytest.mark.parametrize("codec,size_hw,ext", [("mjpeg", (96, 130), ".avi"), ("h264", (96, 130), ".mp4"),
                                               ("vp8", (72, 90), ".webm")])
def test_regions_match_for_other_formats(tmp_path, codec, size_hw, ext):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, size_hw + (3,), dtype=np.uint8) for _ in range(6)]
    video = write_video(tmp_path / f"clip{ext}", frames, fps=30.0, codec=codec)
    pairs = paired_frames(video, 6)
    assert_regions_match(pairs, n_regions=40)


def test_odd_sized_frames_are_converted_whole(tmp_path):
    """FFmpeg converts an odd-sized 4:2:0 frame with other chroma than any even region of it would get
    (measured: up to 64 grey levels apart), so such frames stay arrays, as before."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (121, 161, 3), dtype=np.uint8) for _ in range(4)]
    video = write_odd_mjpeg(tmp_path / "odd.avi", frames)
    for lazy, eager in paired_frames(video, 4):
        assert isinstance(lazy, np.ndarray)
        np.testing.assert_array_equal(lazy, eager)


def test_array_conversions_follow_numpy():
    (lazy, eager), = paired_frames(paths.SAMPLE_VIDEO, 1)
    kept = np.asarray(lazy)
    assert not kept.flags.writeable and np.asarray(lazy) is kept       # converted once, shared read-only
    copied = np.array(lazy)
    assert copied.flags.writeable and copied is not kept
    np.testing.assert_array_equal(copied, eager)
    assert np.asarray(lazy, dtype=np.float32).dtype == np.float32


def test_scaled_frames_stay_arrays():
    """Downscaled (max_side) frames are converted whole as before: a LazyRgb only stands for a frame
    shown as decoded."""
    (lazy, eager), = paired_frames(paths.SAMPLE_VIDEO, 1, max_side=320)
    assert isinstance(lazy, np.ndarray) and lazy.shape == (240, 320, 3)
    np.testing.assert_array_equal(lazy, eager)


def test_face_crops_and_regions_read_through_lazy_frames_match():
    (lazy, eager), = paired_frames(paths.SAMPLE_VIDEO, 1)
    mask = np.zeros(eager.shape[:2], bool)
    mask[150:330, 230:400] = True
    boxes = [(230.3, 140.8, 410.1, 335.6), (-30.0, -20.0, 120.0, 150.0), (560.0, 400.0, 700.0, 540.0)]
    for box in boxes:   # inside, and leaving the frame at two corners (edge pixels replicated)
        box = np.array(box, np.float32)
        np.testing.assert_array_equal(crop_square_skin(lazy, mask, box, 36), crop_square_skin(eager, mask, box, 36))
        np.testing.assert_array_equal(crop_square(lazy, box, 36), crop_square(eager, box, 36))
    np.testing.assert_array_equal(image_region(lazy, slice(10, 20), slice(5, 9)), eager[10:20, 5:9])
    assert image_region(lazy, slice(5, 5), slice(0, 10)).shape == (0, 10, 3)


def test_refuses_formats_it_cannot_cut(tmp_path):
    frames = [np.zeros((32, 32, 3), np.uint8)] * 3
    video = write_video(tmp_path / "rgb.mkv", frames, fps=30.0, codec="ffv1")
    import av

    with av.open(str(video)) as container:
        av_frame = next(container.decode(video=0))
    with pytest.raises(ValueError, match="yuv420p"):
        LazyRgb(av_frame)
    first = next(iter_frames(video, lazy_rgb=True))
    assert isinstance(first.rgb, np.ndarray)     # such videos are converted whole, as before
