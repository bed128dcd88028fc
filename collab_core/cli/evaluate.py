"""`python -m collab_core evaluate --run ID [-k 10] [--split random|stratified|time] [--ratio R] [--seed S]
[--threshold R] [--json]`: the run's top-k ranking metrics beside the most-popular and random baselines on the
same split (collab_core.analysis.ranking).

The data is the run's own, loaded again (`--dataset`, default the built-in MovieLens 100K, with the density
filter the run was trained after, if any). Without --split, the run is judged on its own held-out ratings (its
split rebuilt from the description it stores). With a --split that is not the run's, the run may have trained on
some of the held-out items: it is said on stderr and in the JSON, since the run's numbers are then optimistic
(the baselines are fitted on the split's training part, so theirs are not).
"""
from __future__ import annotations

import json
import sys

from collab_core.errors import CollabError

_COLUMNS = (("precision", "P@k"), ("recall", "R@k"), ("ndcg", "nDCG@k"), ("map", "MAP@k"), ("hit_rate", "hit"),
            ("mrr", "MRR"), ("coverage", "cover"), ("mean_popularity", "pop"), ("gini", "Gini"),
            ("novelty", "novelty"))


def add_evaluate_parser(commands) -> None:
    """Add `evaluate` to the top-level subcommands."""
    evaluate = commands.add_parser("evaluate", help="top-k ranking metrics of a run beside the most-popular and "
                                                    "random baselines")
    evaluate.add_argument("--run", required=True, help="run id (see `runs`)")
    evaluate.add_argument("-k", type=int, default=10, help="length of each user's list (default 10)")
    evaluate.add_argument("--split", choices=("random", "stratified", "time"),
                          help="default: the run's own split; random: 1 - --ratio of all ratings held out; "
                               "stratified: each user's ratings, --ratio of them for training (seeded); time: each "
                               "user's latest 1 - --ratio held out")
    evaluate.add_argument("--ratio", type=float, help="training share of --split (default 0.75; random: 0.9)")
    evaluate.add_argument("--seed", "--split-seed", dest="split_seed", type=int, default=42,
                          help="seed of a random or stratified --split (default 42)")
    evaluate.add_argument("--threshold", type=float,
                          help="only held-out ratings >= this are relevant (default: every held-out item)")
    evaluate.add_argument("--dataset", help="the run's data: 'builtin' (default), a MovieLens folder or a ratings "
                                            "file")
    evaluate.add_argument("--min-user-ratings", type=int, default=0, help="the density filter the run was trained "
                                                                          "after: min ratings per user")
    evaluate.add_argument("--min-item-ratings", type=int, default=0, help="... and per item")
    evaluate.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    evaluate.add_argument("--runs-dir")


def cmd_evaluate(args) -> int:
    from collab_core.analysis.ranking import evaluate_baselines, evaluate_run, run_scorer
    from collab_core.data.datasets import load_dataset
    from collab_core.runs.store import RunStore

    trained = RunStore(args.runs_dir).load(args.run)
    run_scorer(trained)  # a run that cannot rank (vectors without users) fails before its data is read
    ratings = load_dataset(args.dataset or "builtin")
    if args.min_user_ratings or args.min_item_ratings:
        ratings, _ = ratings.filter_density(args.min_user_ratings, args.min_item_ratings)
    split, warning = _split_for(args, trained, ratings)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    reports = [evaluate_run(trained, ratings, split, args.k, args.threshold)]
    reports += evaluate_baselines(ratings, split, args.k, args.threshold).values()
    if args.json:
        print(json.dumps({"run": args.run, "split": split.description, "k": args.k, "threshold": args.threshold,
                          "own_split": warning is None, "warning": warning,
                          "results": [report.to_json() for report in reports]}))
        return 0
    print(_table(args.run, reports))
    return 0


def _split_for(args, trained, ratings):
    """(the split to evaluate on, a warning or None): the run's own split by default, else the one asked for,
    with a warning when that is not the run's."""
    from collab_core.analysis.diagnostics import check_trained_on, reproduce_split
    from collab_core.cli.splits import split_from_args
    from collab_core.errors import DataError

    check_trained_on(trained, ratings)
    own = str(trained.metrics.get("split") or "")
    if args.split is None:
        if args.ratio is not None:
            raise CollabError("--ratio applies to a --split; without one the run's own split is used")
        try:
            return reproduce_split(trained, ratings), None
        except DataError as exc:
            raise CollabError(f"{exc}; give --split (the run may then have trained on held-out items, and its "
                              f"numbers will be optimistic)") from None
    split = split_from_args(args, ratings)
    if split.description == own and len(split.valid) == trained.metrics.get("n_valid"):
        return split, None
    return split, (f"the run was trained with the split '{own or 'not recorded'}', not '{split.description}': some "
                   f"held-out items may have been in its training, so its numbers are optimistic")


def _table(run_id: str, reports) -> str:
    first = reports[0]
    relevant = "every held-out item" if first.threshold is None else f"held-out ratings >= {first.threshold:g}"
    lines = [f"run {run_id}, split {first.split}, k = {first.k}, {first.n_users:,} users, relevant: {relevant}",
             f"{'':<14}" + "".join(f"{title:>9}" for _, title in _COLUMNS) + f"{'seconds':>9}"]
    for report in reports:
        values = report.metrics()
        cells = "".join(f"{values[name]:>9.1f}" if name == "mean_popularity" else f"{values[name]:>9.4f}"
                        for name, _ in _COLUMNS)
        lines.append(f"{report.model:<14}{cells}{report.seconds:>9.3f}")
    lines.append("pop: mean training count of the recommended items "
                 f"(held-out items: {first.heldout_popularity:.1f}); novelty: mean -log2 of the share of training "
                 f"users who rated them")
    return "\n".join(lines)
