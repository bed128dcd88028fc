"""The errors collab_core raises for problems a user can fix.

Every message names the offending thing (file, column, row, value, id) and what was expected, so the CLI
and the dashboard can show it as it is, without a traceback. All of them are `ValueError`s (or
`KeyError`-compatible for unknown ids) so plain Python callers can catch them the usual way.
"""
from __future__ import annotations

import re

_ERROR_NUMBER = re.compile(r"\[(?:Errno|WinError) -?\d+\]\s*")


def os_reason(exc: BaseException) -> str:
    """An OS or network error in plain words: 'Connection refused', 'Name or service not known', 'timed out';
    never '[Errno 111]' or a Python repr. A URLError is read through its `reason` (the socket's error)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        exc = reason
    elif isinstance(reason, str) and reason.strip():
        return _ERROR_NUMBER.sub("", reason).strip()
    text = getattr(exc, "strerror", None) or str(exc)
    text = _ERROR_NUMBER.sub("", text).strip()
    if not text and isinstance(exc, TimeoutError):
        return "timed out"
    return text or "no reason given"


class CollabError(ValueError):
    """Base class: a problem with the user's input or settings, with a message fit to show them."""


class DataError(CollabError):
    """A ratings file or folder could not be read or does not hold usable ratings."""


class FetchError(DataError):
    """Fetching a MovieLens release failed; `reason` says how, for an app to react ('network', 'not_found',
    'checksum', 'corrupt', 'unsafe', 'missing_file', 'disk_full', 'interrupted', ...).

    The message is for the command line (it names the server's paths and the commands to run); `plain` says the
    same to a person who reaches the server only through a browser: what failed in their terms and what to do,
    with no path, command or error number (None: no such wording, the message must be cleaned)."""

    def __init__(self, reason: str, message: str, plain: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.plain = plain


class ConfigError(CollabError):
    """A hyperparameter is out of range or inconsistent with another."""


class UnknownIdError(CollabError, KeyError):
    """A raw user/item id (or title) that the vocabulary does not hold."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class AmbiguousTitleError(CollabError):
    """A title fragment matches more than one item; `candidates` lists them."""

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates


class TrainingDivergedError(CollabError):
    """The loss became NaN or infinite; nothing is saved."""


class DeviceError(CollabError):
    """The training device failed in a way the user can act on (CUDA out of memory, CUDA missing)."""


class TrainingCancelled(Exception):
    """Raised inside fit() when the cancel event is set; not an error of the user's."""


class FetchCancelled(Exception):
    """Raised inside fetch() when its cancel flag is set; a partial download is kept for the next fetch."""


class RunStoreError(CollabError):
    """A run id is invalid, missing, or its files are unreadable."""
