"""The Projections page's "Custom axis" method and region labels, through AppTest: the ends' terms come from the
link and go back into it, the map's axis titles name them, the table ranks the map along x, a term that matches
nothing is named, hostile titles and terms stay text; region labels are on the map when asked for, a click on one
asks the selection panel for its region, and a click on a movie is left to the highlight."""
from types import SimpleNamespace

import pytest

from collab_app import charts, region_view
from collab_app.apptest import chart_spec
from collab_app.text import md
from collab_core.analysis.axes import resolve_terms
from collab_core.data.datasets import load_builtin
from tests.hostile import save_hostile_run

from .conftest import no_exceptions, open_app, shown, use_copy_of
from .test_escaping import assert_nothing_hostile_is_markup

CUSTOM = {"method": "Custom axis", "color": "none"}


@pytest.fixture()
def with_hostile_run(tmp_path_factory, tmp_path, monkeypatch):
    root = tmp_path_factory.mktemp("hostile-axis") / "runs"
    save_hostile_run(root)
    return use_copy_of(root, tmp_path, monkeypatch)


def figure(at) -> dict:
    return chart_spec(at.get("plotly_chart")[0])


def trace(at, name: str) -> dict | None:
    return next((t for t in figure(at)["data"] if t.get("name") == name), None)


def test_the_ends_come_from_the_link_and_name_the_axes(with_run):
    at = open_app("pages/projections.py", {**CUSTOM, "xl": "Toy Story", "xr": "Star Trek", "y": "axis",
                                           "yl": "Sense and Sensibility", "yh": "Scream"})
    assert no_exceptions(at), [e.value for e in at.exception]
    layout = figure(at)["layout"]
    assert layout["xaxis"]["title"]["text"] == "Toy Story  &lt;-&gt;  Star Trek"  # escaped: Plotly reads HTML
    assert layout["yaxis"]["title"]["text"] == "Sense and Sensibility  &lt;-&gt;  Scream"
    catalog = load_builtin().catalog
    assert set(trace(at, "x right end: Star Trek")["customdata"]) == {int(i) for i in resolve_terms(catalog,
                                                                                                   "Star Trek")}
    right, left = at.dataframe[0].value, at.dataframe[1].value
    assert list(right.columns) == ["title", "genres", "ratings", "position"] and len(right) == len(left) == 10
    assert right["position"].is_monotonic_decreasing and left["position"].is_monotonic_increasing
    assert right["position"].min() > left["position"].max()
    at.text_input(key="p_pj_xr").set_value("Star Wars, Return of the Jedi").run()
    assert at.query_params["xr"] in (["Star Wars, Return of the Jedi"], "Star Wars, Return of the Jedi")
    assert figure(at)["layout"]["xaxis"]["title"]["text"].endswith("Star Wars, Return of the Jedi")
    at.segmented_control(key="p_pj_y").set_value("PC1").run()
    assert figure(at)["layout"]["yaxis"]["title"]["text"].startswith("PC1 (")
    assert "yl" not in at.query_params and no_exceptions(at)


def test_a_term_that_matches_nothing_is_named_and_no_map_is_drawn(with_run):
    at = open_app("pages/projections.py", {**CUSTOM, "xl": "Emma, Zzyzx Road"})
    assert "Nothing matches “Zzyzx Road” at the x left end" in shown(at.error)
    assert at.get("plotly_chart") == [] and no_exceptions(at)
    at.text_input(key="p_pj_xl").set_value("Emma").run()
    assert not at.error and len(at.get("plotly_chart")) == 1


def test_hostile_titles_and_terms_stay_text(with_hostile_run):
    at = open_app("pages/projections.py", {**CUSTOM, "xl": "Log in", "xr": "click</a>", "regions": "1",
                                           "color": "genre", "labels": "40"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert trace(at, "region labels") is not None and trace(at, "x right end: click&lt;/a&gt;") is not None
    assert_nothing_hostile_is_markup(at)
    at = open_app("pages/projections.py", {**CUSTOM, "xr": "[x](https://evil.example)"})
    assert_nothing_hostile_is_markup(at)  # the error quotes the term, escaped


def test_region_labels_are_drawn_when_asked_and_a_click_on_one_picks_its_region(with_run, monkeypatch):
    at = open_app("pages/projections.py", {"method": "PCA", "color": "none"})
    assert trace(at, "region labels") is None
    at.toggle(key="p_pj_regions").set_value(True).run()
    assert at.query_params["regions"] in (["1"], "1")
    regions = trace(at, "region labels")
    assert regions["type"] == "scatter" and regions["customdata"][0] == "region:0"
    texts = [a["text"] for a in figure(at)["layout"]["annotations"]]
    assert sum(t == "◆" for t in texts) == len(regions["customdata"])
    assert "Region labels: " in shown(at.caption)
    # the chart's click callback on the page's session state (a click itself needs a browser: tests/e2e)
    session = {"pj_regions_shown": at.session_state["pj_regions_shown"]}
    with monkeypatch.context() as patched:
        patched.setattr(region_view, "st", SimpleNamespace(session_state=session))
        assert not region_view.on_click([{"customdata": 12}])  # a movie: left to the highlight
        assert region_view.on_click([{"customdata": "region:0"}])
        assert not region_view.on_click([{"customdata": "region:99"}])  # a region no longer on the map
    request = session[region_view.SELECTION_REQUEST]
    assert request["how"].startswith("region 1: ") and len(request["indices"]) >= 10
    assert all(isinstance(i, int) for i in request["indices"])
    at.session_state[region_view.SELECTION_REQUEST] = request  # as the callback leaves it for the rerun
    at.run()
    assert [h.value for h in at.subheader if h.value.startswith("Selection: ")] == [
        "Selection: " + md(request["how"])]  # the selection panel took it
    assert sorted(trace(at, "region")["customdata"]) == sorted(request["indices"])  # ringed on the map


def test_clicks_on_regions_and_items_are_told_apart():
    assert charts.clicked_region([{"customdata": "region:3"}]) == 3
    assert charts.clicked_region([{"customdata": ["region:3"]}]) == 3
    assert charts.clicked_region([{"customdata": 12}]) is None and charts.clicked_region([]) is None
    assert charts.clicked_item([{"customdata": "region:3"}]) is None  # no crash, no movie
    assert charts.clicked_item([{"customdata": 12}]) == 12
