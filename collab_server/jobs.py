"""Background work that outlives a script run: training jobs (and learning-rate sweeps) and slow projections.

`TrainingService` is the one object that owns the order of jobs (first in, first out), the slots (one per
worker: COLLAB_MAX_TRAININGS, default half the cores) and the workers themselves. A dispatcher thread hands
the oldest queued job to a free worker; a driver thread per running job waits on that worker and records
its progress. These threads never call `st.*`: pages poll the service from a `@st.fragment(run_every=...)`.
A job keeps running when its session moves to another page or closes its tab, and other sessions see it.

`ComputeCache` runs slow pure functions (UMAP) in background threads, once per key.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collab_core.data.ratings import Ratings, Split
from collab_core.errors import CollabError, DeviceError, TrainingCancelled
from collab_core.model.config import TrainConfig
from collab_core.model.training import Progress
from collab_core.runs.owners import HOST_OWNER

from .workers import LRFindTask, ThreadWorker, TrainTask, WorkerDied

MAX_PROGRESS_POINTS = 2000  # bound the memory a long job's progress history can take
KEEP_FINISHED = 50  # finished jobs remembered (so a page can still show how one ended)
_log = logging.getLogger("collab_server.jobs")


@dataclass
class Job:
    """One training (kind 'train') or learning-rate sweep (kind 'lr_find') and everything a page shows of it."""

    job_id: str
    kind: str  # 'train' or 'lr_find'
    owner: str  # the browser that started it (collab_app.browser's owner id): its pages find it by that
    config: TrainConfig
    dataset: str
    status: str = "queued"  # queued -> running -> done | failed | cancelled
    progress: list[Progress] = field(default_factory=list)
    result: Any = None  # 'train': the run id; 'lr_find': an LRFinderResult
    error: str | None = None
    device_failure: bool = False  # failed on the GPU (e.g. out of memory): the page offers a CPU retry
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    canceller: Callable[[Job], None] | None = None  # the service's cancel (it also takes a queued job out)
    cancellable = True

    def cancel(self) -> None:
        if self.canceller is not None:
            self.canceller(self)
        else:
            self.cancel_event.set()

    def fraction(self) -> float | None:
        return self.last.fraction if self.last is not None else (0.0 if self.kind == "train" else None)

    def describe(self) -> str:
        """Where it stands, in one line of plain text."""
        if self.status == "queued":
            return "waiting for a free training slot"
        if self.kind == "lr_find":
            return {"running": "sweeping learning rates", "done": "done", "cancelled": "cancelled"}.get(
                self.status, f"failed: {self.error}")
        if self.status == "failed":
            return f"failed: {self.error}"
        if self.status == "cancelled":
            return "cancelled; nothing was saved"
        last = self.last
        if last is None:
            return "starting"
        text = f"epoch {last.epoch}/{last.epochs}, train loss {last.train_loss:.4f}"
        if last.valid_rmse:
            text += f", validation RMSE {last.valid_rmse:.4f}"
        return ("done: " if self.status == "done" else "") + text + f", {last.elapsed:.1f} s"

    @property
    def last(self) -> Progress | None:
        return self.progress[-1] if self.progress else None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def run_id(self) -> str | None:
        return self.result if self.kind == "train" and self.status == "done" else None

    def record(self, progress: Progress) -> None:
        self.progress.append(progress)
        if len(self.progress) > MAX_PROGRESS_POINTS:
            del self.progress[: len(self.progress) - MAX_PROGRESS_POINTS]


class TrainingService:
    """Runs jobs on its workers, at most one job per worker, in submission order."""

    def __init__(self, workers: list):
        if not workers:
            raise ValueError("a TrainingService needs at least one worker")
        self.slots = len(workers)
        self._free = list(workers)
        self._queue: deque[tuple[Job, Callable]] = deque()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        self._closed = False
        threading.Thread(target=self._dispatch, name="training-dispatcher", daemon=True).start()

    # ------------------------------------------------------------------ what pages call
    def train(self, ratings: Ratings, split: Split, config: TrainConfig, runs_dir: str, owner: str,
              run_owner: str = HOST_OWNER) -> Job:
        """Queue a training for the browser `owner` (its work list finds the job by that); the run it saves records
        `run_owner` (collab_core.runs.owners: the host, or the browser's tag, never its id)."""
        return self.submit("train", TrainTask(ratings, split, config, runs_dir, run_owner), config, ratings.name,
                           owner)

    def find_lr(self, ratings: Ratings, split: Split, config: TrainConfig, owner: str) -> Job:
        return self.submit("lr_find", LRFindTask(ratings, split, config), config, ratings.name, owner)

    def get(self, job_id: str | None) -> Job | None:
        with self._changed:
            return self._jobs.get(job_id) if job_id else None

    def queue_position(self, job: Job) -> int:
        """1 for the next job to start; 0 when not queued."""
        with self._changed:
            queued = [j for j, _ in self._queue]
        return queued.index(job) + 1 if job in queued else 0

    def cancel(self, job: Job) -> None:
        """Stop a running job at its next batch, or take a queued one out of the queue at once."""
        job.cancel_event.set()
        with self._changed:
            for entry in list(self._queue):
                if entry[0] is job:
                    self._queue.remove(entry)
                    self._finish(job, "cancelled")
            self._changed.notify_all()

    def close(self) -> None:
        """Stop dispatching (tests). Running jobs finish on their own."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def submit(self, kind: str, task: Callable, config: TrainConfig, dataset: str, owner: str) -> Job:
        """Queue `task(report, cancel, between_batches)` (a picklable callable, see workers.TrainTask)."""
        with self._changed:
            job = Job(f"job-{next(self._ids)}", kind, owner, config, dataset, canceller=self.cancel)
            self._jobs[job.job_id] = job
            self._queue.append((job, task))
            self._forget_old()
            self._changed.notify_all()
        return job

    # ------------------------------------------------------------------ inside
    def _dispatch(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closed or (self._queue and self._free))
                if self._closed:
                    return
                (job, task), worker = self._queue.popleft(), self._free.pop()
                job.status, job.started = "running", time.time()
            threading.Thread(target=self._drive, args=(job, task, worker), name=job.job_id, daemon=True).start()

    def _drive(self, job: Job, task: Callable, worker) -> None:
        """Run one job on `worker` and record how it ended; the worker (or a stand-in) goes back to the pool."""
        status, error = "done", None
        try:
            job.result = worker.run(task, job.record, job.cancel_event)
        except TrainingCancelled:
            status = "cancelled"
        except WorkerDied as exc:
            # Spawning a replacement from inside the server could re-run app.py in the child (see workers),
            # so this slot runs its jobs in-thread from now on.
            status, error, worker = "failed", str(exc), ThreadWorker()
        except DeviceError as exc:
            status, error, job.device_failure = "failed", str(exc), True
        except CollabError as exc:
            status, error = "failed", str(exc)
        except Exception as exc:  # a bug: show it on the page, keep the server alive, log the traceback
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            _log.exception("job %s failed", job.job_id)
        with self._changed:
            self._finish(job, status, error)
            self._free.append(worker)
            self._changed.notify_all()

    @staticmethod
    def _finish(job: Job, status: str, error: str | None = None) -> None:
        job.error, job.finished = error, time.time()  # before the status: whoever sees it ended also sees when
        job.status = status

    def _forget_old(self) -> None:
        """Drop the oldest finished jobs beyond KEEP_FINISHED so the registry stays bounded."""
        finished = [j for j in self._jobs.values() if not j.active]
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            self._jobs.pop(job.job_id, None)


@dataclass(eq=False)
class Computation:
    """A slow pure function run in the background (a UMAP layout), shared by every session that asks for it."""

    status: str = "running"  # running | done | failed
    result: Any = None
    error: str | None = None
    seconds: float | None = None
    started: float = field(default_factory=time.monotonic)  # so a page can say how long it has been running
    finished: float | None = None  # time.time() when it ended
    expected_seconds: float | None = None  # about how long it should take here (sets the progress bar's pace)
    cancellable = False  # it runs in a worker process that cannot be interrupted; it is cached once done

    def elapsed(self) -> float:
        """Seconds since it started (its whole duration once finished)."""
        return self.seconds if self.seconds is not None else time.monotonic() - self.started

    def fraction(self) -> float | None:
        if self.status != "running":
            return 1.0
        return min(self.elapsed() / self.expected_seconds, 0.99) if self.expected_seconds else None

    def describe(self) -> str:
        if self.status == "failed":
            return f"failed: {self.error}"
        if self.status == "done":
            return f"done in {self.elapsed():.0f} s"
        expected = f" of about {self.expected_seconds:.0f} s" if self.expected_seconds else ""
        return f"{self.elapsed():.0f} s{expected}"

    def cancel(self) -> None:
        """Nothing to stop (see `cancellable`)."""


class ComputeCache:
    """Runs slow pure functions (UMAP) in background threads, once per key, keeping the last `max_entries`
    results. A page asks `get_or_start(key, fn)` on every run and shows a spinner until it is done."""

    def __init__(self, max_entries: int = 16):
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Any, Computation] = OrderedDict()

    def get_or_start(self, key, fn: Callable[[], Any]) -> Computation:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.status != "failed":
                self._entries.move_to_end(key)
                return entry
            entry = Computation()
            self._entries[key] = entry
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        threading.Thread(target=self._compute, args=(entry, fn), daemon=True).start()
        return entry

    @staticmethod
    def _compute(entry: Computation, fn: Callable[[], Any]) -> None:
        start = time.perf_counter()
        status = "done"
        try:
            entry.result = fn()
        except CollabError as exc:
            entry.error, status = str(exc), "failed"
        except Exception as exc:  # a bug: show it where the result was expected, log the traceback
            entry.error, status = f"{type(exc).__name__}: {exc}", "failed"
            _log.exception("background computation failed")
        entry.seconds = time.perf_counter() - start
        entry.finished = time.time()  # before the status: whoever sees it ended also sees when
        entry.status = status
