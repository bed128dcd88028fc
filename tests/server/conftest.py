"""Helpers for the runtime tests (collab_server)."""
from tests.waiting import wait_until

__all__ = ["wait_until"]
