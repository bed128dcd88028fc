"""Raw id <-> index vocabularies and the item catalog (titles, counts, means) with title search.

Both a `Ratings` (data in memory) and a `TrainedModel` (a run loaded from disk, without its rating rows)
need to turn what a person types, a raw id or part of a title, into an embedding row. This module does
that once for both. Raw ids are strings, so `50` and `"50"` name the same item.

Titles are not keys: MovieLens 100K has 1,664 titles for 1,682 ids ("Kull the Conqueror (1997)" is two
items), so a table of titles can show two rows nobody can tell apart. `ItemCatalog.display_titles` is what
a person is shown for an item: its title, with its id appended where the catalog has another item whose
title reads the same (`distinct_titles`). The raw `titles` stay the data: search and exports use them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from collab_core.errors import AmbiguousTitleError, UnknownIdError

ID_MARK = " · id "  # between a colliding title and its raw id: "Kull the Conqueror (1997) · id 1336"


def distinct_titles(titles, ids) -> np.ndarray:
    """(n,) object array: each title as a person should see it, with `ID_MARK` and its id appended where
    another item's title reads the same (`reads_as`: case and runs of white space do not tell titles apart on
    a screen). The result has no two entries that read the same when the ids are distinct: a title that
    happens to equal another's "title · id N" gets its own id too, until none collide."""
    shown = np.array([str(t) for t in titles], dtype=object)  # (n,)
    ids = np.array([str(i) for i in ids], dtype=object)  # (n,)
    tagged = np.zeros(len(shown), dtype=bool)  # (n,) the id is appended already
    while True:  # one pass in practice; a second only when a title equals another's appended form
        clash = reads_as(shown).duplicated(keep=False).to_numpy() & ~tagged
        if not clash.any():
            return shown
        shown[clash] = shown[clash] + ID_MARK + ids[clash]
        tagged |= clash


def reads_as(titles) -> pd.Series:
    """How each title reads on a screen, for telling collisions: case folded, white space runs as one space."""
    # a plain comprehension: several times faster than pandas' .str chain (docs/performance.md, "Display titles")
    return pd.Series([" ".join(str(t).split()).casefold() for t in titles], dtype=object)


@dataclass(frozen=True, eq=False)
class Vocab:
    """The raw ids of one kind ('user' or 'item'); position i is the raw id of index i."""

    ids: np.ndarray  # (n,) object array of str
    kind: str = "item"

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def _index(self) -> pd.Index:
        return pd.Index(self.ids)

    def knows(self, raw_id) -> bool:
        return str(raw_id) in self._index

    def to_index(self, raw_ids):
        """Raw id -> int, or a sequence of raw ids -> (n,) int64. Unknown ids raise UnknownIdError naming them."""
        scalar = np.isscalar(raw_ids) or isinstance(raw_ids, str)
        keys = [str(raw_ids)] if scalar else [str(r) for r in raw_ids]
        positions = self._index.get_indexer(keys)
        if (positions < 0).any():
            unknown = [k for k, p in zip(keys, positions) if p < 0]
            shown = ", ".join(repr(u) for u in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            plural = "s" if len(unknown) > 1 else ""
            raise UnknownIdError(f"unknown {self.kind} id{plural}: {shown} (known: {len(self.ids):,} {self.kind}s)")
        return int(positions[0]) if scalar else positions.astype(np.int64)


@dataclass(frozen=True, eq=False)
class ItemCatalog:
    """Items with their metadata and rating statistics; row i describes item index i."""

    vocab: Vocab
    items: pd.DataFrame  # n_items rows: title (str), year (Int64), genres (list[str])
    counts: np.ndarray  # (n_items,) int64 ratings per item
    means: np.ndarray  # (n_items,) float64 mean rating per item

    @property
    def titles(self) -> np.ndarray:
        return self.items["title"].to_numpy()

    @cached_property
    def display_titles(self) -> np.ndarray:
        """(n_items,) str: the title every page, table and chart shows for each item index: the title, with
        " · id <raw id>" appended where two or more items of this catalog share it (`distinct_titles`).
        Computed once per catalog. Search and exports keep the raw `titles`."""
        return distinct_titles(self.titles, self.vocab.ids)

    def display_title(self, raw_id) -> str:
        """The display title of the item with this raw id (UnknownIdError naming an unknown one)."""
        return str(self.display_titles[self.vocab.to_index(raw_id)])

    @cached_property
    def _lower_titles(self) -> pd.Series:
        return self.items["title"].str.lower()

    def label(self, index: int) -> str:
        return f"{self.titles[index]} [id {self.vocab.ids[index]}]"

    def find_item(self, query) -> int:
        """Item index for a raw id, an exact title (case-insensitive) or an unambiguous part of a title.

        An ambiguous fragment raises AmbiguousTitleError listing the candidates (most rated first);
        no match raises UnknownIdError.
        """
        text = str(query).strip()
        if not text:
            raise UnknownIdError("empty item query: give a raw item id or (part of) a title")
        if self.vocab.knows(text):
            return int(self.vocab.to_index(text))
        exact = np.flatnonzero((self._lower_titles == text.lower()).to_numpy())
        matches = exact if len(exact) else self.search_titles(text, limit=None)
        if len(matches) == 1:
            return int(matches[0])
        if len(matches) == 0:
            raise UnknownIdError(f"no item has the id or a title containing {text!r}")
        matches = matches[np.argsort(-self.counts[matches], kind="stable")]
        shown = [self.label(i) for i in matches[:20]]
        more = f" and {len(matches) - 20} more" if len(matches) > 20 else ""
        raise AmbiguousTitleError(
            f"{text!r} matches {len(matches)} items: " + "; ".join(shown) + more + ". Give the full title or the id.",
            candidates=shown,
        )

    def search_titles(self, fragment: str, limit: int | None = 20) -> np.ndarray:
        """Indices of items whose title contains `fragment` (case-insensitive), most-rated first."""
        mask = self._lower_titles.str.contains(str(fragment).strip().lower(), regex=False).to_numpy()
        hits = np.flatnonzero(mask)
        hits = hits[np.argsort(-self.counts[hits], kind="stable")]
        return hits if limit is None else hits[:limit]

    def with_min_ratings(self, min_ratings: int) -> np.ndarray:
        """Indices of the items with at least `min_ratings` ratings, in index order."""
        return np.flatnonzero(self.counts >= min_ratings)

    def top_items(self, n: int | None) -> np.ndarray:
        """Indices of the n most-rated items, most-rated first (ties by index); all items for None."""
        order = np.argsort(-self.counts, kind="stable")
        return order if n is None else order[: max(0, int(n))]
