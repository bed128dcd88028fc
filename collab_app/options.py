"""Page options: each widget a page keeps in the URL is declared once, with bounds that may depend on the
active run, and this module is the one place that keeps its value inside them.

Why: a value can outlive the context it was valid in. A slider kept at 1,000 items from a 1,682-item run
is applied to a 30-item run after switching runs; a shared link says `top=5` where the slider starts at 10.
Streamlit raises (StreamlitValueAboveMaxError) when a widget's state is outside its bounds, so every page
calls `apply()` on its options before drawing them, and draws each widget through the helpers here, which
take the bounds from the same declaration.

- first run of a session: the value comes from the URL when it parses and is allowed, else the default,
  with a notice naming the refused value (escaped: URL values are text, never markup);
- every later run: the kept value is clamped into the current bounds (numbers) or reset to the default
  (a choice the run does not offer);
- after a switch of the active run, an option whose default depends on the run (Neighbours' minimum of ratings is
  20 on MovieLens and 0 on an imported run without counts) goes back to the new run's default: a value chosen
  under one run's default is not carried to another, nor back again (each option remembers the run and the
  default it was kept under). An option whose default is the same for both runs keeps the person's choice.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from . import state
from .text import md

SHOWN_URL_VALUE = 80  # characters of a refused URL value repeated in the notice


@dataclass(frozen=True)
class Number:
    """A whole or real number between `low` and `high` (both included)."""

    key: str  # session-state key of the widget
    param: str | None  # URL parameter (None: kept in the session only)
    default: float
    low: float
    high: float
    whole: bool = True

    def parse(self, raw: str):
        return int(raw) if self.whole else float(raw)

    def allows(self, value) -> bool:
        return self.low <= value <= self.high

    def fit(self, value):
        return min(max(value, self.low), self.high)


@dataclass(frozen=True)
class Choice:
    """One of `choices` (or anything `allowed` accepts, for large vocabularies such as item ids)."""

    key: str
    param: str | None
    default: Any
    choices: Sequence = ()
    allowed: Callable[[Any], bool] | None = None
    parse: Callable[[str], Any] = str

    def allows(self, value) -> bool:
        if value is None:
            return self.default is None
        return self.allowed(value) if self.allowed is not None else value in self.choices

    def fit(self, value):
        return value if self.allows(value) else self.default


Option = Number | Choice


_KEPT_UNDER = "_options_kept_under"  # option key -> (run id, default) its value was last kept under


def apply(*options: Option) -> None:
    """Initialise each option from the URL once per session, then keep it inside its current bounds, and back at
    its default when the active run changed and brought another default (see the module docstring)."""
    active = state.active_run()
    run_id = active.run_id if active is not None else None
    kept_under = st.session_state.setdefault(_KEPT_UNDER, {})
    for option in options:
        if option.key not in st.session_state:
            st.session_state[option.key] = _from_url(option)
        else:
            seen_run, seen_default = kept_under.get(option.key, (run_id, option.default))
            value = st.session_state[option.key]
            if seen_run != run_id and seen_default != option.default:
                value = option.default
            fitted = option.fit(value)
            if fitted != st.session_state[option.key] or type(fitted) is not type(st.session_state[option.key]):
                st.session_state[option.key] = fitted
        kept_under[option.key] = (run_id, option.default)


def quoted(raw: str) -> str:
    """A value from a link as a person can read it: in quotes, its start when long (a 5,000-character value), and
    any control or invisible formatting character (a NUL, a right-to-left override) shown as '?'."""
    shown = raw if len(raw) <= SHOWN_URL_VALUE else raw[:SHOWN_URL_VALUE] + "…"
    return "“" + "".join("?" if unicodedata.category(c).startswith("C") else c for c in shown) + "”"


def _from_url(option: Option):
    raw = st.query_params.get(option.param) if option.param else None
    if raw is None:
        return option.default
    try:
        value = option.parse(raw)
    except (ValueError, TypeError):
        value = None
        problem = "is not a valid value"
    else:
        problem = "is not available here"
    if value is not None and option.allows(value):
        return value
    st.warning(f"The link's {md(option.param)}\\={md(quoted(raw))} {problem}; showing the default instead.")
    return option.default


# ---------------------------------------------------------------------- widgets drawn from the declarations
def slider(where, label: str, option: Number, **kwargs):
    return where.slider(label, option.low, option.high, key=option.key, **kwargs)


def number_input(where, label: str, option: Number, **kwargs):
    return where.number_input(label, option.low, option.high, key=option.key, **kwargs)


def segmented(where, label: str, option: Choice, **kwargs):
    return where.segmented_control(label, list(option.choices), key=option.key, required=True, **kwargs)


def selectbox(where, label: str, option: Choice, choices: Sequence | None = None, **kwargs):
    return where.selectbox(label, list(option.choices if choices is None else choices), key=option.key, **kwargs)
