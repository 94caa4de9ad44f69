"""Dataset loaders on tiny fixtures written here in each dataset's real on-disk format."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import scipy.io

from kdphys.data import (DATASETS, MMPD, PURE, DatasetError, UBFCrPPG, VideoFolder, get_dataset)
from kdphys.data.base import ImageSequenceSource, MatVideoSource, VideoFileSource
from kdphys.data.folder import read_label_csv
from kdphys.data.pure import read_pure_json
from kdphys.data.ubfc_rppg import read_ground_truth_txt, read_gtdump_xmp
from kdphys.io.write import write_video

FPS = 30.0


def _frames(n: int, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    """n distinct (size, size, 3) uint8 frames: a flat colour that changes per frame."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, size=3)
    return [np.full((size, size, 3), (base + 3 * i) % 256, np.uint8) for i in range(n)]


# ----------------------------------------------------------------------------------------- UBFC-rPPG
def _write_ubfc2(folder, n=60, hr=72.0, t0=0.0):
    folder.mkdir(parents=True)
    write_video(folder / "vid.avi", _frames(n), FPS, codec="mjpeg")
    t = t0 + np.arange(n) / FPS
    ppg = np.sin(2 * np.pi * hr / 60 * t)
    hr_row = np.full(n, hr)
    # the release writes scientific notation separated by several spaces
    text = "\n".join("   ".join(f"{v:.7e}" for v in row) for row in (ppg, hr_row, t)) + "\n"
    (folder / "ground_truth.txt").write_text(text)
    return ppg, t


def _write_ubfc1(folder, n=60, t0_ms=7613.0):
    folder.mkdir(parents=True)
    write_video(folder / "vid.avi", _frames(n), FPS, codec="mjpeg")
    ms = t0_ms + np.arange(n) * 1000.0 / 60.0          # oximeter at 60 Hz
    rows = [f"{m:.0f},{70 + i % 3},{97},{100 + 10 * np.sin(i / 4):.0f}" for i, m in enumerate(ms)]
    (folder / "gtdump.xmp").write_text("\n".join(rows) + "\n")
    return np.round(ms)


def test_ubfc_dataset2_records_and_values(tmp_path):
    ppg1, t1 = _write_ubfc2(tmp_path / "subject1", hr=60.0, t0=0.0)
    _write_ubfc2(tmp_path / "subject10", hr=90.0)
    _write_ubfc2(tmp_path / "subject2", hr=75.0, t0=0.5)
    ds = UBFCrPPG(tmp_path)
    recs = ds.records()
    assert [r.record_id for r in recs] == ["subject1", "subject2", "subject10"]    # natural order
    assert [r.subject_id for r in recs] == ["subject1", "subject2", "subject10"]
    assert [r.hr_bpm for r in recs] == pytest.approx([60.0, 75.0, 90.0])
    np.testing.assert_allclose(recs[0].bvp, ppg1, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(recs[0].bvp_t_s, t1, atol=1e-6)
    assert recs[1].bvp_t_s[0] == 0.0 and recs[1].bvp_t_s[-1] == pytest.approx(59 / FPS, abs=1e-6)  # shifted to 0
    assert recs[0].dataset == "ubfc-rppg" and isinstance(recs[0].frames, VideoFileSource)
    frames = list(recs[0].frames)
    assert len(frames) == 60 and frames[0][0].shape == (32, 32, 3) and frames[0][0].dtype == np.uint8
    np.testing.assert_allclose([t for _, t in frames], np.arange(60) / FPS, atol=2e-3)
    assert recs[0].frames.fps == pytest.approx(FPS, abs=0.01)
    assert ds.subjects() == ["subject1", "subject2", "subject10"]


def test_ubfc_dataset1_gtdump(tmp_path):
    ms = _write_ubfc1(tmp_path / "10-gt")
    ppg, hr, t = read_gtdump_xmp(tmp_path / "10-gt" / "gtdump.xmp")
    np.testing.assert_allclose(t, ms / 1000.0)
    assert hr[:3].tolist() == [70, 71, 72] and ppg[0] == 100
    (rec,) = UBFCrPPG(tmp_path).records()
    assert rec.record_id == "10-gt" and rec.subject_id == "10-gt"
    np.testing.assert_allclose(rec.bvp_t_s, (ms - ms[0]) / 1000.0)
    assert rec.hr_bpm == pytest.approx(np.mean([70 + i % 3 for i in range(60)]))


def test_ubfc_root_above_both_layouts(tmp_path):
    _write_ubfc2(tmp_path / "DATASET_2" / "subject3")
    _write_ubfc1(tmp_path / "DATASET_1" / "5-gt")
    ids = [r.record_id for r in get_dataset("ubfc-rppg", tmp_path).records()]
    assert ids == ["DATASET_1/5-gt", "DATASET_2/subject3"]


@pytest.mark.parametrize("text, message", [
    ("1 2 3\n70 70 70\n", "expected three lines"),
    ("1 2 x\n70 70 70\n0 0.1 0.2\n", "line 1 has a value that is not a number"),
    ("1 2 3\n70 70\n0 0.1 0.2\n", "different lengths"),
    ("1 2 3\n70 70 70\n0 0.2 0.1\n", "timestamps must increase"),
])
def test_ubfc_malformed_ground_truth(tmp_path, text, message):
    path = tmp_path / "ground_truth.txt"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_ground_truth_txt(path)


def test_ubfc_malformed_gtdump_and_missing_files(tmp_path):
    bad = tmp_path / "gtdump.xmp"
    bad.write_text("1000,70,97,100\n1016,70,97\n")
    with pytest.raises(DatasetError, match="row 2 has 3 columns"):
        read_gtdump_xmp(bad)
    folder = tmp_path / "root" / "subject1"
    folder.mkdir(parents=True)
    (folder / "vid.avi").write_bytes(b"")
    with pytest.raises(DatasetError, match="no ground_truth.txt"):
        UBFCrPPG(tmp_path / "root").records()


def test_missing_root_and_empty_root(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        UBFCrPPG(tmp_path / "nope")
    for cls in DATASETS.values():
        with pytest.raises(DatasetError, match="No .* recordings found"):
            cls(tmp_path).records()


# ---------------------------------------------------------------------------------------------- PURE
T0_NS = 1392643993642231000


def _write_pure(root, rec, n_frames=20, size=16, seed=0):
    """PURE recording: PNG frames at ~30 Hz with jitter, oximeter packages at 60 Hz starting 10 ms early."""
    folder = root / rec
    (folder / rec).mkdir(parents=True)
    rng = np.random.default_rng(seed)
    frame_ns = T0_NS + np.arange(n_frames) * 33_333_333 + rng.integers(0, 2_000_000, n_frames)
    images = []
    for i, ts in enumerate(frame_ns):
        rgb = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / rec / f"Image{ts}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        images.append(rgb)
    wave_ns = T0_NS - 10_000_000 + np.arange(2 * n_frames + 2) * 16_666_667
    package = [{"Timestamp": int(ts), "Value": {"waveform": int(50 + 10 * np.sin(i / 3)), "pulseRate": 66 + i % 2,
                                                "o2saturation": 98, "signalStrength": 4}}
               for i, ts in enumerate(wave_ns)]
    data = {"/FullPackage": package, "/Image": [{"Timestamp": int(ts)} for ts in frame_ns]}
    (folder / f"{rec}.json").write_text(json.dumps(data))
    return frame_ns, wave_ns, images, package


def test_pure_records_signal_and_timestamps(tmp_path):
    frame_ns, wave_ns, images, package = _write_pure(tmp_path, "01-01")
    _write_pure(tmp_path, "01-02", seed=1)
    _write_pure(tmp_path, "02-01", seed=2)
    (tmp_path / "notes").mkdir()                           # not a recording folder: ignored
    ds = PURE(tmp_path)
    recs = ds.records()
    assert [r.record_id for r in recs] == ["01-01", "01-02", "02-01"]
    assert [r.subject_id for r in recs] == ["01", "01", "02"]
    assert recs[1].meta == {"setup": "02"}
    rec = recs[0]
    np.testing.assert_array_equal(rec.bvp, [p["Value"]["waveform"] for p in package])
    np.testing.assert_allclose(rec.bvp_t_s, (wave_ns - frame_ns[0]) / 1e9, atol=1e-9)   # exact ns arithmetic
    assert rec.bvp_t_s[0] == pytest.approx(-0.010 - (frame_ns[0] - T0_NS) / 1e9, abs=1e-9)
    assert rec.hr_bpm == pytest.approx(66.5)
    assert isinstance(rec.frames, ImageSequenceSource) and rec.frames.n_frames == 20
    assert rec.frames.fps == pytest.approx(30.0, abs=1.0)
    got = list(rec.frames)
    np.testing.assert_allclose([t for _, t in got], (frame_ns - frame_ns[0]) / 1e9, atol=1e-9)
    for (rgb, _), want in zip(got, images):                # PNG is lossless, RGB order kept
        np.testing.assert_array_equal(rgb, want)
    gt = read_pure_json(tmp_path / "01-01" / "01-01.json")
    np.testing.assert_array_equal(gt.image_ts_ns, frame_ns)
    assert gt.spo2[0] == 98 and gt.signal_strength[0] == 4


def test_pure_malformed(tmp_path):
    _write_pure(tmp_path, "01-01")
    path = tmp_path / "01-01" / "01-01.json"
    data = json.loads(path.read_text())
    del data["/FullPackage"][3]["Value"]["waveform"]
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="sample 3 lacks"):
        PURE(tmp_path).records()
    path.write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        PURE(tmp_path).records()
    path.write_text(json.dumps({"/Image": []}))
    with pytest.raises(DatasetError, match="no '/FullPackage'"):
        PURE(tmp_path).records()
    _write_pure(tmp_path, "02-01")
    for png in (tmp_path / "02-01" / "02-01").iterdir():
        png.unlink()
    with pytest.raises(DatasetError, match="no Image<timestamp>.png"):
        PURE(tmp_path)._record(tmp_path / "02-01")


# ---------------------------------------------------------------------------------------------- MMPD
def _write_mmpd(path, n=12, seed=0, **labels):
    rng = np.random.default_rng(seed)
    video = rng.random((n, 6, 8, 3))                        # float 0..1 as in mini-MMPD
    gt = np.sin(np.arange(n) / 3.0)[None, :]                 # (1, T) as MATLAB saves a row vector
    meta = {"light": "LED-low", "motion": "Stationary", "exercise": "False", "skin_color": 3, "gender": "male",
            "glasser": "False", "hair_cover": "False", "makeup": "False"}
    meta.update(labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"video": video, "GT_ppg": gt, **meta}, do_compression=True)
    return video, gt[0]


def test_mmpd_records_metadata_and_frames(tmp_path):
    video, gt = _write_mmpd(tmp_path / "subject1" / "p1_0.mat")
    _write_mmpd(tmp_path / "subject1" / "p1_1.mat", seed=1, motion="Rotation", light="Nature")
    _write_mmpd(tmp_path / "subject2" / "p2_0.mat", seed=2, skin_color=5, gender="female")
    ds = MMPD(tmp_path)
    recs = ds.records()
    assert [(r.subject_id, r.record_id) for r in recs] == [("subject1", "p1_0"), ("subject1", "p1_1"),
                                                           ("subject2", "p2_0")]
    rec = recs[0]
    assert rec.meta == {"light": "LED-low", "motion": "Stationary", "exercise": "False", "skin_color": 3,
                        "gender": "male", "glasser": "False", "hair_cover": "False", "makeup": "False"}
    assert isinstance(rec.meta["skin_color"], int) and rec.hr_bpm is None
    np.testing.assert_allclose(rec.bvp, gt)
    np.testing.assert_allclose(rec.bvp_t_s, np.arange(12) / 30.0)
    assert isinstance(rec.frames, MatVideoSource) and rec.frames.n_frames == 12
    frames = list(rec.frames)
    assert len(frames) == 12 and frames[5][1] == pytest.approx(5 / 30.0)
    np.testing.assert_array_equal(frames[5][0], np.round(video[5] * 255).astype(np.uint8))


def test_mmpd_filters(tmp_path):
    _write_mmpd(tmp_path / "subject1" / "p1_0.mat")
    _write_mmpd(tmp_path / "subject1" / "p1_1.mat", motion="Rotation")
    _write_mmpd(tmp_path / "subject2" / "p2_0.mat", skin_color=5)
    _write_mmpd(tmp_path / "subject3" / "p3_0.mat", skin_color=6, motion="Walking")
    assert [r.record_id for r in MMPD(tmp_path, where={"skin_color": [5, 6]}).records()] == ["p2_0", "p3_0"]
    assert [r.record_id for r in get_dataset("mmpd", tmp_path, where={"motion": "Rotation"}).records()] == ["p1_1"]
    both = MMPD(tmp_path).select(motion=["Stationary", "Walking"], skin_color=6)
    assert [r.record_id for r in both.records()] == ["p3_0"] and both.name == "mmpd"
    with pytest.raises(DatasetError, match="Unknown filter 'lighting'"):
        MMPD(tmp_path).select(lighting="Nature")
    with pytest.raises(DatasetError, match="values present: Rotation, Stationary, Walking"):
        MMPD(tmp_path, where={"motion": "Talking"}).records()


def test_mmpd_malformed(tmp_path):
    path = tmp_path / "subject1" / "p1_0.mat"
    path.parent.mkdir(parents=True)
    scipy.io.savemat(path, {"video": np.zeros((4, 2, 2, 3)), "light": "Nature"})
    with pytest.raises(DatasetError, match="has no GT_ppg"):
        MMPD(tmp_path).records()
    scipy.io.savemat(path, {"video": np.zeros((4, 2, 2, 3)), "GT_ppg": np.zeros((1, 5))})
    with pytest.raises(DatasetError, match="video has 4 frames but GT_ppg has 5"):
        MMPD(tmp_path).records()
    path.write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(DatasetError, match="not a readable MATLAB"):
        MMPD(tmp_path).records()


# -------------------------------------------------------------------------------------- video folder
def test_folder_formats(tmp_path):
    write_video(tmp_path / "b_clip.mp4", _frames(30), FPS, codec="h264")
    t = np.arange(60) / 60.0
    (tmp_path / "b_clip.csv").write_text("time_s,bvp\n" + "".join(f"{a:.6f},{np.sin(a * 7):.6f}\n" for a in t))
    write_video(tmp_path / "a_clip.AVI", _frames(30), FPS, codec="mjpeg")
    (tmp_path / "a_clip.csv").write_text(" Time_s , PPG ,hr_bpm,extra\n0,1,70,x\n0.5,2,72,y\n1.0,3,74,z\n")
    (tmp_path / "a_clip.json").write_text(json.dumps({"subject_id": "alice", "note": "evening"}))
    write_video(tmp_path / "c_hr.mp4", _frames(30), FPS, codec="h264")
    (tmp_path / "c_hr.csv").write_text("time_s,hr_bpm\n0,80\n1,82\n")
    (tmp_path / "manifest.json").write_text("{}")          # not a video: ignored
    recs = VideoFolder(tmp_path).records()
    assert [r.record_id for r in recs] == ["a_clip", "b_clip", "c_hr"]
    a, b, c = recs
    assert a.subject_id == "alice" and a.meta == {"subject_id": "alice", "note": "evening"}
    np.testing.assert_array_equal(a.bvp, [1, 2, 3])
    np.testing.assert_array_equal(a.bvp_t_s, [0, 0.5, 1.0])
    assert a.hr_bpm == pytest.approx(72.0)
    assert b.subject_id == "b_clip" and b.hr_bpm is None and len(b.bvp) == 60
    np.testing.assert_allclose(b.bvp_t_s, t, atol=1e-6)
    assert c.hr_bpm == pytest.approx(81.0) and not c.has_waveform
    assert len(list(b.frames)) == 30


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("u,bvp\n0,1\n1,2\n", "no time column"),
    ("time_s,value\n0,1\n1,2\n", "needs a waveform"),
    ("time_s,bvp,ppg\n0,1,1\n1,2,2\n", "two waveform columns"),
    ("time_s,bvp\n0,1\n0.1,abc\n", "line 3, column bvp: 'abc' is not a number"),
    ("time_s,bvp\n0,1\n0.1\n", "line 3, column bvp: '<missing>'"),
    ("time_s,bvp\n0,1\n", "fewer than two"),
])
def test_folder_malformed_csv(tmp_path, text, message):
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_label_csv(path)


def test_folder_video_without_csv(tmp_path):
    write_video(tmp_path / "lonely.mp4", _frames(10), FPS, codec="h264")
    with pytest.raises(DatasetError, match="lonely.mp4 has no lonely.csv"):
        VideoFolder(tmp_path).records()


def test_folder_reads_synthetic_clips(tmp_path):
    synthetic = pytest.importorskip("kdphys.data.synthetic")
    cfg = synthetic.SyntheticConfig(hr_bpm=84.0, duration_s=1.0, size=(64, 64), seed=3)
    clip = synthetic.generate_clip(cfg)
    synthetic.write_clip(clip, tmp_path, name="syn_0")
    (rec,) = VideoFolder(tmp_path).records()
    assert rec.record_id == "syn_0" and rec.has_waveform
    np.testing.assert_allclose(rec.bvp, clip.bvp, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rec.bvp_t_s, clip.t_s, atol=1e-4)
    assert rec.hr_bpm == pytest.approx(clip.hr_bpm, abs=0.5)


def test_get_dataset_names(tmp_path):
    assert set(DATASETS) == {"ubfc-rppg", "pure", "mmpd", "folder"}
    assert isinstance(get_dataset("PURE", tmp_path), PURE)
    assert isinstance(get_dataset("folder", tmp_path), VideoFolder)
    with pytest.raises(ValueError, match="Unknown dataset 'cohface'; choose one of: ubfc-rppg, pure, mmpd, folder"):
        get_dataset("cohface", tmp_path)
