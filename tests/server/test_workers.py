"""The worker processes behind the server: a training worker killed in the middle of a job (the kernel's
out-of-memory killer, an operator's kill -9) fails that job with a message, saves nothing, and the next
training still works; progress arrives complete; workers exit with the server. These start real spawned
processes, as collab_server.serve does."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from collab_core.data.ratings import random_split
from collab_core.model.config import default_config
from collab_core.runs.store import RunStore
from collab_server import workers
from collab_server.jobs import TrainingService
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def worker_settings():
    """The module's worker settings; its workers are stopped at the end of the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLLAB_UMAP_WORKER", "0")  # not needed here; saves a process and its numba warm-up
        patch.setenv("COLLAB_MAX_TRAININGS", "1")
        yield
        workers.stop()


@pytest.fixture()
def runtime(worker_settings):
    """Live workers, shared by the tests that leave them healthy: each start spawns processes that import torch."""
    return workers.start()  # the running ones, or new ones after a test that stopped them


@pytest.fixture()
def own_runtime(worker_settings):
    """Workers of this test alone (it kills one), stopped after it."""
    workers.stop()
    yield workers.start()
    workers.stop()


def test_killed_training_worker_fails_the_job_saves_nothing_and_the_next_training_works(own_runtime, planted,
                                                                                         tmp_path):
    runtime = own_runtime
    ratings, _ = planted
    split = random_split(ratings, 0.1, 0)
    runs = tmp_path / "runs"
    worker = runtime.training_workers[0]
    assert worker.pid() != os.getpid()
    service = TrainingService(list(runtime.training_workers))
    job = service.train(ratings, split, default_config(epochs=500, n_factors=8), str(runs), "session-a")
    wait_until(lambda: len(job.progress) > 0, timeout=60)  # training in the worker
    os.kill(worker.pid(), signal.SIGKILL)
    wait_until(lambda: not job.active, timeout=30)
    assert job.status == "failed"
    assert "training worker process died" in job.error and "nothing was saved" in job.error
    assert RunStore(runs).list() == []

    again = service.train(ratings, split, default_config(epochs=1, n_factors=8), str(runs), "session-a")
    wait_until(lambda: not again.active, timeout=60)
    assert again.status == "done", again.error
    assert [info.run_id for info in RunStore(runs).list()] == [again.run_id]


def test_progress_reaches_the_server_in_batches_and_completely(runtime, planted, tmp_path):
    ratings, _ = planted
    service = TrainingService(list(runtime.training_workers))
    job = service.train(ratings, random_split(ratings, 0.1, 0), default_config(epochs=3, n_factors=8),
                        str(tmp_path / "runs"), "s")
    wait_until(lambda: not job.active, timeout=60)
    assert job.status == "done", job.error
    epochs = [p.epoch for p in job.progress if p.kind == "epoch"]
    assert epochs == [1, 2, 3]  # every epoch report arrived, in order, before the job was marked done
    assert job.progress[-1].step == job.progress[-1].total_steps


def test_the_lr_finder_runs_in_the_worker_too(runtime, planted):
    ratings, _ = planted
    service = TrainingService(list(runtime.training_workers))
    job = service.find_lr(ratings, random_split(ratings, 0.1, 0), default_config(n_factors=8), "s")
    wait_until(lambda: not job.active, timeout=60)
    assert job.status == "done", job.error
    assert 1e-6 <= job.result.suggested_lr < 1 and len(job.result.losses) >= 3


WORKER_HOST = """
import os, sys, time
from collab_server import workers
from collab_core.bench.procstat import children
workers.start()
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
