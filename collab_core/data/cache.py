"""Parse a MovieLens folder once: keep its Ratings as Parquet beside the data and reload them in seconds.

A cache entry is a folder `<dataset>/.collab-cache/<key>/` holding `ratings.parquet` (the index and
rating arrays), `users.parquet`, `items.parquet` and `meta.json`. The key digests everything the parsed
result depends on: the cache format version, the folder's name, the name, size and mtime of each of its
files, the source of the modules that parse (so a fixed parser invalidates old entries by itself) and the
pandas/pyarrow versions. An entry is written into a temporary folder and renamed into place, so it is
whole or absent; on reading, every table is checked against meta.json and the index ranges before it is
trusted, and an entry that fails any check is ignored, removed and rebuilt. Nothing is pickled: Parquet
and JSON only. A folder that cannot be written (read-only, disk full) is simply loaded without a cache.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from collab_core.data.ratings import Ratings

CACHE_DIR = ".collab-cache"
CACHE_VERSION = 1
_ID = "__collab_raw_id__"  # the raw-id column of users/items.parquet, named so no data column clashes
_PARSER_MODULES = ("datasets.py", "ratings.py", "cache.py")
_HASHED_BYTES = 4 << 20  # files up to this size are keyed by content too (movies.csv of ML-25M is 3 MB)
_STALE_TEMP_SECONDS = 3600  # a temporary entry this old belongs to a process that died while writing


def cached_load(folder: str | Path, parse: Callable[[], Ratings]) -> Ratings:
    """`parse()`'s Ratings for `folder`, from the cache when a valid entry exists, else parsed and cached."""
    folder = Path(folder)
    key = source_key(folder)
    ratings = read_entry(folder / CACHE_DIR / key, key)
    if ratings is not None:
        return ratings
    ratings = parse()
    with contextlib.suppress(OSError):  # read-only folder or full disk: the data loaded; it is parsed again next time
        write_entry(folder, key, ratings)
    return ratings


def source_key(folder: Path) -> str:
    """A digest of everything the parsed result of `folder` depends on (see the module docstring)."""
    import pyarrow

    files = sorted(_fingerprint(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    material = [CACHE_VERSION, folder.resolve().name, files, _parser_digest(), pd.__version__, pyarrow.__version__]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()[:24]


@functools.cache
def _parser_digest() -> str:
    """A digest of the parser modules' source: read once per process (it cannot change while it runs)."""
    here = Path(__file__).resolve().parent
    return hashlib.sha256(b"".join((here / name).read_bytes() for name in _PARSER_MODULES)).hexdigest()


def _fingerprint(path: Path) -> list:
    """(name, size, mtime) of a file, plus a digest of its content when it is small: a file rewritten with
    the same size within the clock's granularity (a few ms) keeps its mtime, and small files are cheap."""
    stat = path.stat()
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.st_size <= _HASHED_BYTES else ""
    return [path.name, stat.st_size, stat.st_mtime_ns, digest]


def cached_summary(folder: str | Path) -> dict | None:
    """Sizes and name of a folder's current cache entry ({'ratings', 'users', 'items', 'name'}), if any.

    Read from meta.json (the key costs a few stats and reads of small files): what `data list` shows
    without parsing anything."""
    folder = Path(folder)
    try:
        key = source_key(folder)
        meta = json.loads((folder / CACHE_DIR / key / "meta.json").read_text())
        return {k: meta[k] for k in ("ratings", "users", "items", "name")} if meta.get("key") == key else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------------- writing
def write_entry(folder: Path, key: str, ratings: Ratings) -> Path:
    """Write `ratings` as the cache entry `key` of `folder`: into a temporary folder, then renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = folder / CACHE_DIR
    root.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        index_type = np.int32 if max(ratings.n_users, ratings.n_items) < 2**31 else np.int64
        pq.write_table(pa.table({"user_index": ratings.user_index.astype(index_type),
                                 "item_index": ratings.item_index.astype(index_type),
                                 "rating": ratings.rating.astype(np.float32)}), staging / "ratings.parquet")
        users = pd.DataFrame({_ID: ratings.user_ids.astype(str)})
        if ratings.users is not None:
            users = pd.concat([users, ratings.users.reset_index(drop=True)], axis=1)
        pq.write_table(pa.Table.from_pandas(users, preserve_index=False), staging / "users.parquet")
        items = ratings.items.reset_index(drop=True).assign(**{_ID: ratings.item_ids.astype(str)})
        pq.write_table(pa.Table.from_pandas(items, preserve_index=False), staging / "items.parquet")
        meta = {"version": CACHE_VERSION, "key": key, "name": ratings.name, "notes": list(ratings.notes),
                "ratings": ratings.n_ratings, "users": ratings.n_users, "items": ratings.n_items,
                "has_user_table": ratings.users is not None, "created": time.time()}
        (staging / "meta.json").write_text(json.dumps(meta))
        os.rename(staging, root / key)  # fails if another process just wrote the same entry: keep theirs
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if (root / key / "meta.json").is_file():
            return root / key
        raise
    _remove_stale(root, keep=key)
    return root / key


def _remove_stale(root: Path, keep: str) -> None:
    """Entries of other keys are stale (the files or the parser changed); they can only waste disk."""
    for path in root.iterdir():
        if path.name == keep:
            continue
        if path.name.startswith(".tmp-") and time.time() - path.stat().st_mtime < _STALE_TEMP_SECONDS:
            continue  # another process may be writing it right now
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------- reading
class _Damaged(Exception):
    """A cache entry that does not hold what its meta.json says."""


def read_entry(entry: Path, key: str) -> Ratings | None:
    """The Ratings of cache entry `entry`, or None when it is missing, stale or damaged (then it is removed)."""
    if not (entry / "meta.json").is_file():
        return None
    try:
        return _read_checked(entry, key)
    except Exception:  # noqa: BLE001 - any failure to read an entry means: parse the source again
        shutil.rmtree(entry, ignore_errors=True)
        return None


def _read_checked(entry: Path, key: str) -> Ratings:
    import pyarrow.parquet as pq

    meta = json.loads((entry / "meta.json").read_text())
    _expect(meta.get("version") == CACHE_VERSION and meta.get("key") == key, "version or key differs")
    n_ratings, n_users, n_items = int(meta["ratings"]), int(meta["users"]), int(meta["items"])
    table = pq.read_table(entry / "ratings.parquet", columns=["user_index", "item_index", "rating"])
    _expect(table.num_rows == n_ratings, "row count")
    user_index = table.column("user_index").to_numpy().astype(np.int64)
    item_index = table.column("item_index").to_numpy().astype(np.int64)
    rating = table.column("rating").to_numpy().astype(np.float32, copy=False)
    del table
    _expect(_within(user_index, n_users) and _within(item_index, n_items), "index out of range")
    _expect(bool(np.isfinite(rating).all()), "rating not finite")
    users = pq.read_table(entry / "users.parquet").to_pandas()
    items = pq.read_table(entry / "items.parquet").to_pandas()
    _expect(len(users) == n_users and len(items) == n_items, "vocabulary size")
    user_ids = _ids(users.pop(_ID))
    item_ids = _ids(items.pop(_ID))
    user_table = users if meta["has_user_table"] else None
    return Ratings(user_index=user_index, item_index=item_index, rating=rating, user_ids=user_ids,
                   item_ids=item_ids, items=_item_table(items), users=user_table, name=str(meta["name"]),
                   notes=tuple(str(n) for n in meta["notes"]))


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise _Damaged(what)


def _within(index: np.ndarray, size: int) -> bool:
    return len(index) == 0 or (int(index.min()) >= 0 and int(index.max()) < size)


def _ids(column: pd.Series) -> np.ndarray:
    ids = np.asarray(column.to_numpy(dtype=object), dtype=object)
    _expect(all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids), "ids not distinct strings")
    return ids


def _item_table(items: pd.DataFrame) -> pd.DataFrame:
    """The item table as Ratings builds it: title (str), year (Int64), genres (a list of str per item)."""
    _expect({"title", "year", "genres"} <= set(items.columns), "item columns")
    out = pd.DataFrame(index=pd.RangeIndex(len(items)))
    out["title"] = items["title"].astype(str)
    out["year"] = items["year"].astype("Int64")
    out["genres"] = [[str(g) for g in genres] if genres is not None else [] for genres in items["genres"]]
    return out
