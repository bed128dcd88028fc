"""Review of issue 21 (maps as a workbench): failing tests for bugs found by a hostile review of the selection panel.
Each test names the bug it pins; they fail on main at c252108."""
from streamlit.testing.v1 import AppTest

from .conftest import no_exceptions, open_app, use_copy_of

PAGE = "pages/projections.py"
TOY_STORY, GOLDENEYE, FOUR_ROOMS = "1", "2", "3"  # MovieLens 100K ids


def panel_table(at):
    """The selection panel's table: the one with titles that is neither the transposed loadings nor a ranking."""
    return next(d.value for d in at.dataframe if "title" in d.value.columns
                and not any(str(c).startswith("component") or c in ("position", "rank") for c in d.value.columns))


def selection_headings(at) -> list[str]:
    return [s.value for s in at.subheader if s.value.startswith("Selection")]


def test_a_selection_is_not_carried_to_another_datasets_items_with_the_same_ids(every_kind_of_run, tmp_path,
                                                                               monkeypatch):
    """collab_app/selection_panel.py keeps raw ids whatever the run: after switching from a MovieLens run to the
    imported 'bare' run (ids "0".."39"), the movies Toy Story, GoldenEye and Four Rooms become bare's unrelated
    items "1", "2", "3", still headed "Selection: from the link", and the link says a shared link shows them."""
    root, run_id = every_kind_of_run
    use_copy_of(root, tmp_path, monkeypatch)
    at = open_app(PAGE, {"run": run_id, "sel": f"{TOY_STORY},{GOLDENEYE},{FOUR_ROOMS}"})
    assert selection_headings(at) == ["Selection: from the link"]
    at.sidebar.selectbox(key="p_run").set_value("bare").run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert selection_headings(at) == [], "bare's items 1, 2, 3 are not the movies that were selected"


def test_a_narrower_map_does_not_lose_the_selection_for_good(with_run):
    """collab_app/selection_panel.py shown_selection: drawing fewer items drops the selected items no longer
    drawn from the selection itself, so moving the items slider down and back up (or Neighbours' minimum of
    ratings up and back) loses them for good."""
    _, run_id = with_run
    at = open_app(PAGE, {"run": run_id, "sel": f"{TOY_STORY},{FOUR_ROOMS}"})  # Four Rooms: rarely rated
    assert len(panel_table(at)) == 2
    at.slider(key="p_pj_top").set_value(100).run()
    at.slider(key="p_pj_top").set_value(1000).run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert len(panel_table(at)) == 2, "Four Rooms was dropped from the selection for good"


def _stray_drag_script():
    from types import SimpleNamespace

    import numpy as np
    import streamlit as st

    from collab_app import selection_panel

    catalog = SimpleNamespace(vocab=SimpleNamespace(ids=np.array(["a", "b", "c"], dtype=object)))
    if "_pj_selection" not in st.session_state:
        st.session_state["_pj_selection"] = {"ids": ["a", "b"], "how": "drawn with the box", "tool": "select"}
    xy = np.array([0.0, 1.0, 2.0])
    for event, view in (({"lasso": [{"x": [0, 2], "y": [0, 2]}]}, "highlight"),  # a lasso of two points
                        ({"box": [{"x": [5, 6], "y": [5, 6]}]}, "only")):  # a box where nothing is drawn
        selection_panel.take_event("pj", event, [0, 1, 2], xy, xy, catalog, view)
        st.write(repr(selection_panel.current("pj")))


def test_a_stray_lasso_or_an_empty_box_keeps_the_selection():
    """collab_app/selection_panel.py take_event: a drag that encloses nothing (a lasso of two points, a box over an
    empty part of the map, or under 'show only' any box outside the selection) replaces the selection with an
    empty one, which clears it: the region a person had drawn is lost without a word."""
    at = AppTest.from_function(_stray_drag_script).run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert [m.value for m in at.markdown] == ["{'ids': ['a', 'b'], 'how': 'drawn with the box', 'tool': 'select'}"] * 2


def test_the_selection_of_an_imported_run_without_counts_has_no_column_of_zero_counts(imported_runs, tmp_path,
                                                                                       monkeypatch):
    """collab_app/selection_panel.py panel: for an imported run without rating counts, the table and the CSV export
    list a 'count' of 0 for every item (collab_core.runs.export.item_metadata leaves the column out for the same
    run: 'would otherwise export zeros as counts'), and year, mean rating and bias columns that are empty."""
    use_copy_of(imported_runs, tmp_path, monkeypatch)
    at = open_app(PAGE, {"run": "bare", "sel": "1,2,3"})
    assert no_exceptions(at), [e.value for e in at.exception]
    table = panel_table(at)
    assert "count" not in table.columns, table.head()
