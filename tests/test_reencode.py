"""kdphys.data.reencode: a record's video re-encoded at a video-call bitrate, cached, on the same clock."""

import numpy as np

from kdphys.data.folder import VideoFolder
from kdphys.data.reencode import reencoded
from kdphys.data.synthetic import SyntheticConfig, write_clip
from kdphys.io.video import probe, read_video


def test_reencoded_copy_keeps_frames_and_times_and_is_smaller(tmp_path):
    write_clip(SyntheticConfig(hr_bpm=80, duration_s=4.0, size=(160, 160), seed=3), tmp_path / "set", name="a", crf=0)
    record = VideoFolder(tmp_path / "set").records()[0]
    copy = reencoded(record, 100_000, tmp_path / "cache")
    assert copy.record_id == "a@100k" and copy.subject_id == record.subject_id
    assert copy.video_path.parent == tmp_path / "cache" and np.array_equal(copy.bvp, record.bvp)
    src, dst = probe(record.video_path), probe(copy.video_path)
    assert dst.n_frames == src.n_frames and abs(dst.duration_s - src.duration_s) < 0.05
    assert copy.video_path.stat().st_size < record.video_path.stat().st_size
    a, _, _ = read_video(record.video_path)
    b, _, _ = read_video(copy.video_path)
    assert 0.5 < np.abs(a.astype(float) - b).mean() < 20          # changed by compression, still the picture
    mtime = copy.video_path.stat().st_mtime_ns
    assert reencoded(record, 100_000, tmp_path / "cache").video_path.stat().st_mtime_ns == mtime   # cached
