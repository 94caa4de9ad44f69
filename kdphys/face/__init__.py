"""Face finding for rPPG: MediaPipe landmarks (``landmarker``), the skin mask and crops (``skin``), the
per-frame tracker (``tracker``), and landmarkers working ahead on parallel threads for uploads (``lookahead``).
The public names of the first three are re-exported here."""

from kdphys.face.landmarker import (N_LANDMARKS, Detector, FaceLandmarkDetector, FaceObservation,  # noqa: F401
                                    quiet_native_stderr)
from kdphys.face.skin import *  # noqa: F401,F403
from kdphys.face.skin import (DEFAULT_SKIN_REGION, EXCLUDED_POLYGONS, SKIN_REGIONS, crop_square,  # noqa: F401
                              crop_square_skin, skin_mask)
from kdphys.face.tracker import FaceTracker, TrackerSettings, TrackResult, _convert_once, _mask_window  # noqa: F401
from kdphys.face.landmarker import _landmark_box  # noqa: F401
