"""What each browser started and typed, kept by the server so that a reload or a second tab finds it again.

A Streamlit session ends with its page: a reload is a new session, with none of the old one's state. The work a
browser starts (a training, a learning-rate sweep, a UMAP layout, a dataset download, an import) runs on in the
server's services whatever happens to the page, so the services' tasks are filed here under the browser's owner
id (collab_app.browser), and each session of that browser lists them, with progress and Cancel, and hears once how
each ended. `OwnerMemory` keeps the rest a browser should not lose on reload: the settings it typed into the
Train form, the dataset it chose, its uploads folder.

Every task filed here answers the same few questions (the `Tracked` protocol): its status, how far it is, a line
saying where it stands, and how to cancel it; collab_server.jobs, collab_server.fetches and collab_server.tasks
implement it. Nothing here calls Streamlit.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

ACTIVE = ("queued", "running")
KEEP_FINISHED_SECONDS = 30 * 60  # a finished task stays listed this long
MAX_PER_OWNER = 20  # tasks listed per browser, newest first
FORGET_OWNER_AFTER = 24 * 3600  # a browser not seen for a day is forgotten, with its uploads
MAX_OWNERS = 1000


class Tracked(Protocol):
    """A background task as the "Your work" panel shows it."""

    status: str  # queued | running | done | failed | cancelled
    error: str | None  # why it failed, in words a person can act on
    finished: float | None  # time.time() when it ended
    cancellable: bool  # whether cancel() stops it (a UMAP layout in the worker cannot be stopped)

    def fraction(self) -> float | None: ...  # 0..1, or None when unknown

    def describe(self) -> str: ...  # one line of plain text: where it stands

    def cancel(self) -> None: ...  # stop it (or stop waiting for it)


@dataclass(eq=False)
class Work:
    """One task a browser started."""

    work_id: str
    owner: str
    kind: str  # "training", "learning-rate finder", "UMAP", "download", "import"
    label: str  # what it is, in the person's words (plain text: escape it where it is shown)
    task: Tracked
    started: float = field(default_factory=time.time)
    told: set[str] = field(default_factory=set)  # sessions that have announced how it ended

    @property
    def active(self) -> bool:
        return self.task.status in ACTIVE


class OwnerWork:
    """The tasks of every browser, by owner id."""

    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._by_owner: dict[str, list[Work]] = {}
        self._ids = itertools.count(1)

    def add(self, owner: str, kind: str, label: str, task: Tracked) -> Work:
        """File `task` under `owner`; a task filed already (a UMAP layout asked for again) is not filed twice."""
        with self._lock:
            works = self._by_owner.setdefault(owner, [])
            for work in works:
                if work.task is task:
                    return work
            work = Work(f"work-{next(self._ids)}", owner, kind, label, task)
            works.insert(0, work)
            self._prune(owner)
            return work

    def of(self, owner: str) -> list[Work]:
        """The owner's tasks, newest first: every active one, and those that ended in the last half hour."""
        with self._lock:
            self._prune(owner)
            return list(self._by_owner.get(owner, []))

    def latest(self, owner: str, kind: str) -> Work | None:
        return next((w for w in self.of(owner) if w.kind == kind), None)

    def to_announce(self, owner: str, session: str, session_started: float) -> list[Work]:
        """The owner's tasks that ended and that `session` has not announced yet, oldest first: those that ended
        while it was open, and those no session of the owner has announced (they ended while the page was being
        reloaded). Each is marked as told to `session`."""
        with self._lock:
            found = []
            for work in reversed(self._by_owner.get(owner, [])):
                ended = work.task.finished
                if work.active or ended is None or session in work.told:
                    continue
                if ended >= session_started or not work.told:
                    found.append(work)
                work.told.add(session)
            return found

    def _prune(self, owner: str) -> None:
        now = self._clock()
        works = [w for w in self._by_owner.get(owner, [])
                 if w.active or (w.task.finished or now) > now - KEEP_FINISHED_SECONDS]
        works = works[:MAX_PER_OWNER] + [w for w in works[MAX_PER_OWNER:] if w.active]
        if works:
            self._by_owner[owner] = works
        else:  # nothing listed: the owner is forgotten (every browser that ever asked would stay otherwise)
            self._by_owner.pop(owner, None)


class OwnerMemory:
    """Small things a browser should find again after a reload, by owner id and name (e.g. "train_form"). A browser
    not seen for FORGET_OWNER_AFTER seconds, or beyond the MAX_OWNERS most recent, is forgotten: what it kept is
    dropped (an uploads folder deletes itself when dropped, see collab_app.uploads)."""

    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._owners: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def get(self, owner: str, name: str, default: Any = None) -> Any:
        with self._lock:
            return self._touch(owner).get(name, default)

    def put(self, owner: str, name: str, value: Any) -> None:
        with self._lock:
            self._touch(owner)[name] = value

    def update(self, owner: str, name: str, change, default: Any = None) -> Any:
        """Replace the value kept under `name` by `change(value)` in one step (two tabs changing it at once lose
        neither change); returns the new value."""
        with self._lock:
            kept = self._touch(owner)
            kept[name] = change(kept.get(name, default))
            return kept[name]

    def setdefault(self, owner: str, name: str, factory) -> Any:
        """The value kept under `name`, made by `factory()` the first time."""
        with self._lock:
            kept = self._touch(owner)
            if name not in kept:
                kept[name] = factory()
            return kept[name]

    def forget(self, owner: str) -> None:
        """Drop all a browser kept (as if it had not been seen for a day)."""
        with self._lock:
            self._owners.pop(owner, None)

    def _touch(self, owner: str) -> dict[str, Any]:
        now = self._clock()
        _, kept = self._owners.pop(owner, (now, {}))
        self._owners[owner] = (now, kept)
        while self._owners:
            oldest, (seen, _) = next(iter(self._owners.items()))
            if oldest == owner or (len(self._owners) <= MAX_OWNERS and seen > now - FORGET_OWNER_AFTER):
                break
            self._owners.popitem(last=False)
        return kept
