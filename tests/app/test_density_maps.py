"""Every item on every map, cheaply (collab_app.density): above the point budget a map holds every item in a density
layer whose cells count them all, draws the most rated and every mark as clickable points, and stays small."""
import numpy as np
import pandas as pd
import plotly.io as pio
import pytest

from collab_app import charts, density

N = 60_000  # more than MovieLens 25M's 59,047 items
MAX_BYTES = 2_000_000  # issue 21's goal per rerun


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=N), "y": rng.normal(size=N), "z": rng.normal(size=N),
                         "index": np.arange(N), "title": [f"The Silent River <b>{i}</b> (1994)" for i in range(N)],
                         "genres": pd.Series(rng.choice(["Drama", "Comedy", "Horror"], N), dtype=object),
                         "bias": rng.normal(size=N), "count": rng.integers(1, 100_000, N),
                         "mean_rating": rng.uniform(0.5, 5, N)}).assign(genre=lambda f: f["genres"])


def in_density(figure) -> list[int]:
    return [density.items_in(t.to_plotly_json()) for t in figure.data if t.type == "heatmap"]


def point_items(figure, name: str) -> set[int]:
    return {int(i) for t in figure.data if t.name == name for i in t.customdata}


@pytest.mark.parametrize("colour", [None, "genre", "bias"])
def test_a_2d_map_of_60000_items_counts_them_all_and_stays_under_2_mb(items, colour):
    marked = items.sort_values("count").head(11)  # the least rated: far outside the budget
    figure = charts.projection(items, 2, colour, label_rows=items.nlargest(30, "count"), highlight=marked.head(1),
                               neighbours=marked.tail(10))
    assert in_density(figure) == [N]  # every item, once
    assert len(pio.to_json(figure, validate=False)) < MAX_BYTES
    assert charts.map_coverage(figure) == (N, density.POINT_BUDGET, "density")
    plain = {int(i) for t in figure.data if t.type == "scattergl" and t.name not in ("selected", "neighbours",
                                                                                      "labelled") for i in t.customdata}
    assert plain == set(items.nlargest(density.POINT_BUDGET, "count")["index"])  # the most rated are points
    assert point_items(figure, "selected") == {int(marked["index"].iloc[0])}  # marks are points, clickable
    assert point_items(figure, "neighbours") == set(marked["index"].iloc[1:])
    assert "All 60,000 movies are on the map: the 4,000 most rated as points" in charts.coverage_note(figure, "movies")


def test_a_3d_map_counts_every_item_in_cells_beside_the_hoverable_points(items):
    figure = charts.projection(items, 3, "genre")
    [cells] = [t for t in figure.data if t.name == "every item"]
    assert cells.type == "scatter3d" and density.items_in(cells.to_plotly_json()) == N
    assert len(cells.x) <= density.VOXELS ** 3 and len(pio.to_json(figure, validate=False)) < MAX_BYTES
    assert charts.map_coverage(figure) == (N, density.POINT_BUDGET, "cells")


def test_a_map_within_the_budget_is_all_points_and_says_nothing(items):
    small = items.head(500)
    figure = charts.projection(small, 2, None)
    assert not in_density(figure) and charts.coverage_note(figure, "movies") == ""
    assert sum(len(t.customdata) for t in figure.data if t.type == "scattergl") == 500


def test_the_compare_map_and_the_bias_chart_count_every_item_too(items):
    a, b = items[["x", "y"]].to_numpy(), items[["y", "x"]].to_numpy()
    titles = items["title"].to_numpy()
    figure = charts.aligned_maps(a, b, titles, np.array([7]), ("PC1", "PC2"), selected=3,
                                 counts=items["count"].to_numpy())
    assert in_density(figure) == [N, N]  # one layer per run
    assert len(pio.to_json(figure, validate=False)) < MAX_BYTES
    assert point_items(figure, "selected") == {3} and point_items(figure, "moved most") == {7}
    chart = charts.bias_vs_mean(items, "movie", many="movies")
    assert in_density(chart) == [N] and charts.map_coverage(chart)[:2] == (N, density.POINT_BUDGET)
    assert len(pio.to_json(chart, validate=False)) < MAX_BYTES


def test_the_density_layer_is_transparent_where_empty_and_escapes_its_noun():
    layer = density.heatmap(np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0]), "every item", "<b>movies</b>",
                            bins=4)
    z = np.asarray(layer["z"])
    assert np.nansum(z) == 3 and np.isnan(z).sum() == 14 and z.dtype == np.float32  # two cells hold items
    assert "%{meta}" in layer["hovertemplate"] and "movies" not in layer["hovertemplate"]
    stops = [s for s, _ in layer["colorscale"]]
    assert stops[0] == 0 and stops[-1] == 1 and stops == sorted(stops)


@pytest.mark.parametrize("view, layer", [("highlight", N), ("grey", N), ("only", 20_000)])
def test_a_selected_region_keeps_the_map_small_and_the_layer_honest(items, view, layer):
    """A lasso over a density map selects items drawn as points or not: the views apply to the points drawn, and
    under "only" the layer holds the selection alone."""
    chosen = items["index"].iloc[::3].to_numpy()  # 20,000 items, most of them not among the points
    figure = charts.projection(items, 2, None, selected=chosen, selection_view=view)
    assert in_density(figure) == [layer]
    assert len(pio.to_json(figure, validate=False)) < MAX_BYTES
