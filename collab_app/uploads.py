"""Uploaded rating files: private to the browser that uploaded them, and gone once nothing refers to them.

Each server process keeps its uploads in one folder of its own (mode 0700, under the system's temporary
folder, removed when the process exits; folders left by a process that was killed are removed by the next
one). Each browser (collab_app.browser's owner id: its tabs, and its sessions across reloads) gets a subfolder of
it (mode 0700) and its files are mode 0600, so neither another browser nor another user of the machine can read
them. A browser keeps the file of the dataset it trains on and its few most recent uploads (a preview, the files of
an embeddings import, another tab's): saving a new upload deletes older ones, and the whole subfolder is deleted
when the server forgets the browser (collab_server.owners.OwnerMemory: a day unseen) through a finalizer on the object.

The user's file name never chooses where bytes land: files are named by a hash of their content and take
only a known suffix from the name.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

from collab_core.errors import DataError

SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".npy")  # .npy: imported embeddings (never unpickled)
_PREFIX = "collab-uploads-"
_root: Path | None = None
_root_lock = threading.Lock()


def process_root() -> Path:
    """This process's uploads folder, created on first use (and stale ones of dead processes removed)."""
    global _root
    with _root_lock:
        if _root is None:
            sweep_dead_processes()
            _root = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))  # mode 0700
            atexit.register(shutil.rmtree, _root, True)
        return _root


def sweep_dead_processes() -> None:
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        pid = folder.name[len(_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)) and folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BrowserUploads:
    """One browser's private upload folder."""

    RECENT = 4  # uploads kept besides those a caller keeps: a preview, an import's files, one more tab's

    def __init__(self, limit_bytes: int):
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()
        self._recent: list[Path] = []  # what was saved here, oldest first
        self.folder = Path(tempfile.mkdtemp(prefix="browser-", dir=process_root()))  # mode 0700
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.folder), True)

    def save(self, name: str, data: bytes, keep: tuple[Path, ...] = ()) -> Path:
        """Store `data` (named by its hash, with `name`'s suffix when it is a known one) and delete this browser's
        older uploads beyond the RECENT most recently saved, except those in `keep`: the folder stays small, and a
        file another tab of the browser still shows (or an import still reads) is not pulled from under it.
        Raises DataError above the size limit."""
        if len(data) > self.limit_bytes:
            raise DataError(f"{name}: {len(data):,} bytes is above the upload limit of {self.limit_bytes:,} bytes "
                            f"(COLLAB_UPLOAD_LIMIT_MB)")
        path = self.path_for(name, data)
        if not path.exists():
            partial = path.with_name(path.name + ".part")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(partial, path)
        with self._lock:  # two tabs saving at once
            self._recent = [p for p in self._recent if p != path] + [path]  # oldest first
            kept = {*self._recent[-self.RECENT:], *(Path(k) for k in keep)}
            for old in [p for p in self._recent if p not in kept]:
                old.unlink(missing_ok=True)
            self._recent = [p for p in self._recent if p in kept]
        return path

    def path_for(self, name: str, data: bytes) -> Path:
        """Where `save` stores `data`: named by its hash, with `name`'s suffix when it is a known one. Several
        uploads kept together (an embeddings import) pass each other's paths as `keep`."""
        suffix = Path(name).suffix.lower()
        return self.folder / (hashlib.sha256(data).hexdigest()[:32] + (suffix if suffix in SUFFIXES else ".csv"))

    def owns(self, path: str | Path) -> bool:
        return Path(path).parent == self.folder

    def close(self) -> None:
        self._cleanup()
