"""Loading benchmark: how long a MovieLens-25M-sized folder takes to parse the first time and to reload.

`write_synthetic_movielens` writes a folder in a real release's layout (ml-25m: `ratings.csv` +
`movies.csv`; ml-10m: `::`-separated latin-1 `ratings.dat` + `movies.dat`) with ML-25M's shape by
default: 162,541 users, 59,047 rated movies (62,423 listed), long-tailed counts per user and per movie,
half-star ratings 0.5-5, sorted by user then movie. `run_loading_benchmark` times the first load (parse +
cache write) and a cached reload of it, each in a fresh child process so that one's memory and warm
allocator cannot flatter the other, and reports their peak RSS. Numbers, not assertions.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ML25M_SHAPE = {"n_users": 162_541, "n_items": 59_047, "n_listed": 62_423, "max_movie_id": 209_171}
HALF_STARS = ["0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0"]
# Roughly ML-25M's rating histogram (4.0 and 3.0 most common, half stars rarer than whole ones).
HALF_STAR_WEIGHTS = [0.016, 0.031, 0.016, 0.065, 0.05, 0.19, 0.125, 0.265, 0.085, 0.145]
GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def synthetic_pairs(n_ratings: int, n_users: int, n_items: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """About `n_ratings` distinct (user, item) index pairs, sorted, every user and item present at least once.

    Users get long-tailed counts (log-normal, at least 20 each as in MovieLens); items are drawn by a
    Zipf-like popularity, so a few items have tens of thousands of ratings and many have a handful.
    """
    rng = np.random.default_rng(seed)
    counts = rng.lognormal(mean=np.log(70), sigma=1.1, size=n_users)
    counts = np.maximum(np.minimum(counts * n_ratings / counts.sum(), n_items / 2), min(20, n_items / 2))
    counts = np.maximum(np.round(counts * n_ratings / counts.sum()), 1).astype(np.int64)
    popularity = 1.0 / (np.arange(n_items) + 40.0)
    popularity = rng.permutation(popularity / popularity.sum())
    users = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    items = rng.choice(n_items, size=len(users), p=popularity)
    # Every item rated at least once: its first row goes to a random user.
    users = np.concatenate([users, rng.integers(0, n_users, n_items)])
    items = np.concatenate([items, np.arange(n_items)])
    keys = _sorted_unique(users * n_items + items)
    while len(keys) < n_ratings:  # popular items repeat within heavy users: top up what dedup removed
        missing = int((n_ratings - len(keys)) * 1.2) + 10
        extra = rng.integers(0, n_users, missing) * n_items + rng.choice(n_items, size=missing, p=popularity)
        keys = _sorted_unique(np.concatenate([keys, extra]))
    if len(keys) > n_ratings:  # drop a random surplus, but never an item's forced first row
        forced = np.isin(keys, users[-n_items:] * n_items + items[-n_items:])
        droppable = np.flatnonzero(~forced)
        drop = rng.choice(droppable, size=min(len(keys) - n_ratings, len(droppable)), replace=False)
        keys = np.delete(keys, drop)
    return keys // n_items, keys % n_items


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting: numpy 2.x's hash-based unique is several times slower on 25M int64 keys."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


def write_synthetic_movielens(folder: str | Path, n_ratings: int = 25_000_095, layout: str = "ml-25m",
                              seed: int = 0, n_users: int | None = None, n_items: int | None = None) -> dict:
    """Write a folder in `layout` ('ml-25m' CSV or 'ml-10m' '::' .dat) and return its shape."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scale = min(1.0, n_ratings / 25_000_095) ** 0.5  # smaller sets keep ML-25M's density (0.26%)
    n_users = n_users or max(2, round(ML25M_SHAPE["n_users"] * scale))
    n_items = n_items or max(2, round(ML25M_SHAPE["n_items"] * scale))
    if n_ratings > 0.5 * n_users * n_items:
        raise ValueError(f"{n_ratings:,} ratings do not fit {n_users:,} users x {n_items:,} items at half density")
    users, items = synthetic_pairs(n_ratings, n_users, n_items, seed)
    rng = np.random.default_rng(seed + 1)
    n_listed = n_items + n_items * (ML25M_SHAPE["n_listed"] - ML25M_SHAPE["n_items"]) // ML25M_SHAPE["n_items"]
    max_id = max(n_listed, n_listed * ML25M_SHAPE["max_movie_id"] // ML25M_SHAPE["n_listed"])
    listed_ids = np.sort(rng.choice(np.arange(1, max_id + 1), size=n_listed, replace=False))
    rated_ids = np.sort(rng.choice(listed_ids, size=n_items, replace=False))
    weights = np.divide(HALF_STAR_WEIGHTS, sum(HALF_STAR_WEIGHTS))
    star_codes = rng.choice(len(HALF_STARS), size=len(users), p=weights).astype(np.int8)
    stars = pa.DictionaryArray.from_arrays(pa.array(star_codes), pa.array(HALF_STARS))
    stamps = rng.integers(789_652_009, 1_574_327_703, size=len(users))
    columns = {"userId": users + 1, "movieId": rated_ids[items], "rating": stars, "timestamp": stamps}
    if layout == "ml-25m":
        ratings_path, sep = folder / "ratings.csv", ","
        header = b"userId,movieId,rating,timestamp\n"
    elif layout == "ml-10m":
        ratings_path, sep, header = folder / "ratings.dat", ":", b""
        empty = pa.array([""] * len(users)).dictionary_encode()  # ':' + empty column + ':' writes '::'
        columns = {"u": columns["userId"], "e1": empty, "m": columns["movieId"], "e2": empty,
                   "r": stars, "e3": empty, "t": stamps}
    else:
        raise ValueError(f"layout must be 'ml-25m' or 'ml-10m', got {layout!r}")
    with ratings_path.open("wb") as handle:
        handle.write(header)
        pacsv.write_csv(pa.table(columns), handle,
                        pacsv.WriteOptions(include_header=False, delimiter=sep, quoting_style="none"))
    _write_movies(folder, listed_ids, layout, rng)
    return {"folder": str(folder), "layout": layout, "ratings": len(users), "users": int(n_users),
            "items": int(n_items), "movies_listed": int(n_listed), "bytes": ratings_path.stat().st_size}


def _write_movies(folder: Path, movie_ids: np.ndarray, layout: str, rng: np.random.Generator) -> None:
    years = rng.integers(1902, 2020, size=len(movie_ids))
    lines = []
    for movie_id, year in zip(movie_ids.tolist(), years.tolist()):
        genres = "|".join(sorted(rng.choice(GENRES, size=int(rng.integers(1, 4)), replace=False)))
        if movie_id % 97 == 0:
            genres = "(no genres listed)"
        title = f"Movie {movie_id}, The ({year})" if movie_id % 5 == 0 else f"Película {movie_id} ({year})"
        if layout == "ml-25m":
            title = f'"{title}"' if "," in title else title
            lines.append(f"{movie_id},{title},{genres}")
        else:
            lines.append(f"{movie_id}::{title}::{genres}")
    if layout == "ml-25m":
        (folder / "movies.csv").write_text("movieId,title,genres\n" + "\n".join(lines) + "\n", encoding="utf-8")
    else:
        (folder / "movies.dat").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))


# ---------------------------------------------------------------------- timing
_CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from collab_core.data.datasets import load_movielens_folder
ratings = load_movielens_folder(sys.argv[1], cache=sys.argv[2] == "cache")
seconds = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_kib / 1024, "ratings": ratings.n_ratings,
                  "users": ratings.n_users, "items": ratings.n_items, "notes": list(ratings.notes)}))
"""


def time_load(folder: Path, cache: bool = True) -> dict:
    """Load `folder` in a fresh Python process; its wall time (imports excluded) and peak RSS."""
    root = Path(__file__).resolve().parents[2]  # the repository, where collab_core imports from
    done = subprocess.run([sys.executable, "-c", _CHILD, str(folder), "cache" if cache else "nocache"],
                          cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"loading {folder} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_loading_benchmark(n_ratings: int = 25_000_095, layout: str = "ml-25m", folder: str | Path | None = None,
                          log: Callable[[str], None] = lambda _: None) -> dict:
    """Write a synthetic folder (in a temp folder unless `folder` is given), then time first load and reload."""
    with tempfile.TemporaryDirectory(prefix="collab-bench-loading-") as tmp:
        target = Path(folder) if folder else Path(tmp) / layout
        start = time.perf_counter()
        shape = write_synthetic_movielens(target, n_ratings, layout)
        log(f"wrote {shape['ratings']:,} ratings ({shape['bytes'] / 1e6:,.0f} MB, {layout} layout) in "
            f"{time.perf_counter() - start:.1f}s to {target}")
        first = time_load(target)
        log(f"first load (parse + cache write): {first['seconds']:.1f}s, peak RSS {first['peak_rss_mb']:,.0f} MB")
        cached = time_load(target)
        log(f"cached reload: {cached['seconds']:.2f}s, peak RSS {cached['peak_rss_mb']:,.0f} MB")
        cache_bytes = sum(p.stat().st_size for p in (target / ".collab-cache").rglob("*") if p.is_file())
    return {"layout": layout, "shape": shape, "first_load": first, "cached_reload": cached,
            "cache_mb": cache_bytes / 1e6, "load_average": list(os.getloadavg()), "cpu_count": os.cpu_count()}


def format_loading_report(result: dict) -> str:
    shape, first, cached = result["shape"], result["first_load"], result["cached_reload"]
    return (f"{shape['ratings']:,} ratings, {shape['users']:,} users, {shape['items']:,} items "
            f"({result['layout']} layout, {shape['bytes'] / 1e6:,.0f} MB)\n"
            f"first load (parse + cache write): {first['seconds']:8.2f} s   "
            f"peak RSS {first['peak_rss_mb']:7,.0f} MB\n"
            f"cached reload:                    {cached['seconds']:8.2f} s   "
            f"peak RSS {cached['peak_rss_mb']:7,.0f} MB\n"
            f"cache on disk: {result['cache_mb']:,.0f} MB; load average after: "
            f"{' '.join(f'{x:.2f}' for x in result['load_average'])} on {result['cpu_count']} CPUs")
