"""The session-state entries of the frame and the pages that are not a widget's own value (the address, one-shot
notices, the active run), with the accessors pages use. Modules with state of their own keep it
beside their code: collab_app.browser (the owner id), collab_app.options (what each option was kept under),
collab_app.work (the session's start); what a browser keeps across reloads is in collab_app.work, per browser.

Conventions:
- widget keys that should survive page changes start with "p_" (Streamlit drops the state of widgets that
  a run does not draw; `keep_widget_state()` re-asserts these at the top of every run); pages declare them
  with their bounds in collab_app.options;
- the entries below start with "_" and are read and written only through the functions of this module;
- the active run is the sidebar's selector (ACTIVE_RUN); pages get it, loaded, from `active_run()`.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import streamlit as st

ACTIVE_RUN = "p_run"  # the sidebar's run selector: the run every page shows
_PENDING_RUN = "_pending_run"  # set by code that finishes a run; applied before the selector is drawn
_ACTIVE = "_active"  # ActiveRun of this script run (set by the sidebar)
_SESSION_ID = "_session_id"
_NOTICES = "_notices"  # one-shot messages to show at the top of the next run
_FRAME = "_frame"  # set by app.py just before it runs the page (see collab_app.navigation)


@dataclass(frozen=True)
class ActiveRun:
    """The run every page shows: its id and the loaded, checked model."""

    run_id: str
    trained: Any  # collab_core.model.trained.TrainedModel


def session_id() -> str:
    if _SESSION_ID not in st.session_state:
        st.session_state[_SESSION_ID] = secrets.token_hex(8)
    return st.session_state[_SESSION_ID]


def keep_widget_state() -> None:
    """Re-assert "p_" widget values so they survive visiting a page that does not draw them."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith("p_"):
            st.session_state[key] = st.session_state[key]


# ---------------------------------------------------------------------- the address
# The frame puts the active run into the address before the page runs, so every page keeps `run=` for every kind of
# run, also one that stops early for a run it cannot show; a page then writes its own options with the run
# (to_url) as soon as it has drawn them. Nothing is written before collab_app.browser's component has run in the
# page (the frame stops that first run): see there why.
def keep_run_in_url() -> None:
    """Called by the frame before the page: the address's `run` becomes the active run (added, replaced, or taken
    out when there is none); the link's other values stay, for the page to read next."""
    run = st.session_state.get(ACTIVE_RUN)
    if st.query_params.get("run") != run:
        if run:
            st.query_params["run"] = run
        else:
            del st.query_params["run"]


def to_url(**params: Any) -> None:
    """Write this page's options into the address (None leaves a parameter out), with the active run."""
    wanted = {"run": st.session_state.get(ACTIVE_RUN), **params}
    new = {k: str(v) for k, v in wanted.items() if v is not None}
    if st.query_params.to_dict() != new:
        st.query_params.from_dict(new)


# ---------------------------------------------------------------------- one-shot notices
def notice(message: str, level: str = "warning") -> None:
    """Queue a message (Markdown; escape what it quotes with text.md) for the top of the next run."""
    st.session_state.setdefault(_NOTICES, []).append((level, message))


def notice_success(message: str) -> None:
    notice(message, "success")


def show_notices(lasting: list[tuple[str, str]] = ()) -> None:
    """The queued notices, in a container drawn on every run, empty or not: Streamlit knows an element by its place
    in the page, so a notice that appeared and is gone on the next run would otherwise move every element of the
    page by one, and an expander opened meanwhile would be drawn anew, closed. `lasting`: (level, message) pairs
    drawn in the same place on this run (their owner decides how long they last)."""
    with st.container():
        for level, message in [*lasting, *st.session_state.pop(_NOTICES, [])]:
            getattr(st, level)(message)


# ---------------------------------------------------------------------- the active run
def request_active_run(run_id: str | None) -> None:
    """Make `run_id` the active run from the next script run on (the selector may already be drawn)."""
    st.session_state[_PENDING_RUN] = run_id or ""


def take_pending_run() -> str | None:
    return st.session_state.pop(_PENDING_RUN, None)


def set_active(active: ActiveRun | None) -> None:
    st.session_state[_ACTIVE] = active


def active_run() -> ActiveRun | None:
    """The active run of this script run (drawn by the sidebar), or None when there is none."""
    return st.session_state.get(_ACTIVE)


# ---------------------------------------------------------------------- the frame
def mark_frame() -> None:
    st.session_state[_FRAME] = True


def frame_ran() -> bool:
    """Whether app.py ran before this page in this script run (consumed: each run must set it again)."""
    return bool(st.session_state.pop(_FRAME, False))
