"""End-to-end on synthetic videos with known HR: written to disk, decoded, tracked, POS/CHROM, quality gate."""

import numpy as np
import pytest

from kdphys.pipeline.upload import analyze_video
from kdphys.data.synthetic import SyntheticConfig, generate_clip, write_clip
from kdphys.pipeline.engine import fill_gaps
from kdphys.methods import get_method
from kdphys.evaluation.metrics import mae
from kdphys.signal.quality import assess

pytestmark = pytest.mark.slow        # `pytest -m "not slow"` leaves this module out

HRS_BPM = (45, 60, 75, 90, 120, 150)
SIZE = (240, 320)   # (H, W): small frames keep the suite fast; the face is still ~120 px wide
# Lossless H.264 (crf 0): at 320x240 the synthetic pulse (0.6 % peak-to-peak) does not survive crf 18
# (POS SNR -4.5 dB at 45 bpm against +9 dB before encoding), see docs/DESIGN.md.
CRF = 0


def _clip(tmp_path, hr_bpm, motion, seed):
    cfg = SyntheticConfig(hr_bpm=hr_bpm, duration_s=12.0, size=SIZE, motion_px=6.0 if motion else 0.0,
                          rotation_deg=4.0 if motion else 0.0, seed=seed)
    clip = generate_clip(cfg)
    return write_clip(clip, tmp_path, name=f"hr{hr_bpm}_m{int(motion)}", crf=CRF), clip.hr_bpm


def _chrom_hr(snapshot):
    bvp = get_method("chrom").bvp(fill_gaps(snapshot.trace), snapshot.fps)
    return assess(bvp, snapshot.fps, float(snapshot.face_present.mean()),
                  raw_trace=fill_gaps(snapshot.trace)).hr_bpm


@pytest.mark.parametrize("motion", [False, True], ids=["still", "motion"])
def test_pos_and_chrom_mae_within_2_bpm(tmp_path, motion):
    """Every still clip is read; with strong motion (6 px RMS sway and 4 degrees on a 320x240 frame) a slow
    pulse may be refused (POS then finds its third harmonic strongest: 45 bpm at seed 100), never misread."""
    truth, pos, chrom = [], [], []
    for i, hr in enumerate(HRS_BPM):
        video, true_hr = _clip(tmp_path, hr, motion, seed=100 + i)
        result = analyze_video(video, method="pos")
        reading = result.snapshot.reading
        chrom_hr = _chrom_hr(result.snapshot)
        if not motion:
            assert reading.hr_bpm is not None, f"{hr} bpm: {reading.reason}"
            assert chrom_hr is not None
        if reading.hr_bpm is not None:
            truth.append(true_hr)
            pos.append(reading.hr_bpm)
            chrom.append(chrom_hr if chrom_hr is not None else np.nan)
    print("truth", np.round(truth, 1), "pos", np.round(pos, 1), "chrom", np.round(chrom, 1))
    assert len(pos) >= len(HRS_BPM) - 1
    assert mae(np.array(pos), np.array(truth)) <= 2.0
    read_by_chrom = np.isfinite(chrom)
    assert read_by_chrom.sum() >= len(HRS_BPM) - 1
    assert mae(np.array(chrom)[read_by_chrom], np.array(truth)[read_by_chrom]) <= 2.0


def test_video_without_face_gives_no_reading(tmp_path):
    clip = generate_clip(SyntheticConfig(include_face=False, duration_s=8.0, size=SIZE, seed=7))
    result = analyze_video(write_clip(clip, tmp_path, name="noface", crf=CRF), method="pos")
    reading = result.snapshot.reading
    assert reading.hr_bpm is None
    assert "face" in reading.reason.lower()


def test_still_photo_gives_no_reading(tmp_path):
    """A printed photo held still: a face but no pulse (zero pulse amplitude, sensor noise only)."""
    clip = generate_clip(SyntheticConfig(pulse_amplitude=0.0, hrv_bpm=0.0, duration_s=10.0, size=SIZE, seed=8))
    result = analyze_video(write_clip(clip, tmp_path, name="photo", crf=CRF), method="pos")
    reading = result.snapshot.reading
    assert reading.hr_bpm is None
    assert reading.reason
