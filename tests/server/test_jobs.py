"""The TrainingService owns order, slots and workers: jobs start first in, first out, one per worker; a queued
job can be cancelled before it starts; a dead worker fails its job and is replaced; every way a job can end is
recorded. Driven with scripted tasks on in-thread workers, so each test is deterministic and fast."""
import threading

import pytest

from collab_core.errors import CollabError, DeviceError, TrainingCancelled
from collab_core.model.config import TrainConfig
from collab_server.jobs import TrainingService
from collab_server.workers import ThreadWorker, WorkerDied, YieldToPages
from tests.waiting import wait_until


class Gate:
    """A task that reports once, then waits until released (or cancelled)."""

    def __init__(self, result="run-1", error: Exception | None = None):
        self.started, self.release = threading.Event(), threading.Event()
        self.result, self.error = result, error

    def __call__(self, report, cancel, between_batches):
        self.started.set()
        while not self.release.wait(0.01):
            if cancel.is_set():
                raise TrainingCancelled("cancelled")
        if self.error is not None:
            raise self.error
        return self.result


class DyingWorker:
    def run(self, task, on_progress, cancel):
        raise WorkerDied("the training worker process died (killed, or out of memory?); nothing was saved.")


@pytest.fixture()
def service():
    made = []

    def make(workers):
        made.append(TrainingService(workers))
        return made[-1]

    yield make
    for s in made:
        s.close()


def submit(service, task, owner="s"):
    return service.submit("train", task, TrainConfig(), "data", owner)


def test_jobs_start_first_in_first_out_one_per_worker(service):
    svc = service([ThreadWorker()])
    gates = [Gate(f"run-{i}") for i in range(3)]
    jobs = [submit(svc, gate) for gate in gates]
    gates[0].started.wait(5)
    assert [j.status for j in jobs] == ["running", "queued", "queued"]
    assert [svc.queue_position(j) for j in jobs] == [0, 1, 2]
    for gate, job in zip(gates, jobs):
        gate.started.wait(5)
        assert job.status == "running"
        gate.release.set()
        wait_until(lambda job=job: not job.active, timeout=5)
        assert job.status == "done" and job.run_id == gate.result


def test_two_workers_run_two_jobs_at_once(service):
    svc = service([ThreadWorker(), ThreadWorker()])
    gates = [Gate() for _ in range(3)]
    jobs = [submit(svc, gate) for gate in gates]
    gates[0].started.wait(5), gates[1].started.wait(5)
    assert [j.status for j in jobs] == ["running", "running", "queued"]
    for gate in gates:
        gate.release.set()
    wait_until(lambda: not any(j.active for j in jobs), timeout=5)


def test_a_queued_job_is_cancelled_at_once_and_never_runs(service):
    svc = service([ThreadWorker()])
    first, second = Gate(), Gate()
    running, queued = submit(svc, first), submit(svc, second)
    first.started.wait(5)
    svc.cancel(queued)
    assert queued.status == "cancelled" and svc.queue_position(queued) == 0
    svc.cancel(running)
    wait_until(lambda: not running.active, timeout=5)
    assert running.status == "cancelled" and not second.started.is_set()


@pytest.mark.parametrize("error, status, message, device_failure", [
    (CollabError("y_range does not cover the ratings"), "failed", "y_range does not cover the ratings", False),
    (DeviceError("the GPU ran out of memory"), "failed", "the GPU ran out of memory", True),
    (ZeroDivisionError("a bug"), "failed", "ZeroDivisionError: a bug", False),
])
def test_every_way_a_job_fails_is_recorded(service, error, status, message, device_failure):
    svc = service([ThreadWorker()])
    gate = Gate(error=error)
    gate.release.set()
    job = submit(svc, gate)
    wait_until(lambda: not job.active, timeout=5)
    assert (job.status, job.error, job.device_failure) == (status, message, device_failure)


def test_a_dead_worker_fails_its_job_and_its_slot_goes_on_in_thread(service):
    svc = service([DyingWorker()])
    doomed = submit(svc, Gate())
    wait_until(lambda: not doomed.active, timeout=5)
    assert doomed.status == "failed" and "worker process died" in doomed.error
    gate = Gate("run-2")
    gate.release.set()
    after = submit(svc, gate)
    wait_until(lambda: not after.active, timeout=5)
    assert after.status == "done" and after.run_id == "run-2"


class FakeClock:
    """Time that moves only when the code under test sleeps, plus a fixed cost per training batch."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_training_yields_to_page_renders_for_at_most_half_of_each_second():
    clock = FakeClock()
    rendering = {"busy": True}
    yield_to_pages = YieldToPages(lambda: rendering["busy"], clock, clock.sleep)
    batches = 0
    while clock.now < 10.0:  # a page that renders for 10 s: batches of 10 ms go on, at half speed
        yield_to_pages()
        clock.now += 0.010
        batches += 1
    assert 490 <= batches <= 510, batches  # 10 s at half speed: 500 batches (1,000 without pauses)
    rendering["busy"] = False
    before = clock.now
    for _ in range(100):  # nothing rendering: no pause at all
        yield_to_pages()
    assert clock.now == before
