"""The few style rules the app adds to Streamlit's own, for a projector-sized window (1024 x 768).

Streamlit's wide layout pads the page by 5rem on each side and 6rem on top: at 1024 px wide with the sidebar
open, that left about 560 px for the page, and controls, tables and charts were cut to fit. Streamlit has no
setting for this padding, so this is the one place that overrides it, on its main block container (found by its
`data-testid`, the hook Streamlit's own tests use). Sent as a style-only `st.html`, which Streamlit puts in its
event container: it takes no room on the page. The browser test at 1024 x 768 (tests/e2e/test_projector.py)
checks that nothing a person reads is cut off.
"""
from __future__ import annotations

import streamlit as st

_CSS = """
<style>
[data-testid="stMainBlockContainer"] {
  padding-left: 1.5rem;
  padding-right: 1.5rem;
  padding-top: 3rem;
}
</style>
"""


def apply() -> None:
    """Called by the frame on every run (a style sent once would be gone after the next page change)."""
    st.html(_CSS)
