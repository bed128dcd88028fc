"""The one home of what Streamlit's AppTest reaches only through its internals, for the AppTests (tests/app) and
the scale benchmark (collab_app.bench_scale): a Streamlit upgrade that moves any of it touches this file alone.
Checked against Streamlit 1.67.0 (its source, streamlit/testing/v1 and streamlit/runtime/pages_manager.py).

Everything else the tests read is public: an element's `.value`, a Progress bar's `.text`, and the parameters of
the call that drew an element as its attributes (`caption.help`, `page_link.page`, `dataframe.placeholder`: the
documented fall-through of AppTest's Element). What has no public accessor:

- `navigation_only()`: Streamlit's legacy pages/-directory mode (see collab_app.navigation) is a process-wide flag,
  `PagesManager.uses_pages_directory`, that AppTest resets before every run and that is set again because pages/
  sits beside app.py. No config option, AppTest argument or `st.navigation` argument turns it off (the flag is
  cleared only by an `st.navigation` call, which comes too late in the run: the page's ensure_frame then reruns,
  and the rerun drops one-shot button clicks). Streamlit's advice is to rename the folder, which this layout keeps;
  an entry script elsewhere would need every page path absolute, and would no longer test app.py itself.
- `chart_json()` / `chart_spec()`: `st.plotly_chart` has no element class in AppTest (it is an UnknownElement);
  the figure is the `spec` field of the message sent to the browser, not a parameter of the call.
- `column_config()`: the Dataframe element gives the table (`.value`) but not its column configuration, sent as
  the message's `columns` field (the JSON of `column_config` after Streamlit's processing).
- `message()`: the whole message of an element or block, for the tests that read every field of everything a page
  shows (tests/app/test_words.py, test_escaping.py); AppTest has no public "every field" accessor.

Streamlit is imported inside the functions: collab_core's modules import without it (tests/core/test_imports.py).
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def navigation_only() -> Iterator[None]:
    """AppTest runs the way a server runs after its first script run: st.navigation only, Streamlit's pages/-directory
    mode off (see the module docstring). Undone on exit."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    try:
        yield
    finally:
        PagesManager.__init__ = original


def message(node) -> Any | None:
    """The protobuf message Streamlit sent the browser for an element or block (None for the tree's root)."""
    return getattr(node, "proto", None)


def chart_json(chart) -> str:
    """The JSON of a `plotly_chart` element's figure, as sent to the browser."""
    return chart.proto.spec


def chart_spec(chart) -> dict:
    """A `plotly_chart` element's figure: {"data": [...], "layout": {...}}."""
    return json.loads(chart_json(chart))


def column_config(table) -> dict:
    """A `dataframe` element's column configuration: {column name: {"width": ..., ...}} ({} when none was given)."""
    return json.loads(table.proto.columns or "{}")
