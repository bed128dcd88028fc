"""The worker processes behind the server: a training worker killed in the middle of a job (the kernel's
out-of-memory killer, an operator's kill -9) fails that job with a message, saves nothing, and the next
training still works. These start real spawned processes, as collab_app.serve does."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from collab_app import workers
from collab_app.jobs import TrainingQueue
from collab_core.config import default_config
from collab_core.ratings import random_split
from collab_core.runs import RunStore

from .conftest import wait_until


@pytest.fixture()
def started_workers(monkeypatch):
    monkeypatch.setenv("COLLAB_UMAP_WORKER", "0")  # not needed here; saves a process and its numba warm-up
    monkeypatch.setenv("COLLAB_MAX_TRAININGS", "1")
    workers.start_workers()
    yield
    workers.stop_workers()


def training_worker_pid() -> int:
    """Ask the (idle) training worker for its pid through its own pool. (Test-only use of a private global.)"""
    pool = workers._training_pools.queue[0]
    return pool.submit(os.getpid).result(timeout=30)


def test_killed_training_worker_fails_the_job_saves_nothing_and_the_next_training_works(
        started_workers, planted, tmp_path):
    ratings, _ = planted
    split = random_split(ratings, 0.1, 0)
    runs = tmp_path / "runs"
    pid = training_worker_pid()
    assert pid != os.getpid()
    queue = TrainingQueue(1)
    job = queue.submit(ratings, split, default_config(epochs=500, n_factors=8), str(runs), "session-a")
    wait_until(lambda: len(job.progress) > 0, timeout=60)  # training in the worker
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not job.active, timeout=30)
    assert job.status == "failed"
    assert "training worker process died" in job.error and "nothing was saved" in job.error
    assert RunStore(runs).list() == []

    again = queue.submit(ratings, split, default_config(epochs=1, n_factors=8), str(runs), "session-a")
    wait_until(lambda: not again.active, timeout=60)
    assert again.status == "done", again.error
    assert [info.run_id for info in RunStore(runs).list()] == [again.run_id]


def test_progress_reaches_the_server_in_batches_and_completely(started_workers, planted, tmp_path):
    ratings, _ = planted
    config = default_config(epochs=3, n_factors=8)
    job = TrainingQueue(1).submit(ratings, random_split(ratings, 0.1, 0), config, str(tmp_path / "runs"), "s")
    wait_until(lambda: not job.active, timeout=60)
    assert job.status == "done", job.error
    epochs = [p.epoch for p in job.progress if p.kind == "epoch"]
    assert epochs == [1, 2, 3]  # every epoch report arrived, in order, before the job was marked done
    assert job.progress[-1].step == job.progress[-1].total_steps


WORKER_HOST = """
import os, sys, time
from collab_app import workers
from collab_app.procstat import children
workers.start_workers()
print(" ".join(map(str, children(os.getpid()))), flush=True)
time.sleep(600)
"""


def test_workers_exit_when_the_server_is_killed(tmp_path):
    """A SIGKILLed server runs no clean-up; its worker processes (training, UMAP, the manager) must not stay
    behind holding their memory."""
    host = subprocess.Popen([sys.executable, "-c", WORKER_HOST], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        pids = [int(p) for p in host.stdout.readline().split()]
        assert len(pids) >= 3, pids  # UMAP worker, manager, one training worker (and a resource tracker)
        host.kill()
        host.wait()
        wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") and not _zombie(pid) for pid in pids),
                   timeout=15)
    finally:
        if host.poll() is None:
            host.kill()


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_training_pauses_while_pages_render_but_never_for_more_than_half_of_each_second(monkeypatch):
    import multiprocessing
    import time

    counter = multiprocessing.get_context("spawn").Value("i", 0)
    monkeypatch.setattr(workers, "_pages_rendering", counter)
    with workers.rendering():
        assert counter.value == 1  # a script run in progress
        yield_to_pages = workers._YieldToPages()
        start, batches = time.monotonic(), 0
        while time.monotonic() - start < 2.0:  # a page that renders for 2 s: batches go on at half speed
            yield_to_pages()
            batches += 1
            busy_until = time.monotonic() + 0.01  # a "batch" of 10 ms
            while time.monotonic() < busy_until:
                pass
    assert counter.value == 0
    # 2 s of wall time, at most half of it paused -> at least ~100 batches of 10 ms ran (200 without pauses)
    assert 80 <= batches <= 130, batches
    start = time.monotonic()
    for _ in range(100):  # nothing rendering: no pause at all
        yield_to_pages()
    assert time.monotonic() - start < 0.05
