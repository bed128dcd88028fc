"""A selected region of a map: the items a box or lasso drew round (or another part of the page asked for), kept in
the session and, when small, in the link; and the panel that lists them, says what sets them apart, exports them
and clears them.

One page's selection is named by its prefix ("pj" on Projections):
- kept as raw item ids with the data they belong to (a change of method, dims, item count or run of the same data
  keeps them, shown or not; a run of other data drops them with a note) and a heading
  (`how`) in `_{prefix}_selection`; read from the link's `sel` once per session (comma-joined ids, each
  percent-quoted so that an id holding a comma survives), written back only when it has at most URL_LIMIT items;
- another part of the page may ask for a selection by setting `{prefix}_selection_request` to
  {"indices": [item indices], "how": "<heading>"} and rerunning: `start()` takes it at the top of the next run;
- how the map draws it ("highlight", "grey" the rest, "only" the selection) is a page option (`view_option`).
Membership is computed here from the drawn geometry over every item the map covers (collab_core.analysis.selection),
not from the points the browser reports: a map may draw only some of its items as points.
"""
from __future__ import annotations

from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import streamlit as st

from collab_core.analysis.selection import describe_selection, members
from collab_core.runs import export

from . import cached, options
from .text import MISSING, md

URL_LIMIT = 50  # the most items a link keeps
VIEWS = {"highlight": "highlight", "grey": "grey the rest", "only": "show only"}
COLUMNS = ["item", "title", "genres", "year", "count", "mean_rating", "bias"]


def view_option(prefix: str) -> options.Choice:
    return options.Choice(f"p_{prefix}_selview", "selview", "highlight", choices=tuple(VIEWS))


def request_key(prefix: str) -> str:
    return f"{prefix}_selection_request"


def _key(prefix: str) -> str:
    return f"_{prefix}_selection"


def current(prefix: str) -> dict | None:
    """{"ids": [raw item ids], "how": heading} or None."""
    return st.session_state.get(_key(prefix)) or None


def _set(prefix: str, ids, how: str, tool: str | None = None) -> None:
    """Keep `ids` (raw item ids of the page's data, as start() named it) as the selection; an empty list clears it."""
    ids = [str(i) for i in dict.fromkeys(ids)]
    data = st.session_state.get(f"_{prefix}_selection_data")
    st.session_state[_key(prefix)] = {"ids": ids, "how": how, "tool": tool, "data": data} if ids else None


def _note(prefix: str, text: str) -> None:
    """A one-line note for the next drawing of the panel (said once)."""
    st.session_state[f"_{prefix}_selection_note"] = text


def data_of(run_id: str) -> str:
    """What a selection's raw ids are ids of: the run's data set (runs of the same data share their ids), or the run
    itself when its data is not named (an import)."""
    return cached.run_dataset(run_id) or f"run {run_id}"


def tool(prefix: str) -> str | None:
    """The Plotly tool ("select", "lasso") that drew the selection: the map is drawn anew after a selection (its
    figure changed) and starts with that tool again, so a second region is drawn without picking it again."""
    return (current(prefix) or {}).get("tool")


def clear(prefix: str) -> None:
    st.session_state[_key(prefix)] = None


def start(prefix: str, catalog, run_id: str) -> None:
    """At the top of a page run: the link's selection on the session's first run, then any request (see the module
    docstring), which replaces the selection. A selection made on other data is dropped with a note: the same raw
    ids would name other items there."""
    data = st.session_state[f"_{prefix}_selection_data"] = data_of(run_id)
    if _key(prefix) not in st.session_state:
        st.session_state[_key(prefix)] = None
        raw = st.query_params.get("sel")
        if raw:
            _from_link(prefix, raw, catalog)
    chosen = current(prefix)
    if chosen and chosen.get("data") != data:
        clear(prefix)
        _note(prefix, f"The selection ({len(chosen['ids'])} items of {chosen.get('data')}) was cleared: this run's "
                      f"items come from other data.")
    request = st.session_state.pop(request_key(prefix), None)
    if isinstance(request, dict):
        indices = [int(i) for i in request.get("indices", ()) if 0 <= int(i) < len(catalog.vocab)]
        _set(prefix, catalog.vocab.ids[np.asarray(indices, dtype=np.int64)], str(request.get("how") or "requested"))


def _from_link(prefix: str, raw: str, catalog) -> None:
    parts = [unquote(p) for p in raw.split(",") if p.strip()]
    known = [p for p in parts if catalog.vocab.knows(p)]
    unknown = [p for p in parts if not catalog.vocab.knows(p)]
    if unknown:
        st.warning(f"The link's selection names {len(unknown)} unknown id(s), such as "
                   f"{md(options.quoted(unknown[0]))}; they are left out.")
    if len(known) > URL_LIMIT:
        st.warning(f"The link's selection names {len(known)} items; a link keeps at most {URL_LIMIT}, so the first "
                   f"{URL_LIMIT} are selected.")
        known = known[:URL_LIMIT]
    _set(prefix, known, "from the link")


def url_value(prefix: str) -> str | None:
    """The link's `sel` for the current selection: None when there is none or it is too large to keep."""
    chosen = current(prefix)
    if not chosen or len(chosen["ids"]) > URL_LIMIT:
        return None
    return ",".join(quote(i, safe="") for i in chosen["ids"])


def take_event(prefix: str, event, indices, x, y, catalog, view: str) -> bool:
    """on_select helper: when the chart's event holds a box or lasso, select the items of the map (item `indices`
    at (`x`, `y`)) inside it and return True; a click (points only) or an empty event returns False. Under the
    "only" view, a new region is drawn within the current selection (that is all the map shows)."""
    boxes, lassos = list(event.get("box") or ()), list(event.get("lasso") or ())
    if not boxes and not lassos:
        return False
    indices = np.asarray(indices, dtype=np.int64)
    inside = members(np.asarray(x, dtype=float), np.asarray(y, dtype=float), boxes, lassos)
    chosen = current(prefix)
    if view == "only" and chosen:
        inside &= np.isin(catalog.vocab.ids[indices], chosen["ids"])
    if not inside.any():  # a stray drag must not wipe a region drawn with care
        _note(prefix, "That " + ("lasso" if lassos else "box") + " enclosed no items" + (
            "; the selection is unchanged." if chosen else "."))
        return True
    how = "drawn with the lasso" if lassos and not boxes else "drawn with the box" if boxes and not lassos else \
        "drawn with the box and the lasso"
    _set(prefix, catalog.vocab.ids[indices[inside]], how, "lasso" if lassos else "select")
    return True


def shown_selection(prefix: str, catalog, indices) -> np.ndarray:
    """(k,) item indices of the selection among the map's `indices`, with any one-line note for the person. Selected
    items the map does not show are kept in the selection (and the link) for when it shows them again."""
    note = st.session_state.pop(f"_{prefix}_selection_note", None)
    if note:
        st.caption(note)
    chosen = current(prefix)
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    shown_ids = set(catalog.vocab.ids[np.asarray(indices, dtype=np.int64)])
    kept = [i for i in chosen["ids"] if i in shown_ids]
    if len(kept) < len(chosen["ids"]):
        st.caption(f"{len(chosen['ids']) - len(kept)} selected item(s) are not on this map; they stay selected for "
                   f"when it shows them.")
    return catalog.vocab.to_index(kept) if kept else np.zeros(0, dtype=np.int64)


def panel(prefix: str, items: pd.DataFrame, selected: np.ndarray, noun, file_stem: str) -> None:
    """The selection panel under a map. `items`: the map's items (item_table rows, index = item index);
    `selected`: the item indices selected among them."""
    chosen = current(prefix)
    if not chosen or not len(selected):
        return
    mask = items.index.isin(selected)
    summary = describe_selection(items, mask)
    st.subheader(f"Selection: {md(chosen['how'])}")
    st.markdown(" ".join(md(s) for s in summary.sentences(noun.many)))
    c1, c2, c3 = st.columns([2.4, 1.1, 1.5], vertical_alignment="bottom")
    options.segmented(c1, "Selection on the map", view_option(prefix), format_func=VIEWS.get)
    c2.button("Clear selection", key=f"{prefix}_sel_clear", on_click=clear, args=(prefix,))
    rows = _known_columns(items.loc[mask, [c for c in COLUMNS if c in items]])
    if "count" in rows:
        rows = rows.sort_values("count", ascending=False)
    c3.download_button(f"Export {md(noun.count(len(rows)))} (CSV)", export.items_csv(rows),
                       file_name=f"{file_stem}-selection.csv", mime="text/csv", key=f"{prefix}_sel_csv",
                       on_click="ignore")
    if len(chosen["ids"]) > URL_LIMIT:
        st.caption(f"The link keeps a selection of up to {URL_LIMIT} {md(noun.many)}: a shared link shows the map "
                   f"without this one.")
    else:
        st.caption(f"The link keeps this selection: a shared link shows the same {md(noun.many)}.")
    st.dataframe(rows.drop(columns="item").rename(columns={"mean_rating": "mean rating"}), hide_index=True,
                 placeholder=MISSING, key=f"{prefix}_sel_table",
                 column_config={"title": st.column_config.TextColumn(width=250),  # the rest fit beside it at 1024 px
                                "genres": st.column_config.TextColumn(width=140),
                                "year": st.column_config.NumberColumn(format="%d", width=50),
                                "count": st.column_config.NumberColumn(width=55),
                                "mean rating": st.column_config.NumberColumn(format="%.2f", width=90),
                                "bias": st.column_config.NumberColumn(format="%.3f", width=65)})


def _known_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` without the columns the run knows nothing of (an import without counts, years or biases): a column of
    zero counts or of blanks would read as data."""
    unknown = [c for c in rows.columns if c not in ("item", "title") and (
        rows[c].isna().all() or (c == "count" and (rows[c] == 0).all())
        or (rows[c].astype(str).str.strip() == "").all())]
    return rows.drop(columns=unknown)
