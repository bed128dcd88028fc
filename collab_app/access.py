"""The host and visitors on the page: taking the host key out of the address, who this session is, and the
helpers pages use to hide what a visitor may not do (the rules themselves: collab_server.access).

The host link is `/?host=<key>`. The frame calls `claim_host()` on every run, once collab_app.browser's component
has run in the page: the key is taken out of the address at once (the component replaces the history entry, so
neither the address bar nor Back shows it again) and, when it matches, this browser's owner id is the host's for
as long as the server runs: a reload or a second tab of the same browser stays the host. A wrong key is logged at
warning level with the session and said on the page; the browser stays a visitor.
"""
from __future__ import annotations

import streamlit as st

from collab_core import settings
from collab_core.runs.owners import HOST_OWNER
from collab_core.runs.store import RunInfo
from collab_server import access
from collab_server.access import Caller

from . import browser, cached, services, state

HOST_PARAM = "host"
_HOST = "_host"  # set in a session that opened the host link


def claim_host() -> None:
    """Read and remove the host key from the address (see the module docstring)."""
    if HOST_PARAM not in st.query_params:
        return
    candidate = st.query_params.get(HOST_PARAM)
    del st.query_params[HOST_PARAM]
    if access.host_key().matches(candidate):
        st.session_state[_HOST] = True
        services.host_browsers().add(browser.owner())
        state.notice_success("You are the host: you can manage every run, fetch and import data, and choose what "
                             "visitors see. Share the address without the key: visitors open it as it is now.")
    else:
        access.log_wrong_key(state.session_id())
        state.notice("This host link is not valid on this server (the key changes whenever the server starts, "
                     "unless its operator set COLLAB_HOST_TOKEN): you are a visitor.")


def caller() -> Caller:
    """Who this session is."""
    owner = browser.owner()
    host = owner in services.host_browsers()
    if st.session_state.get(_HOST) and not host:  # the browser's id became known after the link was opened
        services.host_browsers().add(owner)
        host = True
    return Caller(state.session_id(), owner, host, settings.get("COLLAB_DEMO"))


def is_host() -> bool:
    return caller().host


def refusal(action: str, run_owner: str | None = None) -> str | None:
    """Why this session may not do `action`, in one line; None when it may (see collab_server.access)."""
    return access.refusal(caller(), action, run_owner)


def require(action: str, run_owner: str | None = None, what: str = "") -> None:
    """Raise access.Refused unless this session may do `action`: called where the action is done."""
    access.require(caller(), action, run_owner, what)


def visible_runs(infos: list[RunInfo]) -> list[RunInfo]:
    """The runs this session may see, its own first (otherwise in the order given: newest first)."""
    who = caller()
    shared = _store_shares()
    seen = [info for info in infos if access.may_see(who, info.owner, shared)]
    return sorted(seen, key=lambda info: not who.owns(info.owner))  # stable: newest first within each group


def owner_word(info: RunInfo) -> str:
    """Whose run it is, as the run history says it: "you", "host", "a visitor"."""
    if caller().owns(info.owner):
        return "you"
    return "host" if info.owner == HOST_OWNER else "a visitor"


def role_line() -> str:
    """One line for the sidebar: who this session is."""
    who = caller()
    if who.host:
        demo = " Demo mode: visitors only explore." if who.demo else ""
        return f":material/key: Host: every power on this server.{demo}"
    if who.demo:
        return ":material/visibility: Visitor of a demo: explore the host's runs."
    return ":material/person: Visitor: your own runs, and everyone's to explore."


def _store_shares() -> bool:
    return cached.store().visitor_runs_shared()
