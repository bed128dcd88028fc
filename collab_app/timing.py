"""Server-side duration of each script run, logged as `script-run page=<name> ms=<duration>`.

The UI benchmark reads these lines to separate the server's share of a rerun from the browser's."""
from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager

_logger = logging.getLogger("collab_app.timing")
if not _logger.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(_handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False


@contextmanager
def script_run(page_name: str):
    """Time the body, including runs that end early through st.stop() or st.rerun()."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _logger.info("script-run page=%s ms=%.1f", page_name, (time.perf_counter() - start) * 1000)
