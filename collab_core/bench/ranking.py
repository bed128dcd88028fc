"""`python -m collab_core.bench.ranking [--shape 25m|100k] [--chunks 256,1024,4096]`: the time and peak memory of
the ranking evaluation (collab_core.analysis.ranking) at a dataset's shape, by chunk size.

No training: random factors of width 64 (numpy, seeded) score every user against every item, and each user gets
random items, a popular one more often, ~150 for training and ~50 held out at ML-25M's shape (ML-25M has 25M
ratings over 162,541 users, about 154 each). The scores carry no signal, so the metrics are those of a random
list; the point is the cost.
Peak memory is the process's resident high-water mark (ru_maxrss, which only grows: chunk sizes are measured
smallest first, each one's figure is the peak so far).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np
import pandas as pd

from collab_core.analysis.ranking import evaluate_scores
from collab_core.data.ratings import Ratings, Split
from collab_core.data.splits import stratified_split

SHAPES = {"25m": (162_541, 59_047, 150, 50), "100k": (943, 1_682, 80, 26)}  # users, items, train and held out each
WIDTH = 64


def synthetic_split(n_users: int, n_items: int, n_train: int, n_valid: int, seed: int = 0) -> tuple[Ratings, Split]:
    """About n_train + n_valid distinct items per user, drawn with a popularity skew (as real catalogues have),
    split per user by `stratified_split` at n_train / (n_train + n_valid)."""
    rng = np.random.default_rng(seed)
    per_user = n_train + n_valid
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8  # (n_items,) a long tail
    items = rng.choice(n_items, size=n_users * per_user, p=weights / weights.sum())  # (n_users * per_user,)
    users = np.repeat(np.arange(n_users, dtype=np.int64), per_user)  # (n_users * per_user,)
    pairs = np.unique(users * n_items + items)  # a popular item drawn twice for a user counts once
    ratings = Ratings(pairs // n_items, pairs % n_items, np.full(len(pairs), 4.0, dtype=np.float32),
                      np.arange(n_users).astype(str).astype(object), np.arange(n_items).astype(str).astype(object),
                      pd.DataFrame({"title": [""] * n_items, "year": pd.array([None] * n_items, dtype="Int64"),
                                    "genres": [[] for _ in range(n_items)]}), name=f"synthetic {n_users}x{n_items}")
    return ratings, stratified_split(ratings, n_train / per_user, seed)


def run_ranking_benchmark(shape: str = "25m", chunks: tuple[int, ...] = (256, 1024, 4096), k: int = 10,
                          log=print) -> dict:
    n_users, n_items, n_train, n_valid = SHAPES[shape]
    start = time.perf_counter()
    ratings, split = synthetic_split(n_users, n_items, n_train, n_valid)
    log(f"built {ratings.n_ratings:,} ratings in {time.perf_counter() - start:.1f}s")
    rng = np.random.default_rng(1)
    user_factors = rng.normal(0, 0.1, (n_users, WIDTH)).astype(np.float32)  # (n_users, 64)
    item_t = rng.normal(0, 0.1, (WIDTH, n_items)).astype(np.float32)  # (64, n_items)
    item_bias = rng.normal(0, 0.1, n_items).astype(np.float32)  # (n_items,)

    def score(chunk: np.ndarray) -> np.ndarray:
        scores = user_factors[chunk] @ item_t  # (n_chunk, n_items)
        scores += item_bias[None, :]
        return scores

    rows = []
    for chunk_size in sorted(chunks):
        report = evaluate_scores(score, ratings, split, k, chunk_size=chunk_size, name="random factors")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append({"chunk": chunk_size, "seconds": report.seconds, "peak_rss_mb": peak_mb, "ndcg": report.ndcg})
        log(f"chunk {chunk_size}: {report.seconds:.2f}s, peak RSS {peak_mb:,.0f} MB")
    return {"shape": shape, "users": n_users, "items": n_items, "ratings": ratings.n_ratings, "k": k,
            "width": WIDTH, "runs": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collab_core.bench.ranking", description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="25m")
    parser.add_argument("--chunks", default="256,1024,4096", help="chunk sizes (users at once), comma-separated")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args(argv)
    chunks = tuple(int(c) for c in args.chunks.split(",") if c.strip())
    result = run_ranking_benchmark(args.shape, chunks, args.k, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
