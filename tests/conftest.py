"""Shared fixtures: tiny rating tables written on the fly (no MovieLens file is ever committed) and a tiny
trained run, trained once per session in about a second."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# The host key of every app the suite runs (AppTests here, servers started by the browser tests inherit it): a test
# acts as the host by opening the host link with it (tests/app/conftest.open_app, tests/e2e/conftest.host_link).
HOST_KEY = "suite-host-key-0123456789"
os.environ["COLLAB_HOST_TOKEN"] = HOST_KEY


@pytest.fixture(scope="session")
def planted():
    from tests.planted import planted_ratings

    return planted_ratings(n_users=200, n_items=120, n_ratings=12_000, n_factors=3, noise=0.25, seed=0)


@pytest.fixture(scope="session")
def tiny_trained(planted):
    """A small dot_bias model on planted data: fast, and with real structure to interpret."""
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit

    ratings, _ = planted
    return fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=3, n_factors=8))


@pytest.fixture()
def runs_dir(tmp_path, monkeypatch):
    path = tmp_path / "runs"
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(path))
    return path
