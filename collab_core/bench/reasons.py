"""The small timings that the code gives as reasons for its choices, measured again on request:
`python -m collab_core.bench.reasons [NAME ...]` (no NAME: all of them; `--list` names them).

A comment in the code says why a choice was made and points to docs/performance.md ("Figures behind choices
in the code"), which holds the figures this prints: figures go stale with the machine and the library
versions, reasons do not. Numbers, not assertions: nothing here fails when a figure moves. Each measurement
is the median of several repeats on whatever else the machine is doing, so run it on a quiet machine and
read the load average beside it (printed first).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from unittest import mock

import numpy as np
import torch


def _median_ms(fn: Callable[[], object], repeats: int, warm: int = 2) -> float:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _movielens_split():
    from collab_core.data.datasets import load_builtin
    from collab_core.data.ratings import random_split

    ratings = load_builtin()
    return ratings, random_split(ratings, 0.1, 42)


def summed_rows() -> str:
    """LazyAdamW's distinct rows of a sparse gradient: a bool mark against sorting; scatter_add_ against
    index_add_ (collab_core.model.optim._summed_rows), batch 65,536 on ML-25M's user table, 50 wide."""
    from collab_core.bench.synthetic import ML25M_RATINGS, ML25M_USERS, long_tailed_counts
    from collab_core.model.optim import _summed_rows

    rng = np.random.default_rng(0)
    counts = long_tailed_counts(rng, ML25M_USERS, ML25M_RATINGS, 20, 1.4)  # (n_users,) ML-25M's activity
    lookups = torch.from_numpy(rng.choice(ML25M_USERS, 65_536, p=counts / counts.sum()))  # (batch,)
    table = torch.nn.Embedding(ML25M_USERS, 50, sparse=True)
    out = table(lookups)  # (batch, 50)
    out.backward(torch.randn_like(out))
    grad = table.weight.grad
    values = grad._values()  # (batch, 50)
    rows, _ = _summed_rows(grad)
    position = torch.empty(ML25M_USERS, dtype=torch.long)
    position[rows] = torch.arange(len(rows))
    where = position[lookups]  # (batch,)

    def mark():
        touched = torch.zeros(ML25M_USERS, dtype=torch.bool)
        touched[lookups] = True
        return touched.nonzero()

    ms = {"distinct rows: bool mark": _median_ms(mark, 30),
          "torch.unique": _median_ms(lambda: torch.unique(lookups), 30),
          "distinct rows and sums: _summed_rows": _median_ms(lambda: _summed_rows(grad), 30),
          "grad.coalesce()": _median_ms(grad.coalesce, 30),
          "the sums alone: scatter_add_": _median_ms(lambda: torch.zeros(len(rows), 50).scatter_add_(
              0, where.unsqueeze(1).expand_as(values), values), 30),
          "index_add_": _median_ms(lambda: torch.zeros(len(rows), 50).index_add_(0, where, values), 30)}
    return ", ".join(f"{name} {value:.1f} ms" for name, value in ms.items())


def gathers() -> str:
    """A batch-512 step of the default dot_bias on MovieLens 100K, from a slice of the shuffled copy (what
    training._Tensors.shuffled makes possible) against three gathers per batch."""
    from collab_core.model.config import default_config
    from collab_core.model.training import _optimizer, train_step

    ratings, split = _movielens_split()
    config = default_config("dot_bias", seed=0)
    model = config.kind.build(config, ratings.n_users, ratings.n_items)
    optimizer = _optimizer(model, config)
    users = torch.from_numpy(ratings.user_index[split.train].astype(np.int32))  # (n_train,)
    items = torch.from_numpy(ratings.item_index[split.train].astype(np.int32))  # (n_train,)
    targets = torch.from_numpy(ratings.rating[split.train])  # (n_train,)
    order = torch.randperm(len(targets), generator=torch.Generator().manual_seed(0))  # (n_train,)
    shuffled = users[order], items[order], targets[order]  # the copy fit() makes once per epoch
    batches = len(targets) // 512

    def sliced():  # the same rows either way: batch b of the shuffled copy
        for b in range(batches):
            train_step(model, optimizer, *(column[b * 512: (b + 1) * 512] for column in shuffled))

    def gathered():
        for b in range(batches):
            rows = order[b * 512: (b + 1) * 512]
            train_step(model, optimizer, users[rows], items[rows], targets[rows])

    step, with_gathers = _median_ms(sliced, 5, 1) / batches, _median_ms(gathered, 5, 1) / batches
    return (f"slice {step:.3f} ms, three gathers {with_gathers:.3f} ms per step "
            f"(the gathers: {100 * (with_gathers - step) / with_gathers:.0f}% of the step)")


def _fit_seconds(**overrides) -> float:
    from collab_core.model.config import default_config
    from collab_core.model.training import fit

    ratings, split = _movielens_split()
    return fit(ratings, split, default_config("dot_bias", seed=42, **overrides)).metrics["fit_seconds"]


def fused_adamw() -> str:
    """The default dot_bias fit on MovieLens 100K at batch 256, one thread: AdamW fused=True (what
    training._optimizer asks for) against torch's foreach implementation."""
    adamw = torch.optim.AdamW
    torch.set_num_threads(1)
    try:
        fused = _fit_seconds(batch_size=256)
        def foreach_adamw(*args, **kwargs):
            return adamw(*args, **{**kwargs, "fused": None, "foreach": True})

        with mock.patch.object(torch.optim, "AdamW", foreach_adamw):
            foreach = _fit_seconds(batch_size=256)
    finally:
        torch.set_num_threads(os.cpu_count() or 1)
    return f"fused {fused:.2f} s, foreach {foreach:.2f} s ({100 * (1 - fused / foreach):.0f}% off)"


@contextlib.contextmanager
def _busy_python_thread():
    """A Python thread spinning beside the measured code, as a server's script threads are."""
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            sum(range(1000))

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def intra_op_threads() -> str:
    """The default dot_bias fit on MovieLens 100K on 1 and 2 torch threads, alone and beside a busy Python
    thread (collab_server.workers.torch_threads gives a training one)."""
    times = {}
    for busy in (False, True):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            with _busy_python_thread() if busy else contextlib.nullcontext():
                times[busy, threads] = _fit_seconds()
    torch.set_num_threads(os.cpu_count() or 1)
    return (f"alone: 1 thread {times[False, 1]:.2f} s, 2 threads {times[False, 2]:.2f} s; beside a busy Python "
            f"thread: 1 thread {times[True, 1]:.2f} s, 2 threads {times[True, 2]:.2f} s")


def rating_scale() -> str:
    """collab_core.data.rating_values.observed_scale over 25M half-star ratings."""
    from collab_core.data.rating_values import observed_scale

    ratings = (np.random.default_rng(0).integers(1, 11, 25_000_095) / 2).astype(np.float32)  # (25M,)
    return f"{_median_ms(lambda: observed_scale(ratings), 5, 1):.0f} ms"


def threadpool() -> str:
    """threadpoolctl: inspecting the loaded libraries once, then limiting them to one thread and back."""
    from threadpoolctl import ThreadpoolController

    inspect = _median_ms(ThreadpoolController, 10, 1)
    controller = ThreadpoolController()

    def limit():
        with controller.limit(limits=1):
            pass

    return f"inspect {inspect:.1f} ms, limit and restore {_median_ms(limit, 200) * 1000:.0f} us"


def _foldin_users(ratings, split, n_users: int, min_ratings: int) -> list[dict[int, float]]:
    frame = {}
    for row in split.train:
        frame.setdefault(int(ratings.user_index[row]), {})[int(ratings.item_index[row])] = float(ratings.rating[row])
    return [rated for rated in frame.values() if len(rated) >= min_ratings][:n_users]


def foldin_threads() -> str:
    """Fold-ins on one BLAS/OpenMP thread (foldin._single_threaded) against the libraries' default threads:
    200 'dot' users, and one 'nn' user with about 100 ratings; and the 'nn' fold-in of 3 ratings."""
    from collab_core.analysis import foldin
    from collab_core.model.config import default_config
    from collab_core.model.training import fit

    ratings, split = _movielens_split()
    users = _foldin_users(ratings, split, 200, 5)
    dot = fit(ratings, split, default_config("dot", seed=42))
    nn = fit(ratings, split, default_config("nn", seed=42))
    heavy = next(rated for rated in users if 90 <= len(rated) <= 120)
    few = dict(list(heavy.items())[:3])

    def all_dot():
        for rated in users:
            foldin.fold_in(dot, rated)

    one = {"dot": _median_ms(all_dot, 3, 1), "nn": _median_ms(lambda: foldin.fold_in(nn, heavy), 5, 1),
           "nn3": _median_ms(lambda: foldin.fold_in(nn, few), 5, 1)}
    with mock.patch.object(foldin, "_single_threaded", contextlib.nullcontext):
        default = {"dot": _median_ms(all_dot, 3, 1), "nn": _median_ms(lambda: foldin.fold_in(nn, heavy), 5, 1)}
    return (f"200 'dot' fold-ins: {one['dot'] / 1000:.2f} s on one thread, {default['dot'] / 1000:.2f} s "
            f"threaded; 'nn', {len(heavy)} ratings: {one['nn']:.0f} ms on one thread, {default['nn']:.0f} ms "
            f"threaded; 'nn', 3 ratings: {one['nn3']:.0f} ms")


def cholesky() -> str:
    """A 51 x 51 Cholesky factor-and-solve in float64 (a Newton step of the 'dot_bias' fold-in): scipy
    against torch's LAPACK on its default threads."""
    import scipy.linalg

    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 51))
    matrix, rhs = z.T @ z + np.eye(51), rng.normal(size=51)  # (51, 51) SPD, (51,)
    tm, tr = torch.from_numpy(matrix), torch.from_numpy(rhs).unsqueeze(1)
    in_scipy = _median_ms(lambda: scipy.linalg.cho_solve(scipy.linalg.cho_factor(matrix), rhs), 500)
    in_torch = _median_ms(lambda: torch.cholesky_solve(tr, torch.linalg.cholesky(tm)), 500)
    return f"scipy {in_scipy:.3f} ms, torch {in_torch:.3f} ms"


def user_tree() -> str:
    """The cosine KD-tree over 162,541 users x 50 factors that "nearest users" builds once per run."""
    from collab_core.analysis.interpret import NeighbourIndex

    factors = np.random.default_rng(0).normal(size=(162_541, 50)).astype(np.float32)  # (n_users, 50)
    start = time.perf_counter()
    NeighbourIndex(factors, "cosine")
    return f"{time.perf_counter() - start:.1f} s"


def regions() -> str:
    """Region labels of a 2D map of 59,047 items (ML-25M's size) in 12 planted blobs with MovieLens' genres:
    collab_core.analysis.regions.find_regions (one k-means++ start on one thread), and the same k-means on the
    OpenMP threads scikit-learn takes by default; then a custom axis over (59,047, 50) factors."""
    from sklearn.cluster import KMeans

    from collab_core.analysis.axes import custom_axis
    from collab_core.analysis.regions import _scaled, find_regions

    rng = np.random.default_rng(0)
    n, names = 59_047, ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
                        "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller"]
    coords = rng.normal(0, 4, (12, 2))[rng.integers(0, 12, n)] + rng.normal(0, 1, (n, 2))  # (n, 2)
    genres = [list(rng.choice(names, rng.integers(1, 4), replace=False)) for _ in range(n)]
    counts, titles = rng.integers(1, 80_000, n), np.array([f"Movie {i} (1999)" for i in range(n)], dtype=object)
    mine = _median_ms(lambda: find_regions(coords, genres, counts, titles), 5, 1)
    threaded = _median_ms(lambda: KMeans(8, random_state=0, n_init=1).fit(_scaled(coords)), 5, 1)
    factors = rng.normal(size=(n, 50)).astype(np.float32)  # (n, 50)
    axis = _median_ms(lambda: custom_axis(factors, np.arange(10), np.arange(10, 20)), 10, 1)
    return (f"find_regions {mine:.0f} ms (8 regions); its k-means alone on default threads {threaded:.0f} ms; "
            f"custom_axis {axis:.0f} ms")


def imports() -> str:
    """What collab_server.serve imports before the server starts, timed in a fresh interpreter."""
    code = ("import time; s = time.perf_counter(); import pandas, plotly.express, sklearn.neighbors, torch; "
            "print(f'{time.perf_counter() - s:.2f}')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return f"{out.stdout.strip()} s"


MEASURES: dict[str, Callable[[], str]] = {
    "summed_rows": summed_rows, "gathers": gathers, "fused_adamw": fused_adamw,
    "intra_op_threads": intra_op_threads, "rating_scale": rating_scale, "threadpool": threadpool,
    "foldin_threads": foldin_threads, "cholesky": cholesky, "user_tree": user_tree, "regions": regions,
    "imports": imports,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collab_core.bench.reasons", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(MEASURES)} (default: all)")
    parser.add_argument("--list", action="store_true", help="name and describe each measurement")
    args = parser.parse_args(argv)
    if args.list:
        for name, fn in MEASURES.items():
            print(f"{name:<18} {' '.join(fn.__doc__.split())}")
        return 0
    unknown = [name for name in args.names if name not in MEASURES]
    if unknown:
        parser.error(f"unknown measurement {', '.join(map(repr, unknown))}; see --list")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name in args.names or MEASURES:
        print(f"{name:<18} {MEASURES[name]()}", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
