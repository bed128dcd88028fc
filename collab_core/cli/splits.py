"""The split options that `train` and `evaluate` share: --split random|stratified|time and --ratio (the seed is
each command's own --split-seed), and the Split they ask for (collab_core.data.ratings, collab_core.data.splits)."""
from __future__ import annotations

from collab_core.errors import CollabError


def add_split_arguments(group) -> None:
    group.add_argument("--split", choices=("random", "stratified", "time"), default=None,
                       help="random: --valid-frac of all ratings (default); stratified: each user's ratings, "
                            "--ratio of them for training (seeded); time: each user's latest 1 - --ratio held out")
    group.add_argument("--ratio", type=float, help="training share of the split (default 0.75 for stratified and "
                                                   "time; for random, 1 - --valid-frac)")


def split_from_args(args, ratings, valid_frac: float | None = None, default_valid_frac: float = 0.1):
    """The split asked for by --split, --ratio and --split-seed. `valid_frac`: an explicit --valid-frac (train's,
    for the random split only); `default_valid_frac`: the random split's share without --ratio or --valid-frac."""
    from collab_core.data.ratings import random_split
    from collab_core.data.splits import stratified_split, time_split

    kind = args.split or "random"
    if args.ratio is not None and valid_frac is not None:
        raise CollabError("give --ratio (training share) or --valid-frac (validation share), not both")
    if kind == "random":
        share = default_valid_frac if valid_frac is None else valid_frac
        share = share if args.ratio is None else 1 - args.ratio
        return random_split(ratings, share, args.split_seed)
    if valid_frac is not None:
        raise CollabError(f"--valid-frac is for the random split; the {kind} split takes --ratio (training share)")
    ratio = 0.75 if args.ratio is None else args.ratio
    return stratified_split(ratings, ratio, args.split_seed) if kind == "stratified" else time_split(ratings, ratio)
