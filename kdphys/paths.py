"""Locations of files shipped with the repository (weights, sample clip). No network access, ever."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO_ROOT / "weights"
FACE_LANDMARKER_MODEL = WEIGHTS_DIR / "face_landmarker.task"
SAMPLE_DIR = REPO_ROOT / "webapp" / "sample" / "physrecorder-v01"
SAMPLE_VIDEO = SAMPLE_DIR / "video_ZIP_H264.avi"
SAMPLE_BVP_CSV = SAMPLE_DIR / "BVP.csv"
SAMPLE_FRAME_TIMES_CSV = SAMPLE_DIR / "frames_timestamp.csv"
