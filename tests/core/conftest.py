"""Fixtures shared by the engine's tests."""
import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """Train as the app does, on one thread: tiny steps on two OpenMP threads spin for seconds on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
