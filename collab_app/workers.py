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
from contextlib import contextmanager
from multiprocessing.managers import SyncManager
from typing import Callable

import numpy as np

from collab_core import interpret, settings
from collab_core.config import TrainConfig
from collab_core.errors import CollabError
from collab_core.ratings import Ratings, Split
from collab_core.runs import RunStore
from collab_core.training import Progress, fit, warm_up

_umap_pool: ProcessPoolExecutor | None = None
_training_pools: "queue.Queue[ProcessPoolExecutor] | None" = None
_manager = None  # multiprocessing manager: progress queues and cancel events that cross processes
_pages_rendering = None  # shared counter: script runs in progress in the server; training yields while > 0


def max_trainings() -> int:
    """Concurrent trainings: COLLAB_MAX_TRAININGS, else half the cores (1 on a 2-core machine)."""
    return settings.get("COLLAB_MAX_TRAININGS") or max(1, (os.cpu_count() or 2) // 2)


def torch_threads() -> int:
    return settings.get("COLLAB_TORCH_THREADS")


# ---------------------------------------------------------------------- start-up (collab_app.serve)
def start_workers() -> None:
    """Spawn the UMAP worker and one training worker per allowed concurrent training, from this thread."""
    global _umap_pool, _training_pools, _manager, _pages_rendering
    context = multiprocessing.get_context("spawn")
    if _umap_pool is None and settings.get("COLLAB_UMAP_WORKER"):
        _umap_pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_init_umap,
                                         initargs=(os.getpid(),))
        _umap_pool.submit(interpret.umap_warm_up)  # the first submit spawns the process, from this thread
    if _training_pools is None:
        _pages_rendering = context.Value("i", 0)
        _manager = SyncManager(ctx=context)
        _manager.start(_exit_with_parent, (os.getpid(),))
        _training_pools = queue.Queue()
        ready = []
        for _ in range(max_trainings()):
            pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_init_trainer,
                                       initargs=(os.getpid(), torch_threads(), _pages_rendering))
            ready.append(pool.submit(int))  # spawn now (and run the initializer's warm-up), not from a page
            _training_pools.put(pool)
        # Wait for the training workers (torch import + warm-up, ~3 s) before the server starts: measured,
        # letting them warm up while the first visitor loads a page made that load 4.4 s instead of ~2.5 s.
        # The niced UMAP warm-up (~12 s) goes on in the background.
        for future in ready:
            future.result()


def stop_workers() -> None:
    """Shut the worker processes down (tests; the server simply exits)."""
    global _umap_pool, _training_pools, _manager, _pages_rendering
    if _umap_pool is not None:
        _umap_pool.shutdown(cancel_futures=True)
    while _training_pools is not None and not _training_pools.empty():
        pool = _training_pools.get()
        if isinstance(pool, ProcessPoolExecutor):
            pool.shutdown(cancel_futures=True)
    if _manager is not None:
        _manager.shutdown()
    _umap_pool = _training_pools = _manager = _pages_rendering = None


def _exit_with_parent(parent: int) -> None:
    """In a worker: exit when the server process is gone, however it ended (a SIGKILL runs no clean-up,
    and a worker waiting for its next job would otherwise stay behind, holding its memory)."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init_umap(parent: int) -> None:
    _exit_with_parent(parent)
    os.nice(10)  # layouts yield the CPU to page renders and training on a small machine


def _init_trainer(parent: int, threads: int, pages_rendering) -> None:
    import torch

    global _pages_rendering
    _pages_rendering = pages_rendering
    _exit_with_parent(parent)
    # Training is batch work: it runs under SCHED_IDLE, so it gets a core only when nothing else wants it
    # and the kernel preempts it at once when a server thread wakes up (niceness alone lets it finish its
    # time slice first, and a page render wakes threads dozens of times). Measured on 2 cores (bench_ui
    # --background-training): page reruns took 3-5x their usual time at niceness 0, 1.2-1.9x at 10 or 19.
    # Still, page reruns took 1.4-1.9x their usual time beside it (a plain SCHED_IDLE busy loop on the
    # second core slowed some of them as much, so it is not the scheduler), so training also pauses between
    # batches while a page renders (see rendering() and _YieldToPages).
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
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
@contextmanager
def rendering():
    """Wrap a script run: while any is in progress, training workers pause between batches."""
    if _pages_rendering is None:  # no workers (AppTest, plain `streamlit run`)
        yield
        return
    with _pages_rendering.get_lock():
        _pages_rendering.value += 1
    try:
        yield
    finally:
        with _pages_rendering.get_lock():
            _pages_rendering.value -= 1


class _YieldToPages:
    """In a training worker, between batches: wait while the server renders a page, but for at most half of
    any second, so that a server rerunning pages without pause slows a training to half speed, never stops it."""

    MAX_PAUSED_PER_SECOND = 0.5

    def __init__(self):
        self._window_start, self._paused = time.monotonic(), 0.0

    def __call__(self) -> None:
        if _pages_rendering is None or _pages_rendering.value == 0:
            return
        start = time.monotonic()
        if start - self._window_start >= 1.0:
            self._window_start, self._paused = start, 0.0
        budget = self.MAX_PAUSED_PER_SECOND - self._paused
        while _pages_rendering.value > 0 and time.monotonic() - start < budget:
            time.sleep(0.002)
        self._paused += time.monotonic() - start


class _PolledFlag:
    """The cancel flag fit() checks every batch, in a training worker: asks the manager at most every 0.2 s
    whether the job was cancelled."""

    def __init__(self, event):
        self._event, self._next, self._set = event, 0.0, False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self._set and now >= self._next:
            self._set, self._next = self._event.is_set(), now + 0.2
        return self._set


class _BatchedProgress:
    """Sends progress reports to the server in lists, at most every `interval` seconds (and at each epoch end).

    Every put is a round trip through the manager process and a get on the server's side, where it takes the
    GIL from page renders: one report per 10 batches is ~150 round trips a second on ML-100K, a list every
    0.25 s is four."""

    def __init__(self, queue, interval: float = 0.25):
        self._queue, self._interval, self._buffer, self._next = queue, interval, [], 0.0

    def __call__(self, progress: Progress) -> None:
        self._buffer.append(progress)
        now = time.monotonic()
        if progress.kind == "epoch" or now >= self._next:
            self.flush()
            self._next = now + self._interval

    def flush(self) -> None:
        if self._buffer:
            self._queue.put(self._buffer)
            self._buffer = []


def _train_and_save(ratings: Ratings, split: Split, config: TrainConfig, runs_dir: str, progress, cancel) -> str:
    """Runs in a training worker: fit, save, return the run id. Exceptions travel back to the caller."""
    report = _BatchedProgress(progress)
    try:
        trained = fit(ratings, split, config, callback=report, progress_every=10, cancel=_PolledFlag(cancel),
                      between_batches=_YieldToPages())
    finally:
        report.flush()  # the last reports arrive before the result (puts through a manager are synchronous)
    return RunStore(runs_dir).save(trained)


def train(ratings: Ratings, split: Split, config: TrainConfig, runs_dir: str,
          on_progress: Callable[[Progress], None], cancel: threading.Event) -> str:
    """Train and save a run, in a training worker when there is one; returns the run id.

    Raises what fit() raises (TrainingCancelled, TrainingDivergedError, DeviceError, ...), and CollabError
    when the worker process dies."""
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
                    reports = progress.get_nowait()
                except queue.Empty:
                    break
                for report in reports:
                    on_progress(report)
            if done:
                return future.result()
            if cancel.is_set():
                cancel_flag.set()
            time.sleep(0.25)
    except BrokenProcessPool:
        # The worker died (e.g. killed for memory). Spawning a replacement here could re-run app.py in the
        # child (see the module docstring), so this slot trains in-thread from now on.
        pool = None
        raise CollabError("the training worker process died (killed, or out of memory?); nothing was saved. "
                          "Training again runs it in the server process.") from None
    finally:
        _training_pools.put(pool if pool is not None else _InThread())


class _InThread:
    """Stands in for a dead worker: `submit` runs the function in a thread."""

    def submit(self, fn, *args):
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=1).submit(fn, *args)
