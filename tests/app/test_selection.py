"""The Projections map's selection (collab_app.selection_panel) through AppTest: from the link, from another part of
the page's request, its display choice, its clearing, items dropped when no longer shown, and the link's limit.
Drawing a box or lasso needs a browser: tests/e2e/test_selection.py."""
from collab_app.apptest import chart_spec
from collab_app.text import md

from .conftest import no_exceptions, open_app, shown

PAGE = "pages/projections.py"
STAR_WARS, FARGO, JEDI = "50", "100", "181"  # MovieLens 100K ids, all among the 1,000 most rated


def trace_names(at) -> list[str]:
    return [t.get("name") for t in chart_spec(at.get("plotly_chart")[0])["data"]]


def param(at, name):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def panel_table(at):
    return next(d.value for d in at.dataframe if "mean rating" in d.value.columns)


def test_a_link_with_a_selection_shows_it(with_run):
    _, run_id = with_run
    at = open_app(PAGE, {"run": run_id, "sel": f"{STAR_WARS},{FARGO},{JEDI}"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert [s.value for s in at.subheader if s.value.startswith("Selection")] == ["Selection: from the link"]
    assert set(panel_table(at)["title"]) == {"Star Wars (1977)", "Fargo (1996)", "Return of the Jedi (1983)"}
    assert "3 of the 1000 movies shown." in shown(at.markdown)
    assert "region" in trace_names(at)
    assert param(at, "sel") == f"{STAR_WARS},{FARGO},{JEDI}"
    assert "The link keeps this selection" in shown(at.caption)
    at.selectbox(key="p_pj_colour").set_value("bias").run()  # another widget's rerun keeps it
    assert len(panel_table(at)) == 3 and param(at, "sel") == f"{STAR_WARS},{FARGO},{JEDI}"


def test_unknown_ids_in_the_link_are_named_and_left_out(with_run):
    _, run_id = with_run
    at = open_app(PAGE, {"run": run_id, "sel": f"{STAR_WARS},nope"})
    assert "unknown id" in shown(at.warning) and "nope" in shown(at.warning)
    assert list(panel_table(at)["title"]) == ["Star Wars (1977)"]


def test_the_display_choice_and_clear(with_run):
    _, run_id = with_run
    at = open_app(PAGE, {"run": run_id, "sel": f"{STAR_WARS},{FARGO}", "color": "none"})
    at.segmented_control(key="p_pj_selview").set_value("grey").run()
    spec = chart_spec(at.get("plotly_chart")[0])
    grey = next(t for t in spec["data"] if t["name"] == "outside the region")
    assert len(grey["customdata"]) == 998 and param(at, "selview") == "grey"
    items = next(t for t in spec["data"] if t["name"] == "items")
    assert sorted(items["customdata"]) == [49, 99]
    at.segmented_control(key="p_pj_selview").set_value("only").run()
    names = trace_names(at)
    assert "outside the region" not in names
    assert sorted(next(t for t in chart_spec(at.get("plotly_chart")[0])["data"]
                       if t["name"] == "items")["customdata"]) == [49, 99]
    at.button(key="pj_sel_clear").click().run()
    assert not [s for s in at.subheader if s.value.startswith("Selection")]
    assert param(at, "sel") is None
    assert len(next(t for t in chart_spec(at.get("plotly_chart")[0])["data"] if t["name"] == "items")["customdata"]) \
        == 1000


def test_a_request_from_the_page_becomes_the_selection(with_run):
    """The contract with the map's region labels: they set the request and rerun; the panel takes it."""
    at = open_app(PAGE)
    at.session_state["pj_selection_request"] = {"indices": [49, 99, 180], "how": "region 3: Horror · Thriller"}
    at.run()
    assert no_exceptions(at)
    assert "pj_selection_request" not in at.session_state
    assert shown([s for s in at.subheader if s.value.startswith("Selection")]) == \
        "Selection: region 3: Horror · Thriller"
    assert len(panel_table(at)) == 3 and param(at, "sel") == f"{STAR_WARS},{FARGO},{JEDI}"


def test_a_large_selection_is_not_kept_in_the_link_and_a_hostile_heading_stays_text(with_run):
    at = open_app(PAGE, {"items": "200"})
    most_rated = [int(i) for i in chart_spec(at.get("plotly_chart")[0])["data"][0]["customdata"]]
    at.session_state["pj_selection_request"] = {"indices": sorted(most_rated)[:60],
                                                "how": "[Log in](https://evil.example)"}
    at.run()
    heading = next(s.value for s in at.subheader if s.value.startswith("Selection"))
    assert heading == "Selection: " + md("[Log in](https://evil.example)")
    assert param(at, "sel") is None
    assert "The link keeps a selection of up to 50 movies" in shown(at.caption)


def test_items_no_longer_shown_stay_selected_with_a_note(with_run):
    _, run_id = with_run
    at = open_app(PAGE, {"run": run_id, "sel": f"{STAR_WARS},1680", "items": "1682"})  # 1680: rarely rated
    assert len(panel_table(at)) == 2
    at.slider(key="p_pj_top").set_value(100).run()
    assert "1 selected item(s) are not on this map; they stay selected" in shown(at.caption)
    assert list(panel_table(at)["title"]) == ["Star Wars (1977)"] and param(at, "sel") == f"{STAR_WARS},1680"


def test_a_map_without_labels_draws(with_run):
    """Labels 0 with nothing highlighted or selected: the map is drawn without any label (it raised a KeyError)."""
    at = open_app(PAGE, {"labels": "0", "color": "none"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert chart_spec(at.get("plotly_chart")[0])["layout"].get("annotations", []) == []


def test_the_neighbours_map_keeps_its_own_selection(with_run):
    _, run_id = with_run
    at = open_app("pages/neighbours.py", {"run": run_id, "sel": f"{FARGO},{JEDI}", "selview": "grey"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert shown([s for s in at.subheader if s.value.startswith("Selection")]) == "Selection: from the link"
    assert set(panel_table(at)["title"]) == {"Fargo (1996)", "Return of the Jedi (1983)"}
    spec = chart_spec(at.get("plotly_chart")[0])
    assert sorted(next(t for t in spec["data"] if t["name"] == "items")["customdata"]) == [99, 180]
    assert "outside the region" in [t["name"] for t in spec["data"]]
    assert param(at, "sel") == f"{FARGO},{JEDI}" and param(at, "selview") == "grey"
    at.number_input(key="p_nb_min").set_value(400).run()  # Fargo (about 500 ratings) stays; so does Jedi
    assert len(panel_table(at)) == 2
    at.button(key="nb_sel_clear").click().run()
    assert param(at, "sel") is None and not [s for s in at.subheader if s.value.startswith("Selection")]


def test_the_selection_survives_a_change_of_dims(with_run):
    _, run_id = with_run
    at = open_app(PAGE, {"run": run_id, "sel": f"{STAR_WARS},{FARGO}"})
    at.segmented_control(key="p_pj_dims").set_value(3).run()
    spec = chart_spec(at.get("plotly_chart")[0])
    assert spec["data"][0]["type"] == "scatter3d"
    assert sorted(next(t for t in spec["data"] if t["name"] == "region")["customdata"]) == [49, 99]
    assert len(panel_table(at)) == 2 and param(at, "sel") == f"{STAR_WARS},{FARGO}"
