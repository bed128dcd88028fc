"""Server-side duration of each script run, logged as `script-run page=<name> ms=<wall> cpu_ms=<cpu>`, and
of the garbage collector's full collections, logged as `gc-pause ms=<duration>`.

cpu_ms is the script thread's own CPU time: wall minus cpu is what the run spent waiting (for the GIL, held
by Tornado or another session's script, for a core, or for I/O), which tells a slow run on a busy machine
from a run that did more work.

The UI benchmark reads these lines to separate the server's share of a rerun from the browser's. Full
collections matter because Streamlit runs one after every script run (`runner.postScriptGC`) holding the
GIL, i.e. stalling every other session's script for its duration (see collab_server.serve for how it is kept
short)."""
from __future__ import annotations

import gc
import logging
import sys
import time
from contextlib import contextmanager

_logger = logging.getLogger("collab_server.timing")
if not _logger.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(_handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False


@contextmanager
def script_run(page_name: str):
    """Time the body, including runs that end early through st.stop() or st.rerun()."""
    start, cpu_start = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        _logger.info("script-run page=%s ms=%.1f cpu_ms=%.1f", page_name, (time.perf_counter() - start) * 1000,
                     (time.thread_time() - cpu_start) * 1000)


_gc_started: float | None = None


def _on_gc(phase: str, info: dict) -> None:
    global _gc_started
    if info.get("generation") != 2:
        return
    if phase == "start":
        _gc_started = time.perf_counter()
    elif _gc_started is not None:
        _logger.info("gc-pause ms=%.1f", (time.perf_counter() - _gc_started) * 1000)
        _gc_started = None


def log_gc_pauses() -> None:
    """Log the duration of every full (generation 2) collection in this process."""
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)
