"""A function run once in a thread of the server, for work a page starts but must not hold: an import of
embeddings reads and checks files for seconds, and a reload during it must neither lose it nor run it twice.

A `Task` answers the questions of collab_server.owners.Tracked (status, where it stands, cancel), so the browser
that started it finds it in its "Your work" list after a reload. Its function gets the task's cancel flag and is
expected to look at it before it does anything that cannot be undone (an import checks it before saving the run).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collab_core.errors import CollabError

_log = logging.getLogger("collab_server.tasks")


class Cancelled(Exception):
    """Raised by a task's function that saw its cancel flag."""


@dataclass(eq=False)
class Task:
    """One function call in a background thread."""

    what: str  # what it does, in plain words ("importing vectors.tsv")
    status: str = "running"  # running -> done | failed | cancelled
    result: Any = None
    error: str | None = None
    failure: Exception | None = None  # what failed: a page words it for its reader (collab_app.messages)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    cancellable = True

    def fraction(self) -> float | None:
        return None if self.status == "running" else 1.0

    def describe(self) -> str:
        if self.status == "failed":
            return f"failed: {self.error}"
        if self.status == "running":
            return f"{self.what}: {time.time() - self.started:.0f} s"
        return self.status

    def cancel(self) -> None:
        self.cancel_event.set()


def start(what: str, fn: Callable[[threading.Event], Any]) -> Task:
    """Run `fn(cancel_event)` in a daemon thread; its return value becomes the task's result. A CollabError is the
    task's failure in its own words; any other exception is a bug, shown as one and logged in full."""
    task = Task(what)

    def run() -> None:
        status = "done"
        try:
            task.result = fn(task.cancel_event)
        except Cancelled:
            status = "cancelled"
        except CollabError as exc:
            status, task.error, task.failure = "failed", str(exc), exc
        except Exception as exc:
            status, task.error, task.failure = "failed", f"{type(exc).__name__}: {exc}", exc
            _log.exception("background task %r failed", what)
        task.finished = time.time()  # before the status: whoever sees it ended also sees when
        task.status = status

    threading.Thread(target=run, name=f"task-{what[:30]}", daemon=True).start()
    return task
