"""Every COLLAB_* environment variable: its name, type, bounds, default and meaning, in one table.

Code reads the environment only through `get(NAME)`, so a bad value (`COLLAB_UPLOAD_LIMIT_MB=abc`) is
reported once, in one line that names the variable, the value and what would be accepted, instead of a
traceback wherever it happens to be parsed first. `check_all()` validates the whole table: the CLI and the
server call it before doing anything else. tests/core/test_settings.py fails if any module reads a COLLAB_*
variable without going through here.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from collab_core.errors import ConfigError
from collab_core.runs.ids import valid_run_id


class SettingError(ConfigError):
    """A COLLAB_* environment variable holds a value that cannot be used."""


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]  # raises ValueError with what is expected
    default: Callable[[], Any]  # computed when read, so it may depend on the machine
    help: str
    secret: bool = False  # its value is never repeated in a message (a host key)


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError(f"not a whole number; expected one from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"out of range; expected a whole number from {low} to {high}")
        return value
    return parse


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _path(text: str) -> Path:
    if not text.strip() or "\x00" in text:
        raise ValueError("expected a folder path")
    return Path(text).expanduser()


def _paths(text: str) -> tuple[Path, ...]:
    parts = [p for p in text.split(os.pathsep) if p.strip()]
    if not parts:
        raise ValueError(f"expected one or more folder paths separated by {os.pathsep!r}")
    return tuple(_path(p) for p in parts)


def _url(text: str) -> str:
    parsed = urlparse(text.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("expected an http:// or https:// address")
    return text.strip().rstrip("/")


def _secret(text: str) -> str:
    value = text.strip()
    if len(value) < 16 or not all(c.isalnum() or c in "-_" for c in value):
        raise ValueError("expected at least 16 letters, digits, '-' or '_' (it goes into a link)")
    return value


def _run_id(text: str) -> str:
    if not valid_run_id(text.strip()):
        raise ValueError("expected a run id (letters, digits, '.', '_' and '-')")
    return text.strip()


def cache_home() -> Path:
    """$XDG_CACHE_HOME, else ~/.cache: where per-user data that can be fetched again belongs."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return Path(xdg).expanduser() if xdg else Path.home() / ".cache"


_SETTINGS = [
    Setting("COLLAB_RUNS_DIR", _path, lambda: Path("runs"), "where trained runs are saved and listed"),
    Setting("COLLAB_DATA_DIR", _path, lambda: cache_home() / "collab-explorer" / "datasets",
            "where fetched MovieLens datasets are unpacked"),
    Setting("COLLAB_DATA_ROOTS", _paths, lambda: (get("COLLAB_DATA_DIR"),),
            "the only folders (and their subfolders) the Data page may open, separated by the OS path separator"),
    Setting("COLLAB_UPLOAD_LIMIT_MB", _whole(1, 100_000), lambda: 200, "largest ratings file accepted, in MB"),
    Setting("COLLAB_MAX_TRAININGS", _whole(0, 64), lambda: 0,
            "trainings the server runs at once (0: half the CPU cores, at least 1)"),
    Setting("COLLAB_TORCH_THREADS", _whole(1, 256), lambda: 1,
            "torch threads of each training in the server and of `collab_core train`"),
    Setting("COLLAB_UMAP_WORKER", _flag, lambda: True, "compute UMAP in a worker process (else in a thread)"),
    Setting("COLLAB_UMAP_PREWARM", _flag, lambda: True, "start the default UMAP view as soon as a run is chosen"),
    Setting("COLLAB_DEFAULT_RUN", _run_id, lambda: None, "the run new visitors see first (else the best built-in run)"),
    Setting("COLLAB_MOVIELENS_URL", _url, lambda: "https://files.grouplens.org/datasets/movielens",
            "where MovieLens zips are downloaded from (a mirror may be given)"),
    Setting("COLLAB_HOST_TOKEN", _secret, lambda: None,
            "the secret in the host link (full powers on a shared server); a random one is made at start when unset",
            secret=True),
    Setting("COLLAB_DEMO", _flag, lambda: False,
            "demo mode: visitors only explore (no training or uploads; fetching and importing are the host's in "
            "any mode); the host link keeps every power"),
    Setting("COLLAB_TIMING_LOG", _flag, lambda: False,
            "log each script run's and each full garbage collection's duration to the server's log (script-run and "
            "gc-pause lines, at debug level; the UI benchmarks turn it on to read them)"),
]
SETTINGS: dict[str, Setting] = {s.name: s for s in _SETTINGS}


def get(name: str) -> Any:
    """The parsed value of environment variable `name`, or its default when unset or empty."""
    setting = SETTINGS[name]
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return setting.default()
    try:
        return setting.parse(raw)
    except ValueError as exc:
        shown = "(its value, not repeated here)" if setting.secret else f"={raw!r}"
        raise SettingError(f"environment variable {name}{shown}: {exc} ({setting.help}); "
                           f"unset it to use the default") from None


def keep_for_process(name: str, value: str) -> None:
    """Set `name` for the rest of this process (and the processes it starts), as if the operator had: for a value
    made once that must outlive a module reload (the host key in `make dev`)."""
    SETTINGS[name].parse(value)  # a value the table would refuse is a bug here
    os.environ[name] = value


def check_all() -> None:
    """Raise SettingError for the first COLLAB_* variable that holds an unusable value."""
    for name in SETTINGS:
        get(name)
