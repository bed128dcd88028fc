"""Region labels on the Projections page's 2D map: the map's points clustered (collab_core.analysis.regions), each
region named on the map by its over-represented genres and best-known titles, and a click on a label picks the
region.

The pick is handed on through session state, the contract with the selection panel (collab_app.selection_panel):
`pj_selection_request` = {"indices": [item indices of the region], "how": "region <n>: <label text>"}, which the
panel takes at the top of the next run and shows as it shows a box or lasso selection.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from collab_core.analysis.regions import MIN_REGION_POINTS, Region, default_count, short_title

from . import cached, charts, options, selection_panel
from .text import md

SELECTION_REQUEST = selection_panel.request_key("pj")  # "pj_selection_request", taken by selection_panel.start
_SHOWN = "pj_regions_shown"  # number -> (label text, item indices) of the regions on the map, for the click


def _flag(raw: str) -> bool:
    """A link's on/off value: 1/0 (as the page writes it), or true/false."""
    value = {"1": True, "true": True, "0": False, "false": False}.get(raw.strip().lower())
    if value is None:
        raise ValueError(raw)
    return value


REGIONS = options.Choice("p_pj_regions", "regions", False, choices=(False, True), parse=_flag)


def toggle(where) -> bool:
    return where.toggle("Region labels", key=REGIONS.key,
                        help="Cluster the map's points into regions (k-means on the map's coordinates) and name each "
                             "by the genres its members have far more often than the map as a whole, and its most "
                             "rated titles. Click a label's ◆ to select its region.")


def url_value(on: bool) -> str | None:
    return "1" if on else None


def label_rows(run_id: str, points: pd.DataFrame, noun, height: int = charts.MAP_HEIGHT
               ) -> tuple[pd.DataFrame | None, list[tuple] | None]:
    """The region labels of the map `points` (columns index, x, y), as many regions as fit without their labels
    covering one another: one row per region for charts.add_region_labels, and the labels' boxes (for
    charts.projection's keep_clear: point labels leave them free)."""
    if default_count(len(points)) == 0:
        st.caption(f"Region labels need at least {2 * MIN_REGION_POINTS} {md(noun.many)} on the map: fewer make "
                   f"regions of noise.")
        return None, None
    indices, coords = points["index"].to_numpy(), points[["x", "y"]].to_numpy(dtype=float)  # (m,), (m, 2)
    for k in range(default_count(len(points)), 0, -1):  # fewer regions until their labels fit the plot
        regions = cached.map_regions(run_id, indices, coords, k)
        rows = _rows(regions, noun)
        if charts.region_labels_fit(rows, points, height):
            break
    st.session_state[_SHOWN] = {r.number: (r.text, [int(i) for i in indices[r.members]]) for r in regions}
    return rows, charts.region_label_boxes(rows, points, height)


def _rows(regions: list[Region], noun) -> pd.DataFrame:
    return pd.DataFrame({
        "x": [r.at[0] for r in regions], "y": [r.at[1] for r in regions], "number": [r.number for r in regions],
        "genre_text": [r.genre_text for r in regions], "title_text": [r.title_text for r in regions],
        "hover": [_hover(r, len(regions), noun) for r in regions]})


def _hover(region: Region, total: int, noun) -> str:
    """A region's tooltip: plain text (charts escapes it), one fact a line."""
    genres = [f"{g}: {share:.0%} of them ({lift:.1f}× the map's share)" for g, share, lift in region.genres]
    titles = ", ".join(short_title(t, 40) for t in region.titles)
    return "\n".join([f"Region {region.number + 1} of {total}: {noun.count(region.size)}",
                      *(genres or ["no genre stands out"]), f"most rated: {titles}", "click to pick this region"])


def forget() -> None:
    """No region labels on the map: a click cannot pick one, nor is an earlier pick said."""
    st.session_state.pop(_SHOWN, None)


def on_click(points: list) -> bool:
    """The chart's on_select callback, first: a click on a region label picks the region (and returns True); a
    click on an item, or a region no longer on the map, returns False and changes nothing."""
    number = charts.clicked_region(points)
    shown = st.session_state.get(_SHOWN, {})
    if number is None or number not in shown:
        return False
    text, members = shown[number]
    st.session_state[SELECTION_REQUEST] = {"indices": members, "how": f"region {number + 1}: {text}"}
    return True
