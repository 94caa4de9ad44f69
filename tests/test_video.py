"""Tests for kdphys.io.video: containers/codecs, timestamps, rotation, VFR, uploads, bad files."""

import inspect
import io
import logging

import av
import numpy as np
import pytest

from kdphys import paths
from kdphys.errors import VideoError
from kdphys.io.video import MIN_VIDEO_FRAMES, Frame, is_variable_frame_rate, iter_frames, probe, read_video
from kdphys.io.write import available_write_codecs, write_video

W, H = 64, 48


def ramp_frames(n, width=W, height=H):
    """(n, H, W, 3) uint8: smooth gradients plus a brightness that rises with the frame index."""
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 100 // width, y * 100 // height, (x + y) * 50 // (width + height)], axis=-1)
    return np.stack([(base + 40 + 12 * i).clip(0, 255).astype(np.uint8) for i in range(n)])


def marker_frame(width=W, height=H):
    """(H, W, 3) uint8 grey with a red block in the top-left and a blue block in the top-right."""
    rgb = np.full((height, width, 3), 128, np.uint8)
    rgb[: height // 3, : width // 4] = (255, 0, 0)
    rgb[: height // 3, -width // 4 :] = (0, 0, 255)
    return rgb


def needs(codec):
    return pytest.mark.skipif(codec not in available_write_codecs(), reason=f"no {codec} encoder in this av")


def decode_all(source, **kw):
    frames = list(iter_frames(source, **kw))
    return np.stack([f.rgb for f in frames]), np.array([f.t_s for f in frames])


# --------------------------------------------------------------------------------- containers/codecs

ROUNDTRIPS = [
    ("mp4", "h264", 30.0, 12.0),
    ("mov", "h264", 30.0, 12.0),
    ("mkv", "h264", 25.0, 12.0),
    ("avi", "mjpeg", 30.0, 12.0),
    ("webm", "vp9", 30.0, 14.0),
    ("webm", "vp8", 24.0, 14.0),
    ("mkv", "ffv1", 30.0, 0.0),
    ("avi", "ffv1", 15.0, 0.0),
]


@pytest.mark.parametrize("ext,codec,fps,max_err", ROUNDTRIPS)
def test_roundtrip_each_container_and_codec(tmp_path, ext, codec, fps, max_err):
    if codec not in available_write_codecs():
        pytest.skip(f"no {codec} encoder")
    n = 12
    src = ramp_frames(n)
    path = write_video(tmp_path / f"clip.{ext}", src, fps=fps, codec=codec, crf=18)

    info = probe(path)
    assert (info.width, info.height) == (W, H)
    assert info.n_frames == n
    assert info.fps == pytest.approx(fps, rel=0.01)
    assert info.duration_s == pytest.approx(n / fps, abs=0.01)
    assert info.rotation_deg == 0 and not info.variable_frame_rate
    assert info.codec == {"h264": "h264", "mjpeg": "mjpeg", "vp9": "vp9", "vp8": "vp8", "ffv1": "ffv1"}[codec]

    frames = list(iter_frames(path))
    assert all(isinstance(f, Frame) for f in frames)
    assert [f.index for f in frames] == list(range(n))
    t_s = np.array([f.t_s for f in frames])
    assert t_s[0] == 0.0
    np.testing.assert_allclose(t_s, np.arange(n) / fps, atol=1.5e-3)  # mkv/webm store milliseconds
    rgb = np.stack([f.rgb for f in frames])
    assert rgb.shape == (n, H, W, 3) and rgb.dtype == np.uint8
    err = np.abs(rgb.astype(int) - src.astype(int)).mean()
    assert err <= max_err + 1e-9, f"mean abs error {err:.2f} too large for {codec}"
    assert np.all(np.diff(rgb.mean(axis=(1, 2, 3))) > 5)  # frames come out in order


def test_read_video_matches_iter_frames(tmp_path):
    path = write_video(tmp_path / "c.mkv", ramp_frames(8), fps=20.0, codec="ffv1")
    frames, t_s, info = read_video(path)
    assert frames.shape == (8, H, W, 3) and t_s.shape == (8,)
    assert info.n_frames == 8 and (info.width, info.height) == (W, H)
    np.testing.assert_array_equal(frames, ramp_frames(8))
    np.testing.assert_allclose(t_s, np.arange(8) / 20.0, atol=1e-3)


def test_grayscale_video_comes_out_rgb(tmp_path):
    src = ramp_frames(4)
    path = write_video(tmp_path / "gray.mkv", src, fps=10.0, codec="ffv1", pix_fmt="gray")
    frames, _, _ = read_video(path)
    assert frames.shape == (4, H, W, 3)
    np.testing.assert_array_equal(frames[..., 0], frames[..., 1])
    np.testing.assert_array_equal(frames[..., 1], frames[..., 2])
    assert abs(float(frames.mean()) - float(src.mean())) < 8  # luma of the ramp, not black


# --------------------------------------------------------------------------------- the real clip


def test_sample_clip_probe_and_decode():
    info = probe(paths.SAMPLE_VIDEO)
    assert (info.width, info.height) == (640, 480)
    assert 595 <= info.n_frames <= 605
    assert info.fps == pytest.approx(30.0, abs=0.5)
    assert info.duration_s == pytest.approx(20.0, abs=0.5)
    assert info.codec == "h264" and info.rotation_deg == 0 and not info.variable_frame_rate

    count, last_t_s, shapes = 0, -1.0, set()
    for frame in iter_frames(paths.SAMPLE_VIDEO, max_side=160):
        assert frame.t_s > last_t_s
        last_t_s = frame.t_s
        shapes.add(frame.rgb.shape)
        count += 1
    assert count == info.n_frames
    assert last_t_s == pytest.approx(20.0, abs=0.5)
    assert shapes == {(120, 160, 3)}


def test_sample_clip_first_frame_full_size():
    first = next(iter_frames(paths.SAMPLE_VIDEO))
    assert first.t_s == 0.0 and first.index == 0
    assert first.rgb.shape == (480, 640, 3) and first.rgb.dtype == np.uint8
    assert 20 < first.rgb.mean() < 235  # a real picture, not a blank frame


# --------------------------------------------------------------------------------- streaming, size


def test_iter_frames_is_lazy_generator(tmp_path):
    rng = np.random.default_rng(0)
    noise = (rng.integers(0, 256, (H * 2, W * 2, 3), dtype=np.uint8) for _ in range(60))
    path = write_video(tmp_path / "noise.mkv", noise, fps=30.0, codec="ffv1")  # incompressible: ~2 MB
    data = path.read_bytes()

    class CountingReader(io.BytesIO):
        bytes_read = 0

        def read(self, size=-1):
            chunk = super().read(size)
            CountingReader.bytes_read += len(chunk)
            return chunk

    gen = iter_frames(CountingReader(data))
    assert inspect.isgenerator(gen)
    assert CountingReader.bytes_read == 0  # nothing happens before the first next()
    first = next(gen)
    assert first.rgb.shape == (H * 2, W * 2, 3)
    assert CountingReader.bytes_read < len(data) / 4
    gen.close()


def test_max_side_downscales_large_video(tmp_path):
    big = np.zeros((3, 2160, 3840, 3), np.uint8)
    big[:, :, 1920:] = 200  # right half bright
    path = write_video(tmp_path / "uhd.avi", big, fps=30.0, codec="mjpeg")
    frames, _, info = read_video(path, max_side=640)
    assert frames.shape == (3, 360, 640, 3)
    assert (info.width, info.height) == (640, 360)
    assert frames[:, :, :300].mean() < 20 and frames[:, :, 340:].mean() > 180
    assert probe(path).width == 3840  # probe reports the file's size
    small = next(iter_frames(path, max_side=10_000))
    assert small.rgb.shape == (2160, 3840, 3)  # never upscaled
    with pytest.raises(ValueError):
        next(iter_frames(path, max_side=0))


# --------------------------------------------------------------------------------- rotation


@pytest.mark.parametrize("rotation_deg", [90, 180, 270])
def test_rotation_metadata_is_applied_exactly(tmp_path, rotation_deg):
    src = marker_frame()
    path = write_video(tmp_path / "rot.mkv", [src] * 3, fps=30.0, codec="ffv1", rotation_deg=rotation_deg)
    info = probe(path)
    assert info.rotation_deg == rotation_deg
    expect = np.rot90(src, k=-rotation_deg // 90)  # clockwise
    assert (info.height, info.width) == expect.shape[:2]
    frames, _, _ = read_video(path)
    np.testing.assert_array_equal(frames[0], expect)


def test_portrait_phone_display_matrix(tmp_path):
    """An iPhone portrait clip stores landscape pixels with tkhd matrix (0, 1, -1, 0): show it 90 deg clockwise."""
    path = tmp_path / "portrait.mp4"
    src = marker_frame()
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.set_display_matrix([0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30])
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(src, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = probe(path)
    assert info.rotation_deg == 90
    assert (info.width, info.height) == (H, W)  # portrait
    first = next(iter_frames(path, max_side=32)).rgb
    assert first.shape == (32, 24, 3)
    upright = next(iter_frames(path)).rgb
    # after a clockwise quarter turn the red block (top-left) is top-right, the blue one bottom-right
    top_right, bottom_right = upright[:8, -8:].mean(axis=(0, 1)), upright[-8:, -8:].mean(axis=(0, 1))
    assert top_right[0] > 200 and top_right[2] < 60
    assert bottom_right[2] > 200 and bottom_right[0] < 60


# --------------------------------------------------------------------------------- VFR


@pytest.mark.parametrize("ext,codec", [("mkv", "ffv1"), ("mp4", "h264")])
def test_variable_frame_rate_detected_and_resampled(tmp_path, ext, codec):
    intervals_s = np.tile([0.025, 0.045, 0.030], 10)
    intervals_s[15] = 0.120  # a long gap, as when a phone drops frames
    t_written = np.concatenate([[0.0], np.cumsum(intervals_s)])
    level = (20 + 180 * t_written).round()  # brightness is a known function of time
    frames = [np.full((H, W, 3), v, np.uint8) for v in level]
    path = write_video(tmp_path / f"vfr.{ext}", frames, fps=30.0, codec=codec, t_s=t_written, crf=0)

    info = probe(path)
    assert info.variable_frame_rate
    assert info.n_frames == len(t_written)
    assert info.fps == pytest.approx((len(t_written) - 1) / t_written[-1], rel=0.01)
    rgb, t_s = decode_all(path)
    np.testing.assert_allclose(t_s, t_written, atol=1.5e-3)

    trace = rgb.mean(axis=(1, 2))  # (N, 3) mean colour per frame
    from kdphys.pipeline.resample import UniformResampler   # the one resampler (the engine's)

    resampler = UniformResampler(30.0)
    samples = [g for t, v in zip(t_s, trace) for g in resampler.push(float(t), v)]
    grid_t_s = np.array([g.t_s for g in samples])
    uniform = np.array([g.value for g in samples])
    assert uniform.shape == (len(grid_t_s), 3)
    np.testing.assert_allclose(np.diff(grid_t_s), 1 / 30.0, atol=1e-9)
    assert grid_t_s[0] == 0.0 and grid_t_s[-1] <= t_s[-1] + 1e-9
    np.testing.assert_allclose(uniform[:, 1], 20 + 180 * grid_t_s, atol=1.5)


def test_constant_rate_not_flagged_as_vfr():
    t_1ms = np.round(np.arange(100) / 120.0, 3)  # 120 fps stored in milliseconds: 8/9 ms steps
    assert not is_variable_frame_rate(np.arange(50) / 30.0)
    assert not is_variable_frame_rate(t_1ms, quantum_s=1e-3)
    gap = np.delete(np.arange(50) / 30.0, 20)
    assert is_variable_frame_rate(gap)
    assert is_variable_frame_rate(np.array([0.0, 0.1, 0.1, 0.2]))


def test_bytesio_and_bytes_input(tmp_path):
    path = write_video(tmp_path / "up.mp4", ramp_frames(6), fps=30.0, codec="h264")
    data = path.read_bytes()
    upload = io.BytesIO(data)
    info = probe(upload)
    assert (info.width, info.height, info.n_frames) == (W, H, 6)
    from_upload, t_upload = decode_all(upload)  # probe moved the position; iter_frames rewinds
    from_path, t_path = decode_all(path)
    np.testing.assert_array_equal(from_upload, from_path)
    np.testing.assert_allclose(t_upload, t_path)
    assert not upload.closed  # the caller's object stays usable
    frames, _, _ = read_video(data)
    assert frames.shape == (6, H, W, 3)


# --------------------------------------------------------------------------------- bad files


def _write_audio_only(path):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _corrupt_payload(good_mp4, out_path):
    """Keep the mp4 index but overwrite the compressed frames with noise."""
    data = bytearray(good_mp4.read_bytes())
    start, end = data.find(b"mdat") + 4, data.find(b"moov") - 8
    assert 0 < start < end
    data[start:end] = np.random.default_rng(2).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    out_path.write_bytes(bytes(data))


@pytest.fixture
def bad_files(tmp_path):
    """name -> (path, words the VideoError message must contain)."""
    good = write_video(tmp_path / "good.mp4", ramp_frames(20), fps=30.0, codec="h264")
    files = {}
    (tmp_path / "empty.mp4").write_bytes(b"")
    files["empty"] = (tmp_path / "empty.mp4", ["empty", "0 bytes"])
    (tmp_path / "random.mp4").write_bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8).tobytes())
    files["random"] = (tmp_path / "random.mp4", ["not a video", "mp4"])
    (tmp_path / "truncated.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    files["truncated_mp4"] = (tmp_path / "truncated.mp4", ["incomplete", "moov", "again"])
    _write_audio_only(tmp_path / "audio.mp4")
    files["audio_only"] = (tmp_path / "audio.mp4", ["no video", "only audio"])
    still = av.VideoFrame.from_ndarray(marker_frame(), format="rgb24")
    still.save(str(tmp_path / "photo.png"))
    (tmp_path / "photo.png").rename(tmp_path / "photo.mp4")
    files["still_image"] = (tmp_path / "photo.mp4", ["still image", "record"])
    write_video(tmp_path / "one.mp4", ramp_frames(1), fps=30.0, codec="h264")
    files["one_frame"] = (tmp_path / "one.mp4", [f"at least {MIN_VIDEO_FRAMES}", "1 decodable frame", "longer"])
    _corrupt_payload(good, tmp_path / "garbled.mp4")
    files["no_decodable_frames"] = (tmp_path / "garbled.mp4", ["none of the frames", "decoded", "re-export"])
    files["missing"] = (tmp_path / "nope.mp4", ["not found"])
    return files


BAD_CASES = ["empty", "random", "truncated_mp4", "audio_only", "still_image", "one_frame",
             "no_decodable_frames", "missing"]
READERS = {
    "probe": probe,
    "iter_frames": lambda p: list(iter_frames(p)),
    "read_video": read_video,
    "bytesio": lambda p: probe(io.BytesIO(p.read_bytes())),
}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_files_raise_video_error_with_advice(bad_files, case, reader):
    path, words = bad_files[case]
    if reader == "bytesio" and case == "missing":
        pytest.skip("no bytes to read")
    with pytest.raises(VideoError) as err:
        READERS[reader](path)
    assert type(err.value) is VideoError
    message = str(err.value).lower()
    for word in words:
        if reader == "bytesio" and word in ("0 bytes",):
            continue
        assert word.lower() in message, f"{word!r} missing from: {message}"


@pytest.mark.parametrize("ext,codec", [("mkv", "h264"), ("avi", "mjpeg"), ("avi", "ffv1")])
def test_truncated_file_yields_its_frames_and_warns(tmp_path, caplog, ext, codec):
    n = 30
    good = write_video(tmp_path / f"full.{ext}", ramp_frames(n), fps=30.0, codec=codec)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(good.read_bytes()[: int(good.stat().st_size * 0.6)])
    with caplog.at_level(logging.WARNING, logger="kdphys.io.video"):
        frames = list(iter_frames(cut))
    assert MIN_VIDEO_FRAMES <= len(frames) < n
    t_s = np.array([f.t_s for f in frames])  # true times: a frame that lost its reference is skipped
    assert t_s[0] == 0.0 and np.all(np.diff(t_s) > 0)
    np.testing.assert_allclose(t_s * 30.0, np.round(t_s * 30.0), atol=0.05)
    assert any("truncated" in r.getMessage() for r in caplog.records)
    assert probe(cut).n_frames < n


def test_write_video_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="webm"):
        write_video(tmp_path / "a.webm", ramp_frames(2), fps=30.0, codec="h264")
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "a.mp4", ramp_frames(2, width=63), fps=30.0, codec="h264")
    with pytest.raises(ValueError, match="extension"):
        write_video(tmp_path / "a.xyz", ramp_frames(2), fps=30.0)
    with pytest.raises(ValueError, match="no frames"):
        write_video(tmp_path / "b.mkv", [], fps=30.0, codec="ffv1")
    with pytest.raises(ValueError, match="increase"):
        write_video(tmp_path / "c.mkv", ramp_frames(3), fps=30.0, codec="ffv1", t_s=[0.0, 0.1, 0.1])
    assert not (tmp_path / "b.mkv").exists() and not (tmp_path / "c.mkv").exists()


@needs("h264")
def test_h264_available_via_libx264():
    assert "libx264" in av.codecs_available


def test_h264_output_does_not_depend_on_how_fast_frames_arrive(tmp_path):
    # x264's macroblock-tree rate control made the bytes differ between runs, most often when frames arrive
    # slowly (a renderer's pace): synthetic sets came out different in every run. They must be reproducible
    # from their seeds.
    import time

    from kdphys.data.synthetic import SyntheticConfig, generate_clip

    frames = list(generate_clip(SyntheticConfig(hr_bpm=80, duration_s=5.0, size=(240, 320), motion_px=3.0,
                                                noise_std=1.0, seed=3)).frames)

    def arriving_slowly():
        for frame in frames:
            time.sleep(0.01)
            yield frame

    write_video(tmp_path / "fast.mp4", frames, fps=30.0, codec="h264", crf=12)
    write_video(tmp_path / "slow.mp4", arriving_slowly(), fps=30.0, codec="h264", crf=12)
    assert (tmp_path / "fast.mp4").read_bytes() == (tmp_path / "slow.mp4").read_bytes()
