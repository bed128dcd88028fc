"""Every session-state entry of the app that is not a widget's own value, with the accessors pages use.

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

from . import browser

ACTIVE_RUN = "p_run"  # the sidebar's run selector: the run every page shows
_PENDING_RUN = "_pending_run"  # set by code that finishes a run; applied before the selector is drawn
_ACTIVE = "_active"  # ActiveRun of this script run (set by the sidebar)
_SESSION_ID = "_session_id"
_ENDS_SEEN = "_ends_seen"  # ids of trainings whose end this session's live view has seen
_NOTICES = "_notices"  # one-shot messages to show at the top of the next run
_FRAME = "_frame"  # set by app.py just before it runs the page (see collab_app.navigation)


@dataclass(frozen=True)
class ActiveRun:
    """The run every page shows: its id and the loaded, checked model."""

    run_id: str
    trained: Any  # collab_core.trained.TrainedModel


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
# (to_url) as soon as it has drawn them.
def keep_run_in_url() -> None:
    """Called by the frame before the page: the address gets the active run if it does not have it yet."""
    run = st.session_state.get(ACTIVE_RUN)
    if browser.ready() and st.query_params.get("run") != run:  # the link's other values stay: the page reads them next
        if run:
            st.query_params["run"] = run
        else:
            del st.query_params["run"]


def to_url(**params: Any) -> None:
    """Write this page's options into the address (None leaves a parameter out), with the active run."""
    wanted = {"run": st.session_state.get(ACTIVE_RUN), **params}
    new = {k: str(v) for k, v in wanted.items() if v is not None}
    if browser.ready() and st.query_params.to_dict() != new:
        st.query_params.from_dict(new)


# ---------------------------------------------------------------------- one-shot notices
def notice(message: str, level: str = "warning") -> None:
    """Queue a message (Markdown; escape what it quotes with text.md) for the top of the next run."""
    st.session_state.setdefault(_NOTICES, []).append((level, message))


def notice_success(message: str) -> None:
    notice(message, "success")


def show_notices() -> None:
    for level, message in st.session_state.pop(_NOTICES, []):
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


# ---------------------------------------------------------------------- trainings seen, the frame
def seen_end(job_id: str) -> bool:
    """Whether this session's live view of a training already saw it end."""
    return job_id in st.session_state.get(_ENDS_SEEN, set())


def mark_end_seen(job_id: str) -> bool:
    """Note that the live view saw `job_id` end; True the first time (it then reruns the app once)."""
    seen = st.session_state.setdefault(_ENDS_SEEN, set())
    if job_id in seen:
        return False
    seen.add(job_id)
    return True


def mark_frame() -> None:
    st.session_state[_FRAME] = True


def frame_ran() -> bool:
    """Whether app.py ran before this page in this script run (consumed: each run must set it again)."""
    return bool(st.session_state.pop(_FRAME, False))
