"""A region of a 2D map and what sets the items inside it apart.

- membership: which points lie in a drawn box (`in_box`) or lasso (`in_polygon`, the even-odd rule, vectorised
  over points and edges); computed from the drawn geometry over every item a map covers, not only the points it
  drew;
- `describe_selection`: the selected items against all items shown: genre shares and their lift (genres with
  enough support only), the median and spread of year and rating count, mean rating and mean bias, with
  `.sentences()` in plain words.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MIN_GENRE_ITEMS = 3  # a genre is described only when this many selected items have it ...
MIN_GENRE_SHARE = 0.10  # ... and it covers this share of the selection
MIN_LIFT = 1.5  # a genre is "more common here" from this lift on; "rarer" below 1 / MIN_LIFT
MAX_GENRES = 3  # the most genres a description names
MIN_BIAS_GAP = 0.05  # a mean bias this far from all items' is "higher" or "lower" (biases are in rating points)


def in_box(x: np.ndarray, y: np.ndarray, xs, ys) -> np.ndarray:
    """(n,) bool: the points (x, y) inside the rectangle spanned by the corners xs = [x0, x1], ys = [y0, y1]
    (edges included, corners in any order). A NaN coordinate is never inside."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    (x0, x1), (y0, y1) = sorted(map(float, xs)), sorted(map(float, ys))
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def in_polygon(x: np.ndarray, y: np.ndarray, xs, ys) -> np.ndarray:
    """(n,) bool: the points (x, y) inside the polygon with vertices (xs[i], ys[i]), by the even-odd rule (a point
    is inside when a ray from it crosses the boundary an odd number of times). The polygon is closed from its last
    vertex back to its first whether or not the two are equal; fewer than three distinct vertices (or no area)
    enclose nothing."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    vx, vy = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    keep = np.isfinite(vx) & np.isfinite(vy)
    vx, vy = vx[keep], vy[keep]
    if len(np.unique(np.column_stack([vx, vy]), axis=0)) < 3:
        return np.zeros(x.shape, dtype=bool)
    inside = np.zeros(x.shape, dtype=bool)
    # one edge at a time, each over every point: memory stays (n,) for a lasso of many vertices over 59,047 items
    for ax, ay, bx, by in zip(vx, vy, np.roll(vx, -1), np.roll(vy, -1)):  # the last edge closes the polygon
        straddles = (ay > y) != (by > y)  # the edge crosses the horizontal line through the point
        if ay == by or not straddles.any():
            continue
        cross_x = ax + (y - ay) * (bx - ax) / (by - ay)  # where it crosses that line
        inside ^= straddles & (x < cross_x)  # a crossing to the point's right flips inside and outside
    return inside & np.isfinite(x) & np.isfinite(y)


def members(x: np.ndarray, y: np.ndarray, boxes=(), lassos=()) -> np.ndarray:
    """(n,) bool: the points inside any of the boxes or lassos, each a dict with "x" and "y" lists (the shape of
    Plotly's selection event, as Streamlit passes it on)."""
    inside = np.zeros(np.shape(x), dtype=bool)
    for box in boxes:
        corners = [*box.get("x", ()), *box.get("y", ())]
        if len(corners) == 4 and all(_finite(c) for c in corners):  # a malformed box encloses nothing
            inside |= in_box(x, y, box["x"], box["y"])
    for lasso in lassos:
        inside |= in_polygon(x, y, lasso.get("x", ()), lasso.get("y", ()))
    return inside


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------- what sets a selection apart
@dataclass(frozen=True)
class Spread:
    """The median and interquartile range of one column, in the selection and in all items shown."""

    median: float
    q1: float
    q3: float
    all_median: float
    all_q1: float
    all_q3: float


@dataclass(frozen=True)
class GenreShare:
    genre: str
    share: float  # of the selection
    all_share: float  # of all items shown
    lift: float  # share / all_share


@dataclass(frozen=True)
class SelectionSummary:
    """The selected items against all items shown (see describe_selection)."""

    count: int
    total: int  # items shown
    genres: list[GenreShare] = field(default_factory=list)  # the supported ones, most lifted first
    year: Spread | None = None
    ratings: Spread | None = None  # rating counts
    mean_rating: tuple[float, float] | None = None  # (selection, all)
    mean_bias: tuple[float, float] | None = None  # (selection, all)

    def sentences(self, noun: str = "items") -> list[str]:
        """The summary in plain words, most telling first; data values (genre names) are left as the data gives
        them: the caller escapes them for its sink."""
        if self.count == 0:
            return []
        said = [f"{self.count} of the {self.total} {noun} shown."]
        over = [g for g in self.genres if g.lift >= MIN_LIFT]
        under = [g for g in self.genres if g.lift <= 1 / MIN_LIFT]
        for g in over[:MAX_GENRES]:
            said.append(f"{'Mostly' if g.share >= 0.5 else 'Often'} {g.genre}: {g.share:.0%} of these vs "
                        f"{g.all_share:.0%} of all shown ({g.lift:.1f}x).")
        for g in under[:1]:
            said.append(f"Less {g.genre} than usual: {g.share:.0%} of these vs {g.all_share:.0%}.")
        if self.year is not None:
            y = self.year
            if abs(y.median - y.all_median) >= max(3.0, (y.all_q3 - y.all_q1) / 2):
                when = "Older" if y.median < y.all_median else "Newer"
                said.append(f"{when}: median year {y.median:.0f} (middle half {y.q1:.0f} to {y.q3:.0f}) vs "
                            f"{y.all_median:.0f}.")
            else:
                said.append(f"From the usual years: median {y.median:.0f} vs {y.all_median:.0f}.")
        if self.ratings is not None:
            r = self.ratings
            if r.all_median > 0 and r.median <= r.all_median / 1.5:
                said.append(f"Rated less often: median {r.median:.0f} ratings vs {r.all_median:.0f}.")
            elif r.median >= max(r.all_median * 1.5, 1):
                said.append(f"Rated more often: median {r.median:.0f} ratings vs {r.all_median:.0f}.")
            else:
                said.append(f"Rated about as often as the rest: median {r.median:.0f} ratings vs "
                            f"{r.all_median:.0f}.")
        if self.mean_rating is not None:
            mine, every = self.mean_rating
            word = "Rated higher" if mine - every >= 0.15 else "Rated lower" if every - mine >= 0.15 else \
                "Rated about the same"
            said.append(f"{word}: mean rating {mine:.2f} vs {every:.2f}.")
        if self.mean_bias is not None:
            mine, every = self.mean_bias
            word = "higher" if mine - every >= MIN_BIAS_GAP else "lower" if every - mine >= MIN_BIAS_GAP else \
                "about the same"
            said.append(f"Learned bias {word} on average: {mine:+.3f} vs {every:+.3f}.")
        return said


def _spread(values: pd.Series, selected: np.ndarray) -> Spread | None:
    values = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    mine, every = values[selected], values
    mine, every = mine[np.isfinite(mine)], every[np.isfinite(every)]
    if len(mine) == 0 or len(every) == 0:
        return None
    q = np.quantile(mine, [0.5, 0.25, 0.75])
    a = np.quantile(every, [0.5, 0.25, 0.75])
    return Spread(*map(float, q), *map(float, a))


def _means(values: pd.Series, selected: np.ndarray) -> tuple[float, float] | None:
    values = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    mine, every = values[selected], values
    if not np.isfinite(mine).any():
        return None
    return float(np.nanmean(mine)), float(np.nanmean(every))


def genre_sets(genres: pd.Series) -> list[set[str]]:
    """Each row's genres: a list, or a ", "- or "|"-joined string ('' and "(no genres listed)" are none)."""
    out = []
    for value in genres:
        items = value if isinstance(value, (list, tuple, set)) else str(value).replace("|", ",").split(",")
        out.append({g.strip() for g in items if g and g.strip() and g.strip() != "(no genres listed)"})
    return out


def describe_selection(items: pd.DataFrame, selected) -> SelectionSummary:
    """`items`: all items shown, with any of the columns genres, year, count, mean_rating, bias; `selected`: (n,)
    bool mask of the selection among them."""
    selected = np.asarray(selected, dtype=bool)
    if selected.shape != (len(items),):
        raise ValueError(f"the mask has shape {selected.shape}, the table {len(items)} rows")
    n, total = int(selected.sum()), len(items)
    if n == 0:
        return SelectionSummary(0, total)
    genres = []
    if "genres" in items:
        sets = genre_sets(items["genres"])
        names = sorted(set().union(*sets)) if sets else []
        for name in names:
            has = np.fromiter((name in s for s in sets), dtype=bool, count=total)
            here, everywhere = int(has[selected].sum()), int(has.sum())
            share, all_share = here / n, everywhere / total
            lift = share / all_share if all_share else 0.0
            supported = here >= min(MIN_GENRE_ITEMS, n) and share >= MIN_GENRE_SHARE
            rare_here = all_share >= MIN_GENRE_SHARE and n >= 2 * MIN_GENRE_ITEMS and lift <= 1 / MIN_LIFT
            if supported or rare_here:
                genres.append(GenreShare(name, share, all_share, lift))
        genres.sort(key=lambda g: (-g.lift, -g.share, g.genre))
    return SelectionSummary(
        count=n, total=total, genres=genres,
        year=_spread(items["year"], selected) if "year" in items else None,
        ratings=_spread(items["count"], selected) if "count" in items and items["count"].gt(0).any() else None,
        mean_rating=_means(items["mean_rating"], selected) if "mean_rating" in items else None,
        mean_bias=_means(items["bias"], selected) if "bias" in items else None)
