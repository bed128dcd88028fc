"""Plotly figure builders: pure functions from data to figures, no Streamlit calls.

Plotly reads a subset of HTML in every text it draws (titles, hover labels, legend names, point labels):
`<a href>` becomes a link, `<span style>` restyles the chart. Every string that comes from data goes
through `label()`, which escapes it as HTML; Plotly turns the entities back into the characters, as text.
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

HIGHLIGHT = "#d62728"
NEIGHBOUR = "#ff7f0e"
PALETTE = px.colors.qualitative.Dark24  # 24 distinct colours: MovieLens has 19 genres


def label(value) -> str:
    """`value` as text Plotly draws literally."""
    return html.escape(str(value), quote=False)


def labels(values: pd.Series) -> np.ndarray:
    return values.astype(str).map(label).to_numpy()


def rating_histogram(ratings: np.ndarray) -> go.Figure:
    values, counts = np.unique(np.round(ratings, 2), return_counts=True)
    fig = px.bar(x=values, y=counts, labels={"x": "rating", "y": "number of ratings"})
    return fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), title="Rating histogram")


def long_tail(counts: np.ndarray, what: str = "item") -> go.Figure:
    """Ratings per item, most-rated first, on a log scale: the long tail that makes rare items noisy."""
    ordered = np.sort(counts)[::-1]
    fig = px.line(x=np.arange(1, len(ordered) + 1), y=ordered, log_y=True,
                  labels={"x": f"{what} rank (most rated first)", "y": f"ratings per {what} (log)"})
    return fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), title=f"Ratings per {what}: the long tail")


def loss_curves(progress: list, history: list[dict] | None = None) -> go.Figure:
    """Training loss (every report) and validation loss (every epoch) against epochs done.

    Both are MSE so they share an axis; validation RMSE is in the hover text."""
    fig = go.Figure()
    if progress:
        steps_per_epoch = max(1, progress[-1].total_steps / progress[-1].epochs)
        batches = [p for p in progress if p.kind == "batch"]  # epoch reports carry the epoch mean instead
        batches = batches[:: max(1, len(batches) // 300)]  # redrawn every second: keep it to ~300 points
        fig.add_scatter(x=[p.step / steps_per_epoch for p in batches], y=[p.train_loss for p in batches],
                        mode="lines", name="train loss (MSE)")
        epochs = [p for p in progress if p.kind == "epoch"]
        fig.add_scatter(x=[p.epoch for p in epochs], y=[p.valid_mse for p in epochs], mode="lines+markers",
                        name="validation MSE", customdata=[p.valid_rmse for p in epochs],
                        hovertemplate="epoch %{x}<br>valid MSE %{y:.4f}<br>valid RMSE %{customdata:.4f}")
    elif history:
        fig.add_scatter(x=[h["epoch"] for h in history], y=[h["train_loss"] for h in history],
                        mode="lines+markers", name="train loss (MSE)")
        fig.add_scatter(x=[h["epoch"] for h in history], y=[h["valid_mse"] for h in history],
                        mode="lines+markers", name="validation MSE")
    return fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="epoch",
                             yaxis_title="MSE", title="Train vs validation loss", legend=dict(orientation="h"))


def lr_finder(lrs: list[float], losses: list[float], suggested: float) -> go.Figure:
    fig = px.line(x=lrs, y=losses, log_x=True, labels={"x": "learning rate (log)", "y": "smoothed training loss"})
    fig.add_vline(x=suggested, line_dash="dash", line_color=HIGHLIGHT,
                  annotation_text=f"suggested {suggested:.2g}")
    return fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), title="Learning-rate finder")


def bias_vs_mean(table: pd.DataFrame) -> go.Figure:
    """Learned bias against mean rating, sized by count: points off the trend are where the model
    disagrees with the average (e.g. a film liked only by people who like everything)."""
    table = table.assign(title=labels(table["title"]), genres=labels(table["genres"]))
    sized = table["count"].gt(0).any()  # an imported run may have no counts: all-zero sizes would draw nothing
    fig = px.scatter(table, x="mean_rating", y="bias", size="count" if sized else None, size_max=18,
                     hover_name="title",
                     hover_data={"count": True, "genres": True, "mean_rating": ":.2f", "bias": ":.3f"},
                     labels={"mean_rating": "mean rating", "bias": "learned item bias"}, opacity=0.6)
    return fig.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=10), title="Learned bias vs mean rating")


def user_bias_histogram(biases: np.ndarray) -> go.Figure:
    fig = px.histogram(x=biases, nbins=50, labels={"x": "learned user bias"})
    return fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), yaxis_title="users",
                             title="User bias distribution")


def explained_variance(ratios: np.ndarray) -> go.Figure:
    return go.Figure({"data": [{"type": "bar", "x": [f"PC{i + 1}" for i in range(len(ratios))], "y": list(ratios)}],
                      "layout": {"height": 260, "margin": dict(l=10, r=10, t=30, b=10),
                                 "title": {"text": "Explained variance per component"},
                                 "yaxis": {"tickformat": ".0%", "title": {"text": "explained variance ratio"}}}})


def projection(points: pd.DataFrame, dims: int, color: str | None, label_rows: pd.DataFrame | None = None,
               highlight: pd.DataFrame | None = None, neighbours: pd.DataFrame | None = None,
               axis_names: tuple[str, ...] = ("x", "y", "z"), height: int = 620) -> go.Figure:
    """Scatter of items in 2D or 3D. `points` has columns x, y[, z], index (item index), title, genres, bias,
    count and the colour column. Each marker's customdata is its item index, so a click can select it.

    Built from plain trace dicts rather than plotly express: px's grouping and one annotation object per
    label cost ~140 ms for 1,000 items, more than the rest of the page."""
    axes = ["x", "y", "z"][:dims]
    kind = "scatter3d" if dims == 3 else "scattergl"
    size = 3 if dims == 3 else 7
    traces = []

    def trace(frame: pd.DataFrame, **extra) -> dict:
        hover = (pd.Series(labels(frame["title"]), index=frame.index) + "<br>"
                 + pd.Series(labels(frame["genres"]), index=frame.index) + "<br>ratings: "
                 + frame["count"].astype(str) + "<br>bias: " + frame["bias"].map("{:.3f}".format)).to_numpy()
        # customdata: one item index per point, as a flat list of ints. A 2-D numpy array would travel as a
        # typed array and come back from a click as {"0": index}, not [index] (clicked_item reads both).
        return {"type": kind, "mode": "markers", **{a: frame[a].to_numpy() for a in axes},
                "customdata": [int(i) for i in frame["index"]], "hovertext": hover, "hoverinfo": "text", **extra}

    layout = {"height": height, "margin": dict(l=10, r=10, t=10, b=10), "legend": dict(orientation="h")}
    if color is None:
        traces.append(trace(points, name="items", marker=dict(size=size, opacity=0.75), showlegend=False))
    elif points[color].dtype == object:  # categorical: one trace per value, largest groups first
        for i, (value, group) in enumerate(sorted(points.groupby(color), key=lambda kv: -len(kv[1]))):
            traces.append(trace(group, name=label(value), marker=dict(size=size, opacity=0.75,
                                                                     color=PALETTE[i % len(PALETTE)])))
    else:
        values = pd.to_numeric(points[color], errors="coerce").to_numpy(dtype=float)
        traces.append(trace(points, name=color, showlegend=False,
                            marker=dict(size=size, opacity=0.8, color=values, coloraxis="coloraxis")))
        layout["coloraxis"] = {"colorscale": "Viridis", "colorbar": {"title": {"text": color}}}
    for frame, colour, name, marker_size in [(neighbours, NEIGHBOUR, "neighbours", 11), (highlight, HIGHLIGHT, "selected", 15)]:
        if frame is not None and not frame.empty:
            traces.append(trace(frame, name=name, mode="markers+text", text=labels(frame["title"]),
                                textposition="top center",
                                marker=dict(size=marker_size if dims == 2 else marker_size / 2, color=colour,
                                            line=dict(width=1, color="black"))))
    if label_rows is not None and not label_rows.empty:
        traces.append({"type": "scatter3d" if dims == 3 else "scatter", "mode": "text", "name": "labels",
                       **{a: label_rows[a].to_numpy() for a in axes}, "text": labels(label_rows["title"]),
                       "textposition": "top center", "textfont": {"size": 10}, "hoverinfo": "skip",
                       "showlegend": False})
    titles = {f"{a}axis": {"title": {"text": label(name)}} for a, name in zip(axes, axis_names)}
    if dims == 3:
        layout["scene"] = titles
    else:
        layout.update(titles)
    return go.Figure({"data": traces, "layout": layout})


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
