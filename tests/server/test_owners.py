"""collab_server.owners: what each browser started, and what it keeps, found again by any of its sessions."""
from dataclasses import dataclass

from collab_server import owners
from collab_server.owners import OwnerMemory, OwnerWork


@dataclass(eq=False)
class FakeTask:
    status: str = "running"
    error: str | None = None
    finished: float | None = None
    cancellable = True

    def fraction(self):
        return None

    def describe(self):
        return self.status

    def cancel(self):
        self.status = "cancelled"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def end(task: FakeTask, when: float, status: str = "done") -> None:
    task.status, task.finished = status, when


def test_each_browser_sees_only_its_own_tasks_newest_first_and_a_task_once():
    work = OwnerWork()
    first, second, theirs = FakeTask(), FakeTask(), FakeTask()
    work.add("me", "training", "a", first)
    work.add("me", "download", "b", second)
    work.add("me", "download", "b again", second)  # the same download asked for twice
    work.add("them", "training", "c", theirs)
    assert [w.task for w in work.of("me")] == [second, first]
    assert [w.task for w in work.of("them")] == [theirs]
    assert work.latest("me", "training").task is first
    assert work.latest("me", "import") is None


def test_a_finished_task_is_announced_once_to_each_session_open_when_it_ended_or_to_the_first_after():
    clock = Clock()
    work = OwnerWork(clock)
    task = FakeTask()
    work.add("me", "training", "a", task)
    assert work.to_announce("me", "tab-1", session_started=900) == []  # still running
    end(task, 1010)
    assert [w.task for w in work.to_announce("me", "tab-1", 900)] == [task]  # open when it ended
    assert work.to_announce("me", "tab-1", 900) == []  # once
    assert [w.task for w in work.to_announce("me", "tab-2", 950)] == [task]  # a second tab, open then too
    assert work.to_announce("me", "reloaded-later", 2000) == []  # told already, and it ended before this one


def test_a_task_that_ended_while_the_page_reloaded_is_announced_to_the_new_session():
    work = OwnerWork()
    task = FakeTask()
    work.add("me", "training", "a", task)
    end(task, 1010)  # no session of the browser was open to hear it
    assert [w.task for w in work.to_announce("me", "after-reload", session_started=1020)] == [task]


def test_finished_tasks_are_listed_for_half_an_hour_and_active_ones_always():
    clock = Clock()
    work = OwnerWork(clock)
    old, running = FakeTask(), FakeTask()
    work.add("me", "training", "old", old)
    work.add("me", "UMAP", "slow", running)
    end(old, clock.now)
    clock.now += owners.KEEP_FINISHED_SECONDS + 1
    assert [w.task for w in work.of("me")] == [running]
    for i in range(owners.MAX_PER_OWNER + 5):
        done = FakeTask()
        work.add("me", "download", str(i), done)
        end(done, clock.now)
    listed = work.of("me")
    assert len(listed) == owners.MAX_PER_OWNER + 1 and running in [w.task for w in listed]


def test_a_browser_finds_what_it_kept_until_it_is_forgotten():
    clock = Clock()
    memory = OwnerMemory(clock)
    memory.put("me", "train_form", {"p_tr_model": "nn"})
    made = memory.setdefault("me", "uploads", lambda: object())
    assert memory.setdefault("me", "uploads", lambda: object()) is made  # made once
    assert memory.get("me", "train_form") == {"p_tr_model": "nn"} and memory.get("them", "train_form") is None
    clock.now += owners.FORGET_OWNER_AFTER + 1
    memory.put("someone else", "x", 1)  # any visit prunes browsers unseen for a day
    assert memory.get("me", "train_form") is None
    memory.put("me", "x", 1)
    memory.forget("me")
    assert memory.get("me", "x") is None


def test_only_the_most_recent_browsers_are_kept(monkeypatch):
    monkeypatch.setattr(owners, "MAX_OWNERS", 3)
    memory = OwnerMemory()
    for name in "abcd":
        memory.put(name, "seen", True)
    assert memory.get("a", "seen") is None and memory.get("d", "seen") is True


def test_an_update_from_two_tabs_at_once_loses_neither():
    import threading

    memory = OwnerMemory()
    start = threading.Barrier(8)

    def rate(i):
        start.wait()
        for j in range(200):
            memory.update("me", "ratings", lambda kept, key=f"{i}-{j}": {**kept, key: 1.0}, {})

    threads = [threading.Thread(target=rate, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memory.get("me", "ratings")) == 8 * 200
