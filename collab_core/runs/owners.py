"""Who a run belongs to, as run.json records it: the host, or one visitor's browser under a tag.

A shared server has one host (who started it; collab_server.rules) and visitors, each a browser with a random
owner id (collab_app.browser). A run trained or imported from a browser records whose it is, so that its visitor
finds it first and may rename or delete it; runs of the command line, of the host's browser, and runs saved before
owners were recorded belong to the host.

What is recorded for a visitor is a tag derived from the browser's owner id by a one-way hash, never the id itself:
a run folder may be read by anyone (the history, an export, the folder on disk), and whoever knew a browser's id
could put it in their own cookie and act as that browser.
"""
from __future__ import annotations

import hashlib
import re

HOST_OWNER = "host"
_TAG_PATTERN = re.compile(r"[0-9a-f]{24}")


def owner_tag(browser_id: str) -> str:
    """The tag (24 hex digits) recorded for runs of the browser whose owner id (32 hex digits) is `browser_id`."""
    return hashlib.sha256(f"collab-run-owner:{browser_id}".encode()).hexdigest()[:24]


def valid_owner(value) -> bool:
    """HOST_OWNER or a browser's tag."""
    return value == HOST_OWNER or (isinstance(value, str) and _TAG_PATTERN.fullmatch(value) is not None)
