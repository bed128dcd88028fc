"""Errors shown in the browser: the one place that turns an exception into the message a dashboard visitor
reads, and logs the original for the server's operator.

The readers already word their messages for that person (collab_core's readers take the name the person
knows, collab_core.errors.os_reason says what the OS said in words, FetchError.plain says a failed download
in the person's terms); this is the safety net for whatever they missed. A visitor can reach neither the
server's files nor its command line, so the text shown:
- calls each path in `names` (the stored upload, the dataset folder) by the name its person knows;
- calls the server's own folders (runs, data, uploads, temporary) so in words, and shortens any other
  absolute path to its last part (a dataset folder, a file name);
- carries no error number (`[Errno 2]`), no urlopen `<...>` wrapper and no backticks (those quote commands
  for a shell the visitor does not have);
- for an exception that is not a CollabError (a bug), says what failed and that the server's log has the rest.
The original message, paths and all, goes to the server's log at warning level with where each named file
lies on the server, once per distinct message (a page reruns on every click and would otherwise log the same
failure each time).
"""
from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from collab_core import settings
from collab_core.data import fetch
from collab_core.data import roots as data_roots
from collab_core.errors import CollabError
from collab_core.runs import store as runs

from .text import md
from .uploads import process_root

_log = logging.getLogger("collab_app.messages")
_ERROR_NUMBER = re.compile(r"\[(?:Errno|WinError) -?\d+\]\s*")
_URLOPEN = re.compile(r"<urlopen error (.*?)>")
# An absolute POSIX path: a '/' that does not continue a word, a URL ('http://host/p'), a relative path or a
# name the visitor knows (set aside as \x00<n>\x00 while cleaning: 'ml-1m/ratings.dat' stays whole).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~\\\x00-])/[^\s'\"`(),;:<>\[\]{}\x00]+")
_LOGGED_MAX = 256
_logged: OrderedDict[str, None] = OrderedDict()
_logged_lock = threading.Lock()


def user_message(exc: BaseException, names: Mapping[str, str] | None = None, what: str = "This") -> str:
    """What a dashboard visitor is told about `exc`, as plain text (escape it for its sink: show_error does).
    `names` maps paths on the server (a stored upload, a dataset folder) to the names the visitor knows them by;
    `what` names what failed, for an error that is not the visitor's (a bug). Logs the original for the operator."""
    if isinstance(exc, CollabError):
        text = getattr(exc, "plain", None) or str(exc)
    else:  # a bug: its message may be anything; the log has it with the traceback
        text = f"{what} failed unexpectedly on the server; its log has the details for the server's operator"
    shown = clean(text, names)
    _log_once(exc, shown, names)
    return shown


def said(exc: BaseException, names: Mapping[str, str] | None = None) -> str:
    """`exc` as Markdown for a page: worded by user_message (no server path, logged for the operator) and escaped.
    Every error a page shows goes through here or show_error (tests/app/test_messages.py checks the source)."""
    return md(user_message(exc, names))


def show_error(exc: BaseException, where=None, names: Mapping[str, str] | None = None, prefix: str = "",
               what: str = "This") -> None:
    """Show `exc` as an error box in `where` (a container placed beside the control that caused it; default:
    here), worded by user_message after `prefix`."""
    (where or st).error(md(prefix + user_message(exc, names, what)), icon=":material/error:")


def clean(text: str, names: Mapping[str, str] | None = None) -> str:
    """`text` with the server's paths, error numbers and backticks taken out (see the module docstring)."""
    kept: list[str] = []

    def keep(value: str) -> str:  # a name the visitor knows: set aside, so no rule below changes it
        kept.append(value)
        return f"\x00{len(kept) - 1}\x00"

    for path, name in sorted((names or {}).items(), key=lambda item: -len(str(item[0]))):
        text = text.replace(str(path), keep(name))
    for name in sorted(set((names or {}).values()), key=len, reverse=True):
        text = text.replace(name, keep(name)) if name else text
    text = _URLOPEN.sub(r"\1", text)
    text = _ERROR_NUMBER.sub("", text)
    text = text.replace("`", "'")
    folders = _server_folders()
    text = _ABSOLUTE_PATH.sub(lambda match: _path_in_words(match.group(0), folders), text)
    return re.sub("\x00(\\d+)\x00", lambda match: kept[int(match.group(1))], text)


def _path_in_words(path: str, folders: list[tuple[Path, str, str | None]]) -> str:
    trail = path[len(path.rstrip(".")):]  # a sentence's full stop after the path stays
    candidate = Path(path.rstrip("."))
    for folder, itself, inside in folders:
        if candidate == folder:
            return itself + trail
        if folder in candidate.parents and inside is not None:
            return inside + trail
    return (candidate.name or "the server's root folder") + trail


def _server_folders() -> list[tuple[Path, str, str | None]]:
    """(folder, what it is called, what anything inside it is called: None for its own last part), the most
    specific first. Each folder as configured and resolved (symbolic links such as /tmp -> /private/tmp)."""
    found: list[tuple[Path, str, str | None]] = [(process_root(), "the uploads folder", "the uploaded file")]
    try:
        found += [(runs.default_runs_dir(), "the server's runs folder", None),
                  (fetch.data_dir(), "the server's data folder", None)]
        found += [(root, "a data folder of the server", None) for root in data_roots.roots()]
    except settings.SettingError:  # an operator's typo is reported where the setting is used
        pass
    found += [(Path(tempfile.gettempdir()), "a temporary folder", None), (Path.home(), "a folder of the server", None)]
    both = []
    for folder, itself, inside in found:
        folder = Path(folder).expanduser()
        if not folder.is_absolute():
            folder = Path.cwd() / folder
        both += [(folder, itself, inside), (folder.resolve(), itself, inside)]
    return sorted(both, key=lambda entry: -len(entry[0].parts))


def _log_once(exc: BaseException, shown: str, names: Mapping[str, str] | None) -> None:
    original = str(exc) if isinstance(exc, CollabError) else f"{type(exc).__name__}: {exc}"
    with _logged_lock:
        if original in _logged:
            _logged.move_to_end(original)
            return
        _logged[original] = None
        if len(_logged) > _LOGGED_MAX:
            _logged.popitem(last=False)
    files = "; ".join(f"{name} is {path}" for path, name in (names or {}).items() if str(path) != name)
    _log.warning("error shown in the browser: %s | in full: %s%s", shown, original, f" | {files}" if files else "",
                 exc_info=None if isinstance(exc, CollabError) else exc)
