"""Region labels for a 2D map of items: the map's points clustered, and each cluster named by what sets it apart.

A map of 1,000 movies reads better with a few words on its regions ("Horror · Thriller — Scream, Halloween") than
with only point labels: the genres its members have far more often than the map's items as a whole (the *lift*:
a genre's share in the region over its share on the map), and the best-known titles among them (most rated).

The clusters are k-means on the map's own coordinates (what a person sees as a region), each axis scaled to unit
standard deviation first: the map is drawn with each axis filling the plot, so two axes of different units (a
custom axis against PC1) must weigh alike. Fixed seed: the same map gets the same regions, for everyone.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from threadpoolctl import ThreadpoolController

MAX_REGIONS = 8  # more labels than this do not fit a 640-px map (a projector's window) without covering each other
POINTS_PER_REGION = 100  # a map gets one region per this many points (at least 2)
MIN_REGION_POINTS = 10  # a map of fewer than twice this many points gets no regions: they would be noise
SEED = 0
SHORT_TITLE = 22  # characters of a title in a label
_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")


@dataclass(frozen=True)
class Region:
    """One cluster of a map's points."""

    number: int  # 0, 1, ...: largest region first
    members: np.ndarray  # (m,) int64 positions of its points in the arrays given to `find_regions`
    at: tuple[float, float]  # where its label goes: the member nearest the cluster's centre, so it sits on points
    genres: tuple[tuple[str, float, float], ...]  # (genre, share of the members, lift), most over-represented first
    titles: tuple[str, ...]  # the most rated members' titles, most rated first

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def genre_text(self) -> str:
        return " · ".join(g for g, _, _ in self.genres)

    @property
    def title_text(self) -> str:
        return ", ".join(short_title(t) for t in self.titles)

    @property
    def text(self) -> str:
        """A short label: "Horror · Thriller — Scream, Halloween" (the titles alone when no genre stands out)."""
        return " — ".join(part for part in (self.genre_text, self.title_text) if part)


def short_title(title: str, limit: int = SHORT_TITLE) -> str:
    """A title for a label: without a trailing "(1996)", cut to `limit` characters with an ellipsis."""
    text = _YEAR.sub("", str(title)) or str(title)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def default_count(n_points: int, most: int = MAX_REGIONS) -> int:
    """How many regions a map of `n_points` gets: one per POINTS_PER_REGION points, at least 2, at most `most` (a
    caller passes a smaller `most` for a small plot); 0 below 2 x MIN_REGION_POINTS, where regions would be noise."""
    if n_points < 2 * MIN_REGION_POINTS:
        return 0
    return int(max(1, min(most, max(2, n_points // POINTS_PER_REGION))))


def find_regions(coords: np.ndarray, genres: Sequence[Sequence[str]], counts: np.ndarray, titles: Sequence[str],
                 n_regions: int | None = None, seed: int = SEED, n_genres: int = 2, n_titles: int = 2,
                 min_share: float = 0.1, min_members: int = 3) -> list[Region]:
    """The regions of a 2D map, largest first.

    `coords`: (n, 2) the map's points; `genres`: n lists of genre names; `counts`: (n,) ratings per item (the
    best-known titles are the most rated); `titles`: n display titles. `n_regions`: default `default_count(n)`.
    A genre names a region when it is over-represented there (lift > 1) and at least `min_members` and a
    `min_share` of its members have it: a genre one member has is not what the region is about."""
    coords = np.asarray(coords, dtype=np.float64)  # (n, 2)
    n = len(coords)
    if n == 0:
        return []
    k = default_count(n) if n_regions is None else int(max(1, min(n_regions, n)))
    if k == 0:  # too few points for regions
        return []
    scaled = _scaled(coords)  # (n, 2)
    if n < 10 * k:  # k-means cannot find more clusters than distinct points (a tiny map may repeat one)
        k = min(k, len(np.unique(scaled, axis=0)))
    labels, centres = _cluster(scaled, k, seed)  # (n,), (k, 2)
    names, onehot = _genre_matrix(genres)  # (g,), (n, g)
    overall = onehot.mean(axis=0) if n else np.zeros(len(names))  # (g,) share of the map's items with each genre
    counts = np.asarray(counts, dtype=np.float64)  # (n,)
    sizes = np.bincount(labels, minlength=k)  # (k,)
    # largest first; a tie by the centre's x, so the numbering does not depend on k-means' own order
    order = sorted((c for c in range(k) if sizes[c]), key=lambda c: (-sizes[c], centres[c, 0], centres[c, 1]))
    regions = []
    for number, c in enumerate(order):
        members = np.flatnonzero(labels == c)  # (m,)
        anchor = members[np.argmin(((scaled[members] - centres[c]) ** 2).sum(axis=1))]
        share = onehot[members].mean(axis=0)  # (g,)
        best = np.argsort(-counts[members], kind="stable")[:n_titles]
        regions.append(Region(number, members, (float(coords[anchor, 0]), float(coords[anchor, 1])),
                              _standing_out(names, share, overall, len(members), n_genres, min_share, min_members),
                              tuple(str(titles[members[i]]) for i in best)))
    return regions


def _scaled(coords: np.ndarray) -> np.ndarray:
    """(n, 2) each axis centred and divided by its standard deviation (a constant axis left at 0)."""
    spread = coords.std(axis=0)  # (2,)
    return (coords - coords.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


@functools.cache
def _threadpool_controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspecting the loaded libraries is the slow part; limiting is then cheap


def _cluster(scaled: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n,) cluster of each point and (k, 2) the clusters' centres. One k-means++ start, on one OpenMP thread: on
    59,047 points that took ~0.1 s, where scikit-learn's default of a thread per core took 0.3 to 1.9 s on a
    2-core server whose cores other work shares (docs/performance.md, "Figures behind choices in the code")."""
    with _threadpool_controller().limit(limits=1):
        model = KMeans(n_clusters=k, random_state=seed, n_init=1)
        labels = model.fit_predict(scaled)
    return labels.astype(np.int64), model.cluster_centers_


def _genre_matrix(genres: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """The genre names in first-seen order and an (n, g) 0/1 matrix of which item has which."""
    each = pd.Series(list(genres), dtype=object).explode().dropna().astype(str)  # one row per (item, genre)
    each = each[each != ""]
    codes, names = pd.factorize(each)  # (rows,) genre number
    onehot = np.zeros((len(genres), len(names)), dtype=np.float64)  # (n, g)
    onehot[each.index.to_numpy(), codes] = 1.0
    return [str(name) for name in names], onehot


def _standing_out(names: list[str], share: np.ndarray, overall: np.ndarray, size: int, n_genres: int,
                  min_share: float, min_members: int) -> tuple[tuple[str, float, float], ...]:
    """(genre, share, lift) of the at most `n_genres` most over-represented genres with enough members."""
    if not names:
        return ()
    lift = np.divide(share, overall, out=np.zeros_like(share), where=overall > 0)  # (g,)
    enough = (share * size >= min_members) & (share >= min_share) & (lift > 1.0)  # (g,)
    ranked = [g for g in np.lexsort((-share, -lift)) if enough[g]][:n_genres]  # by lift, then share
    return tuple((names[g], float(share[g]), float(lift[g])) for g in ranked)
