"""Who last deleted, renamed or pinned a run on this server, so that another tab whose page showed it can say so.

A tab notices a change itself (the run it showed is gone, its name or the pinned run differs from what it drew last:
collab_app.announce); this memo only adds who did it ("the host", "you, in another tab"). Changes made outside this
server (the command line, a hand-edited runs folder) are not here, and the tab says what changed without a who.
Nothing here calls Streamlit.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from .rules import PIN

MAX_KEPT = 500  # the newest changes kept; a tab asks about what it drew a moment ago


@dataclass(frozen=True)
class Change:
    action: str  # collab_server.rules' DELETE, RENAME or PIN
    run_id: str | None  # None for an unpin
    by: str  # the run owner of whoever did it (collab_server.rules.Caller.run_owner)
    at: float


class RecentChanges:
    """The newest change per run id (and the newest pin), bounded."""

    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._changes: OrderedDict[tuple[str, str | None], Change] = OrderedDict()

    def record(self, action: str, run_id: str | None, by: str) -> None:
        key = (action, None if action == PIN else run_id)  # one pin for the whole server
        with self._lock:
            self._changes.pop(key, None)
            self._changes[key] = Change(action, run_id, by, self._clock())
            while len(self._changes) > MAX_KEPT:
                self._changes.popitem(last=False)

    def last(self, action: str, run_id: str | None = None) -> Change | None:
        """The newest `action` of `run_id` (for PIN: the newest pin or unpin of any run)."""
        with self._lock:
            return self._changes.get((action, None if action == PIN else run_id))
