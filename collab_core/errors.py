"""The errors collab_core raises for problems a user can fix.

Every message names the offending thing (file, column, row, value, id) and what was expected, so the CLI
and the dashboard can show it as it is, without a traceback. All of them are `ValueError`s (or
`KeyError`-compatible for unknown ids) so plain Python callers can catch them the usual way.
"""
from __future__ import annotations


class CollabError(ValueError):
    """Base class: a problem with the user's input or settings, with a message fit to show them."""


class DataError(CollabError):
    """A ratings file or folder could not be read or does not hold usable ratings."""


class FetchError(DataError):
    """Fetching a MovieLens release failed; `reason` says how, for an app to react ('network', 'not_found',
    'checksum', 'corrupt', 'unsafe', 'missing_file', 'disk_full', 'interrupted', ...)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


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
