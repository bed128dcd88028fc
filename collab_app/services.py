"""Process-wide services shared by every session: the training queue and the UMAP computations.

They are `st.cache_resource` singletons on purpose: a training started in one tab must be visible (and
keep running) when that tab goes to another page, and a UMAP layout computed for one session serves all.
UMAP layouts are computed by collab_app.workers (a separate process when the app was started by
collab_app.serve) and cached here per (run, parameters).
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from collab_core import settings
from collab_core.training import warm_up

from . import cached, workers
from .jobs import Computation, ComputeCache, TrainingQueue


@st.cache_resource
def training_queue() -> TrainingQueue:
    # Inside the server, training shares the CPU with Tornado and script threads. Measured on 2 cores, the
    # default EmbeddingDotBias trains as fast on 1 intra-op thread as on 2 (1.46 s vs 1.39 s), but with a
    # busy Python thread beside it 2 threads take 2.7 s and 1 thread 1.6 s (OpenMP workers spin while the
    # GIL is elsewhere). COLLAB_TORCH_THREADS overrides, e.g. for big batches on a many-core machine.
    # Used only where training runs in-thread (no worker processes: AppTest, plain `streamlit run`).
    torch.set_num_threads(workers.torch_threads())
    warm_up()
    return TrainingQueue()


@st.cache_resource
def umap_cache() -> ComputeCache:
    return ComputeCache(max_entries=24)


UMAP_DEFAULTS = {"n_neighbors": 15, "min_dist": 0.1, "metric": "euclidean"}


def umap_layout(run_id: str, top_n: int | None, dims: int, n_neighbors: int, min_dist: float,
                metric: str) -> tuple[np.ndarray, Computation]:
    """(item indices, computation) of a UMAP layout, started in the background on first request."""
    trained = cached.load_run(run_id)
    indices = trained.catalog.top_items(top_n)
    factors = trained.item_factors()[indices]
    key = (run_id, top_n, dims, n_neighbors, round(min_dist, 4), metric)
    job = umap_cache().get_or_start(key, lambda: workers.run_umap(factors, dims, n_neighbors, min_dist, metric, 42))
    return indices, job


def prewarm_umap(run_id: str) -> None:
    """Start the default UMAP view of a run as soon as it is trained or selected, so the Projections page
    is usually ready when opened (the first UMAP in a process also pays numba's ~20 s compilation)."""
    if not settings.get("COLLAB_UMAP_PREWARM"):
        return
    try:
        umap_layout(run_id, 1000, 2, **UMAP_DEFAULTS)
    except Exception:  # a broken run is reported where it is shown, not here
        pass
