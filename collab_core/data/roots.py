"""Which folders of the server a dashboard visitor may open as datasets: only those under the data roots.

A web page that opens any path it is given lets every visitor list the server's folders (/root, /etc/ssh).
The dashboard therefore opens a folder only when it lies under one of the roots (COLLAB_DATA_ROOTS, by
default the folder fetched datasets go to, COLLAB_DATA_DIR), after resolving symbolic links, and says
nothing about folders elsewhere (not even whether they exist). The command line is not restricted: it runs
as its user, on their own files.
"""
from __future__ import annotations

from pathlib import Path

from collab_core import settings
from collab_core.errors import DataError

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
    # Said to a dashboard visitor: what they typed, and what they can do; not where the roots are on the server
    raise DataError(f"{text!s} is not in this server's data folders, the only folders the dashboard opens: choose "
                    f"one of the folders found there, or fetch a MovieLens dataset (the server's operator can add "
                    f"data folders with COLLAB_DATA_ROOTS)")


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
