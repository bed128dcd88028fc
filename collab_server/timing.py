"""Server-side duration of each script run, logged as `script-run page=<name> ms=<wall> cpu_ms=<cpu>`, and
of the garbage collector's full collections, logged as `gc-pause ms=<duration>`.

These are measurements, not news for the operator: they are logged at debug level, and this logger lets them
through only when COLLAB_TIMING_LOG is on (off by default; a tour of the pages wrote hundreds of lines
otherwise). Off, a script run is not even timed.

cpu_ms is the script thread's own CPU time: wall minus cpu is what the run spent waiting (for the GIL, held
by Tornado or another session's script, for a core, or for I/O), which tells a slow run on a busy machine
from a run that did more work.

The UI benchmark turns them on and reads these lines to separate the server's share of a rerun from the
browser's. Full collections matter because Streamlit runs one after every script run (`runner.postScriptGC`)
holding the GIL, i.e. stalling every other session's script for its duration (see collab_server.serve for how
it is kept short)."""
from __future__ import annotations

import gc
import logging
import sys
import time
from contextlib import contextmanager

from collab_core import settings

_logger = logging.getLogger("collab_server.timing")
if not _logger.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(_handler)
    _logger.propagate = False


def configure() -> None:
    """Let the timing lines through when COLLAB_TIMING_LOG is on; done on import, and again by whoever changes
    the setting in a running process (the tests)."""
    _logger.setLevel(logging.DEBUG if settings.get("COLLAB_TIMING_LOG") else logging.INFO)


configure()


def enabled() -> bool:
    return _logger.isEnabledFor(logging.DEBUG)


@contextmanager
def script_run(page_name: str):
    """Time the body, including runs that end early through st.stop() or st.rerun()."""
    if not enabled():
        yield
        return
    start, cpu_start = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        _logger.debug("script-run page=%s ms=%.1f cpu_ms=%.1f", page_name, (time.perf_counter() - start) * 1000,
                      (time.thread_time() - cpu_start) * 1000)


_gc_started: float | None = None


def _on_gc(phase: str, info: dict) -> None:
    global _gc_started
    if info.get("generation") != 2:
        return
    if phase == "start":
        _gc_started = time.perf_counter() if enabled() else None
    elif _gc_started is not None:
        _logger.debug("gc-pause ms=%.1f", (time.perf_counter() - _gc_started) * 1000)
        _gc_started = None


def log_gc_pauses() -> None:
    """Log the duration of every full (generation 2) collection in this process (when the timing log is on)."""
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)
