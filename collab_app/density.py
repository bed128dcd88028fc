"""Every item on a map, cheaply: the whole set as a density layer binned on the server, the most rated as points.

A hoverable, clickable point costs about 150 bytes of JSON (its title, genres, count and bias as hover text, its
item index, its coordinates): at MovieLens 25M's 59,047 items a map of points was 8.7 MB per rerun and took 8.8 s
to draw in headless Chromium here (docs/performance.md, "At ML-25M size"). A 2D map with more items than
`POINT_BUDGET` therefore draws every item as one heatmap of item counts per cell (a float32 grid, sent as a typed
array: the same size at any number of items) and only the `POINT_BUDGET` most rated as points. Pure functions
from arrays to Plotly trace dicts, no Streamlit calls, like collab_app.charts which uses them.
"""
from __future__ import annotations

import numpy as np

# The most items a map draws as points; above it, all of them go into the density layer (and these on top).
# Chosen by measurement (docs/performance.md): 4,000 points keep a 59,047-item map near 0.7 MB and its first
# draw within 3 s in headless Chromium here.
POINT_BUDGET = 4_000
BINS = 150  # cells per axis: about 4 px each on a 640 px wide chart, fine enough to show clusters
# Grey with transparency: reads on Streamlit's light and dark backgrounds alike, and under any point colour.
GREY = "128, 128, 128"
LOWEST, HIGHEST = 0.12, 0.8  # opacity of a cell holding one item, and of the densest cell


def budget_rows(counts: np.ndarray, budget: int = POINT_BUDGET) -> np.ndarray:
    """(min(n, budget),) sorted positions of the `budget` largest `counts` (ties by position): the most rated."""
    counts = np.asarray(counts)  # (n,)
    if len(counts) <= budget:
        return np.arange(len(counts))
    return np.sort(np.argsort(-counts, kind="stable")[:budget])


def grid(x: np.ndarray, y: np.ndarray, bins: int = BINS, extent: tuple | None = None
         ) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Items per cell of a bins x bins grid over the points' extent (or `extent`, ((x low, x high), (y low,
    y high)), so two layers share one grid): ((bins, bins) float32, rows along y, NaN where a cell is empty so
    Plotly leaves it transparent), and (x0, dx, y0, dy), the first cell's centre and the cell size, which place the
    grid without sending its coordinates."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)  # (n,) each
    known = np.isfinite(x) & np.isfinite(y)
    x, y = x[known], y[known]
    if not len(x):
        return np.full((1, 1), np.nan, dtype=np.float32), (0.0, 1.0, 0.0, 1.0)
    x_range, y_range = extent or (_padded(x), _padded(y))
    counts, _, _ = np.histogram2d(x, y, bins=bins, range=(x_range, y_range))  # (bins along x, bins along y)
    counts = counts.T.astype(np.float32)  # (bins along y, bins along x): a heatmap's z is rows of y
    counts[counts == 0] = np.nan
    dx, dy = (x_range[1] - x_range[0]) / bins, (y_range[1] - y_range[0]) / bins
    return counts, (x_range[0] + dx / 2, dx, y_range[0] + dy / 2, dy)


def _padded(values: np.ndarray) -> tuple[float, float]:
    """The values' range, widened a little (and made non-empty) so the extreme items fall inside the last cell."""
    low, high = float(values.min()), float(values.max())
    pad = 1e-6 * ((high - low) or 1.0)
    return low - pad, high + pad


def extent_of(*pairs: tuple[np.ndarray, np.ndarray]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The padded extent of several (x, y) sets together: one grid for the layers of one map."""
    xs = np.concatenate([np.asarray(x, dtype=np.float64) for x, _ in pairs])  # (n_total,)
    ys = np.concatenate([np.asarray(y, dtype=np.float64) for _, y in pairs])
    known = np.isfinite(xs) & np.isfinite(ys)
    return (_padded(xs[known]), _padded(ys[known])) if known.any() else ((0.0, 1.0), (0.0, 1.0))


def colourscale(top: float, rgb: str = GREY, highest: float = HIGHEST) -> list[list]:
    """A colour scale for counts 1..`top` that is logarithmic in effect: Plotly maps z linearly, so the stops sit
    at 1, 2, 4, 8, ... items, each a step more opaque. A linear scale showed only the crowd at the centre (rarely
    rated items, which weight decay pulls to the origin) and left the clusters around it invisible."""
    top = max(float(top), 2.0)
    stops = np.unique(np.r_[2.0 ** np.arange(0, np.floor(np.log2(top)) + 1), top])  # (s,) counts, 1 .. top
    alphas = np.linspace(LOWEST, highest, len(stops))  # (s,)
    return [[float((c - 1) / (top - 1)), f"rgba({rgb}, {a:.2f})"] for c, a in zip(stops, alphas)]


def heatmap(x: np.ndarray, y: np.ndarray, name: str, what: str, rgb: str = GREY, bins: int = BINS,
            extent: tuple | None = None, highest: float = HIGHEST) -> dict:
    """A heatmap trace of every (x, y) as items per cell, in `rgb` from faint to `highest` opacity; hover says how
    many `what` (already escaped: it goes in as `meta`, never into the template, so a noun holding '%{...}' stays
    text) a cell holds. No colour bar: a map's colour bar belongs to its points."""
    counts, (x0, dx, y0, dy) = grid(x, y, bins, extent)
    top = float(np.nanmax(counts)) if np.isfinite(counts).any() else 1.0
    return {"type": "heatmap", "name": name, "z": counts, "x0": x0, "dx": dx, "y0": y0, "dy": dy,
            "zmin": 1.0, "zmax": max(top, 2.0), "colorscale": colourscale(top, rgb, highest), "showscale": False,
            "hoverongaps": False, "meta": what, "zsmooth": False,
            "hovertemplate": "%{meta} in this cell: %{z:,}<extra></extra>"}


VOXELS = 24  # cells per axis of a 3D map's grid: a few thousand occupied cells at MovieLens 25M's size


def voxels(xyz: np.ndarray, bins: int = VOXELS) -> tuple[np.ndarray, np.ndarray]:
    """The occupied cells of a bins^3 grid over the points' extent: ((m, 3) float32 cell centres, (m,) float32 items
    in each). Scatter3d has no heatmap, and a dot per item cost as much to draw as a hoverable point (1.5 s more at
    59,047 items in headless Chromium here): one dot per occupied cell shows where every item is for far less."""
    xyz = np.asarray(xyz, dtype=np.float64)  # (n, 3)
    xyz = xyz[np.isfinite(xyz).all(axis=1)]
    if not len(xyz):
        return np.zeros((0, 3), dtype=np.float32), np.zeros(0, dtype=np.float32)
    ranges = [_padded(xyz[:, a]) for a in range(3)]
    counts, edges = np.histogramdd(xyz, bins=bins, range=ranges)  # (bins, bins, bins), 3 x (bins + 1,)
    cells = np.argwhere(counts > 0)  # (m, 3) cell indices
    centres = np.column_stack([(edges[a][cells[:, a]] + edges[a][cells[:, a] + 1]) / 2 for a in range(3)])  # (m, 3)
    return centres.astype(np.float32), counts[tuple(cells.T)].astype(np.float32)


def cloud(xyz: np.ndarray, name: str, what: str, rgb: str = GREY, bins: int = VOXELS) -> dict:
    """A scatter3d trace of one dot per occupied cell of a 3D map, larger and more opaque the more items it holds;
    hover says how many `what` (escaped, as `meta`) it holds."""
    centres, counts = voxels(xyz, bins)
    top = float(counts.max()) if len(counts) else 1.0
    sizes = (2 + np.log2(np.maximum(counts, 1))).astype(np.float32)  # (m,) px: 2 for one item, 14 for 4,096
    return {"type": "scatter3d", "mode": "markers", "name": name, "showlegend": False,
            "x": centres[:, 0], "y": centres[:, 1], "z": centres[:, 2], "customdata": counts, "meta": what,
            "hovertemplate": "%{meta} in this cell: %{customdata:,}<extra></extra>",
            "marker": {"size": sizes, "color": counts, "cmin": 1.0, "cmax": max(top, 2.0),
                       "colorscale": colourscale(top, rgb, 0.6), "showscale": False, "line": {"width": 0}}}


def items_in(trace: dict) -> int:
    """How many items a `heatmap` trace (the sum of its grid) or a `cloud` trace (of its cells' counts) counts."""
    values = trace["z"] if trace["type"] == "heatmap" else trace["customdata"]
    return int(np.nansum(np.asarray(values, dtype=np.float64)))
