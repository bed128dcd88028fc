"""Ranking against peer libraries: this project's rating and ranking runs beside most-popular, implicit's ALS and
BPR and cornac's BPR, on MovieLens 100K under Microsoft Recommenders' protocol: each user's ratings split 75/25 at
random (seed 42), k = 10, a user's training items never recommended, every held-out item relevant. For each:
nDCG@10, precision@10, recall@10, catalogue coverage of the top 10s, and fit seconds (median of `repeats` fits;
the load average is recorded beside them, since this machine is shared).

`python -m collab_core.bench.ranking_peers [--repeats 3] [--json]`. The peers are benchmark-only packages
(requirements-bench.txt: implicit==0.7.3, cornac==3.0.1), imported inside the functions that use them; a peer
that is not installed is reported as missing, not failed.

The metric is the app's own (collab_core.analysis.ranking.evaluate_scores) and the split
collab_core.data.splits.stratified_split, so the figures are the ones the app shows.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from collab_core.analysis.ranking import evaluate_scores
from collab_core.data.ratings import Ratings, Split
from collab_core.data.splits import stratified_split

K = 10


def ranking_metrics(scores: np.ndarray, ratings: Ratings, split: Split, k: int = K) -> dict:
    """nDCG@k, precision@k, recall@k and coverage of a (n_users, n_items) score matrix, by the app's own evaluation
    (collab_core.analysis.ranking: training items never ranked, log2 discounts, ideal over min(k, n_relevant);
    equal to implicit.evaluation.ndcg_at_k, 0.46796 both on ALS). Precision divides by k (implicit's precision_at_k
    divides by min(k, n_relevant))."""
    scores = np.asarray(scores, dtype=np.float32)  # (n_users, n_items)
    report = evaluate_scores(lambda chunk: scores[chunk], ratings, split, k)
    return {"ndcg": report.ndcg, "precision": report.precision, "recall": report.recall,
            "coverage": report.coverage}


def per_user_split(ratings: Ratings, ratio: float = 0.75, seed: int = 42) -> Split:
    """Each user's ratings split `ratio` / rest at random (Recommenders' python_stratified_split, by user)."""
    return stratified_split(ratings, ratio, seed)


# ---------------------------------------------------------------------- the contenders: fit -> scores
def _project(objective: str, model: str = "dot_bias") -> Callable:
    def fit_and_score(ratings: Ratings, split: Split) -> tuple[np.ndarray, float]:
        import torch

        from collab_core.model.config import default_config
        from collab_core.model.ranking import item_scores
        from collab_core.model.training import fit

        trained = fit(ratings, split, default_config(model, objective))
        with torch.no_grad():  # the score before the sigmoid: the same order as the predicted ratings
            scores = item_scores(trained.model, torch.arange(ratings.n_users)).numpy()  # (n_users, n_items)
        return scores, trained.metrics["fit_seconds"]
    return fit_and_score


def _popular(ratings: Ratings, split: Split) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    counts = np.bincount(ratings.item_index[split.train], minlength=ratings.n_items).astype(np.float64)
    return np.tile(counts, (ratings.n_users, 1)), time.perf_counter() - start


def _interactions(ratings: Ratings, split: Split):
    import scipy.sparse as sp

    rows, cols = ratings.user_index[split.train], ratings.item_index[split.train]
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(ratings.n_users, ratings.n_items))


def _implicit_als(ratings: Ratings, split: Split) -> tuple[np.ndarray, float]:
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(factors=20, regularization=0.1, alpha=1.0, random_state=42)
    matrix = _interactions(ratings, split)
    start = time.perf_counter()
    model.fit(matrix, show_progress=False)
    return model.user_factors @ model.item_factors.T, time.perf_counter() - start


def _implicit_bpr(ratings: Ratings, split: Split) -> tuple[np.ndarray, float]:
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    model = BayesianPersonalizedRanking(factors=50, iterations=200, random_state=42)
    matrix = _interactions(ratings, split)
    start = time.perf_counter()
    model.fit(matrix, show_progress=False)
    return model.user_factors @ model.item_factors.T, time.perf_counter() - start  # the bias is a factor column


def _cornac_bpr(ratings: Ratings, split: Split) -> tuple[np.ndarray, float]:
    from cornac.data import Dataset
    from cornac.models import BPR

    triples = list(zip(ratings.user_index[split.train].astype(str), ratings.item_index[split.train].astype(str),
                       np.ones(len(split.train))))
    data = Dataset.from_uir(triples, seed=42)
    model = BPR(k=50, max_iter=200, learning_rate=0.01, lambda_reg=0.001, seed=42, verbose=False)
    start = time.perf_counter()
    model.fit(data)
    seconds = time.perf_counter() - start
    scores = np.full((ratings.n_users, ratings.n_items), -np.inf)  # items cornac never saw cannot be scored
    users = np.array([int(u) for u in data.uid_map])  # our index of each of cornac's users, in its order
    items = np.array([int(i) for i in data.iid_map])
    user_rows, item_rows = list(data.uid_map.values()), list(data.iid_map.values())
    inner = model.u_factors[user_rows] @ model.i_factors[item_rows].T + model.i_biases[item_rows]
    scores[np.ix_(users, items)] = inner
    return scores, seconds


CONTENDERS: dict[str, Callable] = {
    "this project, dot_bias, rating objective (default)": _project("rating"),
    "this project, dot_bias, ranking objective": _project("ranking"),
    "this project, dot, ranking objective": _project("ranking", "dot"),
    "most popular": _popular,
    "implicit ALS (20 factors, reg 0.1, alpha 1)": _implicit_als,
    "implicit BPR (50 factors, 200 iterations)": _implicit_bpr,
    "cornac BPR (k 50, 200 iterations)": _cornac_bpr,
}


def run(repeats: int = 3, only: tuple[str, ...] = ()) -> dict:
    """Each contender fitted `repeats` times: its metrics (the fits are seeded, so the last one's) and the median
    fit seconds, with the load average before and after."""
    import torch

    from collab_core.data.datasets import load_builtin

    torch.set_num_threads(1)  # as the app trains: two OpenMP threads spin on a shared machine (docs/performance.md)
    ratings = load_builtin()
    split = per_user_split(ratings)
    rows = []
    for name, contender in CONTENDERS.items():
        if only and not any(part in name for part in only):
            continue
        load_before = os.getloadavg()[0]
        try:
            fits = [contender(ratings, split) for _ in range(repeats)]
        except ImportError as exc:
            rows.append({"name": name, "missing": str(exc)})
            continue
        seconds = [s for _, s in fits]
        rows.append({"name": name, **ranking_metrics(fits[-1][0], ratings, split), "fit_seconds": seconds,
                     "median_fit_seconds": statistics.median(seconds), "load": [load_before, os.getloadavg()[0]]})
    return {"dataset": ratings.name, "split": split.description, "k": K, "rows": rows}


def format_table(result: dict) -> str:
    lines = [f"{result['dataset']}, {result['split']}, k = {result['k']}",
             f"{'contender':<54}{'nDCG':>7}{'P':>7}{'R':>7}{'cov':>7}{'fit s':>8}  load"]
    for row in result["rows"]:
        if "missing" in row:
            lines.append(f"{row['name']:<54} not installed ({row['missing']})")
            continue
        lines.append(f"{row['name']:<54}{row['ndcg']:>7.4f}{row['precision']:>7.4f}{row['recall']:>7.4f}"
                     f"{row['coverage']:>7.3f}{row['median_fit_seconds']:>8.2f}  {row['load'][0]:.1f}-"
                     f"{row['load'][1]:.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated parts of contender names")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.repeats, tuple(p for p in args.only.split(",") if p))
    print(json.dumps(result) if args.json else format_table(result))


if __name__ == "__main__":
    main()
