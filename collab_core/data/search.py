"""Search-as-you-type for pickers over large vocabularies: a few matches, most popular first.

A drop-down of every movie of MovieLens 25M (59,047) or every user (162,541) costs megabytes per rerun and
cannot be scrolled; a picker instead shows the `limit` best matches of what the person typed. The rules:
- nothing typed: the `limit` most popular (most rated movies, most active users);
- an exact raw id comes first (typing "2" finds movie id 2 as well as titles containing "2");
- then every title (or, for users, raw id) containing the text, case-insensitive, most popular first;
- ids in `keep` (the current selection) are always offered, ahead of the matches, so a selection made by a
  link or a chart click stays visible; ids in `exclude` never are.

A search answers with `Matches`: what to offer, and how many items the text matched (all of them, not only those
offered, and how many of those were left out by `exclude`), so that what a picker says about a search is counted
over the same set it searched, whatever the selection kept beside it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from collab_core.data.catalog import ItemCatalog, Vocab

DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class Matches:
    """The answer to one search."""

    offered: list[str]  # raw ids for the picker: `keep` first, then at most `limit` matches
    typed: bool  # whether there was a search text (else `offered` is simply the most popular)
    matched: int  # items the text matches, `exclude`d ones not counted (0 when nothing was typed)
    excluded: int  # items the text matches that `exclude` left out (e.g. movies already rated)
    limit: int

    @property
    def cut(self) -> bool:
        """More items match than are offered."""
        return self.matched > self.limit


def match_items(catalog: ItemCatalog, text: str | None, limit: int = DEFAULT_LIMIT, keep: Iterable[str] = (),
                exclude: Iterable[str] = ()) -> Matches:
    """Raw item ids for a picker: see the module docstring."""
    fragment = (text or "").strip()
    if fragment:
        by_title = catalog.search_titles(fragment, limit=None)  # (n_hits,) most rated first
        exact = [int(catalog.vocab.to_index(fragment))] if catalog.vocab.knows(fragment) else []
        ranked = np.concatenate([np.asarray(exact, dtype=np.int64), by_title])
    else:
        ranked = catalog.top_items(limit + _count(exclude))
    return _bounded(catalog.vocab.ids, ranked, limit, keep, exclude, bool(fragment))


def match_ids(vocab: Vocab, activity: np.ndarray, text: str | None, limit: int = DEFAULT_LIMIT,
              keep: Iterable[str] = (), exclude: Iterable[str] = ()) -> Matches:
    """Raw ids (e.g. users) for a picker: those containing `text`, the exact id first, then the most active
    (`activity`: (n,) a number per id, e.g. ratings per user)."""
    fragment = (text or "").strip().lower()
    order = np.argsort(-np.asarray(activity), kind="stable")  # (n,) most active first
    if fragment:
        lowered = _lower_ids(vocab)
        hits = order[lowered.iloc[order].str.contains(fragment, regex=False).to_numpy()]
        exact = hits[lowered.to_numpy()[hits] == fragment]
        ranked = np.concatenate([exact, hits[lowered.to_numpy()[hits] != fragment]])
    else:
        ranked = order[: limit + _count(exclude)]
    return _bounded(vocab.ids, ranked, limit, keep, exclude, bool(fragment))


def _lower_ids(vocab: Vocab) -> pd.Series:
    return pd.Series(vocab.ids, dtype=object).astype(str).str.lower()


def _count(values: Iterable) -> int:
    return len(values) if hasattr(values, "__len__") else 0


def _bounded(ids: np.ndarray, ranked: np.ndarray, limit: int, keep: Iterable[str], exclude: Iterable[str],
             typed: bool) -> Matches:
    """`keep` first, then `ranked` (indices into `ids`) without repeats or `exclude`, at most `limit` of those;
    counted over every ranked id when something was typed."""
    excluded = {str(e) for e in exclude}
    kept = [str(k) for k in dict.fromkeys(keep) if k is not None and str(k) not in excluded]
    _, first = np.unique(ranked, return_index=True)  # an exact id may also match by title: counted once
    ranked = ranked[np.sort(first)]  # (n_matches,) in rank order
    left_out = np.isin(ids[ranked].astype(str), list(excluded)) if excluded else np.zeros(len(ranked), dtype=bool)
    seen, found = set(kept), []
    for raw in ids[ranked[~left_out]]:  # only as far as the limit: a letter typed over ML-25M matches ~50k titles
        if len(found) >= limit:
            break
        if str(raw) not in seen:
            found.append(str(raw))
    matched, n_left_out = int((~left_out).sum()), int(left_out.sum())
    return Matches(kept + found, typed, matched if typed else 0, n_left_out if typed else 0, limit)
