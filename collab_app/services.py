"""Process-wide services shared by every session: the training service, dataset downloads, UMAP, what each
browser started and keeps (collab_server.owners), and which browsers are the host's (collab_server.rules).

They are `st.cache_resource` singletons on purpose: a training started in one tab must be visible (and keep
running) when that tab goes to another page, and a UMAP layout computed for one session serves all. The
work itself runs in the worker processes collab_server.serve started (collab_server.workers); without them
(AppTest, a plain `streamlit run app.py`) in threads of this process.
"""
from __future__ import annotations

import logging

import numpy as np
import streamlit as st
import torch

from collab_core import settings
from collab_core.errors import CollabError
from collab_core.model.training import warm_up
from collab_server import workers
from collab_server.fetches import FetchService
from collab_server.jobs import Computation, ComputeCache, TrainingService
from collab_server.owners import OwnerMemory, OwnerWork
from collab_server.rules import HostPasses
from collab_server.run_changes import RecentChanges

from . import cached

UMAP_DEFAULTS = {"n_neighbors": 15, "min_dist": 0.1, "metric": "euclidean"}
UMAP_SEED = 42
UMAP_BASE_SECONDS, UMAP_SECONDS_PER_ITEM = 3.0, 0.0015  # see umap_expected_seconds
_log = logging.getLogger("collab_app.services")


@st.cache_resource
def training_service() -> TrainingService:
    runtime = workers.started()
    if runtime is not None:
        return TrainingService(list(runtime.training_workers))
    # In-thread training shares the CPU with Tornado and script threads. On 2 cores the default EmbeddingDotBias
    # trains about as fast on 1 intra-op thread as on 2, but with a busy Python thread beside it 2 threads are
    # much slower than 1 (OpenMP workers spin while the GIL is elsewhere; docs/performance.md, "Figures behind
    # choices in the code").
    torch.set_num_threads(workers.torch_threads())
    warm_up()
    return TrainingService([workers.ThreadWorker() for _ in range(workers.max_trainings())])


@st.cache_resource
def fetch_service() -> FetchService:
    return FetchService()


@st.cache_resource
def owner_work() -> OwnerWork:
    """What each browser started (collab_app.work lists it)."""
    return OwnerWork()


@st.cache_resource
def owner_memory() -> OwnerMemory:
    """What each browser keeps across reloads (its Train form, its dataset, its uploads)."""
    return OwnerMemory()


@st.cache_resource
def host_passes() -> HostPasses:
    """The passes of the browsers that opened the host link (collab_app.access)."""
    return HostPasses()


@st.cache_resource
def run_changes() -> RecentChanges:
    """Who last deleted, renamed or pinned a run (collab_app.announce says it to the tabs it affects)."""
    return RecentChanges()


@st.cache_resource
def umap_cache() -> ComputeCache:
    return ComputeCache(max_entries=24)


def umap_layout(run_id: str, top_n: int | None, dims: int, n_neighbors: int, min_dist: float,
                metric: str) -> tuple[np.ndarray, Computation]:
    """(item indices, computation) of a UMAP layout, started in the background on first request."""
    trained = cached.load_run(run_id)
    indices = trained.catalog.top_items(top_n)
    factors = trained.item_factors()[indices]
    key = (run_id, top_n, dims, n_neighbors, round(min_dist, 4), metric)
    runtime = workers.started()
    if runtime is not None and runtime.umap_worker is not None:
        compute = runtime.umap_worker.run
    else:
        from collab_core.analysis.interpret import umap_embed as compute
    computation = umap_cache().get_or_start(key, lambda: compute(factors, dims, n_neighbors, min_dist, metric,
                                                                  UMAP_SEED))
    computation.expected_seconds = umap_expected_seconds(len(indices))
    return indices, computation


def umap_expected_seconds(n_items: int) -> float:
    """About how long a UMAP of `n_items` takes here with the app's fixed seed (single-threaded), after numba's
    warm-up: a line through collab_app.bench_scale's figures on the 2-core development machine (see
    docs/performance.md); it only sets the progress bar's pace."""
    return UMAP_BASE_SECONDS + UMAP_SECONDS_PER_ITEM * n_items


def prewarm_umap(run_id: str) -> None:
    """Start the default UMAP view of a run as soon as it is trained or selected, so the Projections page
    is usually ready when opened (the first UMAP in a process also pays numba's compilation, seconds:
    docs/performance.md, "At ML-25M size")."""
    if not settings.get("COLLAB_UMAP_PREWARM"):
        return
    try:
        umap_layout(run_id, min(1000, cached.load_run(run_id).n_items), 2, **UMAP_DEFAULTS)
    except CollabError as exc:  # a broken run is reported where it is shown; say why in the log too
        _log.warning("UMAP prewarm of run %s skipped: %s", run_id, exc)
    except Exception:  # a bug: a warm-up must not take the page down with it, but it is logged in full
        _log.exception("UMAP prewarm of run %s failed", run_id)
