"""The host and visitors on the page: taking the host key out of the address, who this session is, and the
helpers pages use to hide what a visitor may not do (the rules themselves: collab_server.rules; pages take the
action names from here).

The host link is `/?host=<key>`. The frame calls `claim_host()` on every run, once collab_app.browser's component
has run in the page: the key is taken out of the address at once (the component replaces the history entry, so
neither the address bar nor Back shows it again; the browser's own history database still lists the visit: on a
shared computer the host opens the link in a private window) and, when it matches, the server issues a host pass
that the browser keeps in its local storage (collab_app.browser) and reports on every visit: a reload or a second
tab of the same browser stays the host while the server runs. A wrong key is logged at warning level with the
session and said on the page; the browser stays a visitor.
"""
from __future__ import annotations

import streamlit as st

from collab_core import settings
from collab_core.runs.owners import HOST_OWNER
from collab_core.runs.store import RunInfo
from collab_server import rules
from collab_server.rules import (  # noqa: F401 - the action names, for the pages
    DELETE,
    FETCH,
    IMPORT,
    PIN,
    RENAME,
    SERVER_FOLDERS,
    SHARING,
    TRAIN,
    UPLOAD,
    Caller,
)

from . import browser, cached, services, state

HOST_PARAM = "host"
SOURCE_NEEDS = {"folder": SERVER_FOLDERS, "upload": UPLOAD, "import": IMPORT}  # a Data page source -> its action
_HOST = "_host"  # set in a session that opened the host link
_WELCOME = "_host_welcome"  # the page the host link was opened on


def claim_host(page: str) -> None:
    """Read and remove the host key from the address (see the module docstring); `page` is the page it was opened
    on. Called before the frame mounts the browser component, so the pass goes to the browser in this very run."""
    if HOST_PARAM not in st.query_params:
        return
    candidate = st.query_params.get(HOST_PARAM)
    del st.query_params[HOST_PARAM]
    if rules.host_key().matches(candidate):
        st.session_state[_HOST] = True
        st.session_state[_WELCOME] = page
        browser.keep_host_pass(services.host_passes().issue())
        return
    rules.log_wrong_key(state.session_id())
    state.notice("This host link is not valid on this server (the key changes whenever the server starts, "
                 "unless its operator set COLLAB_HOST_TOKEN): you are a visitor.")


def welcome(page: str) -> list[tuple[str, str]]:
    """The host's welcome, as a notice, for as long as the host stays on the page where they opened the link (a
    one-shot notice would be gone at once: the browser reports its new pass, which reruns the page)."""
    if st.session_state.get(_WELCOME) != page:
        st.session_state.pop(_WELCOME, None)
        return []
    return [("success", "You are the host: you can manage every run, fetch and import data, and choose what "
                        "visitors see. Share the address without the key: visitors open it as it is now.")]


def caller() -> Caller:
    """Who this session is: the host when it opened the host link, or its browser keeps a pass this server issued."""
    host = bool(st.session_state.get(_HOST)) or services.host_passes().valid(browser.host_pass())
    return Caller(state.session_id(), browser.owner(), host, settings.get("COLLAB_DEMO"))


def refusal(action: str, run_owner: str | None = None, who: Caller | None = None) -> str | None:
    """Why this session (or `who`) may not do `action`, in one line; None when it may (collab_server.rules)."""
    return rules.refusal(who or caller(), action, run_owner)


def require(action: str, run_owner: str | None = None, what: str = "") -> None:
    """Raise rules.Refused unless this session may do `action`: called where the action is done."""
    rules.require(caller(), action, run_owner, what)


def visible_runs(infos: list[RunInfo]) -> list[RunInfo]:
    """The runs this session may see, its own first (otherwise in the order given: newest first)."""
    who = caller()
    shared = cached.visitor_runs_shared()
    seen = [info for info in infos if rules.may_see(who, info.owner, shared)]
    return sorted(seen, key=lambda info: not who.owns(info.owner))  # stable: newest first within each group


def owner_word(info: RunInfo, who: Caller) -> str:
    """Whose run it is, as the run history says it to `who`: "you", "host", "a visitor"."""
    if who.owns(info.owner):
        return "you"
    return "host" if info.owner == HOST_OWNER else "a visitor"


def offered_sources(sources: list[str]) -> tuple[list[str], list[str]]:
    """(the Data page's sources this session may use, the reasons for those it may not and for fetching datasets)."""
    who = caller()
    refused = {source: refusal(SOURCE_NEEDS[source], who=who) for source in sources if source in SOURCE_NEEDS}
    reasons = [*refused.values(), refusal(FETCH, who=who)]
    return [s for s in sources if refused.get(s) is None], list(dict.fromkeys(r for r in reasons if r))


def role_line() -> str:
    """One line for the sidebar: who this session is."""
    who = caller()
    if who.host:
        demo = " Demo mode: visitors only explore." if who.demo else ""
        return f":material/key: Host: every power on this server.{demo}"
    if who.demo:
        return ":material/visibility: Visitor of a demo: explore the host's runs."
    return ":material/person: Visitor: your own runs, and everyone's to explore."
