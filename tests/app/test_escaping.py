"""Untrusted text is text on every page: titles, genres, dataset and run names from data, and values from the
URL, are never read as Markdown by Streamlit nor as HTML by Plotly (collab_app.text.md, charts.label), and the
CSV export never holds a spreadsheet formula (collab_core.runs.export.csv_cell).

The class of bug: a new caption, notice or chart label that forgets to escape. These tests plant hostile
strings in every place data reaches and look at everything every page renders, so a new sink that forgets is
caught without a test of its own. (The browser test checks the same in the real DOM.)"""
import pytest

from collab_app.apptest import chart_spec, message
from tests.hostile import HOSTILE, save_hostile_run

from .conftest import no_exceptions, open_app, use_copy_of

PAGES = ["pages/biases.py", "pages/projections.py", "pages/neighbours.py", "pages/train.py", "pages/data.py",
         "pages/home.py", "pages/you.py", "pages/compare.py", "pages/diagnostics.py"]
MARKDOWN_KINDS = ["markdown", "caption", "warning", "error", "info", "success", "title", "header", "subheader"]


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "runs"
    save_hostile_run(root)
    return root


@pytest.fixture()
def with_hostile_run(hostile_run, tmp_path, monkeypatch):
    return use_copy_of(hostile_run, tmp_path, monkeypatch)


def markdown_bodies(at) -> list[str]:
    """Every text Streamlit reads as Markdown: the bodies of Markdown elements, and the labels and help tooltips
    of every widget, button, metric and tab."""
    bodies = []
    for kind in MARKDOWN_KINDS:
        bodies += [element.value for element in at.get(kind)]

    for node in at:  # every block and element of the page, the sidebar's included
        sent = message(node)
        for field in ("label", "help"):
            text = getattr(sent, field, None) if sent is not None else None
            if isinstance(text, str) and text:
                bodies.append(text)
    return bodies


def plotly_strings(at) -> list[str]:
    found = []

    def walk(value):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for chart in at.get("plotly_chart"):
        walk(chart_spec(chart))
    return found


def assert_nothing_hostile_is_markup(at):
    for body in markdown_bodies(at):
        for hostile in HOSTILE:
            assert hostile not in body, f"unescaped in Markdown: {body!r}"
        # escapes do not stop autolinks: a bare address must stay broken once the escapes are read
        assert "https://evil" not in body.replace("\\", ""), f"an address Markdown would link: {body!r}"
    for text in plotly_strings(at):
        for hostile in HOSTILE:
            if "<" in hostile:
                assert hostile not in text, f"unescaped in a chart: {text!r}"
        assert "<a " not in text and "<span" not in text and "<img" not in text, text


@pytest.mark.parametrize("page", PAGES)
def test_hostile_titles_genres_and_names_are_text_on_every_page(with_hostile_run, page):
    at = open_app(page)
    assert no_exceptions(at), [e.value for e in at.exception]
    if page == "pages/projections.py":
        at.selectbox(key="p_pj_colour").set_value("genre").run()  # genre names become legend entries
        at.number_input(key="p_pj_labels").set_value(40).run()  # every title becomes a point label
        shown_items = {int(i) for t in chart_spec(at.get("plotly_chart")[0])["data"] for i in t.get("customdata", [])}
        at.session_state["pj_selection_request"] = {"indices": sorted(shown_items), "how": HOSTILE[0]}
        at.run()  # the selection panel: its heading, its words about hostile genres, its table
        assert any(s.value.startswith("Selection") for s in at.subheader)
    if page == "pages/neighbours.py":
        at.number_input(key="p_nb_min").set_value(0).run()
    if page == "pages/you.py":  # hostile titles in the rated rows, the tables, the map and the explanation
        at.button(key="you_demo").click().run()
        at.number_input(key="p_you_min").set_value(0).run()
    if page == "pages/compare.py":  # the run against a copy of itself: hostile titles in every table and the map
        at.number_input(key="p_cmp_min").set_value(0).run()
        at.slider(key="p_cmp_moved").set_value(40).run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert_nothing_hostile_is_markup(at)
    sidebar = " ".join(markdown_bodies(at))
    assert "Log in" in sidebar and "evil" in sidebar  # the name and dataset are shown, as text


@pytest.mark.parametrize("page, param", [("pages/neighbours.py", "k"), ("pages/neighbours.py", "movie"),
                                         ("pages/biases.py", "among"), ("pages/projections.py", "color"),
                                         ("pages/train.py", "run"), ("pages/you.py", "n"), ("pages/compare.py", "b"),
                                         ("pages/compare.py", "item"), ("pages/diagnostics.py", "user"),
                                         ("pages/home.py", "run")])
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_link_values_are_quoted_as_text(with_hostile_run, page, param, value):
    at = open_app(page, {param: value})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert at.warning, "a refused link value is said"
    assert_nothing_hostile_is_markup(at)


def test_the_embeddings_csv_holds_no_formula(with_hostile_run):
    from collab_core.runs.export import embeddings_csv, projector_files
    from collab_core.runs.store import RunStore

    trained = RunStore(with_hostile_run).load("hostile-run")
    csv = embeddings_csv(trained).decode()
    cells = [cell for line in csv.splitlines() for cell in line.split(",")]
    assert not any(cell.lstrip('"').startswith(("=", "+", "@")) for cell in cells)
    assert "'=HYPERLINK(" in csv
    _, meta = projector_files(trained)
    assert not any(cell.startswith(("=", "+", "@")) for line in meta.decode().splitlines() for cell in line.split("\t"))
