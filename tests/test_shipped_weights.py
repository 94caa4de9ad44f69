"""The shipped weights: present, checksummed, and the student ONNX graph equals the torch student.

The issue-7 bound (student HR on the real clip within 1 bpm, in the app) is asserted for student.onnx and
student-nokd.pt in tests/test_pipeline_real.py.
"""

import numpy as np
import pytest

from kdphys import paths
from kdphys.face import FaceTracker, TrackerSettings
from kdphys.io.video import iter_frames
from kdphys.models.checkpoints import verify

SHIPPED = ("teacher.pt", "student.pt", "student-nokd.pt", "student.onnx", "face_landmarker.task")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_matches_its_checksum(name):
    verify(paths.WEIGHTS_DIR / name)


def test_student_onnx_matches_torch_on_real_crops():
    from kdphys.methods.neural import NeuralMethod, StudentMethod

    tracker = FaceTracker(TrackerSettings(crop_size=36))
    crops = []
    for frame in iter_frames(paths.SAMPLE_VIDEO):                      # 90 consecutive real face crops
        crop = tracker.update(frame.rgb).crop
        if crop is not None:
            crops.append(crop)
        if len(crops) == 90:
            break
    onnx = StudentMethod(onnx_path=paths.WEIGHTS_DIR / "student.onnx").open_stream()
    torch_stream = NeuralMethod.from_file(paths.WEIGHTS_DIR / "student.pt", kind="student").open_stream()
    a = np.array([onnx.step(c) for c in crops])
    b = np.array([torch_stream.step(c) for c in crops])
    assert np.max(np.abs(a - b)) <= 1e-4

