"""Changes to the shared runs, said to the tabs they affect, on their next rerun.

Another tab (of this browser or anyone's) may delete or rename the run this tab shows, the host may pin another run
or stop sharing visitors' runs. Without a word, the tab would simply show another run. So the sidebar remembers
what it drew last (the active run's id, name and label, and the pinned run) and, on the next run, compares: the run
it showed is gone (which, and which it shows now), was renamed, or the pin moved. Who did it comes from
collab_server.run_changes when it happened on this server. The session that made a change marks it seen
(`saw_rename`, `saw_pin`): it has its own confirmation.
"""
from __future__ import annotations

import streamlit as st

from collab_core.runs.owners import HOST_OWNER
from collab_core.runs.store import RunInfo

from . import access, cached, services, state
from .text import md

_SHOWN = "_shown_run"  # (run id, name, label) of the active run the sidebar drew last
_PINNED = "_pinned_seen"  # the pinned run id (or None) this session last saw
_UNSEEN = object()


def check(by_id: dict[str, RunInfo], labels: dict[str, str], shown: str | None) -> None:
    """Called by the sidebar once the active run of this script run is known (`shown`, with `by_id` the runs this
    session sees and `labels` their labels): queue a notice for each change since the last run."""
    previous = st.session_state.get(_SHOWN)
    if previous is not None:
        old_id, old_name, old_label = previous
        if old_id not in by_id:
            _gone(old_id, old_label, labels.get(shown))
        elif old_id == shown and by_id[shown].name != old_name:
            new_name = by_id[shown].name
            said = f"“{md(new_name)}”" if new_name else "nothing (its name was removed)"
            state.notice(f"The run shown here was renamed{_by(access.RENAME, shown)}: it is now called {said}.", "info")
    st.session_state[_SHOWN] = (shown, by_id[shown].name, labels.get(shown, shown)) if shown in by_id else None
    _pin_moved(labels)


def saw_rename(run_id: str) -> None:
    """This session renamed `run_id`: its own confirmation says so."""
    previous = st.session_state.get(_SHOWN)
    if previous is not None and previous[0] == run_id:
        st.session_state[_SHOWN] = None  # drawn afresh on the next run, without a notice


def saw_pin(run_id: str | None) -> None:
    st.session_state[_PINNED] = run_id


def _gone(old_id: str, old_label: str, now_label: str | None) -> None:
    if not cached.store().exists(old_id):
        what = f"was deleted{_by(access.DELETE, old_id)}"
    elif not access.caller().host and not cached.visitor_runs_shared():
        what = "is no longer shared with visitors"
    else:  # still there, but the run list says it cannot be read (damaged, or half copied by hand)
        what = "can no longer be read (the run history says why)"
    now = f"this page shows {md(now_label)} now" if now_label else "no run is left to show"
    state.notice(f"The run shown here, {md(old_label)}, {what}; {now}.")


def _pin_moved(labels: dict[str, str]) -> None:
    pinned = cached.pinned_run()
    seen = st.session_state.get(_PINNED, _UNSEEN)
    st.session_state[_PINNED] = pinned
    if seen is _UNSEEN or seen == pinned:
        return
    who = _by(access.PIN, None).removeprefix(" by ") or "the host"
    if pinned is not None and pinned not in labels:  # a run this session does not see: not its default either
        return
    if pinned is None:
        state.notice(f"{who.capitalize()} unpinned the default run: new visitors see the best run on the built-in "
                     f"data first.", "info")
    else:
        state.notice(f"{who.capitalize()} pinned {md(labels.get(pinned, pinned))}: new visitors see it first.", "info")


def _by(action: str, run_id: str | None) -> str:
    """" by the host", " by you (in another tab)", " by its owner", or "" when not known here."""
    change = services.run_changes().last(action, run_id)
    if change is None:
        return ""
    if change.by == access.caller().run_owner:
        return " by you (in another tab)"
    return " by the host" if change.by == HOST_OWNER else " by its owner"
