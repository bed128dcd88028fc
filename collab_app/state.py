"""Session-state keys, their defaults, and the URL (st.query_params) that mirrors them.

Conventions:
- widget keys that should survive page changes start with "p_" (Streamlit drops the state of widgets
  that a run does not draw; `keep_widget_state()` re-asserts these at the top of every run);
- a value that arrives in the URL initialises its widget once per session (`from_url`), after which
  the widget is the source of truth and each page writes its options back (`to_url`), so a copied link
  reproduces the view.
"""
from __future__ import annotations

import secrets
from typing import Any, Callable

import streamlit as st

ACTIVE_RUN = "p_run"  # the sidebar's run selector: the run every page shows
PENDING_RUN = "_pending_run"  # set by code that finishes a run; applied before the selector is drawn
SESSION_ID = "_session_id"
JOB_ID = "_job_id"  # the training job this session started, if any
DATASET = "_dataset"  # DatasetSpec of the active dataset
NOTICES = "_notices"  # one-shot messages to show at the top of the next run


def session_id() -> str:
    if SESSION_ID not in st.session_state:
        st.session_state[SESSION_ID] = secrets.token_hex(8)
    return st.session_state[SESSION_ID]


def keep_widget_state() -> None:
    """Re-assert "p_" widget values so they survive visiting a page that does not draw them."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith("p_"):
            st.session_state[key] = st.session_state[key]


def from_url(key: str, param: str, parse: Callable[[str], Any], default: Any,
             valid: Callable[[Any], bool] = lambda _: True) -> None:
    """Initialise widget `key` once: from URL parameter `param` when it parses and is valid, else `default`.
    A bad value in a shared link becomes a notice, never a crash."""
    if key in st.session_state:
        return
    value = default
    raw = st.query_params.get(param)
    if raw is not None:
        try:
            parsed = parse(raw)
            if valid(parsed):
                value = parsed
            else:
                st.warning(f"The link's {param}={raw!r} is not available here; showing the default instead.")
        except (ValueError, TypeError):
            st.warning(f"The link's {param}={raw!r} is not a valid value; showing the default instead.")
    st.session_state[key] = value


def to_url(**params: Any) -> None:
    """Write this page's options into the URL (None removes a parameter); keeps `run` in sync too."""
    wanted = {"run": st.session_state.get(ACTIVE_RUN), **params}
    current = st.query_params.to_dict()
    new = {k: str(v) for k, v in wanted.items() if v is not None}
    if current != new:
        st.query_params.from_dict(new)


def notice(message: str, level: str = "warning") -> None:
    """Queue a message for the top of the next run ('warning', 'success' or 'error')."""
    st.session_state.setdefault(NOTICES, []).append((level, message))


def notice_success(message: str) -> None:
    notice(message, "success")


def show_notices() -> None:
    for level, message in st.session_state.pop(NOTICES, []):
        getattr(st, level)(message)


def request_active_run(run_id: str | None) -> None:
    """Make `run_id` the active run from the next script run on (the selector may already be drawn)."""
    st.session_state[PENDING_RUN] = run_id or ""
