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


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch thread (restored afterwards). Soft-DTW and the small model tests are
    many tiny ops: on a loaded 2-core machine two OpenMP threads made them 3-100x slower (measured)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
