"""Plotly figure builders: pure functions from data to figures, no Streamlit calls."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

HIGHLIGHT = "#d62728"
NEIGHBOUR = "#ff7f0e"
PALETTE = px.colors.qualitative.Dark24  # 24 distinct colours: MovieLens has 19 genres


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
        fig.add_scatter(x=[p.step / steps_per_epoch for p in progress], y=[p.train_loss for p in progress],
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
    fig = px.scatter(table, x="mean_rating", y="bias", size="count", size_max=18, hover_name="title",
                     hover_data={"count": True, "genres": True, "mean_rating": ":.2f", "bias": ":.3f"},
                     labels={"mean_rating": "mean rating", "bias": "learned item bias"}, opacity=0.6)
    return fig.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=10), title="Learned bias vs mean rating")


def user_bias_histogram(biases: np.ndarray) -> go.Figure:
    fig = px.histogram(x=biases, nbins=50, labels={"x": "learned user bias"})
    return fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), yaxis_title="users",
                             title="User bias distribution")


def explained_variance(ratios: np.ndarray) -> go.Figure:
    fig = px.bar(x=[f"PC{i + 1}" for i in range(len(ratios))], y=ratios, labels={"x": "component", "y": "explained variance ratio"})
    return fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), yaxis_tickformat=".0%",
                             title="Explained variance per component")


def projection(points: pd.DataFrame, dims: int, color: str | None, labels: pd.DataFrame | None = None,
               highlight: pd.DataFrame | None = None, neighbours: pd.DataFrame | None = None,
               axis_names: tuple[str, ...] = ("x", "y", "z"), height: int = 620) -> go.Figure:
    """Scatter of items in 2D or 3D. `points` has columns x, y[, z], title, genres, bias, count, item and
    the colour column; customdata carries the item index so a click can select it."""
    hover = {"genres": True, "count": True, "bias": ":.3f", "x": False, "y": False}
    if dims == 3:
        hover["z"] = False
        fig = px.scatter_3d(points, x="x", y="y", z="z", color=color, hover_name="title", hover_data=hover,
                            custom_data=["index"], opacity=0.75, color_discrete_sequence=PALETTE,
                            labels={"x": axis_names[0], "y": axis_names[1], "z": axis_names[2]})
        fig.update_traces(marker_size=3)
    else:
        fig = px.scatter(points, x="x", y="y", color=color, hover_name="title", hover_data=hover,
                         custom_data=["index"], opacity=0.75, render_mode="webgl", color_discrete_sequence=PALETTE,
                         labels={"x": axis_names[0], "y": axis_names[1]})
        fig.update_traces(marker_size=7)
    extras = [(neighbours, NEIGHBOUR, "neighbours", 11), (highlight, HIGHLIGHT, "selected", 15)]
    for frame, colour, name, size in extras:
        if frame is None or frame.empty:
            continue
        if dims == 3:
            fig.add_scatter3d(x=frame["x"], y=frame["y"], z=frame["z"], mode="markers+text", text=frame["title"],
                              marker=dict(size=size / 2, color=colour, line=dict(width=1, color="black")),
                              name=name, customdata=frame[["index"]].to_numpy(), hovertext=frame["title"])
        else:
            fig.add_scatter(x=frame["x"], y=frame["y"], mode="markers+text", text=frame["title"],
                            textposition="top center", name=name, customdata=frame[["index"]].to_numpy(),
                            marker=dict(size=size, color=colour, line=dict(width=1, color="black")),
                            hovertext=frame["title"], hoverinfo="text")
    if labels is not None and not labels.empty and dims == 2:
        for _, row in labels.iterrows():
            fig.add_annotation(x=row["x"], y=row["y"], text=row["title"], showarrow=False, font=dict(size=10),
                               yshift=9, opacity=0.85)
    elif labels is not None and not labels.empty:
        fig.add_scatter3d(x=labels["x"], y=labels["y"], z=labels["z"], mode="text", text=labels["title"],
                          name="labels", textfont=dict(size=10), hoverinfo="skip")
    return fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h"))
