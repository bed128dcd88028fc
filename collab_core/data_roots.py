"""Which folders of the server a dashboard visitor may open as datasets: only those under the data roots.

A web page that opens any path it is given lets every visitor list the server's folders (/root, /etc/ssh).
The dashboard therefore opens a folder only when it lies under one of the roots (COLLAB_DATA_ROOTS, by
default the folder fetched datasets go to, COLLAB_DATA_DIR), after resolving symbolic links, and says
nothing about folders elsewhere (not even whether they exist). The command line is not restricted: it runs
as its user, on their own files.
"""
from __future__ import annotations

from pathlib import Path

from . import settings
from .errors import DataError

# The ratings file that marks each MovieLens layout, and the layout it marks (datasets.detect_movielens_format)
MOVIELENS_MARKERS = {"u.data": "ml-100k", "ratings.dat": "ml-1m", "ratings.csv": "ml-latest"}
DATASET_MARKERS = tuple(MOVIELENS_MARKERS)


def roots() -> tuple[Path, ...]:
    return tuple(settings.get("COLLAB_DATA_ROOTS"))


def allowed_folder(text: str, allowed: tuple[Path, ...] | None = None) -> Path:
    """The folder `text` names, resolved, if it lies under an allowed root; DataError otherwise."""
    allowed = roots() if allowed is None else allowed
    candidate = Path(str(text).strip()).expanduser()
    if not candidate.is_absolute() and allowed:
        candidate = allowed[0] / candidate  # relative names are read against the first root
    resolved = candidate.resolve()
    for root in allowed:
        real_root = root.expanduser().resolve()
        if resolved == real_root or real_root in resolved.parents:
            return resolved
    shown = ", ".join(str(r) for r in allowed) or "none"
    raise DataError(f"{text!s}: only folders under the data folders of this server can be opened ({shown}); "
                    f"an operator can add folders with COLLAB_DATA_ROOTS")


def dataset_folders(allowed: tuple[Path, ...] | None = None, depth: int = 2) -> list[Path]:
    """MovieLens-looking folders (holding one of DATASET_MARKERS) under the roots, up to `depth` levels down."""
    found = []
    for root in roots() if allowed is None else allowed:
        root = root.expanduser()
        frontier = [root] if root.is_dir() else []
        for _ in range(depth + 1):
            next_level = []
            for folder in frontier:
                if any((folder / marker).is_file() for marker in DATASET_MARKERS):
                    found.append(folder)
                try:
                    next_level += [p for p in folder.iterdir()
                                   if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
                except OSError:
                    continue
            frontier = next_level
    return sorted(set(found))
