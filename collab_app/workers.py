"""A worker process for UMAP, started by collab_app.serve before the Streamlit server starts.

Why a process: numba's compilation and UMAP's Python-level work hold the GIL for seconds, which made every
page of the server sluggish while a layout was computed in a thread. Why started before the server:
'spawn' re-imports the parent's __main__ in the child, and during a script run Streamlit's __main__ is
app.py, so a worker spawned from a page would execute the whole app. Where no worker was started (AppTest,
a plain `streamlit run app.py`), UMAP runs in the calling thread instead.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from collab_core import interpret

_pool: ProcessPoolExecutor | None = None


def start_umap_worker() -> None:
    """Spawn the worker now and have it compile numba (~20 s) before anyone asks for a layout."""
    global _pool
    if _pool is None:
        # nice 10: the warm-up and layouts yield the CPU to page renders and training on a small machine
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=os.nice, initargs=(10,))
        _pool.submit(interpret.umap_warm_up)  # the first submit spawns the process, from this thread


def run_umap(factors: np.ndarray, dims: int, n_neighbors: int, min_dist: float, metric: str, seed: int) -> np.ndarray:
    global _pool
    if _pool is None:
        return interpret.umap_embed(factors, dims, n_neighbors, min_dist, metric, seed)
    try:
        return _pool.submit(interpret.umap_embed, factors, dims, n_neighbors, min_dist, metric, seed).result()
    except BrokenProcessPool:  # the worker died (e.g. killed for memory): compute here this time
        _pool = None
        return interpret.umap_embed(factors, dims, n_neighbors, min_dist, metric, seed)
