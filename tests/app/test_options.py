"""Page options never outlive the run or link they were valid for (collab_app.options).

The class of bug: a value kept from one context (a 1,682-item run, a URL) applied where it is out of bounds
made Streamlit raise (StreamlitValueAboveMaxError, ...) or the engine fail (PCA of 1 item). Every page is
opened on a large run with its options pushed to their ends, then switched to a tiny run and back; every
URL parameter gets values outside its bounds and of the wrong type."""
import shutil

import pytest

from collab_app.charts import clicked_item

from .conftest import no_exceptions, open_app, pick, shown

OPTION_PAGES = ["pages/biases.py", "pages/projections.py", "pages/neighbours.py", "pages/you.py", "pages/compare.py",
                "pages/diagnostics.py"]
ALL_PAGES = OPTION_PAGES + ["pages/data.py", "pages/train.py", "pages/home.py"]


@pytest.fixture()
def two_runs(with_run, tiny_run):
    runs_dir, big = with_run
    shutil.copytree(tiny_run, runs_dir / "tiny-run")
    return big, "tiny-run"


def push_options_to_their_ends(at, page: str) -> None:
    if page == "pages/biases.py":
        at.slider(key="p_bias_top").set_value(1682).run()
        at.number_input(key="p_bias_n").set_value(100).run()
    elif page == "pages/projections.py":
        at.slider(key="p_pj_top").set_value(1682).run()
        at.number_input(key="p_pj_labels").set_value(200).run()
        pick(at, "p_pj_highlight", "1682")  # an id the tiny run does not have
    elif page == "pages/neighbours.py":
        at.number_input(key="p_nb_k").set_value(100).run()
        pick(at, "p_nb_movie", "1600")
    elif page == "pages/you.py":
        at.button(key="you_demo").click().run()  # ratings of movies the tiny run does not have
        at.number_input(key="p_you_n").set_value(50).run()
        pick(at, "p_you_explain", "1682")
    elif page == "pages/compare.py":
        at.selectbox(key="p_cmp_b").set_value("tiny-run").run()  # ids "0".."29": 29 shared with MovieLens
        at.number_input(key="p_cmp_min").set_value(0).run()
        at.slider(key="p_cmp_moved").set_value(100).run()
        at.selectbox(key="p_cmp_b").set_value(at.sidebar.selectbox(key="p_run").value).run()
        at.number_input(key="p_cmp_k").set_value(50).run()
    elif page == "pages/diagnostics.py":
        pick(at, "p_dg_movie", "1682")
        pick(at, "p_dg_user", "943")
        at.number_input(key="p_dg_worst").set_value(200).run()


@pytest.mark.parametrize("page", ALL_PAGES)
def test_switching_between_runs_of_very_different_sizes_never_breaks_a_page(two_runs, page):
    big, tiny = two_runs
    at = open_app(page, {"run": big})
    push_options_to_their_ends(at, page)
    assert no_exceptions(at), [e.value for e in at.exception]
    for run in (tiny, big, tiny):
        at.sidebar.selectbox(key="p_run").set_value(run).run()
        assert no_exceptions(at), (run, [e.value for e in at.exception])
        assert at.sidebar.selectbox(key="p_run").value == run
        for slider in at.slider:
            assert slider.min <= slider.value <= slider.max, (slider.key, slider.value)
        for box in at.number_input:
            assert box.min is None or box.min <= box.value <= box.max, (box.key, box.value)
    if page == "pages/neighbours.py":  # the tiny run has 30 items: at most 29 neighbours
        at.number_input(key="p_nb_min").set_value(0).run()
        assert len(at.dataframe[0].value) == at.number_input(key="p_nb_k").value <= 29


URL_CASES = {
    "pages/biases.py": {"top": ["5", "0", "-3", "99999999", "ten"], "n": ["0", "101", "1.5"],
                        "among": ["everything"], "min": ["-1", "1e309"]},
    "pages/projections.py": {"items": ["1", "0", "-1", "99999", "all"], "dims": ["4", "x"], "labels": ["201"],
                             "method": ["TSNE"], "highlight": ["no-such-movie"], "axes": ["3-4"], "nn": ["1"],
                             "md": ["2", "nan"], "color": ["<b>"], "regions": ["2", "yes"], "y": ["PC2"]},
    "pages/neighbours.py": {"k": ["0", "101", "1e3", "[Your session expired, log in](https://evil.example)"],
                            "movie": ["99999", "![x](http://evil.example/p.png)"], "metric": ["manhattan"],
                            "min": ["-5"]},
    "pages/you.py": {"n": ["0", "51", "ten"], "min": ["-1", "1e309"]},
    "pages/compare.py": {"a": ["no-such-run", "../etc"], "b": ["<b>run</b>"], "k": ["0", "51", "x"],
                         "min": ["-2"], "moved": ["101", "-1"], "item": ["99999"]},
    "pages/diagnostics.py": {"user": ["99999", "[x](https://evil.example)"], "movie": ["0"],
                             "pcamin": ["-1"], "worst": ["4", "201"]},
}


@pytest.mark.parametrize("page, param, value", [
    (page, param, value) for page, params in URL_CASES.items() for param, values in params.items() for value in values])
def test_a_link_value_outside_what_a_widget_takes_is_refused_with_a_notice(with_run, page, param, value):
    at = open_app(page, {param: value})
    assert no_exceptions(at), [e.value for e in at.exception]
    notice = shown(at.warning)
    assert f"The link's {param}=“{value}”" in notice, notice
    assert "showing the default instead" in notice


def test_a_link_for_a_small_run_with_values_a_big_run_allows_is_clamped(two_runs):
    _, tiny = two_runs
    at = open_app("pages/biases.py", {"run": tiny, "top": "1000"})
    assert no_exceptions(at)
    assert at.slider(key="p_bias_top").value <= 30


@pytest.mark.parametrize("point, expected", [
    ({"customdata": 12}, 12), ({"customdata": [12]}, 12), ({"customdata": {"0": 12}}, 12), ({"customdata": "7"}, 7),
    ({"customdata": None}, None), ({}, None), ({"customdata": ["x"]}, None), ("junk", None),
])
def test_a_clicked_point_is_read_whatever_shape_its_customdata_arrives_in(point, expected):
    assert clicked_item([point]) == expected
    assert clicked_item([]) is None


def test_a_very_long_link_value_is_shortened_in_its_notice(with_run):
    at = open_app("pages/neighbours.py", {"movie": "x" * 5000})
    notice = shown(at.warning)
    assert "The link's movie=“" + "x" * 80 + "…”" in notice and len(notice) < 300, len(notice)
