"""Plotly figure builders: pure functions from data to figures, no Streamlit calls.

Plotly reads a subset of HTML in every text it draws (titles, hover labels, legend names, point labels):
`<a href>` becomes a link, `<span style>` restyles the chart. Every string that comes from data goes
through `label()`, which escapes it as HTML; Plotly turns the entities back into the characters, as text.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from collab_app import density

HIGHLIGHT = "#d62728"
NEIGHBOUR = "#ff7f0e"
SELECTION = "#ff2bd6"  # rings round a selected region's items (open circles: the colour by value shows through);
# magenta stands apart from Tableau's blues and Viridis, on a light and on a dark background
YOU = "#e377c2"  # the folded-in user on the "You" map: apart from Viridis and the marks above
OUTLINE = "rgba(128, 128, 128, 0.9)"  # marker outlines that read on a light and on a dark background
# Categories: Tableau 10 (designed so its colours can be told apart, on light and dark backgrounds), largest
# groups first; the rest share one grey "other" entry. Dark24 had two pinks, two greens and two purples for
# MovieLens' 19 genres, which nobody could match to the legend at a projector.
PALETTE = px.colors.qualitative.T10[:9]
OTHER = "#9a9a9a"
QUANTILE_COLOURS = {"year"}  # colour by rank: MovieLens' years bunch in the 1990s, a linear scale shows one colour
FONT_SIZE = 15  # readable on a projector from the back of a room
LABEL_SIZE = 13  # point labels
# what a chart gets in a 1,024 px window beside the sidebar (a projector): labels are kept apart for that width,
# so they are apart in any wider window too
PLOT_WIDTH_PX = 640
LABEL_RISE = 22  # px between a point and its label, joined by a line so each label is tied to its point
MAX_3D_LABELS = 8  # a rotating 3D chart cannot keep labels apart: a few, the rest on hover
TOP_MARGIN = 36  # room above the plot for Plotly's toolbar, so no label hides under it
MAP_HEIGHT = 620  # px: a projection's height


def readable(fig: go.Figure) -> go.Figure:
    """Sizes for a projector; colours are left to Streamlit's theme, so charts follow light and dark mode."""
    return fig.update_layout(font=dict(size=FONT_SIZE), title_font=dict(size=FONT_SIZE + 3),
                             legend=dict(font=dict(size=FONT_SIZE - 1)), hoverlabel=dict(font=dict(size=FONT_SIZE - 1)))


def label(value) -> str:
    """`value` as text Plotly draws literally."""
    return html.escape(str(value), quote=False)


def labels(values: pd.Series) -> np.ndarray:
    return values.astype(str).map(label).to_numpy()


def rating_histogram(ratings: np.ndarray) -> go.Figure:
    values, counts = np.unique(np.round(ratings, 2), return_counts=True)
    fig = px.bar(x=values, y=counts, labels={"x": "rating", "y": "number of ratings"})
    return readable(fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), title="Rating histogram"))


def long_tail(counts: np.ndarray, what: str = "item") -> go.Figure:
    """Ratings per item, most-rated first, on a log scale: the long tail that makes rare items noisy."""
    ordered = np.sort(counts)[::-1]
    fig = px.line(x=np.arange(1, len(ordered) + 1), y=ordered, log_y=True,
                  labels={"x": f"{what} rank (most rated first)", "y": f"ratings per {what} (log)"})
    return readable(fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10),
                                      title=f"Ratings per {what}: the long tail"))


def loss_curves(progress: list, history: list[dict] | None = None) -> go.Figure:
    """Training loss (every report) and validation loss (every epoch) against epochs done.

    A rating run: both are MSE, on one axis; validation RMSE is in the hover text. A ranking run (its epochs carry
    `valid_ndcg10`): its training loss is a softmax loss and it has no validation MSE, so the chart shows the loss
    and validation nDCG@10 per epoch on a second axis (higher is better)."""
    fig = go.Figure()
    if progress:
        steps_per_epoch = max(1, progress[-1].total_steps / progress[-1].epochs)
        batches = [p for p in progress if p.kind == "batch"]  # epoch reports carry the epoch mean instead
        batches = batches[:: max(1, len(batches) // 300)]  # redrawn every second: keep it to ~300 points
        epochs = [p for p in progress if p.kind == "epoch"]
        ranking = any(getattr(p, "valid_ndcg10", None) is not None for p in epochs)
        fig.add_scatter(x=[p.step / steps_per_epoch for p in batches], y=[p.train_loss for p in batches],
                        mode="lines", name="train loss" + ("" if ranking else " (MSE)"))
        points = [(p.epoch, p.valid_mse, p.valid_rmse, getattr(p, "valid_ndcg10", None)) for p in epochs]
    else:
        history = history or []
        ranking = any(h.get("valid_ndcg10") is not None for h in history)
        fig.add_scatter(x=[h["epoch"] for h in history], y=[h["train_loss"] for h in history],
                        mode="lines+markers", name="train loss" + ("" if ranking else " (MSE)"))
        points = [(h["epoch"], h.get("valid_mse"), h.get("valid_rmse"), h.get("valid_ndcg10")) for h in history]
        if len(history) <= 20:
            fig.update_xaxes(dtick=1)  # whole epochs: no 1.5, 2.5 between them
    if ranking:
        fig.add_scatter(x=[e for e, *_ in points], y=[n for *_, n in points], mode="lines+markers", yaxis="y2",
                        name="validation nDCG@10", hovertemplate="epoch %{x}<br>valid nDCG@10 %{y:.3f}<extra></extra>")
        fig.update_layout(yaxis2=dict(title={"text": "nDCG@10"}, overlaying="y", side="right", rangemode="tozero"))
    elif points:
        fig.add_scatter(x=[e for e, *_ in points], y=[m for _, m, *_ in points], mode="lines+markers",
                        name="validation MSE", customdata=[r for _, _, r, _ in points],
                        hovertemplate="epoch %{x}<br>valid MSE %{y:.4f}<br>valid RMSE %{customdata:.4f}")
    return readable(fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="epoch",
                                      yaxis_title="loss" if ranking else "MSE",
                                      title="Train loss and validation nDCG@10" if ranking else
                                      "Train vs validation loss", legend=dict(orientation="h")))


def lr_finder(lrs: list[float], losses: list[float], suggested: float) -> go.Figure:
    fig = px.line(x=lrs, y=losses, log_x=True, labels={"x": "learning rate (log)", "y": "smoothed training loss"})
    fig.add_vline(x=suggested, line_dash="dash", line_color=HIGHLIGHT)
    # the label by hand, at the line: add_vline's own annotation takes x as a value on a log axis, where an
    # annotation's x is the value's log10, and drew the label far to the right of its line
    fig.add_annotation(x=math.log10(suggested), y=1, yref="paper", text=f"suggested {suggested:.2g}",
                       showarrow=False, xanchor="left", yanchor="top", xshift=4, font=dict(color=HIGHLIGHT))
    return readable(fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), title="Learning-rate finder"))


def bias_vs_mean(table: pd.DataFrame, what: str = "item", point_budget: int = density.POINT_BUDGET,
                 many: str | None = None) -> go.Figure:
    """Learned bias against mean rating, sized by count: points off the trend are where the model
    disagrees with the average (e.g. a film liked only by people who like everything). With more rows than
    `point_budget`, every row goes into a density layer and the most rated are points (see `projection`); `many`:
    the plural of `what`, for the layer's hover."""
    everything = table
    table = table.iloc[density.budget_rows(table["count"].to_numpy(), point_budget)]
    table = table.assign(title=labels(table["title"]), genres=labels(table["genres"]))
    sized = table["count"].gt(0).any()  # an imported run may have no counts: all-zero sizes would draw nothing
    fig = px.scatter(table, x="mean_rating", y="bias", size="count" if sized else None, size_max=18,
                     hover_name="title",
                     hover_data={"count": True, "genres": True, "mean_rating": ":.2f", "bias": ":.3f"},
                     labels={"mean_rating": "mean rating", "bias": f"learned {label(what)} bias"}, opacity=0.6)
    if len(everything) > len(table):  # the density layer first: drawn beneath the points
        layer = density.heatmap(everything["mean_rating"].to_numpy(), everything["bias"].to_numpy(),
                                f"every {label(what)}", label(many or what + "s"))
        fig = go.Figure({"data": [layer, *fig.to_dict()["data"]], "layout": fig.layout})
    return readable(fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=10),
                                      title="Learned bias vs mean rating",
                                      meta=_coverage(len(everything), len(table), 2)))


def user_bias_histogram(biases: np.ndarray, bins: int = 50) -> go.Figure:
    """Binned here, not in the browser: px.histogram would send every bias (162,541 of them for MovieLens 25M)."""
    counts, edges = np.histogram(biases[np.isfinite(biases)], bins=bins)  # (bins,), (bins + 1,)
    fig = px.bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, labels={"x": "learned user bias", "y": "users"})
    fig.update_traces(width=float(edges[1] - edges[0]), marker_line_width=0)
    return readable(fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), yaxis_title="users",
                                      title="User bias distribution"))


def explained_variance(ratios: np.ndarray) -> go.Figure:
    return readable(go.Figure({
        "data": [{"type": "bar", "x": [f"PC{i + 1}" for i in range(len(ratios))], "y": list(ratios)}],
        "layout": {"height": 280, "margin": dict(l=10, r=10, t=40, b=10),
                   "title": {"text": "Explained variance per component"},
                   "yaxis": {"tickformat": ".0%", "title": {"text": "explained variance ratio"}}}}))


@dataclass(frozen=True)
class Mark:
    """A group of items drawn over a projection: big markers of one colour, labelled by title."""

    frame: pd.DataFrame | None  # rows as `projection`'s points
    colour: str
    name: str  # the legend entry
    size: int
    symbol: str = "circle"
    labelled: bool = True
    line_width: float = 1  # the outline; an open symbol's ring


def projection(points: pd.DataFrame, dims: int, color: str | None, label_rows: pd.DataFrame | None = None,
               highlight: pd.DataFrame | None = None, neighbours: pd.DataFrame | None = None,
               axis_names: tuple[str, ...] = ("x", "y", "z"), height: int = MAP_HEIGHT,
               marks: list[Mark] | None = None, colour_title: str | None = None,
               selected=None, selection_view: str = "highlight", dragmode: str | None = None,
               keep_clear: list[tuple] | None = None, point_budget: int = density.POINT_BUDGET,
               what: str = "items") -> go.Figure:
    """Scatter of items in 2D or 3D. `points` has columns x, y[, z], index (item index), title, genres, bias,
    count and the colour column. Each marker's customdata is its item index, so a click can select it.
    `marks`: more groups drawn on top (`neighbours` below them, `highlight` above). Labels: a marked point is
    labelled once, by its mark; in 2D labels are annotations (see `label_annotations`), a label that would cover
    one of a higher mark or a more-rated item is left out, and labels near an edge go to the inner side.
    `selected`: item indices of a selected region, drawn as `selection_view` says: "highlight" rings them (a mark
    "region", under the others), "grey" draws the rest in one faint grey trace ("outside the region") and colours
    the selection, "only" draws the selection alone; under "grey" and "only" only selected points are labelled.
    `dragmode`: the tool a 2D chart starts with ("select" for the box, "lasso"; None: Streamlit's default, pan).
    `keep_clear`: boxes no 2D label may cover (region labels: `region_label_boxes`).

    Every item is on the map: with more than `point_budget` of them, a 2D map draws them all as a density layer
    (items per cell, hover says how many `what`) and the `point_budget` most rated as points above it; a 3D map
    counts them all in the cells of a 3D grid, a dot per occupied cell (see collab_app.density). Marks are always
    points; a selected region's rings and views apply to the points drawn. `map_coverage` tells the page which.

    Built from plain trace dicts rather than plotly express: px's grouping and one annotation object per
    label cost more than the rest of the page (docs/performance.md, "Memory over a long session")."""
    axes = ["x", "y", "z"][:dims]
    kind = "scatter3d" if dims == 3 else "scattergl"
    size = 3 if dims == 3 else 7
    whole = points  # every item: the density layer's (and the axes' extent) when points are budgeted
    points = points.iloc[density.budget_rows(points["count"].to_numpy(), point_budget)]
    traces = []

    def trace(frame: pd.DataFrame, **extra) -> dict:
        hover = (pd.Series(labels(frame["title"]), index=frame.index) + "<br>"
                 + pd.Series(labels(frame["genres"]), index=frame.index) + "<br>ratings: "
                 + frame["count"].astype(str) + "<br>bias: " + frame["bias"].map("{:.3f}".format)).to_numpy()
        if "hover_extra" in frame:
            hover = hover + frame["hover_extra"].astype(str).to_numpy()
        # customdata: one item index per point, as a flat list of ints. A 2-D numpy array would travel as a
        # typed array and come back from a click as {"0": index}, not [index] (clicked_item reads both).
        return {"type": kind, "mode": "markers", **{a: frame[a].to_numpy(dtype=np.float32) for a in axes},
                "customdata": [int(i) for i in frame["index"]], "hovertext": hover, "hoverinfo": "text", **extra}

    layout = {"height": height, "margin": dict(l=10, r=10, t=TOP_MARGIN, b=10), "legend": dict(orientation="h")}
    if dragmode and dims == 2:
        layout["dragmode"] = dragmode
    everything = whole  # what the labels keep apart from: under "grey" every point stays where it was drawn
    drawn_points = len(points)
    chosen = set() if selected is None else {int(i) for i in selected}
    if chosen and selection_view in ("grey", "only") and points["index"].isin(chosen).any():
        inside = points["index"].isin(chosen)
        if selection_view == "grey" and (~inside).any():
            traces.append(trace(points[~inside], name="outside the region",
                                marker=dict(size=size, opacity=0.25, color=OTHER)))
        else:
            everything = points[inside]
            whole = whole[whole["index"].isin(chosen)]  # "only": the density layer holds the selection alone
            drawn_points = int(inside.sum())
        points = points[inside]
        if label_rows is not None:
            label_rows = label_rows[label_rows["index"].isin(chosen)]
    elif chosen:
        marks = [Mark(points[points["index"].isin(chosen)], SELECTION, "region", 13, "circle-open",
                      labelled=False, line_width=2), *(marks or [])]
    if len(whole) > point_budget:  # every item, beneath the points
        traces.insert(0, _every_item(whole, axes, label(what)))
    if color is None:
        traces.append(trace(points, name="items", marker=dict(size=size, opacity=0.75), showlegend=False))
    elif points[color].dtype == object:  # categorical: one trace per value, largest groups first
        groups = sorted(points.groupby(color), key=lambda kv: -len(kv[1]))
        for i, (value, group) in enumerate(groups[:len(PALETTE)]):
            traces.append(trace(group, name=label(value), marker=dict(size=size, opacity=0.8, color=PALETTE[i])))
        if len(groups) > len(PALETTE):
            rest = pd.concat([group for _, group in groups[len(PALETTE):]])
            traces.append(trace(rest, name=f"other ({len(groups) - len(PALETTE)})",
                                marker=dict(size=size, opacity=0.6, color=OTHER)))
    else:
        values = pd.to_numeric(points[color], errors="coerce").to_numpy(dtype=float)
        colour_bar = {"title": {"text": label(colour_title or color)}}
        if color in QUANTILE_COLOURS:
            values, colour_bar = _by_quantile(values, colour_bar)
        traces.append(trace(points, name=color, showlegend=False,
                            marker=dict(size=size, opacity=0.8, color=values, coloraxis="coloraxis")))
        layout["coloraxis"] = {"colorscale": "Viridis", "colorbar": colour_bar}
    # drawn in this order (the last on top); labelled in the reverse order, so the query's label wins a tie
    drawn = [m for m in [Mark(neighbours, NEIGHBOUR, "neighbours", 11), *(marks or []),
                         Mark(highlight, HIGHLIGHT, "selected", 15)] if m.frame is not None and not m.frame.empty]
    marked = {int(i) for m in drawn for i in m.frame["index"]}
    wanted = [m.frame.assign(_mark=i) for i, m in reversed(list(enumerate(drawn))) if m.labelled]
    if label_rows is not None and not label_rows.empty:  # a marked point is labelled by its mark only
        wanted.append(label_rows[~label_rows["index"].isin(marked)].assign(_mark=-1))
    candidates = (pd.concat(wanted, ignore_index=True) if wanted
                  else pd.DataFrame(columns=["index", "_mark", "x", "y", "title"]))  # what label_annotations reads
    if dims == 2 and len(candidates):
        candidates = candidates.iloc[_spaced_labels(candidates, everything, height, keep_clear or ())]
    elif len(candidates):
        candidates = candidates.head(MAX_3D_LABELS)  # the marks' first, then the most rated
    plain = candidates[candidates["_mark"] == -1]
    if dims == 2 and len(plain):  # a labelled point is ringed, so the label's line ends on a visible mark
        traces.append(trace(points[points["index"].isin(set(plain["index"].astype(int)))], name="labelled",
                            showlegend=False, marker=dict(size=11, color="rgba(0,0,0,0)",
                                                          line=dict(width=1.5, color=OUTLINE))))
    for i, mark in enumerate(drawn):
        marker = dict(size=mark.size if dims == 2 else mark.size / 2, color=mark.colour, symbol=mark.symbol,
                      line=dict(width=mark.line_width, color=OUTLINE))
        if dims == 2:  # labelled by annotations, below
            traces.append(trace(mark.frame, name=mark.name, marker=marker))
        else:
            keep = set(candidates.loc[candidates["_mark"] == i, "index"].astype(int))
            text = np.where(mark.frame["index"].isin(keep), labels(mark.frame["title"]), "")
            traces.append(trace(mark.frame, name=mark.name, mode="markers+text", text=text,
                                textposition="top center", textfont={"size": LABEL_SIZE}, marker=marker))
    if dims == 2:
        layout["annotations"] = label_annotations(candidates, everything)
    else:
        label_rows = candidates[candidates["_mark"] == -1]
        if len(label_rows):
            traces.append({"type": "scatter3d", "mode": "text", "name": "labels",
                           **{a: label_rows[a].to_numpy() for a in axes}, "text": labels(label_rows["title"]),
                           "textposition": "top center", "textfont": {"size": LABEL_SIZE}, "hoverinfo": "skip",
                           "showlegend": False})
    titles = {f"{a}axis": {"title": {"text": label(name)}} for a, name in zip(axes, axis_names)}
    if dims == 3:
        layout["scene"] = titles
    else:
        layout.update(titles)
    # how many of the points asked to be labelled are, for the page to say (layout.meta is Plotly's user data)
    layout["meta"] = {"labels_wanted": 0 if label_rows is None else len(label_rows),
                      "labels_shown": int((candidates["_mark"] == -1).sum()) if len(candidates) else 0,
                      **_coverage(len(whole), drawn_points, dims)}
    return readable(go.Figure({"data": traces, "layout": layout}))


def _every_item(points: pd.DataFrame, axes: list[str], what: str) -> dict:
    """The layer of a budgeted map that holds every item: a density heatmap in 2D; in 3D (where a heatmap cannot
    stand) one grey dot per occupied cell of a 3D grid, sized by how many items it holds (collab_app.density)."""
    if len(axes) == 2:
        return density.heatmap(points["x"].to_numpy(), points["y"].to_numpy(), "every item", what)
    return density.cloud(points[axes].to_numpy(), "every item", what)


def _coverage(items: int, drawn: int, dims: int) -> dict:
    """What a map draws, for the page's caption: every one of `items`, `drawn` of them as points (hoverable,
    clickable), the rest as density (2D) or cells (3D)."""
    return {"items": items, "points": drawn, "rest": "" if drawn >= items else "density" if dims == 2 else "cells"}


def map_coverage(figure: go.Figure) -> tuple[int, int, str]:
    """(items on the map, items drawn as points, how the rest are drawn: "" when none are, "density" or "cells") of
    a `projection` or `aligned_maps` figure."""
    meta = figure.layout.meta or {}
    items = int(meta.get("items", 0))
    return items, int(meta.get("points", items)), str(meta.get("rest", ""))


def coverage_note(figure: go.Figure, many: str, most_rated: bool = True, chart: str = "map") -> str:
    """A caption's sentence on what a budgeted map draws as points and what as density (or 3D cells); "" when every
    item is a point. `many`: the plural noun, already escaped for the caption's Markdown."""
    items, drawn, rest = map_coverage(figure)
    if not rest:
        return ""
    which = "most rated" if most_rated else "first"
    beneath = ("the shaded density layer beneath holds every one (hover a cell: how many it holds)" if rest == "density"
               else "the grey dots hold every one, a dot per small cube of the space, larger the more it holds "
                    "(hover one: how many)")
    return f"All {items:,} {many} are on the {chart}: the {drawn:,} {which} as points, and {beneath}."


def labels_shown(figure: go.Figure) -> tuple[int, int]:
    """(labels shown, labels asked for) of the plain point labels of a `projection` figure."""
    meta = figure.layout.meta or {}
    return int(meta.get("labels_shown", 0)), int(meta.get("labels_wanted", 0))


def label_annotations(rows: pd.DataFrame, points: pd.DataFrame) -> list[dict]:
    """Point labels of a 2D chart (rows: x, y, title) as annotations, each joined to its point by a short line
    (a label floating near a crowd could belong to any of it): Plotly draws annotations above every trace, WebGL
    ones included, and `shadow: auto` rings each letter in the background's colour, so a label stays readable
    over a crowd of points in light and dark mode alike."""
    anchors = {"top center": "center", "top left": "right", "top right": "left"}
    if rows.empty:  # nothing to label (Labels 0, nothing marked): the frame may lack the x and y columns
        return []
    return [{"x": float(x), "y": float(y), "text": text, "showarrow": True, "arrowhead": 0, "arrowwidth": 1,
             "arrowcolor": OUTLINE, "ax": 0, "ay": -LABEL_RISE, "standoff": 4, "yanchor": "bottom",
             "xanchor": anchors[where], "font": {"size": LABEL_SIZE, "shadow": "auto"}}
            for x, y, text, where in zip(rows["x"], rows["y"], labels(rows["title"]), _text_positions(rows, points))]


def _by_quantile(values: np.ndarray, colour_bar: dict) -> tuple[np.ndarray, dict]:
    """Colour by quantile (0 to 1) instead of value, with the colour bar's ticks naming the values there."""
    known = ~np.isnan(values)
    if known.sum() < 2:
        return values, colour_bar
    ranks = np.full(len(values), np.nan)
    ranks[known] = pd.Series(values[known]).rank(pct=True, method="average").to_numpy()
    ticks = np.linspace(0, 1, 6)
    at = np.quantile(values[known], ticks)
    text = [f"{v:.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:.2g}" for v in at]
    colour_bar = {**colour_bar, "tickvals": list(ticks), "ticktext": text,
                  "title": {"text": colour_bar["title"]["text"] + " (by quantile)"}}
    return ranks, colour_bar


def _label_width(titles: pd.Series) -> np.ndarray:
    return titles.astype(str).str.len().to_numpy() * LABEL_SIZE * 0.55  # px: about half an em per character


def _text_positions(frame: pd.DataFrame, points: pd.DataFrame) -> list[str]:
    """'top center', or 'top left' for a point so near the right edge that a centred label would be cut
    ('top right' near the left edge)."""
    low, high = float(points["x"].min()), float(points["x"].max())
    span = (high - low) or 1.0
    half = _label_width(frame["title"]) / 2 / PLOT_WIDTH_PX * span * 1.1
    x = frame["x"].to_numpy()
    return ["top left" if xi + h > high else "top right" if xi - h < low else "top center" for xi, h in zip(x, half)]


def _spaced_labels(rows: pd.DataFrame, points: pd.DataFrame, height: int, taken=()) -> list[int]:
    """Positions (in `rows`' order, most important first) of the labels that do not cover an earlier one nor a box
    of `taken`: a greedy pass with each label's box estimated from its length and the chart's size in pixels."""
    x_low, x_high = float(points["x"].min()), float(points["x"].max())
    y_low, y_high = float(points["y"].min()), float(points["y"].max())
    px_x = PLOT_WIDTH_PX / ((x_high - x_low) or 1.0)  # pixels per data unit
    px_y = max(100, height - 80) / ((y_high - y_low) or 1.0)
    widths = _label_width(rows["title"])
    positions = _text_positions(rows, points)
    boxes, kept = list(taken), []
    for i, (x, y, width, where) in enumerate(zip(rows["x"].to_numpy() * px_x, rows["y"].to_numpy() * px_y,
                                                 widths, positions)):
        left = x - width / 2 if where == "top center" else x - width if where == "top left" else x
        box = (left, y + LABEL_RISE, left + width, y + LABEL_RISE + LABEL_SIZE * 1.3)
        if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in boxes):
            boxes.append(box)
            kept.append(i)
    return kept


# ---------------------------------------------------------------------- region labels of a 2D map
REGION = "region:"  # a region mark's customdata is "region:<number>": a click on it is told apart from an item's
REGION_MARKER = 16  # px: a region's clickable mark; within its radius it beats a WebGL point under the mouse


def add_region_labels(figure: go.Figure, rows: pd.DataFrame, points: pd.DataFrame) -> go.Figure:
    """Region labels on a 2D `projection` figure (changed in place, and returned). `rows`: one per region with x, y
    (its mark: a member near the centre), number, genre_text, title_text and hover (plain text, escaped here; the
    hover's lines split at newlines).

    Each region gets a mark (a diamond) and a two-line label beside it: the genres in bold, then the titles; above
    the mark, or below it near the top edge, leaning inwards near a side edge so it is not cut. What is seen is
    annotations, as the point labels are: Plotly draws them above every trace, WebGL points included, and
    `shadow: auto` rings the letters in the background's colour (readable in light and dark mode). What is clicked
    is an SVG `scatter` trace of diamonds under the drawn ones (named "region labels", customdata
    "region:<n>"): a WebGL point would hide an SVG trace's text, but Plotly gives an SVG marker priority over
    WebGL points within its radius when it picks the point under the mouse, so a click on a mark picks its region,
    not the movie beneath."""
    figure.add_trace({"type": "scatter", "mode": "markers", "name": "region labels", "showlegend": False,
                      "x": rows["x"].to_numpy(dtype=float), "y": rows["y"].to_numpy(dtype=float),
                      "customdata": [f"{REGION}{int(n)}" for n in rows["number"]],
                      "hovertext": ["<br>".join(label(line) for line in str(h).split("\n")) for h in rows["hover"]],
                      "hoverinfo": "text", "cliponaxis": False,
                      "marker": dict(size=REGION_MARKER, symbol="diamond", color="rgba(128, 128, 128, 0.5)",
                                     line=dict(width=1, color=OUTLINE))})
    anchors, added = {"center": "center", "left": "right", "right": "left"}, []
    for x, y, genre, titles, where in zip(rows["x"], rows["y"], rows["genre_text"], rows["title_text"],
                                          _region_positions(rows, points)):
        vertical, side = where.split(" ")
        shift = (REGION_MARKER / 2 + 1) * (1 if vertical == "top" else -1)
        added.append(dict(x=float(x), y=float(y), text="◆", showarrow=False, xanchor="center", yanchor="middle",
                          font={"size": REGION_MARKER + 2, "color": OUTLINE, "shadow": "auto"}))
        added.append(dict(x=float(x), y=float(y), text=f"<b>{label(genre)}</b><br>{label(titles)}" if genre
                          else label(titles), showarrow=False, xanchor=anchors[side],
                          yanchor="bottom" if vertical == "top" else "top", yshift=shift,
                          font={"size": LABEL_SIZE, "shadow": "auto"}))
    # one assignment: add_annotation per label took 10x as long (it re-validates the layout each time)
    figure.layout.annotations = figure.layout.annotations + tuple(go.layout.Annotation(a) for a in added)
    return figure


def region_labels_fit(rows: pd.DataFrame, points: pd.DataFrame, height: int = MAP_HEIGHT) -> bool:
    """Whether no two region labels would cover each other on a PLOT_WIDTH_PX-wide chart (the boxes estimated from
    the lines' lengths, as `_spaced_labels` does for point labels): if not, the page asks for fewer regions."""
    boxes = region_label_boxes(rows, points, height)
    return all(a[2] < b[0] or a[0] > b[2] or a[3] < b[1] or a[1] > b[3]
               for i, a in enumerate(boxes) for b in boxes[i + 1:])


def clicked_region(points: list) -> int | None:
    """The region number behind the first clicked point when it is a region label (see `region_label_trace`)."""
    value = points[0].get("customdata") if points and isinstance(points[0], dict) else None
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, str) and value.startswith(REGION) and value[len(REGION):].isdigit():
        return int(value[len(REGION):])
    return None


def _region_lines(rows: pd.DataFrame) -> pd.Series:
    """The longer of each label's two lines: what sets its width."""
    genre, title = rows["genre_text"].astype(str), rows["title_text"].astype(str)
    return genre.where(genre.str.len() >= title.str.len(), title)


def _region_positions(rows: pd.DataFrame, points: pd.DataFrame) -> list[str]:
    """Each label's textposition: above its mark ("top ..."), below it in the top eighth of the map; centred, or
    leaning inwards near a side (as `_text_positions`)."""
    sides = _text_positions(rows.assign(title=_region_lines(rows)), points)  # 'top center', 'top left', 'top right'
    y_low, y_high = float(points["y"].min()), float(points["y"].max())
    near_top = rows["y"].to_numpy(dtype=float) > y_high - (y_high - y_low) / 8
    return [side.replace("top", "bottom") if top else side for side, top in zip(sides, near_top)]


def region_label_boxes(rows: pd.DataFrame, points: pd.DataFrame, height: int = MAP_HEIGHT) -> list[tuple]:
    """(left, bottom, right, top) of each region label, its two lines and its mark, in the pixel units of
    `_spaced_labels` (pass them to `projection` as keep_clear, so no point label covers a region's)."""
    x_low, x_high = float(points["x"].min()), float(points["x"].max())
    y_low, y_high = float(points["y"].min()), float(points["y"].max())
    px_x = PLOT_WIDTH_PX / ((x_high - x_low) or 1.0)
    px_y = max(100, height - 80) / ((y_high - y_low) or 1.0)
    tall, pad = 2 * LABEL_SIZE * 1.3, LABEL_SIZE / 2  # a margin: the plot is shorter than `height` (the legend)
    boxes = []
    for x, y, width, where in zip(rows["x"].to_numpy(dtype=float) * px_x, rows["y"].to_numpy(dtype=float) * px_y,
                                  _label_width(_region_lines(rows)), _region_positions(rows, points)):
        left = x - width / 2 if where.endswith("center") else x - width if where.endswith("left") else x
        low, high = (y - REGION_MARKER / 2, y + REGION_MARKER / 2 + tall) if where.startswith("top") else (
            y - REGION_MARKER / 2 - tall, y + REGION_MARKER / 2)
        boxes.append((left - pad, low - pad, left + width + pad, high + pad))
    return boxes


def clicked_item(points: list) -> int | None:
    """The item index behind the first clicked point of a projection chart (see `projection`'s customdata).

    A point's customdata arrives as a number, a list, or (from a typed array) a dict like {"0": 12}; anything
    else, or no point, gives None."""
    if not points:
        return None
    value = points[0].get("customdata") if isinstance(points[0], dict) else None
    if isinstance(value, dict):
        value = value.get("0", next(iter(value.values()), None))
    elif isinstance(value, (list, tuple)):
        value = value[0] if value else None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------- the "You" page
def you_map(points: pd.DataFrame, you: tuple[float, float], rated: pd.DataFrame, recommended: pd.DataFrame,
            explained: pd.DataFrame | None, axis_names: tuple[str, str], height: int = 620,
            colour_title: str = "your predicted rating", what: str = "items") -> go.Figure:
    """The item map coloured by the folded-in user's predicted rating (a ranking run: their score, with its own
    `colour_title`), with the movies they rated, the recommendations, the movie being explained, and the user drawn
    at their vector's place on the map's axes with an arrow from the centre: movies farther along it score higher.
    `points` as for `projection`, with a column `predicted`; with more than a point budget of them, the most rated
    are points over a density layer of all (see `projection`)."""
    fig = projection(points, 2, "predicted", axis_names=axis_names, height=height, colour_title=colour_title,
                     what=what,
                     marks=[Mark(recommended, HIGHLIGHT, "recommended", 12, "diamond", labelled=False),
                            Mark(rated, NEIGHBOUR, "rated by you", 12), Mark(explained, YOU, "explained", 22,
                                                                             "circle-open")])
    fig.add_trace(go.Scattergl(x=[you[0]], y=[you[1]], mode="markers", name="you",
                             marker=dict(size=24, symbol="star", color=YOU, line=dict(width=1, color=OUTLINE)),
                             hovertemplate="you: your vector on the map's axes<extra></extra>"))
    fig.add_annotation(x=you[0], y=you[1], text="<b>you</b>", showarrow=False, yanchor="top", yshift=-12,
                       font={"size": FONT_SIZE, "shadow": "auto"})
    fig.add_annotation(x=you[0], y=you[1], ax=0, ay=0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                       arrowhead=3, arrowsize=1.5, arrowwidth=2, arrowcolor=YOU, text="")
    return fig


# ---------------------------------------------------------------------- the Compare page
RUN_COLOURS = {"a": "#1f77b4", "b": "#ff7f0e"}


def loss_overlay(histories: pd.DataFrame, names: dict[str, str]) -> go.Figure:
    """Train loss (dashed) and validation MSE (solid) per epoch of both runs, on one MSE axis."""
    fig = go.Figure()
    for run, frame in histories.groupby("run", sort=True):
        colour, name = RUN_COLOURS.get(run, OTHER), label(names.get(run, run))
        fig.add_scatter(x=frame["epoch"], y=frame["train_loss"], mode="lines+markers", name=f"{name}: train loss",
                        line=dict(color=colour, dash="dash"))
        fig.add_scatter(x=frame["epoch"], y=frame["valid_mse"], mode="lines+markers", name=f"{name}: validation MSE",
                        line=dict(color=colour), customdata=frame["valid_rmse"],
                        hovertemplate="epoch %{x}<br>valid MSE %{y:.4f}<br>valid RMSE %{customdata:.4f}")
    if len(histories) and histories["epoch"].max() <= 20:
        fig.update_xaxes(dtick=1)  # whole epochs
    return readable(fig.update_layout(height=360, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="epoch",
                                      yaxis_title="MSE", legend=dict(orientation="h", y=-0.2)))


def jaccard_histogram(jaccard: np.ndarray, k: int) -> go.Figure:
    """How many items keep how much of their k-neighbourhood: one bar per possible overlap value."""
    shared = np.arange(k + 1)
    possible = shared / (2 * k - shared)  # Jaccard of two k-sets that share `shared` items
    counts = [int(np.isclose(jaccard, v).sum()) for v in possible]
    fig = go.Figure(go.Bar(x=[f"{v:.2f}" for v in possible], y=counts, customdata=shared,
                           hovertemplate="Jaccard %{x} (%{customdata} of " + str(k)
                                         + " shared): %{y} items<extra></extra>"))
    return readable(fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), yaxis_title="items",
                                      xaxis_title=f"Jaccard overlap of the {k} nearest neighbours in A and in B",
                                      xaxis=dict(type="category")))


def aligned_maps(map_a: np.ndarray, map_b: np.ndarray, titles: np.ndarray, moved: np.ndarray,
                 axis_names: tuple[str, str], selected: int | None = None, height: int = 620,
                 rows: np.ndarray | None = None, counts: np.ndarray | None = None,
                 point_budget: int = density.POINT_BUDGET, what: str = "items") -> go.Figure:
    """Run A's items and run B's, aligned onto A, on A's PCA axes; the `moved` rows (positions) joined from their
    place in A to their place in B and labelled at B's. Each marker's customdata is its row, so a click can
    select the item. `rows`: the rows drawn as points (all by default; a bounded map passes a subset).
    `counts` (each row's rating count): with more rows than `point_budget`, every row of each run goes into a
    density layer in the run's colour, and the `point_budget` most rated are drawn as points (`rows` unused)."""
    every = counts is not None and len(titles) > point_budget
    rows = density.budget_rows(counts, point_budget) if every else (
        np.arange(len(titles)) if rows is None else np.asarray(rows))
    hover = labels(pd.Series(titles))
    traces = _run_densities(map_a, map_b, label(what)) if every else []
    traces += [{"type": "scattergl", "mode": "markers", "x": m[rows, 0], "y": m[rows, 1], "name": name,
               "customdata": [int(i) for i in rows], "hovertext": hover[rows], "hoverinfo": "text",
               "marker": dict(size=6, opacity=0.55, color=RUN_COLOURS[side])}
              for side, m, name in (("a", map_a, "A"), ("b", map_b, "B (aligned onto A)"))]
    if len(moved):
        xs = np.column_stack([map_a[moved, 0], map_b[moved, 0], np.full(len(moved), np.nan)]).ravel()
        ys = np.column_stack([map_a[moved, 1], map_b[moved, 1], np.full(len(moved), np.nan)]).ravel()
        traces.append({"type": "scattergl", "mode": "lines", "x": xs, "y": ys, "name": "moved most: A → B",
                       "line": dict(color=HIGHLIGHT, width=2), "hoverinfo": "skip"})
        frame = pd.DataFrame({"x": map_b[moved, 0], "y": map_b[moved, 1], "title": titles[moved]})
        traces.append({"type": "scattergl", "mode": "markers", "x": frame["x"].to_numpy(),
                       "y": frame["y"].to_numpy(), "name": "moved most", "showlegend": False,
                       "customdata": [int(i) for i in moved], "hovertext": hover[moved], "hoverinfo": "text",
                       "marker": dict(size=10, color=HIGHLIGHT, line=dict(width=1, color=OUTLINE))})
    everything = pd.DataFrame({"x": np.r_[map_a[:, 0], map_b[:, 0]], "y": np.r_[map_a[:, 1], map_b[:, 1]]})
    wanted = pd.DataFrame({"x": map_b[moved, 0], "y": map_b[moved, 1], "title": titles[moved]})
    if selected is not None:
        wanted = pd.concat([pd.DataFrame({"x": [map_a[selected, 0], map_b[selected, 0]],
                                          "y": [map_a[selected, 1], map_b[selected, 1]],
                                          "title": [f"{titles[selected]} in A", "in B"]}), wanted], ignore_index=True)
    wanted = wanted.iloc[_spaced_labels(wanted, everything, height)]
    if selected is not None:
        both = np.array([map_a[selected], map_b[selected]])
        traces.append({"type": "scattergl", "mode": "markers+lines", "x": both[:, 0], "y": both[:, 1],
                       "name": "selected", "customdata": [selected, selected],
                       "hoverinfo": "text", "hovertext": [hover[selected]] * 2,
                       "marker": dict(size=16, color=YOU, symbol=["circle", "diamond"],
                                      line=dict(width=1, color=OUTLINE)),
                       "line": dict(color=YOU, width=3)})
    layout = {"height": height, "margin": dict(l=10, r=10, t=10, b=10), "legend": dict(orientation="h"),
              "xaxis": {"title": {"text": axis_names[0]}}, "yaxis": {"title": {"text": axis_names[1]}},
              "annotations": label_annotations(wanted, everything),
              "meta": _coverage(len(titles), len(rows), 2) if every else {}}
    return readable(go.Figure({"data": traces, "layout": layout}))


def _run_densities(map_a: np.ndarray, map_b: np.ndarray, what: str) -> list[dict]:
    """Every item of A and of B as a density layer each, in the run's colour on one shared grid; half opaque at
    most, so where the runs agree the two colours mix and where they differ each shows."""
    extent = density.extent_of((map_a[:, 0], map_a[:, 1]), (map_b[:, 0], map_b[:, 1]))
    rgb = {side: ", ".join(str(int(colour[i:i + 2], 16)) for i in (1, 3, 5)) for side, colour in RUN_COLOURS.items()}
    return [density.heatmap(m[:, 0], m[:, 1], name, f"{what} of {side.upper()}", rgb[side], extent=extent,
                            highest=0.5)
            for side, m, name in (("a", map_a, "every item of A"), ("b", map_b, "every item of B"))]


# ---------------------------------------------------------------------- the Diagnostics page
def prediction_parts(factors: pd.DataFrame | None, user_bias: float | None, item_bias: float | None,
                     raw_score: float, n_factors: int = 8, what: str = "item") -> go.Figure:
    """The linear score as a sum: the largest per-factor products, the rest of the factors together, then the
    biases; the last bar is the total that goes into the sigmoid."""
    names, values = [], []
    if factors is not None:
        shown = factors.head(n_factors)
        names += [f"factor {int(f)}" for f in shown["factor"]]
        values += list(shown["product"])
        if len(factors) > n_factors:
            names.append(f"{len(factors) - n_factors} other factors")
            values.append(float(factors["product"].iloc[n_factors:].sum()))
    for name, value in (("user bias", user_bias), (f"{label(what)} bias", item_bias)):
        if value is not None:
            names.append(name)
            values.append(value)
    fig = go.Figure(go.Waterfall(orientation="h", y=names + ["score before the sigmoid"], x=values + [raw_score],
                                 measure=["relative"] * len(values) + ["total"], texttemplate="%{x:+.3f}",
                                 textposition="outside", cliponaxis=False,
                                 hovertemplate="%{y}: %{x:+.4f}<extra></extra>",
                                 increasing=dict(marker=dict(color="#2ca02c")),
                                 decreasing=dict(marker=dict(color=HIGHLIGHT)),
                                 totals=dict(marker=dict(color="#1f77b4"))))
    ends = np.cumsum([0.0, *values, 0.0])  # where each bar starts and stops, and the total's bar from 0
    low, high = min(ends.min(), raw_score, 0.0), max(ends.max(), raw_score, 0.0)
    pad = 0.2 * ((high - low) or 1.0)  # room for the numbers outside the bars, inside the plot
    fig.update_xaxes(range=[low - pad, high + pad])
    return readable(fig.update_layout(height=max(260, 36 * (len(names) + 1) + 60),
                                      margin=dict(l=10, r=10, t=10, b=10),
                                      yaxis=dict(autorange="reversed"), xaxis_title="contribution to the score",
                                      showlegend=False))


def norms_vs_count(items: pd.DataFrame, y: str, y_title: str, colour: str | None) -> go.Figure:
    """Each item's `y` (embedding norm, or PC1) against log10 of its rating count, coloured by `colour`."""
    frame = items[np.isfinite(items["log10_count"])]
    hover = (pd.Series(labels(frame["title"]), index=frame.index) + "<br>ratings: " + frame["count"].astype(str)
             + f"<br>{label(y_title)}: " + frame[y].map("{:.3f}".format)).to_numpy()
    marker = dict(size=6, opacity=0.7)
    layout = {"height": 420, "margin": dict(l=10, r=10, t=10, b=10),
              "xaxis": {"title": {"text": "log10 rating count"}}, "yaxis": {"title": {"text": label(y_title)}}}
    if colour is not None and frame[colour].notna().any():
        marker.update(color=frame[colour].to_numpy(dtype=float), coloraxis="coloraxis")
        # sequential, not a diverging scale: a white middle vanishes on a light background, as near-zero biases did
        layout["coloraxis"] = {"colorscale": "Viridis", "colorbar": {"title": {"text": label(colour)}}}
    trace = {"type": "scattergl", "mode": "markers", "x": frame["log10_count"].to_numpy(), "y": frame[y].to_numpy(),
             "hovertext": hover, "hoverinfo": "text", "marker": marker, "name": "items"}
    return readable(go.Figure({"data": [trace], "layout": layout}))


def error_by_count(by_item: pd.DataFrame, by_user: pd.DataFrame, what: str = "item") -> go.Figure:
    """Validation RMSE per bin of training ratings, for the item's count and for the user's; a bar's hover
    tells how many validation ratings it holds."""
    fig = go.Figure()
    for frame, name, colour in ((by_item, f"by the {label(what)}'s training ratings", "#1f77b4"),
                                (by_user, "by the user's training ratings", "#ff7f0e")):
        fig.add_bar(x=frame["bin"], y=frame["rmse"], name=name, marker_color=colour, customdata=frame["n_ratings"],
                    hovertemplate="%{x} training ratings: RMSE %{y:.3f} over %{customdata} ratings<extra></extra>")
    return readable(fig.update_layout(height=360, margin=dict(l=10, r=10, t=10, b=10), barmode="group",
                                      xaxis=dict(type="category", title={"text": "training ratings (bin)"}),
                                      yaxis_title="validation RMSE", legend=dict(orientation="h", y=-0.25)))


def long_tail_spread(spread: dict, what: str = "item") -> go.Figure:
    """Share of all recommendations and of all held-out items in each tenth of the catalogue, most rated first
    (collab_core.analysis.ranking.long_tail): popularity bias is the first bar far above its held-out twin."""
    groups = [f"{g}" for g in spread["group"]]
    fig = go.Figure()
    # the noun goes in as `meta`, never into the template itself: a noun from an import could hold "%{...}"
    fig.add_bar(x=groups, y=spread["recommended_share"], name="recommended (top-k lists)", marker_color="#1f77b4",
                customdata=spread["items"], meta=label(what) + "s",
                hovertemplate="group %{x} (%{customdata} %{meta}): %{y:.1%} of recommendations<extra></extra>")
    fig.add_bar(x=groups, y=spread["heldout_share"], name="held out by users", marker_color="#ff7f0e",
                customdata=spread["items"], meta=label(what) + "s",
                hovertemplate="group %{x} (%{customdata} %{meta}): %{y:.1%} of held-out items<extra></extra>")
    return readable(fig.update_layout(
        height=340, margin=dict(l=10, r=10, t=10, b=10), barmode="group", yaxis=dict(tickformat=".0%"),
        xaxis=dict(type="category", title={"text": f"{label(what)}s by training ratings, in tenths (1 = most rated)"}),
        legend=dict(orientation="h", y=-0.3)))


def ndcg_distribution(values: np.ndarray, k: int) -> go.Figure:
    """How many users got each nDCG@k: a spike at 0 is the users the model fails entirely."""
    fig = go.Figure(go.Histogram(x=values, xbins=dict(start=0, end=1.0001, size=0.05), marker_color="#1f77b4",
                                 hovertemplate="nDCG %{x}: %{y} users<extra></extra>"))
    return readable(fig.update_layout(height=340, margin=dict(l=10, r=10, t=10, b=10), bargap=0.05,
                                      xaxis_title=f"nDCG@{k} of one user", yaxis_title="users"))


def overlap_histogram(overlap: np.ndarray, k: int) -> go.Figure:
    """How many users' top-k lists A and B share 0, 1, ..., k items of."""
    shared = np.rint(np.asarray(overlap) * k).astype(int)
    counts = np.bincount(shared, minlength=k + 1)
    fig = go.Figure(go.Bar(x=np.arange(k + 1), y=counts, marker_color="#1f77b4",
                           hovertemplate="%{y} users share %{x} of " + str(k) + "<extra></extra>"))
    return readable(fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), bargap=0.1,
                                      xaxis=dict(title={"text": f"items both runs put in a user's top {k}"},
                                                 dtick=1), yaxis_title="users"))
