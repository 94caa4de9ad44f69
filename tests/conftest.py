"""Shared pytest fixtures."""

import numpy as np
import pytest

from kdphys import paths


@pytest.fixture(scope="session")
def sample_video_path():
    """The shipped real clip (640x480, 30 fps, 20 s)."""
    return paths.SAMPLE_VIDEO


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
