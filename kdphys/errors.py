"""The exception types a user can cause. Each message says what happened and what to do."""


class KDPhysError(Exception):
    """Base class of every error the package raises on purpose (bad input, missing weights)."""


class VideoError(KDPhysError):
    """A file could not be read as a video: empty, not a video, truncated, audio only, too few frames.

    ``str(err)`` is a sentence meant for a person, e.g.
    "The file is empty (0 bytes). Choose a video file (mp4, avi, mov, mkv, webm)."
    """


class WeightsError(KDPhysError):
    """Model weights are missing, corrupt, or fail their checksum."""


class NotPrepared(KDPhysError):
    """Training data is not prepared yet (synthetic set, re-encoded copies or extraction cache missing):
    run ``python -m kdphys prepare --config <the same config>`` first."""
