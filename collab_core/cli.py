"""The command line: `python -m collab_core train | neighbours | runs | bench`.

Bad input ends with exit status 2 and one line on stderr naming the problem, never a traceback, and
writes no run. Progress goes to stderr; `train` prints one JSON object as the LAST line of stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from .errors import CollabError, TrainingCancelled


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m collab_core",
                                     description="Train and explore collaborative-filtering embeddings.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and save the run")
    data = train.add_argument_group("data (default: the built-in MovieLens 100K)")
    data.add_argument("--dataset", help="'builtin', a MovieLens folder, or a ratings CSV/Parquet file")
    data.add_argument("--train", dest="train_file", help="training ratings file (user,item,rating columns)")
    data.add_argument("--valid", dest="valid_file", help="validation ratings file; without it a seeded split is made")
    data.add_argument("--user-col", help="name of the user id column")
    data.add_argument("--item-col", help="name of the item id column")
    data.add_argument("--rating-col", help="name of the rating column")
    data.add_argument("--rating-scale", nargs=2, type=float, metavar=("LOW", "HIGH"),
                      help="declared rating scale of --train/--valid files: ratings outside it are refused")
    data.add_argument("--valid-frac", type=float, default=0.1, help="validation fraction of the random split")
    data.add_argument("--split-seed", type=int, default=42, help="seed of the random split")
    data.add_argument("--min-user-ratings", type=int, default=0, help="density filter: min ratings per user")
    data.add_argument("--min-item-ratings", type=int, default=0, help="density filter: min ratings per item")
    hyper = train.add_argument_group("hyperparameters (default: the measured defaults of --model for the size of "
                                     "the data; train prints which and why)")
    hyper.add_argument("--model", default="dot_bias", help="dot | dot_bias | nn")
    hyper.add_argument("--factors", dest="n_factors", type=int)
    hyper.add_argument("--y-range", nargs=2, type=float, metavar=("LOW", "HIGH"))
    hyper.add_argument("--epochs", type=int)
    hyper.add_argument("--lr", type=float)
    hyper.add_argument("--batch-size", type=int)
    hyper.add_argument("--wd", dest="weight_decay", type=float, help="weight decay on the factors")
    hyper.add_argument("--bias-wd", dest="bias_weight_decay", type=float, help="weight decay on biases/MLP layers")
    hyper.add_argument("--optimizer", help="adamw | adam | sgd")
    hyper.add_argument("--no-one-cycle", dest="one_cycle", action="store_false", default=None)
    hyper.add_argument("--seed", type=int)
    hyper.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    hyper.add_argument("--nn-layers", help="hidden widths of the NN, e.g. 128,64")
    hyper.add_argument("--nn-dropout", type=float)
    hyper.add_argument("--nn-item-factors", type=int)
    train.add_argument("--runs-dir", help="where runs are saved (default $COLLAB_RUNS_DIR or ./runs)")
    train.add_argument("--quiet", action="store_true", help="no progress on stderr")

    neighbours = commands.add_parser("neighbours", help="nearest items to a movie in a run's embedding space")
    neighbours.add_argument("--run", required=True, help="run id (see `runs`)")
    neighbours.add_argument("--item", required=True, help="raw item id, exact title, or an unambiguous part of one")
    neighbours.add_argument("-k", type=int, default=10)
    neighbours.add_argument("--metric", default="euclidean", help="euclidean | cosine")
    neighbours.add_argument("--min-ratings", type=int, default=20,
                            help="answer among items with at least this many ratings (default 20; 0 for all)")
    neighbours.add_argument("--json", action="store_true")
    neighbours.add_argument("--runs-dir")

    runs = commands.add_parser("runs", help="list saved runs")
    runs.add_argument("--json", action="store_true")
    runs.add_argument("--runs-dir")

    bench = commands.add_parser("bench", help="measure accuracy and speed of each model on the built-in data")
    bench.add_argument("--seeds", default="42,1,2", help="split seeds, comma-separated")
    bench.add_argument("--models", default="dot_bias,dot,nn")
    bench.add_argument("--device", default="auto")
    bench.add_argument("--synthetic", type=int, metavar="N",
                       help="instead: training throughput on N MovieLens-25M-shaped synthetic ratings (e.g. 25000000): "
                            "the plain dense AdamW loop at batch 65536 vs the project's defaults for that size")
    bench.add_argument("--batch-size", type=int, help="--synthetic: the project's batch size (default: its choice)")
    bench.add_argument("--epochs", type=int, default=3, help="epochs for --synthetic")
    bench.add_argument("--variant", choices=("plain", "project", "both"), default="both",
                       help="--synthetic: which to run; one variant runs in this process (both: each in a child)")
    bench.add_argument("--json", action="store_true", help="print the results as one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"train": cmd_train, "neighbours": cmd_neighbours, "runs": cmd_runs, "bench": cmd_bench}[args.command](args)
    except CollabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingCancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted; nothing was saved", file=sys.stderr)
        return 130


# ---------------------------------------------------------------------- train
def _load_data(args):
    from .datasets import ColumnMap, load_dataset, load_table, load_train_valid
    from .ratings import random_split

    columns = ColumnMap(args.user_col, args.item_col, args.rating_col)
    if args.dataset and args.train_file:
        raise CollabError("give either --dataset or --train, not both")
    if args.valid_file and not args.train_file:
        raise CollabError("--valid needs --train")
    if args.train_file and args.valid_file:
        ratings, split = load_train_valid(args.train_file, args.valid_file, columns, rating_scale=args.rating_scale)
        if args.min_user_ratings or args.min_item_ratings:
            raise CollabError("the density filter applies to a single dataset; filter the files beforehand")
        return ratings, split
    if args.train_file:
        ratings = load_table(args.train_file, columns, rating_scale=args.rating_scale)
    else:
        ratings = load_dataset(args.dataset or "builtin")
    if args.min_user_ratings or args.min_item_ratings:
        ratings, report = ratings.filter_density(args.min_user_ratings, args.min_item_ratings)
        _log(args, f"density filter: {report.summary()}")
    return ratings, random_split(ratings, args.valid_frac, args.split_seed)


def _overrides_from_args(args) -> dict:
    """The hyperparameters given on the command line (the rest come from the defaults for the data's size)."""
    overrides = {name: getattr(args, name) for name in (
        "n_factors", "epochs", "lr", "batch_size", "weight_decay", "bias_weight_decay", "optimizer", "one_cycle",
        "seed", "device", "nn_dropout", "nn_item_factors") if getattr(args, name) is not None}
    if args.y_range is not None:
        overrides["y_range"] = tuple(args.y_range)
    if args.nn_layers is not None:
        try:
            overrides["nn_layers"] = tuple(int(w) for w in args.nn_layers.split(",") if w.strip())
        except ValueError:
            raise CollabError(f"--nn-layers must be comma-separated whole numbers, got {args.nn_layers!r}") from None
    return overrides


def _config_from_args(args, ratings):
    """The defaults chosen for the data's size, with the command line's settings on top; says which and why."""
    from .config import defaults_for

    chosen = defaults_for(args.model, n_ratings=ratings.n_ratings, n_users=ratings.n_users, n_items=ratings.n_items,
                          **_overrides_from_args(args))
    _log(args, f"defaults: {chosen.reason}")
    return chosen.config.validate()


def cmd_train(args) -> int:
    from .config import default_config
    from .runs import RunStore
    from .training import fit

    default_config(args.model, **_overrides_from_args(args)).validate()  # a typo fails before any data is read
    ratings, split = _load_data(args)
    store = RunStore(args.runs_dir)
    for note in ratings.notes:
        _log(args, f"note: {note}")
    _log(args, f"{ratings.name}: {ratings.n_users:,} users, {ratings.n_items:,} items, {ratings.n_ratings:,} ratings; "
               f"split {split.description}: {len(split.train):,} train / {len(split.valid):,} valid")
    config = _config_from_args(args, ratings)

    def report(progress):
        if progress.kind == "epoch":
            _log(args, f"epoch {progress.epoch}/{progress.epochs}  train_loss {progress.train_loss:.4f}  "
                       f"valid_rmse {progress.valid_rmse:.4f}  {progress.elapsed:.1f}s")

    trained = fit(ratings, split, config, callback=report)
    run_id = store.save(trained)
    m = trained.metrics
    _log(args, f"saved run {run_id} in {store.root}: rmse {m['rmse']:.4f} (bias baseline "
               f"{m['baseline_bias_rmse']:.4f}, global mean {m['baseline_global_mean_rmse']:.4f}) "
               f"in {m['fit_seconds']:.2f}s on {m['device']}")
    summary = {"run_id": run_id, "model": config.model, **{k: m[k] for k in (
        "rmse", "mse", "fit_seconds", "device", "baseline_bias_rmse", "baseline_global_mean_rmse", "n_train",
        "n_valid", "split")}, "runs_dir": str(store.root)}
    print(json.dumps(summary))
    return 0


def _log(args, message: str):
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- neighbours, runs
def cmd_neighbours(args) -> int:
    import numpy as np

    from .interpret import NeighbourIndex
    from .runs import RunStore

    trained = RunStore(args.runs_dir).load(args.run)
    query = trained.catalog.find_item(args.item)
    candidates = np.flatnonzero(trained.catalog.counts >= args.min_ratings)
    index = NeighbourIndex(trained.item_factors(), args.metric, candidates)
    start = time.perf_counter()
    found, distances = index.query_index(query, args.k)
    elapsed_ms = (time.perf_counter() - start) * 1000
    catalog = trained.catalog
    rows = [{"rank": r + 1, "item": str(catalog.vocab.ids[i]), "title": str(catalog.titles[i]),
             "distance": float(d), "count": int(catalog.counts[i])} for r, (i, d) in enumerate(zip(found, distances))]
    if args.json:
        print(json.dumps({"query": {"item": str(catalog.vocab.ids[query]), "title": str(catalog.titles[query])},
                          "metric": args.metric, "min_ratings": args.min_ratings, "k": len(rows), "query_ms": elapsed_ms, "neighbours": rows}))
    else:
        print(f"{len(rows)} nearest to {catalog.titles[query]} among {len(index):,} items with >= {args.min_ratings} "
              f"ratings ({args.metric}, exact KD-tree, {elapsed_ms:.2f} ms):")
        for row in rows:
            print(f"{row['rank']:>3}  {row['distance']:.4f}  {row['title']}  [id {row['item']}, {row['count']} ratings]")
    return 0


def cmd_runs(args) -> int:
    from .runs import RunStore

    infos = RunStore(args.runs_dir).list()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos]))
        return 0
    if not infos:
        print("no runs yet: train one with `python -m collab_core train`")
    for info in infos:
        if info.ok:
            m = info.metrics or {}
            rmse = f"{m['rmse']:.4f}" if m.get("rmse") is not None else "-"
            print(f"{info.run_id}  {info.model:<8}  rmse {rmse}  {info.dataset}  {info.created}")
        else:
            print(f"{info.run_id}  UNREADABLE: {info.reason}")
    return 0


def cmd_bench(args) -> int:
    from .bench import run_benchmark, run_throughput, throughput_variant

    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if args.synthetic and args.variant != "both":
        result = throughput_variant(args.synthetic, args.variant, device=args.device, epochs=args.epochs,
                                    batch_size=args.batch_size, log=log)
        result = {"runs": [result], "environment": result["environment"]}
    elif args.synthetic:
        result = run_throughput(args.synthetic, device=args.device, epochs=args.epochs, batch_size=args.batch_size,
                                log=log)
    else:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        models = [m.strip() for m in args.models.split(",") if m.strip()]
        result = run_benchmark(models, seeds, device=args.device, log=log)
    if args.json:
        print(json.dumps(result))
    else:
        from .bench import format_report
        print(format_report(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
