"""Waiting for background work in tests: a deadline, never a fixed sleep."""
from __future__ import annotations

import time


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)
