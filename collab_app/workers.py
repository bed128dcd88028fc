"""Worker processes for the CPU-heavy work of the dashboard: training and UMAP.

Why processes, not threads: both hold or churn the GIL. A training loop releases the GIL at every small
torch op and then waits to get it back from the server's busy script threads; measured with two sessions
polling progress, 12 epochs took over 40 s in a thread instead of about 3 s. numba's compilation and
UMAP's Python-level work held the GIL for seconds, making every page sluggish.

Why started by collab_app.serve before the server: 'spawn' re-imports the parent's __main__ in the child,
and during a script run Streamlit's __main__ is app.py, so a worker spawned from a page would execute the
whole app. Where no workers were started (AppTest, a plain `streamlit run app.py`), the same functions
run in the calling thread instead.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

import numpy as np

from collab_core import interpret
from collab_core.config import TrainConfig
from collab_core.ratings import Ratings, Split
from collab_core.runs import RunStore
from collab_core.training import Progress, fit, warm_up

_umap_pool: ProcessPoolExecutor | None = None
_training_pools: "queue.Queue[ProcessPoolExecutor] | None" = None
_manager = None  # multiprocessing manager: progress queues and cancel events that cross processes


def max_trainings() -> int:
    """Concurrent trainings: COLLAB_MAX_TRAININGS, else half the cores (1 on a 2-core machine)."""
    return int(os.environ.get("COLLAB_MAX_TRAININGS", "0")) or max(1, (os.cpu_count() or 2) // 2)


def torch_threads() -> int:
    return int(os.environ.get("COLLAB_TORCH_THREADS", "1"))


# ---------------------------------------------------------------------- start-up (collab_app.serve)
def start_workers() -> None:
    """Spawn the UMAP worker and one training worker per allowed concurrent training, from this thread."""
    global _umap_pool, _training_pools, _manager
    context = multiprocessing.get_context("spawn")
    if _umap_pool is None and os.environ.get("COLLAB_UMAP_WORKER", "1") != "0":
        # nice 10: the warm-up and layouts yield the CPU to page renders and training on a small machine
        _umap_pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=os.nice, initargs=(10,))
        _umap_pool.submit(interpret.umap_warm_up)  # the first submit spawns the process, from this thread
    if _training_pools is None:
        _manager = context.Manager()
        _training_pools = queue.Queue()
        ready = []
        for _ in range(max_trainings()):
            pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_init_trainer,
                                       initargs=(torch_threads(),))
            ready.append(pool.submit(int))  # spawn now (and run the initializer's warm-up), not from a page
            _training_pools.put(pool)
        # Wait for the training workers (torch import + warm-up, ~3 s) before the server starts: measured,
        # letting them warm up while the first visitor loads a page made that load 4.4 s instead of ~2.5 s.
        # The niced UMAP warm-up (~12 s) goes on in the background.
        for future in ready:
            future.result()


def _init_trainer(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    warm_up()


# ---------------------------------------------------------------------- UMAP
def run_umap(factors: np.ndarray, dims: int, n_neighbors: int, min_dist: float, metric: str, seed: int) -> np.ndarray:
    global _umap_pool
    if _umap_pool is not None:
        try:
            return _umap_pool.submit(interpret.umap_embed, factors, dims, n_neighbors, min_dist, metric, seed).result()
        except BrokenProcessPool:  # the worker died (e.g. killed for memory): compute here from now on
            _umap_pool = None
    return interpret.umap_embed(factors, dims, n_neighbors, min_dist, metric, seed)


# ---------------------------------------------------------------------- training
class _PolledFlag:
    """A cross-process cancel flag that fit() may check every batch: asks the manager at most every 0.2 s."""

    def __init__(self, event):
        self._event, self._next, self._set = event, 0.0, False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self._set and now >= self._next:
            self._set, self._next = self._event.is_set(), now + 0.2
        return self._set


def _train_and_save(ratings: Ratings, split: Split, config: TrainConfig, runs_dir: str, progress, cancel) -> str:
    """Runs in a training worker: fit, save, return the run id. Exceptions travel back to the caller."""
    trained = fit(ratings, split, config, callback=progress.put, progress_every=10, cancel=_PolledFlag(cancel))
    return RunStore(runs_dir).save(trained)


def train(ratings: Ratings, split: Split, config: TrainConfig, runs_dir: str,
          on_progress: Callable[[Progress], None], cancel: threading.Event) -> str:
    """Train and save a run, in a training worker when there is one; returns the run id.

    Raises what fit() raises (TrainingCancelled, TrainingDivergedError, DeviceError, ...)."""
    global _training_pools
    if _training_pools is None:
        trained = fit(ratings, split, config, callback=on_progress, progress_every=10, cancel=cancel)
        return RunStore(runs_dir).save(trained)
    pool = _training_pools.get()  # the TrainingQueue admits at most max_trainings() jobs, so one is free
    progress, cancel_flag = _manager.Queue(), _manager.Event()
    try:
        future = pool.submit(_train_and_save, ratings, split, config, runs_dir, progress, cancel_flag)
        while True:
            done = future.done()
            while True:
                try:
                    on_progress(progress.get_nowait())
                except queue.Empty:
                    break
            if done:
                return future.result()
            if cancel.is_set():
                cancel_flag.set()
            time.sleep(0.1)
    except BrokenProcessPool:
        # The worker died (e.g. killed for memory). Spawning a replacement here could re-run app.py in the
        # child (see the module docstring), so this slot trains in-thread from now on.
        pool = None
        raise RuntimeError("the training worker process died (out of memory?); nothing was saved") from None
    finally:
        _training_pools.put(pool if pool is not None else _InThread())


class _InThread:
    """Stands in for a dead worker: `submit` runs the function in a thread."""

    def submit(self, fn, *args):
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=1).submit(fn, *args)
