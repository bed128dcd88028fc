"""Every page with a run shaped like MovieLens 25M's, at a moderate size (20,000 items, 30,000 users) so that it
stays fast: no exception, no selectbox over every item or user, no table of every item, and maps that hold every
item in a density layer but draw a bounded number of points."""
import base64

import numpy as np
import pytest

from collab_app.apptest import chart_spec
from collab_app.density import POINT_BUDGET
from collab_core.analysis import interpret

from .conftest import PAGES, no_exceptions, open_app, pick, shown

SHAPE = dict(n_users=30_000, n_items=20_000, n_ratings=1_500_000, n_factors=16)
MAX_OPTIONS = 101  # collab_core.data.search's 100 matches and the current selection
MAX_ROWS = 1_000
# a map's most rated as points (or Diagnostics' seeded sample of interpret.MAP_POINTS for its norm charts), and the
# items a map marks (query, neighbours, yours)
MAP_POINTS = max(POINT_BUDGET, interpret.MAP_POINTS) + 100


@pytest.fixture(scope="module")
def scale_runs(tmp_path_factory):
    from collab_core.bench.scale_run import ScaleShape, save_scale_runs

    root = tmp_path_factory.mktemp("scale") / "runs"
    save_scale_runs(root, 2, ScaleShape(**SHAPE))
    return root


@pytest.fixture()
def runs(scale_runs, monkeypatch):
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(scale_runs))
    monkeypatch.setenv("COLLAB_UMAP_PREWARM", "0")
    return scale_runs


def points(trace: dict) -> int:
    """How many points a Plotly trace of the figure's JSON holds (a list, or a typed array as base64)."""
    x = trace.get("x")
    if isinstance(x, dict):
        return len(base64.b64decode(x["bdata"])) // np.dtype(x["dtype"]).itemsize
    return len(x) if x is not None else 0


def in_density(trace: dict) -> int:
    """How many items a density layer (a heatmap of items per cell, as float32 base64) counts."""
    z = trace["z"]
    cells = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]) if isinstance(z, dict) else np.array(z)
    return int(np.nansum(cells.astype(float)))


def densities(at) -> list[int]:
    """The items each density layer of the page's maps counts."""
    return [in_density(t) for c in at.get("plotly_chart") for t in chart_spec(c)["data"] if t["type"] == "heatmap"]


def assert_bounded(at, max_points: int) -> None:
    assert no_exceptions(at), [e.value for e in at.exception]
    for box in at.selectbox:
        assert len(box.options) <= MAX_OPTIONS, (box.key, len(box.options))
    for table in at.dataframe:
        assert len(table.value) <= MAX_ROWS, len(table.value)
    for spec in (chart_spec(c) for c in at.get("plotly_chart")):
        for trace in spec["data"]:  # per trace: Compare draws the same items once per run
            assert points(trace) <= max_points, (trace.get("name"), points(trace))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_bounded_with_a_scale_run(runs, page):
    at = open_app(page, {"run": "scale-run-0", "a": "scale-run-0", "b": "scale-run-1"})
    if page == "pages/you.py":
        at.button(key="you_demo").click().run()
        assert "Recommended for you" in [h.value for h in at.subheader]
    assert_bounded(at, MAP_POINTS)


def test_the_lists_maps_hold_every_item_with_the_most_rated_as_points(runs):
    at = open_app("pages/neighbours.py", {"run": "scale-run-0", "min": "0"})
    assert_bounded(at, MAP_POINTS)
    assert densities(at) == [20_000]
    assert f"All 20,000 items are on the map: the {POINT_BUDGET:,} most rated as points" in shown(at.caption)
    at = open_app("pages/biases.py", {"run": "scale-run-0", "among": "min ratings", "min": "0"})
    assert_bounded(at, MAP_POINTS)
    assert densities(at) == [20_000]
    assert f"All 20,000 items ranked are on the chart: the {POINT_BUDGET:,} most rated" in shown(at.caption)


def test_you_and_compare_maps_hold_every_item_they_name(runs):
    at = open_app("pages/you.py", {"run": "scale-run-0"})
    at.button(key="you_demo").click().run()
    assert_bounded(at, MAP_POINTS)
    [count] = densities(at)
    assert count > POINT_BUDGET and f"All {count:,} items are on the map" in shown(at.caption)
    at = open_app("pages/compare.py", {"run": "scale-run-0", "a": "scale-run-0", "b": "scale-run-1"})
    assert_bounded(at, MAP_POINTS)
    a, b = densities(at)
    assert a == b > POINT_BUDGET and f"All {a:,} compared items of each run are on the map" in shown(at.caption)


@pytest.mark.parametrize("dims", ["2", "3"])
def test_projections_draw_every_item_when_asked(runs, dims):
    at = open_app("pages/projections.py", {"run": "scale-run-0", "items": "20000", "labels": "30", "dims": dims})
    spec = chart_spec(at.get("plotly_chart")[0])
    drawn = sum(points(t) for t in spec["data"] if t["type"] in ("scattergl", "scatter3d")
                and t.get("name") not in ("labelled", "labels", "every item"))
    assert drawn == POINT_BUDGET  # the most rated, hoverable
    if dims == "2":
        assert_bounded(at, MAP_POINTS)
        assert densities(at) == [20_000]  # every item, in the density layer beneath
        assert len(spec["layout"]["annotations"]) <= 30  # labels only for the most rated
    else:  # every item counted in the cells of a 3D grid, one dot per occupied cell
        [cells] = [t for t in spec["data"] if t.get("name") == "every item"]
        counts = cells["customdata"]
        assert int(np.frombuffer(base64.b64decode(counts["bdata"]), dtype=counts["dtype"]).sum()) == 20_000
    assert "All 20,000 items are on the map" in shown(at.caption)


def test_the_picker_finds_any_movie_and_any_user_by_search(runs):
    at = open_app("pages/diagnostics.py", {"run": "scale-run-0"})
    from collab_core.runs.store import RunStore

    run = RunStore(runs).load("scale-run-0")
    rare = int(np.argmin(run.catalog.counts))  # far outside the 100 most rated
    title = str(run.catalog.titles[rare])
    pick(at, "p_dg_movie", str(run.catalog.vocab.ids[rare]))
    assert at.selectbox(key="p_dg_movie").value == str(run.catalog.vocab.ids[rare])
    assert at.query_params["movie"] in ([str(run.catalog.vocab.ids[rare])], str(run.catalog.vocab.ids[rare]))
    quiet = str(run.users.ids[int(np.argmin(run.user_counts))])
    pick(at, "p_dg_user", quiet)
    assert at.selectbox(key="p_dg_user").value == quiet and no_exceptions(at)
    pick(at, "p_dg_movie", title.split(" (")[0].upper())  # a title, whatever the case: the most rated such
    chosen = at.selectbox(key="p_dg_movie")
    assert title.split(" (")[0] in chosen.format_func(chosen.value) and len(chosen.options) <= MAX_OPTIONS


def test_a_umap_in_progress_says_how_long_it_has_run_and_should_run(runs):
    at = open_app("pages/projections.py", {"run": "scale-run-0", "method": "UMAP", "items": "60"})
    assert no_exceptions(at), [e.value for e in at.exception]
    bars = at.get("progress")
    if bars:  # still running (a warm numba may finish 60 items within the first script run)
        assert "Computing the UMAP map of 60 items" in bars[0].text
        assert "s expected here" in bars[0].text
    else:
        assert "UMAP of 60 items" in shown(at.caption)


def test_clearing_the_search_keeps_the_selection(runs):
    at = open_app("pages/projections.py", {"run": "scale-run-0"})
    assert at.selectbox(key="p_pj_highlight").value is None
    pick(at, "p_pj_highlight", "the")
    chosen = at.selectbox(key="p_pj_highlight").value
    assert chosen is not None and at.query_params["highlight"] in ([chosen], chosen)
    pick(at, "p_pj_highlight", "")
    box = at.selectbox(key="p_pj_highlight")
    assert box.value == chosen and 100 <= len(box.options) <= MAX_OPTIONS  # the most rated again, and the choice


@pytest.mark.parametrize("page, key, text", [
    ("pages/neighbours.py", "p_nb_movie", "Night"),
    ("pages/projections.py", "p_pj_highlight", "Night"),
    ("pages/you.py", "you_pick", "Night"),
    ("pages/diagnostics.py", "p_dg_movie", "Night"),
    ("pages/diagnostics.py", "p_dg_user", "29"),
])
def test_a_picked_value_of_another_run_is_dropped_when_the_run_changes(scale_runs, tiny_run, tmp_path, monkeypatch,
                                                                        page, key, text):
    """Every picker: a movie or user picked on a 20,000-item run, then a 30-item run made active (as the
    sidebar does): the page draws without an error (the You page's picker once showed 'unknown item id')."""
    import shutil

    from .conftest import use_copy_of

    use_copy_of(scale_runs, tmp_path, monkeypatch)
    shutil.copytree(tiny_run, tmp_path / "runs" / "tiny-run")
    at = open_app(page, {"run": "scale-run-0"})
    pick(at, key, text)
    picked = at.selectbox(key=key).value
    assert picked is not None and no_exceptions(at), [e.value for e in at.exception]
    at.session_state["p_run"] = "tiny-run"
    at.run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "unknown" not in shown(at.error), shown(at.error)  # (the tiny run's own notices may show)
    assert at.selectbox(key=key).value != picked
