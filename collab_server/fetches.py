"""Dataset downloads in the background: at most one per dataset for the whole server, shared by every session
that asks for it, with its latest progress and a cancel flag. The work is collab_core.data.fetch.fetch (network
and disk I/O, so a thread is enough); its file lock also keeps a CLI fetch of the same set from doubling up.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from collab_core.data import fetch
from collab_core.errors import CollabError, FetchCancelled

_log = logging.getLogger("collab_server.fetches")


@dataclass(eq=False)
class Fetch:
    """One dataset download and everything a page shows of it."""

    name: str
    status: str = "running"  # running -> done | failed | cancelled
    progress: fetch.FetchProgress | None = None
    result: fetch.FetchResult | None = None
    error: str | None = None  # the full message, for the command line and the server's log
    failure: Exception | None = None  # what failed: a page turns it into words for its reader (collab_app.messages)
    started: float = field(default_factory=time.time)
    finished: float | None = None  # time.time() when it ended
    cancel_event: threading.Event = field(default_factory=threading.Event)
    cancellable = True

    @property
    def active(self) -> bool:
        return self.status == "running"

    def cancel(self) -> None:
        self.cancel_event.set()

    def fraction(self) -> float | None:
        return self.progress.fraction if self.progress is not None else None

    def describe(self) -> str:
        """Where it stands, in plain words (a failure as FetchError.plain words it: no server path)."""
        if self.status == "failed":
            return getattr(self.failure, "plain", None) or f"downloading {self.name} failed"
        if self.status == "cancelled":
            return "cancelled; the part downloaded is kept and resumed next time"
        if self.status == "done":
            return f"{self.name} is downloaded"
        return self.progress.describe() if self.progress is not None else f"starting {self.name}"


class FetchService:
    """Starts fetches in threads, one per dataset name at a time."""

    def __init__(self, base_url: str | None = None):
        self._base_url = base_url  # None: COLLAB_MOVIELENS_URL, read when each fetch starts
        self._lock = threading.Lock()
        self._fetches: dict[str, Fetch] = {}

    def start(self, name: str) -> Fetch:
        """Fetch `name` (the caller has shown its terms and the person accepted them); a fetch of the same
        dataset already under way is returned instead of starting another."""
        fetch.get_release(name)  # an unknown name fails here, in the caller's thread
        with self._lock:
            current = self._fetches.get(name)
            if current is not None and current.active:
                return current
            job = self._fetches[name] = Fetch(name)
        threading.Thread(target=self._run, args=(job,), name=f"fetch-{name}", daemon=True).start()
        return job

    def get(self, name: str) -> Fetch | None:
        with self._lock:
            return self._fetches.get(name)

    @staticmethod
    def cancel(job: Fetch) -> None:
        job.cancel()

    def _run(self, job: Fetch) -> None:
        def record(progress: fetch.FetchProgress) -> None:
            job.progress = progress

        status = "done"
        try:
            job.result = fetch.fetch(job.name, accept_terms=True, base_url=self._base_url, progress=record,
                                     cancel=job.cancel_event)
        except FetchCancelled:
            status = "cancelled"
        except CollabError as exc:
            status, job.error, job.failure = "failed", str(exc), exc
        except Exception as exc:  # a bug: shown where the download was, logged in full
            status, job.error, job.failure = "failed", f"{type(exc).__name__}: {exc}", exc
            _log.exception("fetching %s failed", job.name)
        job.finished = time.time()  # before the status: whoever sees it ended also sees when
        job.status = status
