"""Worker processes for the CPU-heavy work of the dashboard: training, the learning-rate finder, and UMAP.

Why processes, not threads: both hold or churn the GIL. A training loop releases the GIL at every small
torch op and then waits to get it back from the server's busy script threads: with two sessions polling
progress, training in a thread took over ten times as long (docs/decisions.md, "Why training and UMAP run in
worker processes"). numba's compilation and UMAP's Python-level work held the GIL for seconds, making every
page sluggish.

Why started by collab_server.serve before the server: 'spawn' re-imports the parent's __main__ in the child,
and during a script run Streamlit's __main__ is app.py, so a worker spawned from a page would execute the
whole app. `Runtime.start()` spawns them all up front; `started()` hands them to the app. Where no runtime
was started (AppTest, a plain `streamlit run app.py`) a `ThreadWorker` runs the same tasks in the calling
thread, and UMAP runs in its thread.

Each worker is one object with one job; the order in which jobs get a worker is the TrainingService's
(collab_server.jobs), which owns them.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.managers import SyncManager

import numpy as np

from collab_core import settings
from collab_core.analysis import interpret, ranking
from collab_core.data.ratings import Ratings, Split
from collab_core.model.config import TrainConfig
from collab_core.model.training import Progress, fit, lr_find, warm_up
from collab_core.runs.owners import HOST_OWNER
from collab_core.runs.store import RunStore


def max_trainings() -> int:
    """Concurrent trainings: COLLAB_MAX_TRAININGS, else half the cores (1 on a 2-core machine)."""
    return settings.get("COLLAB_MAX_TRAININGS") or max(1, (os.cpu_count() or 2) // 2)


def torch_threads() -> int:
    return settings.get("COLLAB_TORCH_THREADS")


class WorkerDied(Exception):
    """The process behind a worker is gone (killed, or out of memory); the job on it is lost."""


# ---------------------------------------------------------------------- pages rendering <-> training yielding
class PageActivity:
    """How many script runs are in progress in the server, shared with the training workers: training pauses
    between batches while any page renders (see YieldToPages)."""

    def __init__(self, context):
        self._count = context.Value("i", 0)

    @contextmanager
    def rendering(self):
        with self._count.get_lock():
            self._count.value += 1
        try:
            yield
        finally:
            with self._count.get_lock():
                self._count.value -= 1

    def busy(self) -> bool:
        return self._count.value > 0


class YieldToPages:
    """Between two training batches: wait while the server renders a page, but for at most half of any second,
    so that a server rerunning pages without pause slows a training to half speed, never stops it.

    With training under SCHED_IDLE alone, other sessions' reruns still took markedly longer than usual; with
    this pause, close to their usual time (`python -m collab_core.bench.ui --background-training`;
    docs/reliability.md, "Figures measured")."""

    MAX_PAUSED_PER_SECOND = 0.5

    def __init__(self, busy: Callable[[], bool], clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self._busy, self._clock, self._sleep = busy, clock, sleep
        self._window_start, self._paused = clock(), 0.0

    def __call__(self) -> None:
        if not self._busy():
            return
        start = self._clock()
        if start - self._window_start >= 1.0:
            self._window_start, self._paused = start, 0.0
        budget = self.MAX_PAUSED_PER_SECOND - self._paused
        while self._busy() and self._clock() - start < budget:
            self._sleep(0.002)
        self._paused += self._clock() - start


class PolledFlag:
    """A cross-process cancel event, asked at most every 0.2 s: fit() checks its flag every batch, and each
    ask is a round trip to the manager process."""

    def __init__(self, event, interval: float = 0.2):
        self._event, self._interval, self._next, self._set = event, interval, 0.0, False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self._set and now >= self._next:
            self._set, self._next = self._event.is_set(), now + self._interval
        return self._set


class BatchedProgress:
    """Sends progress reports to the server in lists, at most every `interval` seconds (and at each epoch end).

    Every put is a round trip through the manager process and a get on the server's side, where it takes the
    GIL from page renders: one report per 10 batches is ~150 round trips a second on ML-100K, a list every
    0.25 s is four."""

    def __init__(self, channel, interval: float = 0.25):
        self._channel, self._interval, self._buffer, self._next = channel, interval, [], 0.0

    def __call__(self, progress: Progress) -> None:
        self._buffer.append(progress)
        now = time.monotonic()
        if progress.kind == "epoch" or now >= self._next:
            self.flush()
            self._next = now + self._interval

    def flush(self) -> None:
        if self._buffer:
            self._channel(self._buffer)
            self._buffer = []


# ---------------------------------------------------------------------- the tasks a worker runs
@dataclass(frozen=True)
class TrainTask:
    """Fit and save a run; the result is the run id."""

    ratings: Ratings
    split: Split
    config: TrainConfig
    runs_dir: str
    run_owner: str = HOST_OWNER  # whose run it is (collab_core.runs.owners), not the browser that asked

    def __call__(self, report, cancel, between_batches) -> str:
        trained = fit(self.ratings, self.split, self.config, callback=report, progress_every=10, cancel=cancel,
                      between_batches=between_batches)
        trained.metrics.update(ranking.recorded_metrics(trained, self.ratings, self.split))  # the run history's
        return RunStore(self.runs_dir).save(trained, owner=self.run_owner)


@dataclass(frozen=True)
class LRFindTask:
    """Sweep learning rates on a throw-away model; the result is an LRFinderResult."""

    ratings: Ratings
    split: Split
    config: TrainConfig

    def __call__(self, report, cancel, between_batches):
        return lr_find(self.ratings, self.split, self.config, cancel=cancel, between_batches=between_batches)


# ---------------------------------------------------------------------- workers
class ThreadWorker:
    """Runs a task in the calling thread: where no worker processes were started, or in place of a dead one."""

    def run(self, task, on_progress: Callable[[Progress], None], cancel: threading.Event):
        return task(on_progress, cancel, None)

    def close(self) -> None:
        pass


class ProcessWorker:
    """One spawned process that runs one task at a time, under SCHED_IDLE, yielding to page renders."""

    def __init__(self, context, manager: SyncManager, activity: PageActivity, parent: int):
        self._manager = manager
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_init_trainer,
                                         initargs=(parent, torch_threads(), activity))
        self.ready = self._pool.submit(os.getpid)  # spawn now (and run the initializer's warm-up), not from a page

    def run(self, task, on_progress: Callable[[Progress], None], cancel: threading.Event):
        """Run `task` in the process, relaying its progress and the cancel flag; raises what the task raises,
        and WorkerDied when the process is gone."""
        progress, cancel_flag = self._manager.Queue(), self._manager.Event()
        try:
            future = self._pool.submit(_run_in_worker, task, progress, cancel_flag)
            while True:
                done = future.done()
                _relay(progress, on_progress)
                if done:
                    return future.result()
                if cancel.is_set():
                    cancel_flag.set()
                time.sleep(0.25)
        except BrokenProcessPool:
            raise WorkerDied("the training worker process died (killed, or out of memory?); nothing was saved. "
                             "Training again runs it in the server process.") from None

    def pid(self) -> int:
        return self.ready.result()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def _relay(progress, on_progress) -> None:
    while True:
        try:
            reports = progress.get_nowait()
        except queue.Empty:
            return
        for report in reports:
            on_progress(report)


_activity: PageActivity | None = None  # in a training worker process: the server's page counter


def _run_in_worker(task, progress, cancel) -> object:
    """In a training worker: run `task` with batched progress, a polled cancel flag and page yielding."""
    report = BatchedProgress(progress.put)
    between = YieldToPages(_activity.busy) if _activity is not None else None
    try:
        return task(report, PolledFlag(cancel), between)
    finally:
        report.flush()  # the last reports arrive before the result (puts through a manager are synchronous)


def _init_trainer(parent: int, threads: int, activity: PageActivity) -> None:
    import torch

    global _activity
    _activity = activity
    _exit_with_parent(parent)
    # Training is batch work: it runs under SCHED_IDLE, so it gets a core only when nothing else wants it
    # and the kernel preempts it at once when a server thread wakes up (niceness alone lets it finish its
    # time slice first, and a page render wakes threads dozens of times). Niceness alone left page reruns
    # markedly slower (docs/reliability.md, "Figures measured").
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    torch.set_num_threads(threads)
    warm_up()


class UmapWorker:
    """A niced process for UMAP layouts; falls back to the calling thread once it has died."""

    def __init__(self, context, parent: int):
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_init_umap, initargs=(parent,))
        self._pool.submit(interpret.umap_warm_up)  # the first submit spawns the process, from this thread

    def run(self, factors: np.ndarray, dims: int, n_neighbors: int, min_dist: float, metric: str,
            seed: int) -> np.ndarray:
        if self._pool is not None:
            try:
                return self._pool.submit(interpret.umap_embed, factors, dims, n_neighbors, min_dist, metric,
                                         seed).result()
            except BrokenProcessPool:  # the worker died (e.g. killed for memory): compute here from now on
                self._pool = None
        return interpret.umap_embed(factors, dims, n_neighbors, min_dist, metric, seed)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def _init_umap(parent: int) -> None:
    _exit_with_parent(parent)
    os.nice(10)  # layouts yield the CPU to page renders and training on a small machine


def _exit_with_parent(parent: int) -> None:
    """In a worker: exit when the server process is gone, however it ended (a SIGKILL runs no clean-up,
    and a worker waiting for its next job would otherwise stay behind, holding its memory)."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# ---------------------------------------------------------------------- the runtime serve.py starts
class Runtime:
    """Everything collab_server.serve starts before the server: the page-activity counter, the manager that
    carries progress and cancel flags across processes, one training worker per allowed concurrent training,
    and the UMAP worker."""

    def __init__(self, trainers: int, umap: bool):
        context = multiprocessing.get_context("spawn")
        parent = os.getpid()
        self.activity = PageActivity(context)
        self.manager = SyncManager(ctx=context)
        self.manager.start(_exit_with_parent, (parent,))
        self.training_workers = [ProcessWorker(context, self.manager, self.activity, parent) for _ in range(trainers)]
        self.umap_worker = UmapWorker(context, parent) if umap else None
        # Wait for the training workers (torch import + warm-up) before the server starts: letting them warm up
        # while the first visitor loads a page made that load much slower (docs/performance.md, "Figures behind
        # choices in the code").
        # The niced UMAP warm-up, longer still, goes on in the background.
        for worker in self.training_workers:
            worker.pid()

    def close(self) -> None:
        for worker in self.training_workers:
            worker.close()
        if self.umap_worker is not None:
            self.umap_worker.close()
        self.manager.shutdown()


_runtime: Runtime | None = None  # set once by start(), in the server process


def start() -> Runtime:
    """Spawn the workers (collab_server.serve calls this before Streamlit runs any script)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(max_trainings(), umap=settings.get("COLLAB_UMAP_WORKER"))
    return _runtime


def stop() -> None:
    """Shut the workers down (tests; a server simply exits and its workers follow)."""
    global _runtime
    if _runtime is not None:
        _runtime.close()
        _runtime = None


def started() -> Runtime | None:
    """The runtime serve.py started in this process, or None (AppTest, a plain `streamlit run`)."""
    return _runtime


@contextmanager
def rendering():
    """Wrap a script run: while any is in progress, training workers pause between batches."""
    if _runtime is None:
        yield
        return
    with _runtime.activity.rendering():
        yield
