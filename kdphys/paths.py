"""Locations of files shipped with the repository (weights, sample clip) and of the team's development data
(never shipped). No network access, ever."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO_ROOT / "weights"
FACE_LANDMARKER_MODEL = WEIGHTS_DIR / "face_landmarker.task"
SAMPLE_DIR = REPO_ROOT / "webapp" / "sample" / "physrecorder-v01"
SAMPLE_VIDEO = SAMPLE_DIR / "video_ZIP_H264.avi"
SAMPLE_BVP_CSV = SAMPLE_DIR / "BVP.csv"
SAMPLE_FRAME_TIMES_CSV = SAMPLE_DIR / "frames_timestamp.csv"

#: The team's development data (research terms: never committed, never shipped): UBFC-rPPG subjects in
#: ``ubfc-rppg-dev/``. ``KDPHYS_DEV_DATA`` points elsewhere; a user's clone has none (tests skip).
DEV_DATA_DIR = Path(os.environ.get("KDPHYS_DEV_DATA", REPO_ROOT.parent / "shared" / "data"))
UBFC_DEV_DIR = DEV_DATA_DIR / "ubfc-rppg-dev"
#: Git-ignored folder for caches made from videos (never committed).
CACHE_DIR = REPO_ROOT / ".cache"
