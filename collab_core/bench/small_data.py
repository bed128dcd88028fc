"""Small data: which training settings suit uploads of a few hundred to a few tens of thousands of ratings.
Run with `python -m collab_core bench --small-data`; docs/performance.md ("Small data") has the figures.

How the samples are drawn (`sample_block`): an upload that small is a class or a club rating films they know, a
block of fairly active people and fairly popular films, much denser than MovieLens 100K as a whole (6.3%). So each
seed draws `n_users` users at random from the 2 x `n_users` most active users of the built-in MovieLens 100K and
`n_items` movies from the 2 x `n_items` most rated, keeps the ratings between them, and keeps `n_ratings` of those
at random (nobody rates every film): 40 users x 30 movies with 560 ratings (47% filled) is a class-sized
upload, 150 x 100 with 5,000 (33%) and 450 x 320 with 20,000 (14%) the sizes above it. Each seed then makes
the random 10% validation split the app and the CLI make, and trains with that seed.

What is compared at each of the three sizes (`candidates`): the defaults of the size tiers chosen for nearby
sizes (config.SMALL_DATA_TIERS) and the MovieLens-100K defaults, and the tier chosen for that size with one
setting at a time halved and doubled; each scored against the two baselines on the same split
(collab_core.model.baselines). At the sizes where one tier hands over to the next (HANDOVERS: 1,000 and 2,000 ratings,
10,000, 40,000), the tiers on either side. A validation set of 56 ratings scores a model to within about +-0.1,
so the smallest size gets the most seeds. Training runs on one torch thread, as the app's trainings do.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from collab_core.bench.models import environment
from collab_core.data.datasets import load_builtin
from collab_core.data.ratings import Ratings, random_split
from collab_core.model.config import SMALL_DATA_TIERS, default_config, size_defaults
from collab_core.model.training import fit, warm_up

POOL = 2  # users (items) are drawn from the POOL x n_users most active users (n_items most rated items)
VALID_FRAC = 0.1  # the split the app and the CLI make by default
# the settings halved and doubled around the tier chosen for a size, with what the report calls them
VARIED = (("n_factors", "factors"), ("weight_decay", "weight decay"), ("batch_size", "batch"),
          ("epochs", "epochs"), ("lr", "lr"))


@dataclass(frozen=True)
class Sample:
    """A shape of small upload: `n_ratings` ratings by `n_users` users of `n_items` items, over `seeds` draws."""

    n_ratings: int
    n_users: int
    n_items: int
    seeds: int


SAMPLES = (Sample(560, 40, 30, 32), Sample(5_000, 150, 100, 12), Sample(20_000, 450, 320, 6))
# where one tier hands over to the next: each shape is checked with the tiers on either side of it
HANDOVERS = (Sample(1_000, 60, 40, 24), Sample(2_000, 80, 60, 16), Sample(10_000, 250, 160, 8),
             Sample(40_000, 800, 700, 4))


def sample_block(ratings: Ratings, shape: Sample, seed: int) -> Ratings:
    """`shape.n_users` users drawn from the POOL x as many most active and `shape.n_items` items from the POOL x
    as many most rated, their ratings between them, and `shape.n_ratings` of those drawn at random (all of them
    when there are fewer)."""
    rng = np.random.default_rng(seed)
    most_active = np.argsort(-ratings.user_counts, kind="stable")  # (n_users,) user indices, most ratings first
    most_rated = np.argsort(-ratings.item_counts, kind="stable")  # (n_items,)
    users = rng.choice(most_active[:POOL * shape.n_users], shape.n_users, replace=False)
    items = rng.choice(most_rated[:POOL * shape.n_items], shape.n_items, replace=False)
    rows = np.flatnonzero(np.isin(ratings.user_index, users) & np.isin(ratings.item_index, items))
    if len(rows) > shape.n_ratings:
        rows = np.sort(rng.choice(rows, shape.n_ratings, replace=False))
    return ratings.subset(rows, name=f"{ratings.name}, {shape.n_users} x {shape.n_items} sample (seed {seed})")


def candidates(model: str, n_ratings: int, handover: bool = False) -> list[tuple[str, dict]]:
    """(label, settings) to compare at this size: the defaults of the tiers chosen for a quarter of it, for it and
    for 4 times it, and the MovieLens-100K defaults; then the tier chosen for this size with one setting at a time
    halved and doubled. At a `handover` size: only the tiers chosen for half of it, for it and for twice it."""
    tiers = [(f"defaults up to {tier.up_to:,} ratings", tier.settings.get(model, {})) for tier in SMALL_DATA_TIERS]
    tiers.append(("MovieLens-100K defaults", {}))
    chosen = size_defaults(model, n_ratings)
    # the tiers of nearby sizes (a tier for 20 times fewer ratings would take minutes to say what is known)
    reach = (n_ratings // 2, n_ratings * 2) if handover else (n_ratings // 4, n_ratings * 4)
    nearest = {_settings_of(size_defaults(model, n), model) for n in (reach[0], n_ratings, reach[1])}
    found = [(label, settings) for label, settings in tiers
             if _key(model, settings) in nearest or (label.startswith("MovieLens") and not handover)]
    if handover:
        return found
    base = default_config(model)
    chosen_settings = {key: getattr(chosen, key) for key, _ in VARIED if getattr(chosen, key) != getattr(base, key)}
    for key, words in VARIED:
        value = getattr(chosen, key)
        for factor, how in ((0.5, "halved"), (2, "doubled")):
            changed = max(1, round(value * factor)) if isinstance(value, int) else value * factor
            found.append((f"{words} {how} ({_show(changed)})", {**chosen_settings, key: changed}))
    unique = {}
    for label, settings in found:  # a halved or doubled setting may land on another tier's defaults
        unique.setdefault(_key(model, settings), (label, settings))
    return list(unique.values())


def run_small_data_benchmark(models: list[str], device: str = "auto", seeds: int | None = None,
                             log: Callable[[str], None] = lambda _: None) -> dict:
    """Validation RMSE of each candidate at each sample size and handover, against both baselines on the same
    splits. `seeds` overrides the number of draws of every shape."""
    ratings = load_builtin()
    warm_up()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the app trains (one thread per training); tiny batches gain nothing from more
    try:
        results = [_measure_shape(ratings, shape, handover, models, device, seeds, log)
                   for shape, handover in [(s, False) for s in SAMPLES] + [(s, True) for s in HANDOVERS]]
    finally:
        torch.set_num_threads(threads)
    return {"dataset": ratings.name, "split": f"random {VALID_FRAC:.0%}", "pool": POOL, "torch_threads": 1,
            "results": results, "environment": environment()}


def _measure_shape(ratings: Ratings, shape: Sample, handover: bool, models: list[str], device: str,
                   seeds: int | None, log: Callable[[str], None]) -> dict:
    """Every candidate of every model on `seeds` (or shape.seeds) samples of this shape."""
    draws = list(range(seeds or shape.seeds))
    data = []
    for seed in draws:
        sample = sample_block(ratings, shape, seed)
        data.append((sample, random_split(sample, VALID_FRAC, seed)))
    rows = []
    for model in models:
        chosen = _settings_of(size_defaults(model, shape.n_ratings), model)
        for label, settings in candidates(model, shape.n_ratings, handover):
            row = {"model": model, "label": label, "settings": settings, "chosen": _key(model, settings) == chosen,
                   "rmse": [], "bias": [], "mean": [], "fit_seconds": []}
            for seed, (sample, split) in zip(draws, data):
                m = fit(sample, split, default_config(model, **settings, seed=seed, device=device)).metrics
                row["rmse"].append(m["rmse"])
                row["bias"].append(m["baseline_bias_rmse"])
                row["mean"].append(m["baseline_global_mean_rmse"])
                row["fit_seconds"].append(m["fit_seconds"])
            rows.append(row)
            log(f"{shape.n_ratings:>6,} ratings  {model:<8} {label:<34} rmse {statistics.mean(row['rmse']):.4f} "
                f"(bias baseline {statistics.mean(row['bias']):.4f})")
    return {"n_ratings": shape.n_ratings, "n_users": shape.n_users, "n_items": shape.n_items, "handover": handover,
            "seeds": draws, "sample_sizes": [sample.n_ratings for sample, _ in data], "rows": rows}


def format_small_data_report(result: dict) -> str:
    env = result["environment"]
    lines = [f"environment: torch {env['torch']}, trained on {result['torch_threads']} thread, cuda available: "
             f"{env['cuda_available']}, python {env['python']}",
             f"samples of {result['dataset']}: n users drawn from the {result['pool']}n most active, n items from the "
             f"{result['pool']}n most rated, their ratings cut to the size; {result['split']} split, one per seed"]
    for sample in result["results"]:
        kind = "handover between tiers" if sample["handover"] else "size"
        lines.append("")
        lines.append(f"{sample['n_ratings']:,} ratings ({kind}): {sample['n_users']} users x {sample['n_items']} "
                     f"items, {len(sample['seeds'])} seeds, {min(sample['sample_sizes']):,}-"
                     f"{max(sample['sample_sizes']):,} ratings drawn")
        first = sample["rows"][0]
        lines.append(f"  baselines (means): user+item bias {statistics.mean(first['bias']):.4f}, global mean "
                     f"{statistics.mean(first['mean']):.4f}")
        lines.append(f"  {'model':<9}{'settings':<36}{'rmse':>8}{'-bias':>9}{'beats bias':>12}{'fit s':>8}")
        for row in sorted(sample["rows"], key=lambda r: (r["model"], statistics.mean(r["rmse"]))):
            gap = statistics.mean(r - b for r, b in zip(row["rmse"], row["bias"]))
            wins = f"{sum(r < b for r, b in zip(row['rmse'], row['bias']))}/{len(row['rmse'])}"
            mark = " <- chosen" if row["chosen"] else ""
            lines.append(f"  {row['model']:<9}{row['label']:<36}{statistics.mean(row['rmse']):>8.4f}{gap:>+9.4f}"
                         f"{wins:>12}{statistics.mean(row['fit_seconds']):>8.2f}{mark}")
    return "\n".join(lines)


def _settings_of(config, model: str) -> tuple:
    """The settings of `config` that differ from `model`'s MovieLens-100K defaults, as a comparable key."""
    base = default_config(model)
    return tuple(sorted((key, getattr(config, key)) for key, _ in VARIED if getattr(config, key) != getattr(base, key)))


def _key(model: str, settings: dict) -> tuple:
    return _settings_of(default_config(model, **settings), model)


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)

