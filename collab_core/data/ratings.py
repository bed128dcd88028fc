"""The Ratings model: explicit ratings with contiguous user/item indices and the raw ids behind them.

A `Ratings` holds three parallel arrays (user index, item index, rating) plus the vocabularies that map
indices back to raw ids, item metadata (title, year, genres) and optional user demographics. Raw ids are
kept as strings so that ids read from any file compare equal (`50` and `"50"` are the same item).
Indices are dense (0..n-1) because an embedding lookup is a one-hot vector times a matrix, done as an
index: every index must name a row of the embedding matrix.

Also here: the density filter (drop users/items with too few ratings until nothing changes) and the
train/validation split (the per-user splits are in collab_core.data.splits).

A `timestamp` per rating is optional: only readers that have one and keep it (the built-in MovieLens 100K, a
frame with a `timestamp` column) set it; the time split needs it and says so when it is absent.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from collab_core.data.catalog import ItemCatalog, Vocab
from collab_core.errors import DataError

_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)\s*$")


def year_from_title(title: str) -> int | None:
    """'Toy Story (1995)' -> 1995; None when the title carries no year."""
    match = _YEAR_IN_TITLE.search(title or "")
    return int(match.group(1)) if match else None


def _factorize_ids(raw_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code into the distinct raw ids (as str), in order of first appearance.

    The column is hashed once, whatever its dtype (arrow strings from a file, a categorical from `subset`),
    and only the distinct values are turned into str: at 25M rows, converting and hashing every row's
    string several times (duplicates, vocabulary, lookup) was most of the load time. Values whose str()
    is equal (1 and '1') become one id, as `astype(str)` made them before.
    Returns (codes (n_rows,) int64, uniques (n_unique,) object array of str).
    """
    codes, uniques = pd.factorize(raw_ids, use_na_sentinel=False)
    as_text = np.array([str(u) for u in uniques], dtype=object)
    merged, as_text = pd.factorize(as_text)
    if len(as_text) < len(uniques):
        codes = merged[codes]
    return codes.astype(np.int64, copy=False), np.asarray(as_text, dtype=object)


def _sorted_vocab(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct raw ids in a stable order, and where each of `uniques` lands in it.

    Ids that are all ASCII digits sort numerically (so item 2 comes before item 10), others lexically.
    Numeric order is taken from the text (length without leading zeros, then the digits), so ids of any
    size sort right (2**64 does not fit an int64) and other scripts' digits ('٣', '²') count as text.
    Returns (vocab (n_unique,) object array of str, rank (n_unique,) int64 with vocab[rank[j]] == uniques[j]).
    """
    texts = pd.Series(uniques, dtype=object).astype(str)
    if len(texts) and texts.str.fullmatch(r"[0-9]+").all():
        significant = texts.str.lstrip("0")
        order = np.lexsort((texts.to_numpy(), significant.to_numpy(), significant.str.len().to_numpy()))
    else:
        order = np.argsort(texts.to_numpy(), kind="stable")
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    return uniques[order], rank


def _average_duplicates(user: np.ndarray, item: np.ndarray, rating: np.ndarray, n_items: int,
                        timestamp: np.ndarray | None = None):
    """Merge rows that repeat a (user, item) pair into one row holding their mean rating (and, with
    timestamps, the latest of their times: the merged rating is as recent as its last part).

    Rows keep the order of each pair's first appearance (as a pandas groupby with sort=False did).
    Returns (user, item, rating, timestamp, number of pairs that were repeated); the arrays unchanged when none is.
    """
    pairs = user * n_items + item
    if len(pairs) < 2 or (pairs[1:] > pairs[:-1]).all():  # sorted by user then item (as every MovieLens
        return user, item, rating, timestamp, 0  # release is): no pair can repeat, and hashing 25M keys is skipped
    group, firsts = pd.factorize(pairs)  # groups numbered in order of first appearance
    if len(firsts) == len(pairs):
        return user, item, rating, timestamp, 0
    counts = np.bincount(group)
    means = np.bincount(group, weights=rating.astype(np.float64)) / counts
    first_rows = np.flatnonzero(~pd.Series(group).duplicated().to_numpy())  # ascending = group order
    if timestamp is not None:
        latest = np.full(len(firsts), np.iinfo(np.int64).min, dtype=np.int64)  # (n_pairs,)
        np.maximum.at(latest, group, timestamp)
        timestamp = latest
    return user[first_rows], item[first_rows], means.astype(np.float32), timestamp, int((counts > 1).sum())


@dataclass(frozen=True)
class DensityReport:
    """What the density filter did: sizes and density before and after."""

    min_user_ratings: int
    min_item_ratings: int
    before: dict
    after: dict
    rounds: int  # passes until no user or item fell below its minimum

    def summary(self) -> str:
        b, a = self.before, self.after
        return (f"{b['ratings']:,} -> {a['ratings']:,} ratings, {b['users']:,} -> {a['users']:,} users, "
                f"{b['items']:,} -> {a['items']:,} items; density {b['density']:.2%} -> {a['density']:.2%} "
                f"({self.rounds} rounds)")


@dataclass(frozen=True, eq=False)
class Ratings:
    """Explicit ratings with dense indices. Row r: user `user_index[r]` gave item `item_index[r]` `rating[r]`."""

    user_index: np.ndarray  # (n_ratings,) int64 in [0, n_users)
    item_index: np.ndarray  # (n_ratings,) int64 in [0, n_items)
    rating: np.ndarray  # (n_ratings,) float32
    user_ids: np.ndarray  # (n_users,) str: raw id of each user index
    item_ids: np.ndarray  # (n_items,) str: raw id of each item index
    items: pd.DataFrame  # n_items rows, row i = item i: title (str), year (Int64), genres (list[str])
    users: pd.DataFrame | None = None  # n_users rows of demographics, row u = user u; None if unknown
    name: str = "ratings"  # where the ratings came from, for display
    notes: tuple[str, ...] = field(default=())  # what loading did to the data (duplicates merged, ...)
    timestamp: np.ndarray | None = None  # (n_ratings,) int64 seconds since 1970 when the source has them, else None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        item_meta: pd.DataFrame | None = None,
        user_meta: pd.DataFrame | None = None,
        name: str = "ratings",
        notes: Iterable[str] = (),
    ) -> Ratings:
        """Build from a frame with columns `user`, `item`, `rating` (ids as str, ratings numeric).

        `item_meta`: optional frame with column `item` (raw id) and any of `title`, `year`, `genres`.
        `user_meta`: optional frame with column `user` (raw id) and any other columns.
        A `timestamp` column (whole seconds) is kept when present and complete.
        Duplicate (user, item) pairs are averaged into one rating, and a note says how many.
        """
        notes = list(notes)
        if len(frame) == 0:
            raise DataError(f"{name}: no ratings (the table has no rows)")
        users, user_uniques = _factorize_ids(frame["user"])
        items, item_uniques = _factorize_ids(frame["item"])
        user_ids, user_rank = _sorted_vocab(user_uniques)
        item_ids, item_rank = _sorted_vocab(item_uniques)
        rating = frame["rating"].astype(np.float32).to_numpy()
        timestamp = _timestamps(frame, name)
        user_index, item_index, rating, timestamp, n_pairs = _average_duplicates(
            user_rank[users], item_rank[items], rating, len(item_ids), timestamp)
        if n_pairs:
            notes.append(f"{n_pairs:,} (user, item) pairs were rated more than once; their ratings were averaged")
        return cls(
            user_index=user_index,
            item_index=item_index,
            rating=rating,
            user_ids=user_ids,
            item_ids=item_ids,
            items=_align_item_meta(item_ids, item_meta),
            users=_align_user_meta(user_ids, user_meta),
            name=name,
            notes=tuple(notes),
            timestamp=timestamp,
        )

    # ------------------------------------------------------------------ sizes and statistics
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_ratings(self) -> int:
        return len(self.rating)

    @property
    def density(self) -> float:
        """Fraction of the user x item matrix that holds a rating."""
        return self.n_ratings / max(1, self.n_users * self.n_items)

    def require_two_of_each(self, where: str = "") -> None:
        """Raise DataError unless there are 2+ users and 2+ items: collaborative filtering learns from users who
        share items, one user or one item teaches nothing. `where` (a file name) starts the message."""
        if self.n_users < 2 or self.n_items < 2:
            raise DataError(f"{where + ': ' if where else ''}{self.n_users} user(s) and {self.n_items} item(s); "
                            f"collaborative filtering needs at least 2 users and 2 items")

    def sizes(self) -> dict:
        return {"users": self.n_users, "items": self.n_items, "ratings": self.n_ratings, "density": self.density}

    @cached_property
    def item_counts(self) -> np.ndarray:
        """(n_items,) int64: ratings per item."""
        return np.bincount(self.item_index, minlength=self.n_items)

    @cached_property
    def user_counts(self) -> np.ndarray:
        """(n_users,) int64: ratings per user."""
        return np.bincount(self.user_index, minlength=self.n_users)

    @cached_property
    def item_means(self) -> np.ndarray:
        """(n_items,) float64: mean rating per item (NaN for an item without ratings)."""
        sums = np.bincount(self.item_index, weights=self.rating, minlength=self.n_items)
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums / self.item_counts

    @cached_property
    def user_means(self) -> np.ndarray:
        """(n_users,) float64: mean rating per user."""
        sums = np.bincount(self.user_index, weights=self.rating, minlength=self.n_users)
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums / self.user_counts

    @property
    def rating_range(self) -> tuple[float, float]:
        return float(self.rating.min()), float(self.rating.max())

    def suggested_y_range(self) -> tuple[float, float]:
        """The lesson's choice generalised: from min(0, lowest) to 10% above the highest; (0, 5.5) for 1-5 stars."""
        low, high = self.rating_range
        low = min(0.0, low)
        return (low, round(high + 0.1 * (high - low), 6))

    @property
    def titles(self) -> np.ndarray:
        """(n_items,) str: the title of each item index, as the data gives it (`catalog.display_titles` for showing)."""
        return self.items["title"].to_numpy()

    # ------------------------------------------------------------------ raw id <-> index, titles
    @cached_property
    def user_vocab(self) -> Vocab:
        return Vocab(self.user_ids, "user")

    @cached_property
    def catalog(self) -> ItemCatalog:
        """Items with metadata, counts and means: title search and raw id lookup."""
        return ItemCatalog(Vocab(self.item_ids, "item"), self.items, self.item_counts, self.item_means)

    def knows_item(self, raw_id) -> bool:
        return self.catalog.vocab.knows(raw_id)

    def knows_user(self, raw_id) -> bool:
        return self.user_vocab.knows(raw_id)

    def item_to_index(self, raw_ids):
        """Raw item id(s) -> index(es). Unknown ids raise UnknownIdError naming them."""
        return self.catalog.vocab.to_index(raw_ids)

    def user_to_index(self, raw_ids):
        """Raw user id(s) -> index(es). Unknown ids raise UnknownIdError naming them."""
        return self.user_vocab.to_index(raw_ids)

    def find_item(self, query) -> int:
        """Item index for a raw id, an exact title or an unambiguous part of one (see ItemCatalog.find_item)."""
        return self.catalog.find_item(query)

    # ------------------------------------------------------------------ subsets and filters
    def subset(self, rows: np.ndarray, name: str | None = None) -> Ratings:
        """A new Ratings with only the given rows (bool mask or row indices), re-indexed densely."""
        rows = np.asarray(rows)
        frame = pd.DataFrame({  # categoricals: from_frame re-codes them without touching 25M strings
            "user": pd.Categorical.from_codes(self.user_index[rows], categories=self.user_ids),
            "item": pd.Categorical.from_codes(self.item_index[rows], categories=self.item_ids),
            "rating": self.rating[rows],
        })
        if self.timestamp is not None:
            frame["timestamp"] = self.timestamp[rows]
        item_meta = self.items.assign(item=self.item_ids)
        user_meta = None if self.users is None else self.users.assign(user=self.user_ids)
        return Ratings.from_frame(frame, item_meta, user_meta, name=name or self.name, notes=self.notes)

    def filter_density(self, min_user_ratings: int = 0, min_item_ratings: int = 0) -> tuple[Ratings, DensityReport]:
        """Drop users and items with fewer ratings than the minimums, repeating until stable.

        Dropping items lowers some users' counts (and vice versa), so one pass is not enough.
        """
        if min_user_ratings < 0 or min_item_ratings < 0:
            raise DataError(f"minimum ratings must be >= 0, got user {min_user_ratings}, item {min_item_ratings}")
        keep = np.ones(self.n_ratings, dtype=bool)
        rounds = 0
        while True:
            rounds += 1
            user_counts = np.bincount(self.user_index[keep], minlength=self.n_users)
            item_counts = np.bincount(self.item_index[keep], minlength=self.n_items)
            new_keep = keep & (user_counts[self.user_index] >= min_user_ratings) & (
                item_counts[self.item_index] >= min_item_ratings)
            if new_keep.sum() == keep.sum():
                break
            keep = new_keep
        if not keep.any():
            raise DataError(
                f"the density filter (min {min_user_ratings} ratings per user, {min_item_ratings} per item) "
                f"leaves no ratings; lower the minimums")
        filtered = self if keep.all() else self.subset(keep)
        report = DensityReport(min_user_ratings, min_item_ratings, self.sizes(), filtered.sizes(), rounds)
        return filtered, report

    def to_frame(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Rows as a readable frame: user, item (raw ids), rating, title."""
        rows = slice(None) if rows is None else rows
        items = self.item_index[rows]
        return pd.DataFrame({
            "user": self.user_ids[self.user_index[rows]],
            "item": self.item_ids[items],
            "rating": self.rating[rows],
            "title": self.titles[items],
        })


def _timestamps(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    """(n_rows,) int64 from the frame's `timestamp` column, or None when it has none. A column with a gap or
    a value that is not a whole number is refused rather than half-kept: a time split on partial times
    would silently put the undated ratings first."""
    if "timestamp" not in frame.columns:
        return None
    values = pd.to_numeric(frame["timestamp"], errors="coerce")
    whole = values.notna() & (values == values.round())
    if not whole.all():
        row = int(np.flatnonzero(~whole.to_numpy())[0])
        raise DataError(f"{name}: timestamp of row {row + 1} is {frame['timestamp'].iloc[row]!r}, not a whole "
                        f"number of seconds")
    return values.to_numpy().astype(np.int64)


def _align_item_meta(item_ids: np.ndarray, meta: pd.DataFrame | None) -> pd.DataFrame:
    """One metadata row per item index: title, year, genres. Missing titles become 'Item <id>'."""
    out = pd.DataFrame(index=pd.RangeIndex(len(item_ids)))
    if meta is not None and "item" in meta.columns:
        meta = meta.assign(item=meta["item"].astype(str)).drop_duplicates("item").set_index("item")
        meta = meta.reindex(item_ids)
        meta.index = out.index
    else:
        meta = pd.DataFrame(index=out.index)
    titles = meta["title"] if "title" in meta.columns else pd.Series(np.nan, index=out.index, dtype=object)
    fallback = pd.Series([f"Item {i}" for i in item_ids], index=out.index)
    titles = titles.where(titles.notna() & (titles.astype(str).str.strip() != ""), fallback).astype(str)
    out["title"] = titles
    if "year" in meta.columns:
        years = pd.to_numeric(meta["year"], errors="coerce")
    else:
        years = pd.Series([year_from_title(t) for t in titles], index=out.index, dtype="float64")
    out["year"] = years.round().astype("Int64")
    if "genres" in meta.columns:
        out["genres"] = [list(g) if isinstance(g, (list, tuple, np.ndarray)) else [] for g in meta["genres"]]
    else:
        out["genres"] = [[] for _ in range(len(out))]
    return out


def _align_user_meta(user_ids: np.ndarray, meta: pd.DataFrame | None) -> pd.DataFrame | None:
    if meta is None or "user" not in meta.columns:
        return None
    meta = meta.assign(user=meta["user"].astype(str)).drop_duplicates("user").set_index("user")
    meta = meta.reindex(user_ids).reset_index(drop=True)
    return meta


# ---------------------------------------------------------------------- splits
@dataclass(frozen=True)
class Split:
    """Which rows of a Ratings train the model and which validate it."""

    train: np.ndarray  # (n_train,) int64 row indices
    valid: np.ndarray  # (n_valid,) int64 row indices
    description: str  # e.g. "random 10% (seed 42)"


def random_split(ratings: Ratings, valid_frac: float = 0.1, seed: int = 42) -> Split:
    """Seeded random split: `valid_frac` of the rows for validation."""
    if not 0.0 < valid_frac < 1.0:
        raise DataError(f"validation fraction must be between 0 and 1 (exclusive), got {valid_frac}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise DataError(f"the split seed must be a whole number from 0 to 2**63-1, got {seed!r}")
    n_valid = int(round(ratings.n_ratings * valid_frac))
    if n_valid < 1 or ratings.n_ratings - n_valid < 1:
        raise DataError(f"{ratings.n_ratings} ratings are too few to split {valid_frac:.0%} off for validation; "
                        f"need at least {int(np.ceil(1 / min(valid_frac, 1 - valid_frac)))}")
    order = np.random.default_rng(seed).permutation(ratings.n_ratings)
    return Split(np.sort(order[n_valid:]), np.sort(order[:n_valid]), f"random {valid_frac:.0%} (seed {seed})")


def with_validation_frame(train: pd.DataFrame, valid: pd.DataFrame, item_meta=None, user_meta=None,
                          name: str = "ratings") -> tuple[Ratings, Split]:
    """An explicit validation set. Frames have columns user, item, rating.

    Validation rows whose user or item never appears in training cannot be scored by an embedding model
    (cold start), and a pair rated in both files would leak; both kinds are dropped from validation with
    a note saying how many.
    """
    train = train.astype({"user": str, "item": str})
    valid = valid.astype({"user": str, "item": str})
    notes = []
    known = valid["user"].isin(set(train["user"])) & valid["item"].isin(set(train["item"]))
    if (~known).any():
        notes.append(f"{int((~known).sum()):,} validation ratings name a user or item absent from training "
                     f"(cold start) and were left out")
    train_pairs = pd.MultiIndex.from_frame(train[["user", "item"]])
    leaked = pd.MultiIndex.from_frame(valid[["user", "item"]]).isin(train_pairs) & known.to_numpy()
    if leaked.any():
        notes.append(f"{int(leaked.sum()):,} validation ratings repeat a (user, item) pair of the training file "
                     f"and were left out")
    valid = valid[known.to_numpy() & ~leaked]
    if len(valid) == 0:
        raise DataError("no usable validation rating: each names a user or item absent from training "
                        "or repeats a training pair")
    ratings = Ratings.from_frame(pd.concat([train, valid], ignore_index=True), item_meta, user_meta,
                                 name=name, notes=notes)
    # The two sets share no pair, so membership of (user, item) in the validation file marks its rows.
    rows = pd.MultiIndex.from_arrays([ratings.user_ids[ratings.user_index], ratings.item_ids[ratings.item_index]])
    is_valid = rows.isin(pd.MultiIndex.from_frame(valid[["user", "item"]]))
    split = Split(np.flatnonzero(~is_valid), np.flatnonzero(is_valid),
                  f"explicit validation set ({int(is_valid.sum()):,} ratings)")
    return ratings, split
