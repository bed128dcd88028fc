"""The pages of the app, and the one guard that keeps every page inside the frame (app.py).

The guard, explained once: Streamlit still supports its legacy multipage mode, in which a `pages/` folder
beside the main script makes each file a page run *without* the main script. A process-wide flag decides
the mode; it is set when a session starts in a process where `st.navigation` has not run yet (a fresh
server's first visitor, and every AppTest run), and only an `st.navigation` call clears it. While it is
set, a deep link such as /neighbours runs pages/neighbours.py alone: no sidebar, no active run.
Streamlit's advice is to rename the folder (issue #9624 and its docs on st.navigation); this project's
layout keeps `pages/`, so each page starts with `ensure_frame()`: when app.py did not run first (it marks
every run, see state.mark_frame), it calls `st.navigation` with the same pages, which clears the flag
through the public API, and reruns, so the same request goes through app.py and lands on the page asked
for (each page's url_path equals its file name). The AppTests and the browser tests exercise this path.
"""
from __future__ import annotations

import streamlit as st

from . import state

# (file, title, icon, url path). The default page, Home, is served at "/": Streamlit ignores a default page's
# url_path, so it has no other address. Every other page answers at /<url path>, its file's name (Biases, the
# default page before Home, could only be reached at "/" then; /biases works now).
PAGES = [
    ("pages/home.py", "Home", ":material/home:", "home"),
    ("pages/data.py", "Data", ":material/table_view:", "data"),
    ("pages/train.py", "Train", ":material/model_training:", "train"),
    ("pages/biases.py", "Biases", ":material/leaderboard:", "biases"),
    ("pages/projections.py", "Projections", ":material/scatter_plot:", "projections"),
    ("pages/neighbours.py", "Neighbours", ":material/hub:", "neighbours"),
    ("pages/you.py", "You", ":material/person:", "you"),
    ("pages/compare.py", "Compare", ":material/compare_arrows:", "compare"),
    ("pages/diagnostics.py", "Diagnostics", ":material/troubleshoot:", "diagnostics"),
]
DEFAULT_PAGE = "home"


def pages() -> list:
    return [st.Page(path, title=title, icon=icon, url_path=url, default=url == DEFAULT_PAGE)
            for path, title, icon, url in PAGES]


def page_path(url: str) -> str:
    """The file of the page at /<url> (for st.page_link and st.switch_page)."""
    return next(path for path, _, _, page_url in PAGES if page_url == url)


def ensure_frame() -> None:
    """Make sure app.py (the frame) ran before this page; see the module docstring."""
    if not state.frame_ran():
        st.navigation(pages(), position="hidden")
        st.rerun()
