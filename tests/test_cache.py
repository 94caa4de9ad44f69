"""Chunk cache: streaming pre-processing, npz chunks, reuse, lost-face drops, ChunkDataset, subject splits."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from skimage.data import astronaut

from kdphys.data import PURE, DatasetError, RecordList, UBFCrPPG, VideoRecord
from kdphys.data.base import ChunkStats, uniform_frames
from kdphys.data.cache import ChunkCache, ChunkDataset, read_manifest, split_by_subject
from kdphys.face import FaceLandmarkDetector, TrackerSettings
from kdphys.video import write_video

FPS = 30.0
T = 16          # chunk length
S = 36          # crop size
FACE = cv2.resize(astronaut()[:320, 96:416], (160, 160), interpolation=cv2.INTER_AREA)   # a face the landmarker finds
BLANK = np.full_like(FACE, 128)


@pytest.fixture(scope="module")
def detector():
    det = FaceLandmarkDetector()
    yield det
    det.close()


def _face_frames(n, blank=()):
    """n frames of the astronaut face with a small brightness pulse; indices in ``blank`` are grey (no face)."""
    for i in range(n):
        if i in blank:
            yield BLANK
        else:
            yield np.clip(FACE.astype(np.int16) + int(round(2 * np.sin(i / 3))), 0, 255).astype(np.uint8)


def _write_ubfc2(folder, n=48, blank=(), hr=72.0):
    folder.mkdir(parents=True)
    write_video(folder / "vid.avi", _face_frames(n, set(blank)), FPS, codec="mjpeg")
    t = np.arange(n) / FPS
    ppg = 3.0 + np.sin(2 * np.pi * hr / 60 * t)
    rows = (ppg, np.full(n, hr), t)
    (folder / "ground_truth.txt").write_text("\n".join(" ".join(f"{v:.9e}" for v in r) for r in rows))
    return ppg, t


def _cache(tmp_path, detector, **kw):
    settings = TrackerSettings(detect_every=kw.pop("detect_every", 5), lost_after_misses=kw.pop("misses", 3))
    return ChunkCache(tmp_path / "cache", crop_size=kw.pop("crop_size", S), chunk_len=T, fps=FPS,
                      tracker_settings=settings, detector=detector, **kw)


def test_build_writes_chunks_and_reuses_them(tmp_path, detector):
    ppg1, t1 = _write_ubfc2(tmp_path / "ubfc" / "subject1", n=48)
    _write_ubfc2(tmp_path / "ubfc" / "subject2", n=40)               # 2 full chunks, 8 frames left over
    ds = UBFCrPPG(tmp_path / "ubfc")
    cache = _cache(tmp_path, detector)
    paths = cache.build(ds, progress=False)
    report = cache.last_report
    assert len(paths) == 5 and report.records_built == 2 and report.chunks_written == 5
    assert report.frames_decoded == 48 + 40
    with np.load(paths[0]) as z:
        crops, bvp, t_s = z["crops"], z["bvp"], z["t_s"]
    assert crops.shape == (T, S, S, 3) and crops.dtype == np.uint8 and bvp.shape == (T,) and bvp.dtype == np.float32
    assert crops.std() > 10                                          # a real face crop, not a constant
    np.testing.assert_allclose(t_s, np.arange(T) / FPS, atol=1e-9)
    np.testing.assert_allclose(bvp, ppg1[:T], atol=1e-5)              # BVP at the chunk's frame times
    with np.load(paths[2]) as z:
        np.testing.assert_allclose(z["bvp"], ppg1[2 * T:3 * T], atol=1e-5)
    manifest = json.loads((paths[0].parent / "manifest.json").read_text())
    assert manifest["subject_id"] == "subject1" and manifest["chunks"] == [p.name for p in paths[:3]]
    assert manifest["chunks_dropped_face_lost"] == 0 and manifest["params"]["crop_size"] == S
    assert manifest["params"]["tracker"]["detect_every"] == 5 and manifest["hr_bpm"] == pytest.approx(72.0)

    mtimes = [p.stat().st_mtime_ns for p in paths]
    again = cache.build(ds, progress=False)
    assert again == paths and cache.last_report.frames_decoded == 0    # nothing decoded the second time
    assert cache.last_report.records_reused == 2 and cache.last_report.chunks_reused == 5
    assert [p.stat().st_mtime_ns for p in paths] == mtimes

    other = _cache(tmp_path, detector, crop_size=24).build(ds, progress=False)   # new settings, new key
    assert other[0].parent != paths[0].parent
    with np.load(other[0]) as z:
        assert z["crops"].shape == (T, 24, 24, 3)


def test_video_rewritten_in_place_is_not_served_from_the_old_chunks(tmp_path, detector):
    import os

    _write_ubfc2(tmp_path / "ubfc" / "subject1", n=32)
    ds = UBFCrPPG(tmp_path / "ubfc")
    cache = _cache(tmp_path, detector)
    first = cache.build(ds, progress=False)
    video = tmp_path / "ubfc" / "subject1" / "vid.avi"
    write_video(video, _face_frames(32, blank=set(range(32))), FPS, codec="mjpeg")   # same path, no face now
    os.utime(video, ns=(video.stat().st_atime_ns, video.stat().st_mtime_ns + 1_000_000))  # coarse clocks
    second = cache.build(ds, progress=False)
    assert cache.last_report.records_built == 1 and cache.last_report.frames_decoded == 32
    assert second == [] and first[0].parent != cache.record_dir("ubfc-rppg", ds.records()[0])


def test_interrupted_build_is_redone(tmp_path, detector):
    _write_ubfc2(tmp_path / "ubfc" / "subject1", n=32)
    ds = UBFCrPPG(tmp_path / "ubfc")
    cache = _cache(tmp_path, detector)
    paths = cache.build(ds, progress=False)
    (paths[0].parent / "manifest.json").unlink()                       # as if killed before the manifest
    assert read_manifest(paths[0].parent) is None
    assert cache.build(ds, progress=False) == paths and cache.last_report.frames_decoded == 32
    paths[1].unlink()                                                  # a chunk file lost
    assert cache.build(ds, progress=False) == paths and cache.last_report.records_built == 1


def test_lost_face_chunks_are_dropped_and_counted(tmp_path, detector):
    _write_ubfc2(tmp_path / "ubfc" / "subject1", n=48, blank=range(T, 2 * T))     # no face in chunk 1
    cache = _cache(tmp_path, detector, detect_every=1, misses=1)
    paths = cache.build(UBFCrPPG(tmp_path / "ubfc"), progress=False)
    assert [p.name for p in paths] == ["chunk_00000.npz", "chunk_00002.npz"]
    manifest = read_manifest(paths[0].parent)
    assert manifest["chunks_dropped_face_lost"] == 1 and manifest["dropped_chunk_indices"] == [1]
    assert cache.last_report.chunks_dropped_face_lost == 1


def test_png_source_through_cache(tmp_path, detector):
    """PURE: PNG frames at uneven times and a 60 Hz waveform that starts before the first frame."""
    rec_dir = tmp_path / "pure" / "03-01"
    (rec_dir / "03-01").mkdir(parents=True)
    t0 = 1_400_000_000_000_000_000
    frame_ns = t0 + np.arange(20) * 33_333_333 + np.array([0, 3, 1] * 6 + [2, 0]) * 1_000_000
    for ts, rgb in zip(frame_ns, _face_frames(20)):
        cv2.imwrite(str(rec_dir / "03-01" / f"Image{ts}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    wave_ns = t0 - 5_000_000 + np.arange(45) * 16_666_667
    wave = (np.arange(45) % 7).astype(float)
    (rec_dir / "03-01.json").write_text(json.dumps({
        "/FullPackage": [{"Timestamp": int(ts), "Value": {"waveform": w, "pulseRate": 70, "o2saturation": 98,
                                                          "signalStrength": 5}} for ts, w in zip(wave_ns, wave)],
        "/Image": [{"Timestamp": int(ts)} for ts in frame_ns]}))
    cache = _cache(tmp_path, detector)
    (path,) = cache.build(PURE(tmp_path / "pure"), progress=False)
    with np.load(path) as z:
        assert z["crops"].shape == (T, S, S, 3)
        np.testing.assert_allclose(z["t_s"], np.arange(T) / FPS, atol=1e-9)
        np.testing.assert_allclose(z["bvp"], np.interp(z["t_s"], (wave_ns - frame_ns[0]) / 1e9, wave), atol=1e-5)
    assert read_manifest(path.parent)["subject_id"] == "03"


def test_chunk_dataset_tensors_and_subject_split(tmp_path):
    """ChunkDataset on hand-written chunk folders (no decoding needed)."""
    rng = np.random.default_rng(0)
    paths = []
    for s in range(5):
        folder = tmp_path / f"rec{s}"
        folder.mkdir()
        names = []
        for c in range(2):
            name = f"chunk_{c:05d}.npz"
            np.savez(folder / name, crops=rng.integers(0, 256, (T, S, S, 3), dtype=np.uint8),
                     bvp=(5 + 2 * rng.standard_normal(T)).astype(np.float32), t_s=np.arange(T) / FPS)
            names.append(name)
            paths.append(folder / name)
        (folder / "manifest.json").write_text(json.dumps({"format": 1, "subject_id": f"s{s}", "record_id": f"r{s}",
                                                          "chunks": names, "chunks_dropped_face_lost": 0}))
    ds = ChunkDataset(paths)
    assert len(ds) == 10 and ds.subject_ids[:3] == ["s0", "s0", "s1"]
    clips, bvp = ds[3]
    with np.load(paths[3]) as z:
        want = torch.from_numpy(z["crops"]).permute(0, 3, 1, 2).float() / 255
        raw = z["bvp"]
    assert clips.shape == (T, 3, S, S) and clips.dtype == torch.float32 and bvp.shape == (T,)
    assert torch.allclose(clips, want) and 0.0 <= clips.min() and clips.max() <= 1.0
    assert abs(float(bvp.mean())) < 1e-5 and float(bvp.std(unbiased=False)) == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(bvp.numpy(), (raw - raw.mean()) / raw.std(), atol=1e-4)
    assert ChunkDataset(paths, return_subject=True)[4][2] == "s2"
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch[0].shape == (4, T, 3, S, S) and batch[1].shape == (4, T)

    train, val, test = split_by_subject(paths, fractions=(0.6, 0.2, 0.2), seed=0)
    subjects = [set(ChunkDataset(part).subject_ids) for part in (train, val, test)]
    assert [len(s) for s in subjects] == [3, 1, 1] and len(train) + len(val) + len(test) == 10
    assert not (subjects[0] & subjects[1]) and not (subjects[0] & subjects[2]) and not (subjects[1] & subjects[2])
    with pytest.raises(DatasetError, match="no readable manifest.json"):
        ChunkDataset([tmp_path / "elsewhere" / "chunk_00000.npz"])


def test_uniform_frames_nearest_grid():
    def source(times):
        return ((np.full((2, 2, 3), i, np.uint8), t) for i, t in enumerate(times))

    fast = list(uniform_frames(source(np.arange(12) / 60.0), fps=30.0))            # 60 fps -> every other frame
    assert [i for i, _, _ in fast] == [0, 2, 4, 6, 8, 10]
    slow = list(uniform_frames(source(np.arange(5) / 12.0), fps=30.0))             # 12 fps -> repeats
    assert [i for i, _, _ in slow][:9] == [0, 0, 1, 1, 2, 2, 2, 3, 3]
    jitter = np.array([0.0, 0.030, 0.071, 0.095, 0.140])
    stats = ChunkStats()
    got = list(uniform_frames(source(jitter), fps=30.0, t_min_s=0.02, t_max_s=0.1, stats=stats))
    assert [i for i, _, _ in got] == [1, 2, 3] and [g for _, _, g in got] == pytest.approx([0.02, 0.0533333, 0.0866667])
    assert stats.frames_decoded == 4              # stopped reading once the grid passed t_max_s


def test_record_without_waveform_is_refused(tmp_path):
    rec = VideoRecord("s", tmp_path / "x.mp4", np.zeros(0), np.zeros(0), hr_bpm=70.0)
    cache = ChunkCache(tmp_path / "cache", detector=object())
    with pytest.raises(DatasetError, match="no BVP/PPG waveform, only a heart rate"):
        cache.build(RecordList("folder", [rec]), progress=False)
