"""Who may do what on a shared server: the host and visitors, and the one table of rules every action checks.

The host is whoever holds the host key: a secret made at start (or set by the operator, COLLAB_HOST_TOKEN) and
printed once, as part of a link, where the server was started (collab_server.serve), as Jupyter prints its token.
A browser that opens that link is the host's from then on (collab_app.access takes the key out of the address at
once, so it is never part of a link the host copies). Why a key and not "connections from this machine":
docs/decisions.md, "Host and visitors".

Everyone else is a visitor. A visitor browses every shared run, trains runs of their own, uses You, Compare and
Diagnostics and downloads; the rest (`HOST_ONLY`) is the host's. In demo mode (COLLAB_DEMO) visitors only explore.
`refusal()` says, in one line a page can show, why a caller may not do something; `require()` is what the code
that does it calls, so that a crafted request (a widget value for a button a visitor never saw) gets nothing:
it raises `Refused` and logs the attempt at warning level with the session, never the key.

Nothing here calls Streamlit.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from collab_core import settings
from collab_core.errors import CollabError
from collab_core.runs.owners import HOST_OWNER, owner_tag

_log = logging.getLogger("collab_server.access")

# actions, as the pages and the log name them
TRAIN, UPLOAD, FETCH, IMPORT, SERVER_FOLDERS = "train", "upload", "fetch", "import", "server folders"
RENAME, DELETE, PIN, SHARING = "rename", "delete", "pin", "sharing"
HOST_ONLY = {  # what only the host may do, and the line a visitor reads instead
    FETCH: "Only the host can download datasets to the server.",
    IMPORT: "Only the host can import embeddings into the shared runs.",
    SERVER_FOLDERS: "Only the host can open folders on the server.",
    PIN: "Only the host chooses the run new visitors see first.",
    SHARING: "Only the host chooses whether visitors see each other's runs.",
}
DEMO_REFUSED = {TRAIN, UPLOAD}  # besides HOST_ONLY, what a visitor may not do in demo mode
DEMO_REASON = "This is a demo: visitors explore the host's runs; training and uploads are for the host."
OWN_RUNS_ONLY = {RENAME, DELETE}  # a visitor may do these to their own runs only


class Refused(CollabError):
    """A caller asked for something the rules do not allow them."""


@dataclass(frozen=True)
class Caller:
    """Who is asking: the session (for the log), its browser's owner id, and whether that browser is the host's."""

    session: str
    browser: str  # collab_app.browser's owner id (never logged, never recorded in a run)
    host: bool
    demo: bool = False

    @property
    def run_owner(self) -> str:
        """What a run this caller trains or imports records as its owner (collab_core.runs.owners)."""
        return HOST_OWNER if self.host else owner_tag(self.browser)

    def owns(self, run_owner: str) -> bool:
        """Whether a run recording `run_owner` is this caller's own ("your runs")."""
        return run_owner == self.run_owner


def refusal(caller: Caller, action: str, run_owner: str | None = None) -> str | None:
    """Why `caller` may not do `action` (to a run recording `run_owner`), in one line; None when they may."""
    if caller.host:
        return None
    if action in HOST_ONLY:
        return HOST_ONLY[action]
    if caller.demo and action in DEMO_REFUSED:
        return DEMO_REASON
    if action in OWN_RUNS_ONLY and not caller.owns(run_owner or HOST_OWNER):
        return f"Only the host can {action} runs that are not yours."
    return None


def require(caller: Caller, action: str, run_owner: str | None = None, what: str = "") -> None:
    """Raise Refused (and log it at warning level) unless `caller` may do `action`; `what` names the target in the
    log (a run id, a dataset)."""
    reason = refusal(caller, action, run_owner)
    if reason is not None:
        _log.warning("refused %s%s for session %s (a visitor): %s", action, f" of {what}" if what else "",
                     caller.session, reason)
        raise Refused(reason)


def log_wrong_key(session: str) -> None:
    """A host link with a wrong key was opened: logged with the session, never with what was offered."""
    _log.warning("a wrong host key was offered by session %s; it stays a visitor", session)


def may_see(caller: Caller, run_owner: str, visitor_runs_shared: bool) -> bool:
    """Whether a run recording `run_owner` is listed for `caller`: the host sees every run, a visitor the host's,
    their own, and other visitors' when the host shares them."""
    return caller.host or run_owner == HOST_OWNER or caller.owns(run_owner) or visitor_runs_shared


# ---------------------------------------------------------------------- the host key
class HostKey:
    """The secret of the host link. Compared in constant time; its text is read only to print the link at start."""

    def __init__(self, token: str | None = None):
        self._token = token or secrets.token_urlsafe(24)

    def matches(self, candidate) -> bool:
        if not isinstance(candidate, str):
            return False
        return hmac.compare_digest(candidate.encode(), self._token.encode())

    def link(self, base_url: str) -> str:
        """The host link: `base_url` with the key as its `host` parameter."""
        return f"{base_url.rstrip('/')}/?host={self._token}"

    def __repr__(self) -> str:  # never the secret, in a log or a traceback
        return "HostKey(<secret>)"


_key: HostKey | None = None
_key_lock = threading.Lock()


def host_key() -> HostKey:
    """This server's host key: COLLAB_HOST_TOKEN, else one made on first use and kept for the process's life."""
    global _key
    with _key_lock:
        if _key is None:
            _key = HostKey(settings.get("COLLAB_HOST_TOKEN"))
        return _key


class HostBrowsers:
    """The browsers (owner ids) that opened the host link since the server started; bounded, newest kept."""

    def __init__(self, limit: int = 100):
        self._limit = limit
        self._lock = threading.Lock()
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, browser: str) -> None:
        with self._lock:
            self._ids.pop(browser, None)
            self._ids[browser] = None
            while len(self._ids) > self._limit:
                self._ids.popitem(last=False)

    def __contains__(self, browser: str) -> bool:
        with self._lock:
            return browser in self._ids
