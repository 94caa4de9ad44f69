"""Synthetic faces with a known pulse: ``render`` (the video generator; its names are re-exported here),
``pulse`` (the pulse and smooth randomness), ``subject`` (the face), ``signals`` (BVP-only signals for the
reading logic), ``sets`` (train/val sets on disk)."""

from kdphys.data.synthetic.render import *  # noqa: F401,F403
from kdphys.data.synthetic.render import (GREEN_PULSE_FRACTION, PBV_RGB, SyntheticClip, SyntheticConfig,  # noqa: F401
                                          generate_clip, iter_frames, iter_synthetic_frames, write_clip)
