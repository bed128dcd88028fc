"""Step-cost benchmark: ratings per second of one optimiser step, dense AdamW against LazyAdamW, by batch size.

What a step should cost is in proportion to the rows it touches. This measures exactly that, apart
from data loading, shuffling and evaluation: `dot_bias` on ML-25M-shaped tables (162,540 users x 59,047
items, 50 factors), batches drawn from the ML-25M-like synthetic ratings (long-tailed, so a batch touches
as many distinct rows as a real one would), `training.train_step` with the optimiser `training._optimizer`
builds for each setting. Each (optimiser, batch) pair is timed in rounds interleaved with the others, so a
machine whose load changes during the run slows every pair alike; the report gives the median round.
Numbers, not assertions.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from collab_core.bench.synthetic import ml25m_like
from collab_core.model.config import default_config
from collab_core.model.training import _optimizer, train_step

STEP_COST_BATCHES = (256, 1024, 4096, 16384, 65536)
STEP_COST_OPTIMIZERS = ("adamw", "lazy_adamw")


def run_step_cost(n_ratings: int = 25_000_000, batches: tuple[int, ...] = STEP_COST_BATCHES, rounds: int = 5,
                  steps: int = 10, threads: int | None = None, log: Callable[[str], None] = lambda _: None) -> dict:
    """Median ratings/s over `rounds` of `steps` steps for every optimiser x batch size (see the module doc)."""
    if threads:
        torch.set_num_threads(threads)
    ratings, _ = ml25m_like(n_ratings, seed=0)
    users = torch.from_numpy(ratings.user_index.astype("int32"))  # (n,)
    items = torch.from_numpy(ratings.item_index.astype("int32"))  # (n,)
    targets = torch.from_numpy(ratings.rating)  # (n,)
    generator = torch.Generator().manual_seed(0)
    settings = [(opt, batch) for batch in batches for opt in STEP_COST_OPTIMIZERS]
    trainers = {}
    for opt, batch in settings:
        config = default_config("dot_bias", optimizer=opt, batch_size=batch)
        model = config.kind.build(config, ratings.n_users, ratings.n_items)
        trainers[opt, batch] = (model, _optimizer(model, config))
    rates: dict[tuple[str, int], list[float]] = {s: [] for s in settings}
    for round_ in range(rounds):
        for opt, batch in settings:
            model, optimizer = trainers[opt, batch]
            drawn = [torch.randint(0, len(targets), (batch,), generator=generator) for _ in range(steps + 1)]
            samples = [(users[rows], items[rows], targets[rows]) for rows in drawn]  # each (batch,) x 3
            train_step(model, optimizer, *samples[0])  # optimiser state exists before the clock starts
            start = time.perf_counter()
            for sample in samples[1:]:
                train_step(model, optimizer, *sample)
            rates[opt, batch].append(steps * batch / (time.perf_counter() - start))
        log(f"round {round_ + 1}/{rounds} done")
    rows = [{"optimizer": opt, "batch_size": batch, "median_ratings_per_second": statistics.median(rates[opt, batch]),
             "rounds": rates[opt, batch]} for opt, batch in settings]
    return {"n_users": ratings.n_users, "n_items": ratings.n_items, "threads": torch.get_num_threads(),
            "steps_per_round": steps, "rows": rows}


def format_step_cost(result: dict) -> str:
    lines = [f"one train_step of dot_bias on {result['n_users']:,} users x {result['n_items']:,} items, "
             f"{result['threads']} torch thread(s); median of the rounds, ratings/s",
             f"{'batch':>8}{'adamw':>14}{'lazy_adamw':>14}{'lazy/dense':>12}"]
    by = {(r["optimizer"], r["batch_size"]): r["median_ratings_per_second"] for r in result["rows"]}
    for batch in sorted({r["batch_size"] for r in result["rows"]}):
        dense, lazy = by["adamw", batch], by["lazy_adamw", batch]
        lines.append(f"{batch:>8}{dense / 1e6:>13.3f}M{lazy / 1e6:>13.3f}M{lazy / dense:>11.2f}x")
    return "\n".join(lines)
