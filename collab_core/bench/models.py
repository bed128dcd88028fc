"""Benchmarks: numbers, not assertions. Run with `python -m collab_core bench`.

- `run_benchmark`: each model's default config on the built-in MovieLens 100K, one random 90/10 split
  per seed: validation RMSE/MSE and fit seconds, the baselines on the same splits, and KD-tree vs
  brute-force neighbour query time on the trained item factors.
- `run_throughput`: on a MovieLens-25M-shaped synthetic set of N ratings (synthetic.ml25m_like), seconds
  per epoch, ratings per second and peak memory of (a) `plain_loop`, the reference: dense nn.Embedding
  tables and torch's AdamW at batch 65,536, and (b) fit() with the defaults config.defaults_for() picks for
  that size. Each runs in its own child process, so each peak RSS is its own.
- `plain_loop` is also the yardstick on MovieLens 100K: `run_benchmark` trains it at batch 1,024 beside
  the default dot_bias run, to compare RMSE against fit time.
"""
from __future__ import annotations

import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from collab_core.analysis.interpret import NeighbourIndex, brute_force_neighbours
from collab_core.bench.synthetic import ml25m_like
from collab_core.data.datasets import load_builtin
from collab_core.data.ratings import Ratings, Split, random_split
from collab_core.errors import CollabError
from collab_core.model.config import default_config, defaults_for_data
from collab_core.model.memory import EVAL_CHUNK
from collab_core.model.networks import EmbeddingDotBias
from collab_core.model.training import cuda_summary, fit, one_cycle, resolve_device, warm_up

PLAIN_BATCH_LARGE = 65536  # the plain loop's batch on large data (docs/scaling.md compares against it)
PLAIN_BATCH_SMALL = 1024  # and on MovieLens 100K


def environment() -> dict:
    return {**cuda_summary(), "python": platform.python_version(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "platform": platform.platform(), "loadavg": os.getloadavg()}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------- the reference loop
def plain_loop(ratings: Ratings, split: Split, batch_size: int, epochs: int, lr: float, device: str = "cpu",
               n_factors: int = 50, weight_decay: float = 0.35, bias_weight_decay: float = 0.01,
               seed: int = 42) -> dict:
    """The yardstick: EmbeddingDotBias with dense nn.Embedding tables, torch's AdamW (factors decayed by
    `weight_decay`, biases by `bias_weight_decay`), one-cycle lr, batches sliced from shuffled tensors. It is
    what fit() did before LazyAdamW, written out so it stays fixed while fit() changes. Returns validation RMSE
    after each epoch and the seconds each epoch took (validation included, as in fit())."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    device = resolve_device(device)
    model = EmbeddingDotBias(ratings.n_users, ratings.n_items, n_factors, (0.0, 5.5)).to(device)
    factors = [model.user_factors.weight, model.item_factors.weight]
    biases = [model.user_bias.weight, model.item_bias.weight]
    optimizer = torch.optim.AdamW([{"params": factors, "weight_decay": weight_decay},
                                   {"params": biases, "weight_decay": bias_weight_decay}], lr=lr, betas=(0.9, 0.99))
    steps = math.ceil(len(split.train) / batch_size) * epochs
    scheduler = one_cycle(optimizer, lr, steps, 0.25)
    users, items = torch.tensor(ratings.user_index, device=device), torch.tensor(ratings.item_index, device=device)
    targets = torch.tensor(ratings.rating, device=device)
    train_rows, valid_rows = torch.from_numpy(split.train), torch.from_numpy(split.valid).to(device)
    epoch_seconds, valid_rmse = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        order = train_rows[torch.randperm(len(train_rows), generator=generator)].to(device)  # (n_train,)
        for rows in order.split(batch_size):  # (batch,)
            loss = ((model(users[rows], items[rows]) - targets[rows]) ** 2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        valid_rmse.append(_rmse(model, users, items, targets, valid_rows))
        epoch_seconds.append(time.perf_counter() - start)
    return {"rmse": valid_rmse[-1], "valid_rmse": valid_rmse, "epoch_seconds": epoch_seconds,
            "fit_seconds": sum(epoch_seconds), "batch_size": batch_size, "lr": lr, "device": str(device)}


@torch.no_grad()
def _rmse(model, users, items, targets, rows) -> float:
    model.eval()
    squared = sum(float(((model(users[r], items[r]) - targets[r]) ** 2).sum()) for r in rows.split(EVAL_CHUNK))
    return math.sqrt(squared / len(rows))


def run_benchmark(models: list[str], seeds: list[int], device: str = "auto",
                  log: Callable[[str], None] = lambda _: None) -> dict:
    ratings = load_builtin()
    warm_up()  # torch's one-off first-optimizer cost, paid by neither of the timed runs
    results, baselines, last_dot_bias = [], [], None
    for seed in seeds:
        split = random_split(ratings, 0.1, seed)
        if "dot_bias" in models:
            plain = plain_loop(ratings, split, PLAIN_BATCH_SMALL, epochs=6, lr=8e-3, device=device)
            results.append({"model": f"plain loop, batch {PLAIN_BATCH_SMALL}", "seed": seed, "rmse": plain["rmse"],
                            "mse": plain["rmse"] ** 2, "fit_seconds": plain["fit_seconds"], "device": plain["device"]})
            log(f"plain loop (dot_bias, dense AdamW, batch {PLAIN_BATCH_SMALL}) split seed {seed:>3}: "
                f"rmse {plain['rmse']:.4f}  fit {plain['fit_seconds']:.2f}s")
        for model in models:
            trained = fit(ratings, split, defaults_for_data(ratings, model, device=device).config)
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
               for model in dict.fromkeys(r["model"] for r in results)}
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


def run_throughput(n_ratings: int, device: str = "auto", epochs: int = 3, batch_size: int | None = None,
                   optimizer: str | None = None, lr: float | None = None,
                   variants: tuple[str, ...] = ("plain", "project"),
                   log: Callable[[str], None] = lambda _: None) -> dict:
    """Seconds per epoch, ratings/s and peak RSS of each variant on `n_ratings` ML-25M-shaped ratings, each
    variant in a child process of its own. `batch_size`, `optimizer`, `lr` override the project's choice."""
    runs = []
    for variant in variants:
        command = [sys.executable, "-m", "collab_core", "bench", "--synthetic", str(n_ratings), "--device", device,
                   "--epochs", str(epochs), "--variant", variant, "--json"]
        if variant == "project":
            for flag, value in (("--batch-size", batch_size), ("--optimizer", optimizer), ("--lr", lr)):
                command += [flag, str(value)] if value is not None else []
        log(f"running {variant} in a child process ...")
        # the child's progress goes straight to this stderr; its result comes back as JSON on stdout
        child = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=_child_env())
        if child.returncode != 0:
            raise CollabError(f"the {variant} benchmark failed (exit status {child.returncode}; see above)")
        runs.append(json.loads(child.stdout.strip().splitlines()[-1])["runs"][0])
    return {"n_ratings": n_ratings, "runs": runs, "environment": environment()}


def _child_env() -> dict:
    """This environment, with the folder holding collab_core first on PYTHONPATH, whatever the working folder."""
    root = str(Path(__file__).resolve().parents[2])  # the repository: collab_core/bench/models.py
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


def throughput_variant(n_ratings: int, variant: str, device: str = "auto", epochs: int = 3,
                       batch_size: int | None = None, optimizer: str | None = None, lr: float | None = None,
                       log: Callable[[str], None] = lambda _: None) -> dict:
    """One variant, in this process: 'plain' (plain_loop at batch 65,536) or 'project' (fit() with the defaults
    defaults_for() picks for this size)."""
    start = time.perf_counter()
    ratings, _ = ml25m_like(n_ratings, seed=0)
    split = random_split(ratings, 0.01, 0)
    generated = {"generate_seconds": time.perf_counter() - start, "rss_after_data_mb": peak_rss_mb()}
    log(f"generated {ratings.name} ({ratings.n_users:,} users x {ratings.n_items:,} items) in "
        f"{generated['generate_seconds']:.1f}s, peak RSS {generated['rss_after_data_mb']:.0f} MB; {variant} on "
        f"{resolve_device(device)}")
    n_train = len(split.train)
    if variant == "plain":
        lr = 1e-2 * (PLAIN_BATCH_LARGE / 256) ** 0.5  # square-root scaling of 1e-2 at batch 256
        result = plain_loop(ratings, split, PLAIN_BATCH_LARGE, epochs, lr, device)
        described = f"plain loop: dense nn.Embedding + torch AdamW, batch {PLAIN_BATCH_LARGE}, lr {lr:g}"
    else:
        given = {"batch_size": batch_size, "optimizer": optimizer, "lr": lr}
        overrides = {"device": device, "epochs": epochs, **{k: v for k, v in given.items() if v is not None}}
        chosen = defaults_for_data(ratings, "dot_bias", **overrides)
        trained = fit(ratings, split, chosen.config,
                      callback=lambda p: p.kind == "epoch" and log(f"epoch {p.epoch}: {p.elapsed:.2f}s"))
        ends = [h["elapsed"] for h in trained.history]
        result = {"rmse": trained.metrics["rmse"], "valid_rmse": [h["valid_rmse"] for h in trained.history],
                  "epoch_seconds": [b - a for a, b in zip([0.0] + ends, ends)], "batch_size": chosen.config.batch_size,
                  "lr": chosen.config.lr, "device": trained.metrics["device"]}
        described = f"project: {chosen.reason}"
    return {"variant": variant, "described": described, "n_ratings": n_ratings, "n_train": n_train,
            "n_users": ratings.n_users, "n_items": ratings.n_items, "epochs": epochs, **result, **generated,
            "ratings_per_second_per_epoch": [n_train / s for s in result["epoch_seconds"]],
            "peak_rss_mb": peak_rss_mb(), "environment": environment()}


def format_report(result: dict) -> str:
    env = result["environment"]
    lines = [f"environment: torch {env['torch']}, {env['cpu_threads']} CPU threads, cuda available: "
             f"{env['cuda_available']} {env['gpus']}, python {env['python']}"]
    if "runs" in result:
        return "\n".join(lines + [_format_throughput(run) for run in result["runs"]])
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


# ---------------------------------------------------------------------- fold-in quality
FOLDIN_RIDGE_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


def run_foldin_benchmark(device: str = "auto", log: Callable[[str], None] = lambda _: None) -> dict:
    """Train the default dot_bias on MovieLens 100K (seed 42, 10% split), then fold in every user with
    validation ratings from their training ratings only, and compare the validation RMSE of the folded-in
    vectors with that of the trained ones on the same ratings: with the derived ridge penalty solved by
    Newton and by L-BFGS (for time), with multiples of that penalty, and with two other mappings of weight
    decay to a penalty (constant wd; wd x n, the ridge of a mean loss)."""
    from collab_core.analysis.foldin import ridge_penalties
    from collab_core.bench.foldin import foldin_quality

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


def _format_throughput(run: dict) -> str:
    lines = [f"{run['described']}",
             f"  {run['n_train']:,} training ratings ({run['n_users']:,} users x {run['n_items']:,} items), device "
             f"{run['device']}; peak RSS {run['peak_rss_mb']:.0f} MB ({run['rss_after_data_mb']:.0f} MB after "
             f"generating the data)"]
    for i, (sec, rate, rmse) in enumerate(zip(run["epoch_seconds"], run["ratings_per_second_per_epoch"],
                                              run["valid_rmse"]), 1):
        lines.append(f"  epoch {i}: {sec:.2f}s  {rate / 1e6:.2f}M ratings/s  valid rmse {rmse:.4f}")
    return "\n".join(lines)
