"""One search-based picker for large vocabularies (movies, users), used by every page that picks one.

A selectbox over all 59,047 movies of MovieLens 25M (or 162,541 users) sends every label to the browser on
each rerun and cannot be scrolled, so a picker is two widgets: a search box (a title fragment, or an id) and
a selectbox of at most `limit` matches, most popular first (collab_core.data.search decides which). The selectbox
keeps the key the page had before, so everything that sets the selection still works: `options.apply` (the
URL's value), a chart click's on_select callback, a button's callback. The current selection is always among
the offered options, so it shows whichever way it was made. Pressing Enter in the search box selects the best
match at once (a person who types "GoldenEye" wants GoldenEye), and the others stay one click away.

Under the search box a caption says what the search found: counted by collab_core.data.search over everything the
text matches (not over the list, which also keeps the current selection), so it never contradicts the list.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import streamlit as st

from collab_core.data.catalog import ItemCatalog, Vocab
from collab_core.data.nouns import USER, Noun
from collab_core.data.search import DEFAULT_LIMIT, Matches, match_ids, match_items

from .text import md


def search_key(key: str) -> str:
    """The session-state key of the search box of the picker whose selectbox has `key`."""
    return f"{key}_search"


def movie_picker(where, label: str, key: str, catalog: ItemCatalog, noun: Noun, *, optional: bool = False,
                 exclude: Iterable[str] = (), excluded_as: str = "left out here", limit: int = DEFAULT_LIMIT,
                 search_label: str | None = None, **kwargs) -> str | None:
    """Pick an item (a raw item id) by title or id; `noun` names the items ("movies"). `optional`: nothing
    selected is allowed (None). `exclude`: ids never offered, and `excluded_as` says why in the search caption
    (e.g. "you rated already"). Two pickers on one page need different `search_label`s (people and browser tests
    find a box by its label)."""
    excluded = list(exclude)

    def matches(text: str, keep: list) -> Matches:
        return match_items(catalog, text, limit, keep=keep, exclude=excluded)

    def names(ids: list[str]) -> dict[str, str]:
        # display titles carry the id where titles collide: the browser sends back the chosen label, so labels
        # must tell options apart
        titles = catalog.display_titles[catalog.vocab.to_index(ids)] if ids else np.array([], dtype=object)
        return dict(zip(ids, (str(t) for t in titles)))

    order = "most rated first" if catalog.counts.any() else "in the order of the file"  # no counts: an import
    return _picker(where, label, key, matches, names, catalog.vocab.knows, search_label or f"Search {md(noun.many)}",
                   "part of a title, or an id", noun, order, excluded_as, optional, **kwargs)


def user_picker(where, label: str, key: str, vocab: Vocab, activity: np.ndarray, *, limit: int = DEFAULT_LIMIT,
                **kwargs) -> str | None:
    """Pick a user (a raw id) by id; most active first. `activity`: (n_users,) ratings per user."""

    def matches(text: str, keep: list) -> Matches:
        return match_ids(vocab, activity, text, limit, keep=keep)

    def names(ids: list[str]) -> dict[str, str]:
        counts = activity[vocab.to_index(ids)] if ids else []
        return {u: f"{u} ({int(c):,} ratings)" for u, c in zip(ids, counts)}

    return _picker(where, label, key, matches, names, vocab.knows, "Search users", "part of an id", USER,
                   "most active first", "", False, **kwargs)


def search_caption(found: Matches, text: str, noun: Noun, order: str, excluded_as: str, hint: str,
                   kept: bool = False) -> str | None:
    """What a search found, in words (Markdown, the text escaped); None when nothing was typed. `hint`: what to
    type instead when nothing matched ("part of a title, or an id"); `kept`: the list still shows the current
    choice, which the text does not match."""
    if not found.typed:
        return None
    quoted = f"“{md(text.strip())}”"
    left_out = (f" ({found.excluded:,} more {md(excluded_as)})" if found.matched and found.excluded else "")
    if found.matched == 0 and found.excluded:
        return f"{quoted} matches only {md(noun.count(found.excluded))} {md(excluded_as)}."
    if found.matched == 0:
        return f"No {md(noun.many)} match {quoted}: try {md(hint)}" + ("; the list keeps your choice." if kept
                                                                      else ".")
    if found.matched == 1:
        return f"One {md(noun.one)} matches {quoted}{left_out}."
    if not found.cut:
        return f"{found.matched:,} {md(noun.many)} match {quoted}, {order}{left_out}."
    return (f"{found.matched:,} {md(noun.many)} match {quoted}{left_out}: the list shows the first {found.limit}, "
            f"{order}; type more to narrow it down.")


def _picker(where, label: str, key: str, matches: Callable[[str, list], Matches],
            names: Callable[[list[str]], dict[str, str]], knows: Callable[[str], bool], search_label: str,
            search_placeholder: str, noun: Noun, order: str, excluded_as: str,
            optional: bool, help: str | None = None, disabled: bool = False, placeholder: str | None = None,
            widths: tuple[float, float] = (1, 2)) -> str | None:
    query_key = search_key(key)

    def select_best_match() -> None:
        """on_change of the search box: the best match becomes the selection (it runs before the rerun). Clearing
        the box changes nothing: the list goes back to the most popular, the selection stays."""
        text = st.session_state.get(query_key, "")
        found = matches(text, []).offered if text.strip() else []
        if found:
            st.session_state[key] = found[0]

    search_col, pick_col = where.columns(widths, vertical_alignment="bottom")
    text = search_col.text_input(search_label, key=query_key, placeholder=search_placeholder, disabled=disabled,
                                 on_change=select_best_match, help="Titles match whatever their case; an id must be "
                                                                   "typed as it is. Enter selects the best match, the "
                                                                   "list beside offers the others.")
    current = st.session_state.get(key)
    if current is not None and not knows(current):  # kept from another run (the active run changed)
        st.session_state[key] = current = None
    found = matches(text, [current] if current is not None else [])
    choices = found.offered
    if current is not None and current not in choices:  # excluded now (e.g. a movie just rated on You)
        st.session_state[key] = None if optional else (choices[0] if choices else None)
    shown = names(choices)
    picked = pick_col.selectbox(label, choices, key=key, index=None if optional else 0, format_func=shown.get,
                                placeholder=placeholder or "choose", help=help, disabled=disabled)
    caption = search_caption(found, text, noun, order, excluded_as, search_placeholder,
                             kept=st.session_state.get(key) is not None)
    if caption:
        search_col.caption(caption)
    return picked
