"""Background work that outlives a script run: training jobs and slow projections (UMAP).

A Streamlit script run must stay fast, so each job is driven by a thread of this process-wide registry
(the training itself runs in a worker process, see collab_app.workers). Job threads never call `st.*`;
pages poll the registry from a `@st.fragment(run_every=...)`. A job
keeps running when its session moves to another page or closes its tab, and other sessions see it too.

Training jobs queue behind a semaphore (COLLAB_MAX_TRAININGS, default 1 on a 2-core machine) so that
concurrent users cannot oversubscribe the CPU; a queued job knows its position.
"""
from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from collab_core.config import TrainConfig
from collab_core.errors import CollabError, DeviceError, TrainingCancelled
from collab_core.ratings import Ratings, Split
from collab_core.training import Progress

from . import workers

MAX_PROGRESS_POINTS = 2000  # bound the memory a long job's progress history can take


@dataclass
class TrainingJob:
    """One training request and everything a page needs to show it."""

    job_id: str
    owner: str  # session that started it; it becomes that session's active run when done
    config: TrainConfig
    dataset: str
    runs_dir: str
    status: str = "queued"  # queued -> running -> done | failed | cancelled
    progress: list[Progress] = field(default_factory=list)
    run_id: str | None = None
    error: str | None = None
    device_failure: bool = False  # failed on the GPU (e.g. out of memory): the page offers a CPU retry
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def last(self) -> Progress | None:
        return self.progress[-1] if self.progress else None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def cancel(self) -> None:
        self.cancel_event.set()


class TrainingQueue:
    """Starts training jobs in threads, at most `max_concurrent` at a time, in submission order."""

    def __init__(self, max_concurrent: int | None = None):
        limit = max_concurrent or workers.max_trainings()
        self.max_concurrent = limit
        self._slots = threading.Semaphore(limit)
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, TrainingJob] = OrderedDict()
        self._ids = itertools.count(1)
        self._turn = threading.Condition(self._lock)

    def submit(self, ratings: Ratings, split: Split, config: TrainConfig, runs_dir: str, owner: str) -> TrainingJob:
        with self._lock:
            job = TrainingJob(f"job-{next(self._ids)}", owner, config, ratings.name, runs_dir)
            self._jobs[job.job_id] = job
            self._forget_old()
        threading.Thread(target=self._work, args=(job, ratings, split), name=job.job_id, daemon=True).start()
        return job

    def get(self, job_id: str | None) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(job_id) if job_id else None

    def jobs(self) -> list[TrainingJob]:
        with self._lock:
            return list(self._jobs.values())

    def queue_position(self, job: TrainingJob) -> int:
        """1 for the next job to start; 0 when not queued."""
        with self._lock:
            queued = [j for j in self._jobs.values() if j.status == "queued"]
        return queued.index(job) + 1 if job in queued else 0

    def _my_turn(self, job: TrainingJob) -> bool:
        queued = [j for j in self._jobs.values() if j.status == "queued"]
        return bool(queued) and queued[0] is job

    def _work(self, job: TrainingJob, ratings: Ratings, split: Split) -> None:
        with self._turn:  # first in, first out: wait until this is the oldest queued job
            self._turn.wait_for(lambda: self._my_turn(job) or job.cancel_event.is_set())
        acquired = False
        try:
            while not job.cancel_event.is_set() and not acquired:
                acquired = self._slots.acquire(timeout=0.2)
            if not acquired:
                raise TrainingCancelled("cancelled while queued")
            with self._turn:
                job.status, job.started = "running", time.time()
                self._turn.notify_all()

            def record(progress: Progress):
                job.progress.append(progress)
                if len(job.progress) > MAX_PROGRESS_POINTS:
                    del job.progress[: len(job.progress) - MAX_PROGRESS_POINTS]

            job.run_id = workers.train(ratings, split, job.config, job.runs_dir, record, job.cancel_event)
            job.status = "done"
        except TrainingCancelled:
            job.status = "cancelled"
        except DeviceError as exc:
            job.status, job.error, job.device_failure = "failed", str(exc), True
        except CollabError as exc:
            job.status, job.error = "failed", str(exc)
        except Exception as exc:  # a bug or e.g. CUDA out of memory: show it, keep the server alive
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        finally:
            job.finished = time.time()
            if acquired:
                self._slots.release()
            with self._turn:
                self._turn.notify_all()

    def _forget_old(self, keep: int = 50) -> None:
        """Drop the oldest finished jobs beyond `keep` so the registry stays bounded."""
        finished = [j for j in self._jobs.values() if not j.active]
        for job in finished[: max(0, len(finished) - keep)]:
            self._jobs.pop(job.job_id, None)


@dataclass
class Computation:
    status: str = "running"  # running | done | failed
    result: Any = None
    error: str | None = None
    seconds: float | None = None


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

    def peek(self, key) -> Computation | None:
        with self._lock:
            return self._entries.get(key)

    @staticmethod
    def _compute(entry: Computation, fn: Callable[[], Any]) -> None:
        start = time.perf_counter()
        try:
            entry.result = fn()
            entry.status = "done"
        except CollabError as exc:
            entry.error, entry.status = str(exc), "failed"
        except Exception as exc:
            entry.error, entry.status = f"{type(exc).__name__}: {exc}", "failed"
            traceback.print_exc()
        entry.seconds = time.perf_counter() - start
