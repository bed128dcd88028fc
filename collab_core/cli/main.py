"""The command line: `python -m collab_core train | neighbours | runs | bench | recommend | compare | evaluate |
data | import-embeddings | export`.

Bad input ends with exit status 2 and one line on stderr naming the problem, never a traceback, and
writes no run. Progress goes to stderr; `train` and `import-embeddings` print one JSON object as the LAST line
of stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from collab_core.errors import CollabError, TrainingCancelled


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m collab_core", description="Train and explore collaborative-filtering embeddings.")
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
    data.add_argument("--valid-frac", type=float, help="validation fraction of the random split (default 0.1, or the "
                                                       "preset's)")
    data.add_argument("--split-seed", type=int, default=42, help="seed of the random or stratified split (--seed "
                                                                 "is the model's)")
    from collab_core.cli.splits import add_split_arguments
    add_split_arguments(data)
    data.add_argument("--min-user-ratings", type=int, default=0, help="density filter: min ratings per user")
    data.add_argument("--min-item-ratings", type=int, default=0, help="density filter: min ratings per item")
    hyper = train.add_argument_group("hyperparameters (default: the measured defaults of --model for the size of "
                                     "the data; train prints which and why)")
    hyper.add_argument("--preset", help="start from a named preset: 'lesson' (fast.ai lesson 5); explicit flags "
                                        "override it")
    hyper.add_argument("--model", help="dot | dot_bias | nn (default dot_bias)")
    hyper.add_argument("--objective", choices=("rating", "ranking"),
                       help="rating (default: predict the ratings) | ranking (learn which items each user rated, "
                            "for recommending; dot_bias and dot; scored by nDCG@10, no RMSE)")
    hyper.add_argument("--factors", dest="n_factors", type=int)
    hyper.add_argument("--y-range", nargs=2, type=float, metavar=("LOW", "HIGH"))
    hyper.add_argument("--epochs", type=int)
    hyper.add_argument("--lr", type=float)
    hyper.add_argument("--batch-size", type=int)
    hyper.add_argument("--wd", dest="weight_decay", type=float, help="weight decay on the factors")
    hyper.add_argument("--bias-wd", dest="bias_weight_decay", type=float, help="weight decay on biases/MLP layers")
    hyper.add_argument("--optimizer", help="adamw | lazy_adamw | adam | sgd")
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
    neighbours.add_argument("--min-ratings", type=int,
                            help="answer among items with at least this many ratings (default 20, or 0 for an "
                                 "imported run without counts; 0 for all)")
    neighbours.add_argument("--json", action="store_true")
    neighbours.add_argument("--runs-dir")

    runs = commands.add_parser("runs", help="list saved runs")
    runs.add_argument("--json", action="store_true")
    runs.add_argument("--runs-dir")

    bench = commands.add_parser("bench", help="measure accuracy and speed of each model on the built-in data")
    bench.add_argument("--seeds", default="42,1,2", help="split seeds, comma-separated")
    bench.add_argument("--models", help="comma-separated (default: dot_bias,dot,nn; dot_bias for --small-data)")
    bench.add_argument("--device", default="auto")
    bench.add_argument("--synthetic", type=int, metavar="N",
                       help="instead: training throughput on N MovieLens-25M-shaped synthetic ratings (e.g. 25000000): "
                            "the plain dense AdamW loop at batch 65536 vs the project's defaults for that size")
    bench.add_argument("--batch-size", type=int, help="--synthetic: the project's batch size (default: its choice)")
    bench.add_argument("--epochs", type=int, default=3, help="epochs for --synthetic")
    bench.add_argument("--optimizer", dest="bench_optimizer", help="--synthetic: the project's optimiser")
    bench.add_argument("--lr", dest="bench_lr", type=float, help="--synthetic: the project's lr")
    bench.add_argument("--variant", choices=("plain", "project", "both"), default="both",
                       help="--synthetic: which to run; one variant runs in this process (both: each in a child)")
    bench.add_argument("--json", action="store_true", help="print the results as one JSON object")
    bench.add_argument("--step-cost", action="store_true",
                       help="instead: ratings/s of one optimiser step, dense AdamW vs LazyAdamW, by batch size, on "
                            "ML-25M-shaped tables (--threads: torch threads)")
    bench.add_argument("--threads", type=int, help="--step-cost: torch threads (default: torch's)")
    bench.add_argument("--loading", action="store_true", help="instead: time the first parse and the cached reload "
                       "of a synthetic MovieLens folder of --n-ratings ratings in --layout")
    bench.add_argument("--n-ratings", type=int, default=25_000_095, help="ratings for --loading (ML-25M's count)")
    bench.add_argument("--layout", default="ml-25m", choices=("ml-25m", "ml-10m"),
                       help="for --loading: ml-25m (CSV) or ml-10m ('::' .dat)")
    bench.add_argument("--foldin", action="store_true",
                       help="instead: fold-in quality of the default dot_bias (held-out users, seed 42 10%% split)")
    bench.add_argument("--small-data", action="store_true",
                       help="instead: the settings for small uploads, on samples of MovieLens 100K of about 500, "
                            "5,000 and 20,000 ratings (dense blocks of active users and popular movies), against "
                            "the bias and global-mean baselines")
    bench.add_argument("--draws", type=int, help="--small-data: samples drawn of each size (default: 32 of 560 "
                                                 "ratings down to 4 of 40,000)")

    recommend = commands.add_parser("recommend", help="fold a new user into a run from their ratings; recommend")
    recommend.add_argument("--run", required=True, help="run id (see `runs`)")
    recommend.add_argument("--rate", action="append", default=[], metavar="ITEM=RATING",
                           help="e.g. 'Star Wars (1977)=5' or '50=4.5' (raw id); repeat for each rating")
    recommend.add_argument("-k", type=int, default=10, help="number of recommendations")
    recommend.add_argument("--min-ratings", type=int,
                           help="recommend among items with at least this many ratings (default: the 1,000 most rated)")
    recommend.add_argument("--json", action="store_true")
    recommend.add_argument("--runs-dir")

    compare = commands.add_parser("compare", help="compare two runs over the items they share (by raw id)")
    compare.add_argument("--run", dest="runs", action="append", default=[], metavar="ID",
                         help="give twice: --run A --run B")
    compare.add_argument("-k", type=int, default=10, help="nearest neighbours per item for the Jaccard overlap")
    compare.add_argument("--min-ratings", type=int, default=0,
                         help="compare only items with at least this many ratings in both runs (default 0: all)")
    compare.add_argument("--json", action="store_true")
    compare.add_argument("--runs-dir")
    from collab_core.cli.evaluate import add_evaluate_parser  # `evaluate`: collab_core/cli/evaluate.py
    add_evaluate_parser(commands)
    from collab_core.cli.data import add_data_parser  # `data fetch | list`: collab_core/cli/data.py
    add_data_parser(commands)
    _add_import_parser(commands)
    from collab_core.cli.export import add_export_parser  # `export`: collab_core/cli/export.py
    add_export_parser(commands)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2), like every other error of this CLI."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # usage errors and --help: a status to return, so main() can be called in-process
        return int(exc.code or 0)
    try:
        if args.command == "data":
            from collab_core.cli.data import cmd_data
            return cmd_data(args)
        if args.command == "evaluate":
            from collab_core.cli.evaluate import cmd_evaluate
            return cmd_evaluate(args)
        if args.command == "export":
            from collab_core.cli.export import cmd_export
            return cmd_export(args)
        return {"train": cmd_train, "neighbours": cmd_neighbours, "runs": cmd_runs, "bench": cmd_bench,
                "recommend": cmd_recommend, "compare": cmd_compare,
                "import-embeddings": cmd_import_embeddings}[args.command](args)
    except CollabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingCancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted; nothing was saved", file=sys.stderr)
        return 130
    except OSError as exc:  # a file-system problem no reader anticipated: still one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------------- train
def _load_data(args):
    from collab_core.data.datasets import ColumnMap, load_dataset, load_table, load_train_valid

    columns = ColumnMap(args.user_col, args.item_col, args.rating_col)
    if args.dataset and args.train_file:
        raise CollabError("give either --dataset or --train, not both")
    if args.valid_file and not args.train_file:
        raise CollabError("--valid needs --train")
    if args.train_file and args.valid_file:
        if args.split or args.ratio is not None:
            raise CollabError("--split and --ratio make a split of one dataset; --valid gives the split already")
        ratings, split = load_train_valid(args.train_file, args.valid_file, columns, rating_scale=args.rating_scale)
        if args.min_user_ratings or args.min_item_ratings:
            raise CollabError("the density filter applies to a single dataset; filter the files beforehand")
        return ratings, split
    if args.train_file:
        ratings = load_table(args.train_file, columns, rating_scale=args.rating_scale)
    elif args.rating_scale is not None:
        raise CollabError("--rating-scale applies to --train/--valid files (MovieLens sets have their own scale)")
    else:
        ratings = load_dataset(args.dataset or "builtin")
    if args.min_user_ratings or args.min_item_ratings:
        ratings, report = ratings.filter_density(args.min_user_ratings, args.min_item_ratings)
        _log(args, f"density filter: {report.summary()}")
    from collab_core.cli.splits import split_from_args

    return ratings, split_from_args(args, ratings, valid_frac=args.valid_frac, default_valid_frac=_valid_frac(args))


def _epoch_score(progress) -> str:
    """An epoch's validation score: RMSE, or nDCG@10 for a ranking run (either may be absent: no validation)."""
    if progress.valid_ndcg10 is not None:
        return f"valid_ndcg10 {progress.valid_ndcg10:.4f}"
    return f"valid_rmse {progress.valid_rmse:.4f}" if progress.valid_rmse is not None else "no validation"


def _run_score(m: dict) -> str:
    """A run's validation score beside its baselines, in words for the log."""
    if m.get("rmse") is not None:
        return (f"rmse {m['rmse']:.4f} (bias baseline {m['baseline_bias_rmse']:.4f}, global mean "
                f"{m['baseline_global_mean_rmse']:.4f})")
    if m.get("ndcg10") is not None:
        return f"nDCG@10 {m['ndcg10']:.4f} (most popular {m['baseline_popular_ndcg10']:.4f})"
    return "no validation score"


def _overrides_from_args(args) -> dict:
    """The hyperparameters given on the command line (the rest come from a preset or the defaults)."""
    from collab_core.model.config import parse_layers

    overrides = {name: getattr(args, name) for name in (
        "n_factors", "epochs", "lr", "batch_size", "weight_decay", "bias_weight_decay", "optimizer", "one_cycle",
        "seed", "device", "nn_dropout", "nn_item_factors", "objective") if getattr(args, name) is not None}
    if args.y_range is not None:
        overrides["y_range"] = tuple(args.y_range)
    if args.nn_layers is not None:
        overrides["nn_layers"] = parse_layers(args.nn_layers)
    return overrides


def _config_from_args(args, ratings=None):
    """The command line's settings on top of --preset, or of the defaults chosen for the data's size (logged
    with the reason). Without `ratings` (before any data is read), the defaults for MovieLens-100K-sized data:
    enough to fail early on a typo."""
    from collab_core.model.config import default_config, defaults_for_data

    overrides = _overrides_from_args(args)
    if args.preset:
        return _preset_config(args, overrides)
    model = args.model or "dot_bias"
    if ratings is None:
        return default_config(model, **overrides).validate()
    chosen = defaults_for_data(ratings, model, **overrides)
    _log(args, f"defaults: {chosen.reason}")
    return chosen.config.validate()


def cmd_train(args) -> int:
    import torch

    from collab_core import settings
    from collab_core.analysis.ranking import recorded_metrics
    from collab_core.model.training import fit
    from collab_core.model.verdict import baseline_verdict
    from collab_core.runs.store import RunStore

    # the server's thread count (1 by default): on 2 cores two intra-op threads are much slower when anything else
    # runs beside them (docs/performance.md, "Figures behind choices in the code")
    torch.set_num_threads(settings.get("COLLAB_TORCH_THREADS"))

    _config_from_args(args)  # settings first: a typo fails before any data is read
    store = RunStore(args.runs_dir)
    store.check_writable()  # and a runs folder that cannot take the result fails before any training
    ratings, split = _load_data(args)
    for note in ratings.notes:
        _log(args, f"note: {note}")
    _log(args, f"{ratings.name}: {ratings.n_users:,} users, {ratings.n_items:,} items, {ratings.n_ratings:,} ratings; "
               f"split {split.description}: {len(split.train):,} train / {len(split.valid):,} valid")
    config = _config_from_args(args, ratings)

    def report(progress):
        if progress.kind == "epoch":
            _log(args, f"epoch {progress.epoch}/{progress.epochs}  train_loss {progress.train_loss:.4f}  "
                       f"{_epoch_score(progress)}  {progress.elapsed:.1f}s")

    trained = fit(ratings, split, config, callback=report)
    trained.metrics.update(recorded_metrics(trained, ratings, split))  # nDCG@10, recall@10, coverage: the history's
    run_id = store.save(trained)
    m = trained.metrics
    _log(args, f"saved run {run_id} in {store.root}: {_run_score(m)} in {m['fit_seconds']:.2f}s on {m['device']}")
    if args.preset:
        _log_preset(args, m)
    verdict = baseline_verdict(m, config)
    if verdict is not None:  # with --quiet, the JSON line's "verdict" still says it
        _log(args, f"warning: {verdict.message}")
    ranked = ("objective", "baseline_popular_ndcg10") if config.objective == "ranking" else ()
    summary = {"run_id": run_id, "model": config.model, **{k: m.get(k) for k in (
        "rmse", "mse", "fit_seconds", "device", "baseline_bias_rmse", "baseline_global_mean_rmse", "n_train",
        "n_valid", "split", "ndcg10", "recall10", "coverage10", *ranked)},
        "verdict": verdict.short if verdict else None, "runs_dir": str(store.root)}
    print(json.dumps(summary))
    return 0


def _progress(message: str) -> None:
    """A benchmark's progress line, on stderr (its result goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def _log(args, message: str):
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- neighbours, runs
def cmd_neighbours(args) -> int:

    from collab_core.analysis.interpret import NeighbourIndex
    from collab_core.runs.store import RunStore

    trained = RunStore(args.runs_dir).load(args.run)
    args.min_ratings = _min_ratings(trained, args.min_ratings)
    query = trained.catalog.find_item(args.item)
    candidates = trained.catalog.with_min_ratings(args.min_ratings)
    index = NeighbourIndex(trained.item_factors(), args.metric, candidates)
    start = time.perf_counter()
    found, distances = index.query_index(query, args.k)
    elapsed_ms = (time.perf_counter() - start) * 1000
    catalog = trained.catalog
    rows = [{"rank": r + 1, "item": str(catalog.vocab.ids[i]), "title": str(catalog.titles[i]),
             "distance": float(d), "count": int(catalog.counts[i])} for r, (i, d) in enumerate(zip(found, distances))]
    if args.json:
        query_item = {"item": str(catalog.vocab.ids[query]), "title": str(catalog.titles[query])}
        print(json.dumps({"query": query_item, "metric": args.metric, "min_ratings": args.min_ratings, "k": len(rows),
                          "query_ms": elapsed_ms, "neighbours": rows}))
    else:
        print(f"{len(rows)} nearest to {catalog.titles[query]} among {len(index):,} items with >= {args.min_ratings} "
              f"ratings ({args.metric}, exact KD-tree, {elapsed_ms:.2f} ms):")
        for row in rows:
            print(f"{row['rank']:>3}  {row['distance']:.4f}  {row['title']}  "
                  f"[id {row['item']}, {row['count']} ratings]")
    return 0


def cmd_runs(args) -> int:
    from collab_core.model.verdict import baseline_verdict
    from collab_core.runs.store import RunStore

    infos = RunStore(args.runs_dir).list()
    verdicts = [baseline_verdict(info.metrics, info.config) if info.ok else None for info in infos]
    if args.json:
        print(json.dumps([{**info.__dict__, "verdict": v.short if v else None} for info, v in zip(infos, verdicts)]))
        return 0
    if not infos:
        print("no runs yet: train one with `python -m collab_core train`")
    for info, verdict in zip(infos, verdicts):
        if info.ok:
            m = info.metrics or {}
            rmse = f"{m['rmse']:.4f}" if m.get("rmse") is not None else "-"
            note = f"  ({verdict.short})" if verdict else ""
            print(f"{info.run_id}  {info.model:<8}  rmse {rmse}{note}  {info.dataset}  {info.created}")
        else:
            print(f"{info.run_id}  UNREADABLE: {info.reason}")
    return 0


def _check_bench_args(args) -> None:
    """Refuse, in one line, what a benchmark would only fail on after minutes (or silently replace)."""
    from collab_core.model.config import default_config

    for flag, value in (("--synthetic", args.synthetic), ("--threads", args.threads), ("--epochs", args.epochs),
                        ("--n-ratings", args.n_ratings), ("--draws", args.draws)):
        if value is not None and value < 1:
            raise CollabError(f"{flag} must be a whole number of at least 1, got {value}")
    from collab_core.model.kinds import MODEL_KINDS

    unknown = [m for m in (args.models or "").split(",") if m.strip() and m.strip() not in MODEL_KINDS]
    if unknown:
        raise CollabError(f"--models takes {', '.join(MODEL_KINDS)}; got {', '.join(map(repr, unknown))}")
    try:
        [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        raise CollabError(f"--seeds must be comma-separated whole numbers, e.g. 42,1,2; got {args.seeds!r}") from None
    if args.synthetic is not None:  # the settings both variants will train with, checked before either runs
        given = {"batch_size": args.batch_size, "optimizer": args.bench_optimizer, "lr": args.bench_lr}
        default_config("dot_bias", device=args.device, epochs=args.epochs,
                       **{k: v for k, v in given.items() if v is not None}).validate()


def cmd_bench(args) -> int:
    _check_bench_args(args)
    if args.loading:  # before importing .bench: timing file loading needs no torch
        from collab_core.bench.loading import format_loading_report, run_loading_benchmark
        result = run_loading_benchmark(args.n_ratings, args.layout, log=_progress)
        print(json.dumps(result) if args.json else format_loading_report(result))
        return 0
    from collab_core.bench.models import run_benchmark, run_throughput, throughput_variant

    if args.foldin:
        return _bench_foldin(args)
    if args.small_data:
        return _bench_small_data(args)
    log = _progress
    if args.step_cost:
        from collab_core.bench.steps import format_step_cost, run_step_cost
        result = run_step_cost(threads=args.threads, log=log)
        print(json.dumps(result) if args.json else format_step_cost(result))
        return 0
    if args.synthetic is not None and args.variant != "both":
        result = throughput_variant(args.synthetic, args.variant, device=args.device, epochs=args.epochs,
                                    batch_size=args.batch_size, optimizer=args.bench_optimizer, lr=args.bench_lr,
                                    log=log)
        result = {"runs": [result], "environment": result["environment"]}
    elif args.synthetic is not None:
        result = run_throughput(args.synthetic, device=args.device, epochs=args.epochs, batch_size=args.batch_size,
                                optimizer=args.bench_optimizer, lr=args.bench_lr,
                                log=log)
    else:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        models = _bench_models(args, "dot_bias,dot,nn")
        result = run_benchmark(models, seeds, device=args.device, log=log)
    if args.json:
        print(json.dumps(result))
    else:
        from collab_core.bench.models import format_report
        print(format_report(result))
    return 0


# ---------------------------------------------------------------------- presets, recommend, compare
def _valid_frac(args) -> float:
    """--valid-frac when given, else the preset's, else 0.1."""
    if args.valid_frac is not None:
        return args.valid_frac
    if args.preset:
        from collab_core.model.presets import get_preset
        return get_preset(args.preset).valid_frac
    return 0.1


def _preset_config(args, overrides: dict):
    """The preset's settings with every explicitly given flag (and --model) on top."""
    from dataclasses import replace

    from collab_core.model.presets import get_preset

    model = {"model": args.model} if args.model else {}
    return replace(get_preset(args.preset).config, **model, **overrides).validate()


def _log_preset(args, metrics: dict):
    from collab_core.model.presets import get_preset

    preset = get_preset(args.preset)
    if preset.reported_valid_mse is not None and metrics.get("mse") is not None:
        _log(args, f"preset {preset.name}: valid MSE {metrics['mse']:.4f} (reported: {preset.reported_valid_mse}, "
                   f"{preset.source})")


def cmd_recommend(args) -> int:
    from collab_core.analysis.foldin import fold_in
    from collab_core.analysis.foldin_explain import fitted_table, nearest_users, ranked_table, recommend
    from collab_core.analysis.foldin_inputs import parse_ratings
    from collab_core.runs.store import RunStore

    trained = RunStore(args.runs_dir).load(args.run)
    fold = fold_in(trained, parse_ratings(trained, args.rate))
    found = recommend(trained, fold, args.k, args.min_ratings)
    if trained.kind.ranking:  # scores, not ratings: where each rated item ranks instead of a fitted rating
        return _print_ranked_recommendations(args, trained, fold, found, ranked_table(trained, fold))
    fitted = fitted_table(trained, fold)
    if args.json:
        print(json.dumps({
            "run": args.run, "model": fold.model_kind, "method": fold.method, "ridge": fold.ridge,
            "solve_ms": fold.seconds * 1000, "user_bias": fold.bias,
            "recommendations": _recommendations_json(found),
            "fitted": [{"item": str(f.item), "title": str(f.title), "rating": float(f.rating),
                        "prediction": float(f.prediction)} for f in fitted.itertuples()],
            "nearest_users": [{"user": str(u.user), "similarity": float(u.similarity)}  # none: imported, no users
                              for u in nearest_users(trained, fold, 5).itertuples()] if trained.n_users else []}))
        return 0
    print(f"folded in from {fold.n_rated} rating(s) ({fold.method}, {fold.seconds * 1000:.1f} ms); fitted:")
    for f in fitted.itertuples():
        print(f"  {f.rating:>4g} -> {f.prediction:.2f}  {f.title}")
    print(f"{len(found)} recommendations (predicted rating; because you rated ...):")
    _print_recommendations(found)
    return 0


def _recommendations_json(found) -> list[dict]:
    return [{"item": str(r.item), "title": str(r.title), "score": float(r.score), "because": r.because}
            for r in found.itertuples()]


def _print_recommendations(found) -> None:
    for r in found.itertuples():
        because = "; ".join(b["title"] for b in r.because)
        print(f"{r.rank:>3}  {r.score:.2f}  {r.title}  [id {r.item}]  <- {because}")


def _print_ranked_recommendations(args, trained, fold, found, ranked) -> int:
    """`recommend` for a run trained for ranking: its scores are logits of a softmax over items, so it shows where
    each rated item ranks among all items for the folded-in vector, and the recommendations' scores."""
    from collab_core.analysis.foldin_explain import nearest_users

    if args.json:
        print(json.dumps({
            "run": args.run, "model": fold.model_kind, "method": fold.method, "ridge": fold.ridge,
            "solve_ms": fold.seconds * 1000, "user_bias": None,
            "recommendations": _recommendations_json(found),
            "ranked": [{"item": str(f.item), "title": str(f.title), "rank": int(f.rank), "score": float(f.score)}
                       for f in ranked.itertuples()],
            "nearest_users": [{"user": str(u.user), "similarity": float(u.similarity)}
                              for u in nearest_users(trained, fold, 5).itertuples()]}))
        return 0
    print(f"folded in from {fold.n_rated} rated item(s) ({fold.method}, {fold.seconds * 1000:.1f} ms; a ranking run: "
          f"which items, not the stars); where they rank among all {trained.n_items:,}:")
    for f in ranked.itertuples():
        print(f"  rank {f.rank:>5}  score {f.score:.2f}  {f.title}")
    print(f"{len(found)} recommendations (score; because you rated ...):")
    _print_recommendations(found)
    return 0


def cmd_compare(args) -> int:
    from collab_core.analysis.compare import compare_runs
    from collab_core.runs.store import RunStore

    if len(args.runs) != 2:
        raise CollabError(f"give exactly two runs, --run A --run B; got {len(args.runs)}")
    store = RunStore(args.runs_dir)
    result = compare_runs(store.load(args.runs[0]), store.load(args.runs[1]), args.k, args.min_ratings)
    summary = {"run_a": args.runs[0], "run_b": args.runs[1], **result.summary()}
    if args.json:
        summary["settings_differ"] = {row.setting: [row.a, row.b] for row in result.settings.itertuples()}
        summary["moved_most"] = result.moved_most(10)[["item", "title", "displacement"]].to_dict("records")
        summary["least_stable"] = result.least_stable(10)[["item", "title", "jaccard"]].to_dict("records")
        print(json.dumps(summary, default=str))
        return 0
    for key, value in summary.items():
        print(f"{key:<22} {value:.4f}" if isinstance(value, float) else f"{key:<22} {value}")
    for row in result.settings.itertuples():
        print(f"setting {row.setting}: {row.a!r} -> {row.b!r}")
    return 0


def _bench_models(args, default: str) -> list[str]:
    return [m.strip() for m in (args.models or default).split(",") if m.strip()]


def _bench_small_data(args) -> int:
    from collab_core.bench.small_data import format_small_data_report, run_small_data_benchmark

    result = run_small_data_benchmark(_bench_models(args, "dot_bias"), device=args.device, seeds=args.draws,
                                      log=_progress)
    print(json.dumps(result) if args.json else format_small_data_report(result))
    return 0


def _bench_foldin(args) -> int:
    from collab_core.bench.models import format_foldin_report, run_foldin_benchmark

    result = run_foldin_benchmark(device=args.device, log=_progress)
    print(json.dumps(result) if args.json else format_foldin_report(result))
    return 0


# ---------------------------------------------------------------------- import-embeddings
def _add_import_parser(commands) -> None:
    imp = commands.add_parser("import-embeddings", help="make item vectors trained elsewhere (and their metadata) "
                                                        "a run")
    imp.add_argument("--vectors", required=True, help="vectors.tsv (numbers only, no header), a .npy array, or a "
                                                     "CSV/Parquet table with one list column or columns f0, f1, ...")
    imp.add_argument("--metadata", help="CSV/TSV (or Parquet), one row per vector: id, title, and optionally genres, "
                                        "year, count, mean_rating, bias")
    imp.add_argument("--name", default="", help="a name for the run")
    imp.add_argument("--noun", help="what the items are, e.g. 'foods' or 'food / foods' (default: items)")
    imp.add_argument("--id-column", help="the metadata column of item ids (guessed when obvious)")
    imp.add_argument("--title-column", help="the metadata column of titles (guessed when obvious; may be the id)")
    imp.add_argument("--vector-column", help="the list column of vectors in a table (found when there is one)")
    imp.add_argument("--user-vectors", nargs="+", metavar="FILE",
                     help="user vectors (same formats), optionally followed by their metadata file: a user id "
                          "column and optionally a bias")
    imp.add_argument("--user-id-column", help="the user metadata column of user ids (guessed when obvious)")
    imp.add_argument("--max-mb", type=int, help="largest file accepted, in MB (default COLLAB_UPLOAD_LIMIT_MB); "
                                                "local files may be allowed to be larger than the server's uploads")
    imp.add_argument("--runs-dir", help="where runs are saved (default $COLLAB_RUNS_DIR or ./runs)")
    imp.add_argument("--quiet", action="store_true", help="no notes on stderr")


def cmd_import_embeddings(args) -> int:
    from collab_core.runs.importer import import_embeddings
    from collab_core.runs.schema import check_name
    from collab_core.runs.store import RunStore

    name = check_name(args.name)  # a bad name fails before any file is read
    user_files = list(args.user_vectors or [])
    if len(user_files) > 2:
        raise CollabError(f"--user-vectors takes a vectors file and optionally its metadata file; got "
                          f"{len(user_files)} files")
    if args.max_mb is not None and args.max_mb < 1:
        raise CollabError(f"--max-mb must be a whole number >= 1, got {args.max_mb}")
    store = RunStore(args.runs_dir)
    store.check_writable()
    trained, notes = import_embeddings(
        args.vectors, args.metadata, id_column=args.id_column, title_column=args.title_column,
        vector_column=args.vector_column, user_vectors=user_files[0] if user_files else None,
        user_metadata=user_files[1] if len(user_files) > 1 else None, user_id_column=args.user_id_column,
        max_bytes=None if args.max_mb is None else args.max_mb * 1024 * 1024,
        limit_hint="COLLAB_UPLOAD_LIMIT_MB, or --max-mb", item_noun=args.noun)
    for note in notes:
        _log(args, f"note: {note}")
    run_id = store.save(trained, name=name)
    dim = trained.source.dim
    _log(args, f"saved imported run {run_id} in {store.root}: {trained.n_items:,} items x {dim} dimensions"
               + (f", {trained.n_users:,} users" if trained.n_users else "")
               + (", item biases" if trained.has_bias else "") + (", counts" if trained.has_counts else ""))
    print(json.dumps({"run_id": run_id, "n_items": trained.n_items, "dim": dim, "n_users": trained.n_users,
                      "has_bias": trained.has_bias, "has_counts": trained.has_counts, "runs_dir": str(store.root)}))
    return 0


def _min_ratings(trained, asked: int | None) -> int:
    """--min-ratings as given, else 20; an imported run without rating counts can only answer among all items."""
    if trained.has_counts:
        return 20 if asked is None else asked
    if asked:
        raise CollabError(f"this imported run has no rating counts (its metadata had no count column), so "
                          f"--min-ratings {asked} would leave no items; use 0 or leave it out")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
