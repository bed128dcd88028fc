"""Who may do what on a shared server: the host and visitors, and the one table of rules every action checks.

The host is whoever holds the host key: a secret made at start (or set by the operator, COLLAB_HOST_TOKEN) and
printed once, as part of a link, where the server was started (collab_server.serve), as Jupyter prints its token.
A browser that opens that link is given a host pass (`HostPasses`), kept in its local storage, and is the host's
while the server runs (collab_app.access takes the key out of the address at once, so it is never part of a link
the host copies). Why a key and not "connections from this machine":
docs/decisions.md, "Host and visitors".

Everyone else is a visitor. A visitor browses every shared run, trains runs of their own, uses You, Compare and
Diagnostics and downloads a run's embeddings; the rest (`HOST_ONLY`) is the host's. In demo mode (COLLAB_DEMO)
visitors also may not train or upload (`DEMO_REFUSED`). `refusal()` says, in one line a page can show, why a caller
may not do something; `require()` is what the code that does it calls, so that a request the page never offered
gets nothing: it raises `Refused` and logs the attempt at warning level with the session, never the key. An action
the table does not know is refused to visitors (a misspelt name must not open anything).

The rules bind the app's sessions: the command line is the host's, and the services (collab_server.jobs, the run
store) do what they are asked; collab_app calls `require()` before asking them.

To add a host-only action: a constant and its reason in HOST_ONLY here; `refusal()` where a page offers it (to hide
it with the reason); `require()` in the collab_app function that does it. Nothing here calls Streamlit.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from collab_core import settings
from collab_core.errors import CollabError
from collab_core.runs.owners import HOST_OWNER, owner_tag

_log = logging.getLogger("collab_server.rules")

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
ACTIONS = {*HOST_ONLY, *DEMO_REFUSED, *OWN_RUNS_ONLY}


class Refused(CollabError):
    """A caller asked for something the rules do not allow them."""


@dataclass(frozen=True)
class Caller:
    """Who is asking: the session (for the log), its browser's owner id, whether that browser is the host's, and
    whether the server runs in demo mode."""

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
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; the rules know {sorted(ACTIONS)}")
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

    def __init__(self, token: str):
        self._token = token

    def matches(self, candidate) -> bool:
        if not isinstance(candidate, str):
            return False
        return hmac.compare_digest(candidate.encode(), self._token.encode())

    def link(self, base_url: str) -> str:
        """The host link: `base_url` with the key as its `host` parameter."""
        return f"{base_url.rstrip('/')}/?host={self._token}"

    def __repr__(self) -> str:  # never the secret, in a log or a traceback
        return "HostKey(<secret>)"


_key_lock = threading.Lock()


def host_key() -> HostKey:
    """This server's host key: COLLAB_HOST_TOKEN, else one made on first use. A made key is put into this process's
    environment as COLLAB_HOST_TOKEN: `make dev` reloads this module on every save, and the printed link must keep
    working (the environment is the process's own; nothing logs it)."""
    with _key_lock:
        token = settings.get("COLLAB_HOST_TOKEN")
        if token is None:
            token = secrets.token_urlsafe(24)
            settings.keep_for_process("COLLAB_HOST_TOKEN", token)
        return HostKey(token)


class HostPasses:
    """The passes this server gave to browsers that opened the host link: a random text the browser keeps in its
    local storage (never in a cookie, which every port of the same host name would receive) and reports on every
    visit. Only their hashes are kept, at most `limit`, the newest; all are forgotten when the server stops (the
    way to take host powers back from a browser)."""

    def __init__(self, limit: int = 20):
        self._limit = limit
        self._lock = threading.Lock()
        self._hashes: OrderedDict[str, None] = OrderedDict()

    def issue(self) -> str:
        """A new pass (its hash is kept; the text goes to the host's browser only)."""
        new = secrets.token_urlsafe(32)
        with self._lock:
            self._hashes[_hash(new)] = None
            while len(self._hashes) > self._limit:
                self._hashes.popitem(last=False)
        return new

    def valid(self, candidate) -> bool:
        """Whether `candidate` is a pass this server issued. A lookup by hash: the time it takes says nothing about
        how close a guess was."""
        if not isinstance(candidate, str) or not candidate:
            return False
        with self._lock:
            return _hash(candidate) in self._hashes


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
