"""Search-as-you-type for pickers over large vocabularies: a few matches, most popular first.

A drop-down of every movie of MovieLens 25M (59,047) or every user (162,541) costs megabytes per rerun and
cannot be scrolled; a picker instead shows the `limit` best matches of what the person typed. The rules:
- nothing typed: the `limit` most popular (most rated movies, most active users);
- an exact raw id comes first (typing "2" finds movie id 2 as well as titles containing "2");
- then every title (or, for users, raw id) containing the text, case-insensitive, most popular first;
- ids in `keep` (the current selection) are always offered, ahead of the matches, so a selection made by a
  link or a chart click stays visible; ids in `exclude` never are.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .catalog import ItemCatalog, Vocab

DEFAULT_LIMIT = 100


def match_items(catalog: ItemCatalog, text: str | None, limit: int = DEFAULT_LIMIT, keep: Iterable[str] = (),
                exclude: Iterable[str] = ()) -> list[str]:
    """Raw item ids for a picker: see the module docstring."""
    fragment = (text or "").strip()
    if fragment:
        by_title = catalog.search_titles(fragment, limit=None)  # (n_hits,) most rated first
        exact = [int(catalog.vocab.to_index(fragment))] if catalog.vocab.knows(fragment) else []
        ranked = np.concatenate([np.asarray(exact, dtype=np.int64), by_title])
    else:
        ranked = catalog.top_items(limit + _count(exclude))
    return _bounded(catalog.vocab.ids, ranked, limit, keep, exclude)


def match_ids(vocab: Vocab, activity: np.ndarray, text: str | None, limit: int = DEFAULT_LIMIT,
              keep: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[str]:
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
    return _bounded(vocab.ids, ranked, limit, keep, exclude)


def _lower_ids(vocab: Vocab) -> pd.Series:
    return pd.Series(vocab.ids, dtype=object).astype(str).str.lower()


def _count(values: Iterable) -> int:
    return len(values) if hasattr(values, "__len__") else 0


def _bounded(ids: np.ndarray, ranked: np.ndarray, limit: int, keep: Iterable[str], exclude: Iterable[str]
             ) -> list[str]:
    """`keep` first, then `ranked` (indices into `ids`) without repeats or `exclude`, at most `limit` of those."""
    excluded = {str(e) for e in exclude}
    kept = [str(k) for k in dict.fromkeys(keep) if k is not None and str(k) not in excluded]
    seen = set(kept)
    found = []
    for raw in ids[ranked]:
        raw = str(raw)
        if raw in seen or raw in excluded:
            continue
        seen.add(raw)
        found.append(raw)
        if len(found) >= limit:
            break
    return kept + found
