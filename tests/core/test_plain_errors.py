"""Errors a dashboard visitor can meet are said in their terms: every FetchError has plain words, and OS or
network reasons read as words, never an error number."""
from __future__ import annotations

import ast
import socket
from pathlib import Path
from urllib.error import URLError

import pytest

from collab_core.errors import os_reason

ROOT = Path(__file__).resolve().parents[2]


def test_every_fetch_error_says_it_in_plain_words_too():
    """The next FetchError added without `plain=` would show the command line's message (paths, commands)."""
    calls = [(path, node) for path in (ROOT / "collab_core").rglob("*.py") for node in ast.walk(ast.parse(
        path.read_text())) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "FetchError"]
    missing = [f"{path.relative_to(ROOT)}:{node.lineno}" for path, node in calls
               if len(node.args) < 3 and not any(k.arg == "plain" for k in node.keywords)]
    assert calls and missing == []


@pytest.mark.parametrize("error, words", [
    (URLError(socket.gaierror(-2, "Name or service not known")), "Name or service not known"),
    (URLError(ConnectionRefusedError(111, "Connection refused")), "Connection refused"),
    (ConnectionResetError(104, "Connection reset by peer"), "Connection reset by peer"),
    (PermissionError(13, "Permission denied", "/srv/x"), "Permission denied"),
    (URLError("[Errno 99] Cannot assign requested address"), "Cannot assign requested address"),
    (TimeoutError(), "timed out"),
])
def test_os_reasons_are_words(error, words):
    assert os_reason(error) == words
