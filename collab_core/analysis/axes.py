"""Named axes: a direction in factor space chosen by two groups of items, as TensorFlow Embedding Projector's
custom projection does ("what does this factor mean?" made interactive).

A person names the two ends of an axis by search terms ("Sense and Sensibility, Emma" against "Star Wars, Star
Trek"); each term stands for the items whose title contains it; an item's place on the axis is its factor
vector projected on the difference of the two ends' mean vectors. Items at either end of the ranking share what
sets the two groups apart.
"""
from __future__ import annotations

import numpy as np

from collab_core.analysis.interpret import pca
from collab_core.data.catalog import ItemCatalog
from collab_core.data.search import match_items
from collab_core.errors import CollabError

PER_TERM = 10  # items a term stands for at most (its most rated matches): "Star" matches ~2,000 ML-25M titles


class NoMatchError(CollabError):
    """A search term of an axis end matched no item; `term` is the term as typed (stripped)."""

    def __init__(self, message: str, term: str):
        super().__init__(message)
        self.term = term


def custom_axis(factors: np.ndarray, left, right, name: str = "the axis") -> np.ndarray:
    """(n,) every item's position along the axis from the `left` items' mean vector to the `right` items'.

    `factors`: (n, k) item factors; `left`, `right`: item indices (rows of `factors`), one or more each.
    position = (f - midpoint) . d / |d|, with d = mean(right) - mean(left) and midpoint = (mean(left) +
    mean(right)) / 2. Normalised (d has unit length) so that two axes of one map are in the same units as each
    other and as the factors, however far apart their ends are; centred on the midpoint so that 0 means "half-way
    between the ends", the left end's mean sits at -|d| / 2 and the right end's at +|d| / 2. Neither changes the
    ranking: it is the dot product with the difference of the means (Embedding Projector's definition), shifted
    and scaled."""
    factors = np.asarray(factors, dtype=np.float64)  # (n, k)
    left_mean = _mean_of(factors, left, "left")  # (k,)
    right_mean = _mean_of(factors, right, "right")  # (k,)
    direction = right_mean - left_mean  # (k,)
    length = float(np.linalg.norm(direction))
    if not np.isfinite(length) or length == 0.0:
        raise CollabError(f"the two ends of {name} have the same mean vector (the same items?): choose ends that "
                          "differ")
    return (factors - (left_mean + right_mean) / 2) @ (direction / length)  # (n,)


def _mean_of(factors: np.ndarray, indices, end: str) -> np.ndarray:
    indices = np.asarray(indices, dtype=np.int64)  # (m,)
    if indices.size == 0:
        raise CollabError(f"the {end} end of the axis has no items")
    return factors[indices].mean(axis=0)  # (k,)


def split_terms(text: str) -> list[str]:
    """The comma-separated terms of `text`, stripped, empty ones left out, each once (first place kept)."""
    return list(dict.fromkeys(t.strip() for t in str(text or "").split(",") if t.strip()))


def resolve_terms(catalog: ItemCatalog, text: str, per_term: int = PER_TERM) -> np.ndarray:
    """(m,) the item indices the comma-separated terms of `text` stand for, each once, in the order found: for each
    term its exact raw id if one matches, and the (at most `per_term`) most rated items whose title contains it
    (collab_core.data.search, the pickers' search). NoMatchError names the first term that matches nothing; an empty
    text is a CollabError too."""
    terms = split_terms(text)
    if not terms:
        raise CollabError("no search terms given: type one or more parts of titles, separated by commas")
    found: list[int] = []
    for term in terms:
        ids = match_items(catalog, term, limit=per_term).offered  # raw ids, best first
        if not ids:
            raise NoMatchError(f"no title contains “{term}” (and no item has it as id)", term)
        found.extend(int(i) for i in catalog.vocab.to_index(ids))
    return np.asarray(list(dict.fromkeys(found)), dtype=np.int64)


def axis_map(factors: np.ndarray, shown, x_ends: tuple, y_ends: tuple | None = None
             ) -> tuple[np.ndarray, np.ndarray, float | None]:
    """A 2D map with a custom x axis: (indices (m,), coords (m, 2), y's explained variance ratio or None).

    `shown`: the item indices the map draws (e.g. the most rated); the ends' items are added to them, so each end
    is on its map. `x_ends`, `y_ends`: (left indices, right indices). Without `y_ends`, y is PC1 of the `shown`
    items' factors (every drawn item projected on it), and its share of their variance is returned. Two custom
    axes are in general not orthogonal: y shows what its own ends set apart, whatever x shows."""
    factors = np.asarray(factors, dtype=np.float64)  # (n, k)
    ends = [np.asarray(e, dtype=np.int64) for pair in (x_ends, *(() if y_ends is None else (y_ends,))) for e in pair]
    indices = np.union1d(np.asarray(shown, dtype=np.int64), np.concatenate(ends))  # (m,) sorted
    x = custom_axis(factors, *x_ends, name="x")[indices]  # (m,)
    if y_ends is not None:
        return indices, np.column_stack([x, custom_axis(factors, *y_ends, name="y")[indices]]), None
    fitted = pca(factors[np.asarray(shown, dtype=np.int64)], 1)
    y = (factors[indices] - fitted.mean) @ fitted.components[0]  # (m,)
    return indices, np.column_stack([x, y]), float(fitted.explained_variance_ratio[0])
