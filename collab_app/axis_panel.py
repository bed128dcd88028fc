"""The Projections page's "Custom axis" method: x is an axis a person names by its two ends (TensorFlow Embedding
Projector's custom projection), y is PC1 or a second such axis.

Each end is a few search terms ("Star Wars, Star Trek"), each standing for the most rated items whose title
contains it (collab_core.analysis.axes). The terms are kept in the URL like every option of the page; the map's
axis titles name the ends, the ends' items are marked on the map, and a table below ranks the map's items along x:
what the items at one end share, and those at the other lack, is what the axis means.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from collab_core.analysis.axes import NoMatchError, split_terms
from collab_core.errors import CollabError

from . import cached, charts, options
from .messages import user_message
from .text import MISSING, md

CUSTOM = "Custom axis"  # the method's name in the page's Method control and in the URL
MAX_TERMS_TEXT = 200  # characters of one end's terms: a longer link value is refused


def _terms_text(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TERMS_TEXT


# defaults that name clear ends on MovieLens (each term matches a title of ML-100K and of the larger releases)
X_LEFT = options.Choice("p_pj_xl", "xl", "Sense and Sensibility, Emma", allowed=_terms_text)
X_RIGHT = options.Choice("p_pj_xr", "xr", "Star Wars, Star Trek", allowed=_terms_text)
Y_MODE = options.Choice("p_pj_y", "y", "PC1", choices=("PC1", "axis"))
Y_LOW = options.Choice("p_pj_yl", "yl", "Toy Story, Aladdin", allowed=_terms_text)
Y_HIGH = options.Choice("p_pj_yh", "yh", "Pulp Fiction, Reservoir Dogs", allowed=_terms_text)
OPTIONS = (X_LEFT, X_RIGHT, Y_MODE, Y_LOW, Y_HIGH)
END_MARKS = {"x left": ("#17becf", "triangle-left"), "x right": ("#e377c2", "triangle-right"),
             "y bottom": ("#17becf", "triangle-down"), "y top": ("#e377c2", "triangle-up")}
RANKED = 10  # items at each end of the ranked table


@dataclass(frozen=True)
class AxisView:
    """A custom-axis map: the items drawn and where, the axis titles, and each end's items."""

    indices: np.ndarray  # (m,) item indices drawn
    coords: np.ndarray  # (m, 2)
    axis_names: tuple[str, str]  # plain text; charts.projection escapes them
    ends: dict[str, np.ndarray]  # "x left", "x right"[, "y bottom", "y top"] -> item indices


def axis_title(left: str, right: str) -> str:
    """An axis named by its ends: "Sense and Sensibility, Emma  <->  Star Wars, Star Trek" (plain text)."""
    return f"{', '.join(split_terms(left))}  <->  {', '.join(split_terms(right))}"


def controls(where) -> dict:
    """The ends of x, and y's kind (and ends): drawn in `where`; returns the URL parameters they set."""
    help_text = ("Parts of titles, separated by commas; each stands for the (up to 10) most rated titles that "
                 "contain it. An item's place on the axis is its factor vector projected on the difference of the "
                 "two ends' mean vectors.")
    left, right, kind = where.columns([1, 1, 0.8], vertical_alignment="bottom")
    left.text_input("x: left end", key=X_LEFT.key, help=help_text)
    right.text_input("x: right end", key=X_RIGHT.key, help=help_text)
    y_mode = options.segmented(kind, "y axis", Y_MODE, format_func={"PC1": "PC1", "axis": "second axis"}.get,
                               help="PC1 of the items drawn, or a second axis named by its own two ends (not "
                                    "orthogonal to x in general).")
    params = {"xl": st.session_state[X_LEFT.key], "xr": st.session_state[X_RIGHT.key], "y": y_mode}
    if y_mode == "axis":
        low, high = where.columns(2)
        low.text_input("y: bottom end", key=Y_LOW.key, help=help_text)
        high.text_input("y: top end", key=Y_HIGH.key, help=help_text)
        params.update(yl=st.session_state[Y_LOW.key], yh=st.session_state[Y_HIGH.key])
    return params


def view(run_id: str, top: int, noun) -> AxisView | None:
    """The map for the page's current ends, or None after showing an error that names the end and the term that
    matched nothing (or why the ends cannot make an axis)."""
    ends_text = {"x left": X_LEFT, "x right": X_RIGHT}
    if st.session_state[Y_MODE.key] == "axis":
        ends_text.update({"y bottom": Y_LOW, "y top": Y_HIGH})
    ends = {}
    try:
        for end, option in ends_text.items():
            ends[end] = cached.axis_terms(run_id, st.session_state[option.key])
        y_ends = (tuple(ends["y bottom"]), tuple(ends["y top"])) if "y top" in ends else None
        indices, coords, ratio = cached.axis_map(run_id, top, (tuple(ends["x left"]), tuple(ends["x right"])), y_ends)
    except NoMatchError as exc:
        st.error(f"Nothing matches “{md(exc.term)}” at the {end} end: no {md(noun.one)} title contains it (nor is it "
                 f"an id). Try another part of a title; separate several by commas.")
        return None
    except CollabError as exc:  # while resolving an end's terms (it is named), or the ends cannot make an axis
        where = "" if len(ends) == len(ends_text) else f"at the {end} end, "
        # user_message words it without server paths; its own full stop goes before escaping (md escapes dots)
        st.error(f"No custom axis: {where}{md(user_message(exc).rstrip('.'))}.")
        return None
    x_name = axis_title(st.session_state[X_LEFT.key], st.session_state[X_RIGHT.key])
    y_name = (axis_title(st.session_state[Y_LOW.key], st.session_state[Y_HIGH.key]) if y_ends is not None
              else f"PC1 ({ratio:.0%})")
    return AxisView(indices, coords, (x_name, y_name), ends)


def marks(points: pd.DataFrame, axis: AxisView) -> list[charts.Mark]:
    """Each end's items drawn over the map: triangles pointing to their end."""
    drawn = []
    for end, members in axis.ends.items():
        colour, symbol = END_MARKS[end]
        name = f"{end} end: " + charts.label(", ".join(split_terms(st.session_state[_option_of(end).key])))  # Plotly
        drawn.append(charts.Mark(points[points["index"].isin(members)], colour, name, 13, symbol))
    return drawn


def _option_of(end: str) -> options.Choice:
    return {"x left": X_LEFT, "x right": X_RIGHT, "y bottom": Y_LOW, "y top": Y_HIGH}[end]


def ranked_tables(points: pd.DataFrame, axis: AxisView, noun) -> None:
    """The map's items ranked along x: the RANKED at each end (title, genres, ratings, position)."""
    st.subheader("Ranked along the axis")
    left, right = (", ".join(split_terms(st.session_state[o.key])) for o in (X_LEFT, X_RIGHT))
    st.caption(f"The {md(noun.many)} of the map at either end of x. Position: the {md(noun.one)}'s factors projected "
               f"on the axis (unit length), 0 half-way between the two ends' mean vectors; what those at one end "
               f"share and those at the other lack names the axis.")
    ranked = points.sort_values("x", kind="stable")[["title", "genres", "count", "x"]].rename(
        columns={"x": "position", "count": "ratings"})
    columns = {"position": st.column_config.NumberColumn(format="%.2f", width=70),
               "ratings": st.column_config.NumberColumn(width=60)}
    # one above the other, each the page's width: side by side, half a 1,024-px window hid the position column
    for name, rows, key in ((right, ranked.iloc[::-1], "pj_axis_right"), (left, ranked, "pj_axis_left")):
        st.markdown(f"**Towards {md(name)}**")
        st.dataframe(rows.head(RANKED), hide_index=True, placeholder=MISSING, key=key, column_config=columns)
