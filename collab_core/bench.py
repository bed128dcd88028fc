"""Benchmarks: numbers, not assertions. Run with `python -m collab_core bench`.

- `run_benchmark`: each model's default config on the built-in MovieLens 100K, one random 90/10 split
  per seed: validation RMSE/MSE and fit seconds, the baselines on the same splits, and KD-tree vs
  brute-force neighbour query time on the trained item factors.
- `run_throughput`: training throughput (ratings per second per epoch) on a synthetic set of N ratings,
  for the CUDA measurement on MovieLens-25M-sized data.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from .config import default_config
from .datasets import load_builtin
from .interpret import NeighbourIndex, brute_force_neighbours
from .ratings import random_split
from .synthetic import planted_ratings
from .training import cuda_summary, fit, resolve_device


def environment() -> dict:
    return {**cuda_summary(), "python": platform.python_version(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "platform": platform.platform()}


def run_benchmark(models: list[str], seeds: list[int], device: str = "auto",
                  log: Callable[[str], None] = lambda _: None) -> dict:
    ratings = load_builtin()
    results, baselines, last_dot_bias = [], [], None
    for seed in seeds:
        split = random_split(ratings, 0.1, seed)
        for model in models:
            trained = fit(ratings, split, default_config(model, device=device))
            m = trained.metrics
            results.append({"model": model, "seed": seed, "rmse": m["rmse"], "mse": m["mse"],
                            "fit_seconds": m["fit_seconds"], "device": m["device"]})
            log(f"{model:<9} split seed {seed:>3}: rmse {m['rmse']:.4f}  fit {m['fit_seconds']:.2f}s")
            if model == "dot_bias":
                last_dot_bias = trained
        baselines.append({"seed": seed, "global_mean_rmse": m["baseline_global_mean_rmse"],
                          "bias_rmse": m["baseline_bias_rmse"]})
    summary = {model: {"mean_rmse": statistics.mean(r["rmse"] for r in results if r["model"] == model),
                       "mean_fit_seconds": statistics.mean(r["fit_seconds"] for r in results if r["model"] == model)}
               for model in models}
    summary["baseline_bias"] = {"mean_rmse": statistics.mean(b["bias_rmse"] for b in baselines)}
    summary["baseline_global_mean"] = {"mean_rmse": statistics.mean(b["global_mean_rmse"] for b in baselines)}
    report = {"dataset": ratings.name, "split": "random 90/10", "seeds": seeds, "results": results,
              "baselines": baselines, "summary": summary, "environment": environment()}
    if last_dot_bias is not None:
        report["neighbours"] = neighbour_timing(last_dot_bias.item_factors())
    return report


def neighbour_timing(factors: np.ndarray, k: int = 10, queries: int = 200) -> dict:
    """Median ms per query: KD-tree vs brute force, both exact (checked equal here too)."""
    out = {"n_items": int(len(factors)), "dims": int(factors.shape[1]), "k": k}
    rng = np.random.default_rng(0)
    picks = rng.choice(len(factors), size=min(queries, len(factors)), replace=False)
    for metric in ("euclidean", "cosine"):
        start = time.perf_counter()
        index = NeighbourIndex(factors, metric)
        build_ms = (time.perf_counter() - start) * 1000
        tree_ms, brute_ms = [], []
        for i in picks:
            t0 = time.perf_counter()
            found, _ = index.query_index(int(i), k)
            t1 = time.perf_counter()
            expected, _ = brute_force_neighbours(factors, int(i), k, metric)
            t2 = time.perf_counter()
            tree_ms.append((t1 - t0) * 1000)
            brute_ms.append((t2 - t1) * 1000)
            if not np.array_equal(found, expected):
                raise AssertionError(f"KD-tree and brute force disagree for item {i} ({metric})")
        out[metric] = {"build_ms": build_ms, "kdtree_query_ms": statistics.median(tree_ms),
                       "brute_force_query_ms": statistics.median(brute_ms)}
    return out


def run_throughput(n_ratings: int, device: str = "auto", batch_size: int = 65536, epochs: int = 3,
                   log: Callable[[str], None] = lambda _: None) -> dict:
    """Train EmbeddingDotBias on N synthetic ratings (ML-25M shape: ~162K users, ~59K items)."""
    n_users = max(10, min(162_541, n_ratings // 150))
    n_items = max(10, min(59_047, n_ratings // 400))
    start = time.perf_counter()
    ratings, _ = planted_ratings(n_users, n_items, n_ratings, n_factors=8, seed=0, unique_pairs=False)
    split = random_split(ratings, 0.01, 0)
    log(f"generated {n_ratings:,} synthetic ratings ({n_users:,} users x {n_items:,} items) in "
        f"{time.perf_counter() - start:.1f}s; training on {resolve_device(device)}")
    config = default_config("dot_bias", device=device, batch_size=batch_size, epochs=epochs,
                            lr=1e-2 * (batch_size / 256) ** 0.5 if batch_size > 256 else 1e-2)
    trained = fit(ratings, split, config,
                  callback=lambda p: p.kind == "epoch" and log(f"epoch {p.epoch}: {p.elapsed:.2f}s"))
    history = trained.metrics and trained.history
    per_epoch = [history[0]["elapsed"]] + [b["elapsed"] - a["elapsed"] for a, b in zip(history, history[1:])]
    n_train = len(split.train)
    return {"n_ratings": n_ratings, "n_train": n_train, "batch_size": batch_size, "epochs": epochs,
            "device": trained.metrics["device"], "epoch_seconds": per_epoch,
            "ratings_per_second_per_epoch": [n_train / s for s in per_epoch],
            "best_ratings_per_second": max(n_train / s for s in per_epoch),
            "rmse": trained.metrics["rmse"], "environment": environment()}


def format_report(result: dict) -> str:
    env = result["environment"]
    lines = [f"environment: torch {env['torch']}, {env['cpu_threads']} CPU threads, cuda available: "
             f"{env['cuda_available']} {env['gpus']}, python {env['python']}"]
    if "results" not in result:
        lines.append(f"synthetic throughput: {result['n_train']:,} training ratings, batch {result['batch_size']}, "
                     f"device {result['device']}")
        for i, (sec, rate) in enumerate(zip(result["epoch_seconds"], result["ratings_per_second_per_epoch"]), 1):
            lines.append(f"  epoch {i}: {sec:.2f}s  {rate / 1e6:.2f}M ratings/s")
        return "\n".join(lines)
    lines.append(f"{result['dataset']}, {result['split']} split, seeds {result['seeds']}")
    lines.append(f"{'model':<26}{'seed':>6}{'rmse':>9}{'mse':>9}{'fit s':>8}")
    for r in result["results"]:
        lines.append(f"{r['model']:<26}{r['seed']:>6}{r['rmse']:>9.4f}{r['mse']:>9.4f}{r['fit_seconds']:>8.2f}")
    for b in result["baselines"]:
        lines.append(f"{'baseline: user+item bias':<26}{b['seed']:>6}{b['bias_rmse']:>9.4f}")
        lines.append(f"{'baseline: global mean':<26}{b['seed']:>6}{b['global_mean_rmse']:>9.4f}")
    lines.append("means over seeds:")
    for name, s in result["summary"].items():
        fit_s = f"  fit {s['mean_fit_seconds']:.2f}s" if "mean_fit_seconds" in s else ""
        lines.append(f"  {name:<22} rmse {s['mean_rmse']:.4f}{fit_s}")
    if "neighbours" in result:
        nb = result["neighbours"]
        lines.append(f"neighbour queries over {nb['n_items']} items x {nb['dims']} dims, k={nb['k']} (median):")
        for metric in ("euclidean", "cosine"):
            t = nb[metric]
            lines.append(f"  {metric:<9} KD-tree {t['kdtree_query_ms']:.3f} ms, "
                         f"brute force {t['brute_force_query_ms']:.3f} ms (build {t['build_ms']:.1f} ms)")
    return "\n".join(lines)


# ---------------------------------------------------------------------- fold-in quality (issue 12)
FOLDIN_RIDGE_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


def run_foldin_benchmark(device: str = "auto", log: Callable[[str], None] = lambda _: None) -> dict:
    """Train the default dot_bias on MovieLens 100K (seed 42, 10% split), then fold in every user with
    validation ratings from their training ratings only, and compare the validation RMSE of the folded-in
    vectors with that of the trained ones on the same ratings: with the derived ridge penalty solved by
    Newton and by L-BFGS (for time), with multiples of that penalty, and with two other mappings of weight
    decay to a penalty (constant wd; wd x n, the ridge of a mean loss)."""
    from .foldin import foldin_quality, ridge_penalties

    ratings = load_builtin()
    split = random_split(ratings, 0.1, 42)
    trained = fit(ratings, split, default_config("dot_bias", device=device))
    log(f"trained dot_bias: rmse {trained.metrics['rmse']:.4f} in {trained.metrics['fit_seconds']:.1f}s")
    config = trained.config

    def measure(label: str, **options) -> dict:
        quality = foldin_quality(trained, ratings, split, **options)
        row = {"label": label, "rmse_foldin": quality.rmse_foldin, "rmse_trained": quality.rmse_trained,
               "median_ms": quality.median_ms, "mean_iterations": quality.mean_iterations,
               "n_users": quality.n_users, "n_valid": quality.n_valid}
        log(f"{label:<34} fold-in rmse {row['rmse_foldin']:.4f} (trained {row['rmse_trained']:.4f}), "
            f"{row['median_ms']:.2f} ms median, {row['mean_iterations']:.1f} steps")
        return row

    solvers = [measure(f"derived penalty, {refine or 'ridge only (logit)'}", refine=refine)
               for refine in ("newton", "lbfgs", None)]
    scales = [measure(f"derived penalty x {scale:g}", ridge_scale=scale) for scale in FOLDIN_RIDGE_SCALES]
    alternatives = [
        measure(f"constant: lam = wd = {config.weight_decay:g}",
                penalty_rule=lambda n: (config.weight_decay, config.bias_weight_decay)),
        measure("mean-loss ridge: lam = wd x n", penalty_rule=lambda n: (config.weight_decay * n,
                                                                          config.bias_weight_decay * n)),
    ]
    return {"dataset": ratings.name, "split": split.description, "model": "dot_bias",
            "trained_rmse": trained.metrics["rmse"], "fit_seconds": trained.metrics["fit_seconds"],
            "penalty_at": {str(n): ridge_penalties(trained, n) for n in (10, 100, 500)},
            "solvers": solvers, "ridge_scales": scales, "alternatives": alternatives, "environment": environment()}


def format_foldin_report(result: dict) -> str:
    env = result["environment"]
    first = result["solvers"][0]
    penalties = ", ".join(f"n={n}: ({lam:.2f}, {lam_b:.2f})" for n, (lam, lam_b) in result["penalty_at"].items())
    lines = [f"environment: torch {env['torch']}, {env['cpu_threads']} CPU threads, python {env['python']}",
             (f"{result['dataset']}, {result['split']} split: default {result['model']} trained to rmse "
              f"{result['trained_rmse']:.4f} in {result['fit_seconds']:.1f}s"),
             f"derived ridge penalty (lam, lam_b) at n ratings: {penalties}",
             (f"held-out users: {first['n_users']} users, {first['n_valid']:,} validation ratings; "
              f"RMSE of their trained vectors: {first['rmse_trained']:.4f}"),
             f"{'fold-in':<36}{'rmse':>8}{'ms/user':>9}{'steps':>7}"]
    for row in result["solvers"] + result["ridge_scales"] + result["alternatives"]:
        lines.append(f"{row['label']:<36}{row['rmse_foldin']:>8.4f}{row['median_ms']:>9.2f}"
                     f"{row['mean_iterations']:>7.1f}")
    return "\n".join(lines)
