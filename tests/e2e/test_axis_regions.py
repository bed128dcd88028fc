"""The Projections page's custom axis and region labels in a real browser: choosing "Custom axis", typing the ends'
search terms (x, and y as a second axis), the map's axis titles and end marks, the table ranked along the axis, a
term that matches nothing; the "Region labels" toggle, a click on a label selecting its region (the selection panel
shows it) while a click on a point still highlights the movie. Screenshots at 1024 x 768 in light and dark mode."""
import re

import pytest

from collab_core.analysis.axes import resolve_terms
from collab_core.bench.harness import wait_for_app
from collab_core.bench.plotly_page import CUSTOMDATA, POINT

from .conftest import a_run_served, browser_page, hover, open_page, screenshot, wait_until_drawn
from .test_clicks import click_point

pytestmark = pytest.mark.e2e

# the text of every axis title of the page's first chart, as drawn (Plotly turns the escaped "&lt;" back into "<")
AXIS_TITLES = "() => Array.from(document.querySelector('.js-plotly-plot').querySelectorAll('.xtitle, .ytitle'))" \
              ".map(e => e.textContent)"
# the rows of each table (glide-data-grid's accessibility table), as lists of cell texts
TABLES = """() => Array.from(document.querySelectorAll("[data-testid='stDataFrame']")).map(grid =>
  Array.from(grid.querySelectorAll('table tbody tr')).map(tr => Array.from(tr.querySelectorAll('td'))
    .map(td => td.textContent)))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, save_small_run):
    yield from a_run_served(tmp_path_factory, save_small_run, "axis-regions")


def items_of(terms: str) -> set[int]:
    from collab_core.data.datasets import load_builtin

    return {int(i) for i in resolve_terms(load_builtin().catalog, terms)}


def type_terms(page, label: str, terms: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(terms)
    box.press("Enter")
    wait_for_app(page)


def test_a_custom_axis_named_by_search_terms_ranks_the_map_along_it(server, page):
    open_page(page, f"{server}/projections?run=a-run&color=none")
    page.get_by_role("radio", name="Custom axis").click()
    wait_for_app(page)
    page.wait_for_url(re.compile(r"method=Custom(\+|%20)axis"), timeout=30_000)
    type_terms(page, "x: left end", "Toy Story, Aladdin")
    type_terms(page, "x: right end", "star trek")
    page.wait_for_url(re.compile(r"xl=Toy(\+|%20)Story.*xr=star(\+|%20)trek"), timeout=30_000)
    wait_until_drawn(page)
    assert page.evaluate(AXIS_TITLES)[0] == "Toy Story, Aladdin  <->  star trek"
    assert page.evaluate(AXIS_TITLES)[1].startswith("PC1 (")
    assert set(page.evaluate(CUSTOMDATA, "x right end: star trek")) == items_of("star trek")  # 8 Star Trek films
    assert set(page.evaluate(CUSTOMDATA, "x left end: Toy Story, Aladdin")) == items_of("Toy Story, Aladdin")
    page.get_by_text("Towards star trek").wait_for()
    right, left = page.evaluate(TABLES)[:2]
    assert len(right) == len(left) == 10
    right_positions, left_positions = ([float(row[-1]) for row in rows] for rows in (right, left))
    assert right_positions == sorted(right_positions, reverse=True) and left_positions == sorted(left_positions)
    assert min(right_positions) > max(left_positions)

    page.get_by_role("radio", name="second axis").click()
    wait_for_app(page)
    type_terms(page, "y: bottom end", "Sense and Sensibility")
    type_terms(page, "y: top end", "Scream")
    page.wait_for_url(re.compile(r"y=axis.*yh=Scream"), timeout=30_000)
    wait_until_drawn(page)
    assert page.evaluate(AXIS_TITLES)[1] == "Sense and Sensibility  <->  Scream"
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_term_that_matches_nothing_is_named(server, page):
    open_page(page, f"{server}/projections?run=a-run&method=Custom+axis")
    type_terms(page, "x: right end", "Star Wars, Starr Warz")
    error = page.get_by_test_id("stAlertContentError")
    error.wait_for(timeout=30_000)
    assert "Nothing matches “Starr Warz” at the x right end" in error.inner_text()
    assert page.locator(".js-plotly-plot").count() == 0  # no map from a half-named axis


def test_region_labels_toggle_and_a_click_on_a_label_picks_its_region(server, page):
    open_page(page, f"{server}/projections?run=a-run&method=PCA&color=none&labels=0")
    assert page.evaluate(CUSTOMDATA, "region labels") is None
    page.get_by_text("Region labels", exact=True).click()
    wait_for_app(page)
    page.wait_for_url(re.compile(r"regions=1"), timeout=30_000)
    chart = page.locator(".js-plotly-plot").first
    chart.scroll_into_view_if_needed()
    wait_until_drawn(page)
    labels = page.evaluate(CUSTOMDATA, "region labels")
    assert labels and labels[0] == "region:0" and 2 <= len(labels) <= 8
    point = page.evaluate(POINT, "region labels")  # the largest region's mark
    hover(page, point["x"], point["y"] - 3)  # on the diamond, a pixel or so off the movie at its centre
    page.mouse.click(point["x"], point["y"] - 3)
    # the selection panel takes the region: its heading names the region, its export button counts its movies
    page.get_by_role("heading", name=re.compile(r"^Selection: region 1: ")).wait_for(timeout=30_000)
    wait_for_app(page)
    export = page.get_by_role("button", name=re.compile(r"^Export \d+ movies \(CSV\)"))
    size = int(re.search(r"Export (\d+) movies", export.inner_text()).group(1))
    assert 10 <= size <= 1000 and len(page.evaluate(CUSTOMDATA, "region")) == size  # ringed on the map
    assert "highlight=" not in page.url  # a region label is not a movie
    page.mouse.move(5, 5)  # off the chart: its tooltip goes, and the page counts as drawn again
    item = click_point(page, "items")  # a point still highlights its movie
    page.wait_for_url(re.compile(rf"highlight={item + 1}\b"), timeout=30_000)
    wait_for_app(page)
    assert page.evaluate(CUSTOMDATA, "selected") == [item]
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_a_custom_axis_with_region_labels(server, browser, scheme):
    with browser_page(browser, color_scheme=scheme) as page:
        open_page(page, f"{server}/projections?run=a-run&method=Custom+axis&regions=1")
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        wait_until_drawn(page)
        assert page.evaluate(CUSTOMDATA, "region labels")
        assert page.evaluate(CUSTOMDATA, "x left end: Sense and Sensibility, Emma")  # the ends are marked
        screenshot(page, f"projections-custom-axis-controls-{scheme}")
        # Streamlit scrolls its main block, not the page: each part is shown in the window, then taken
        for part, name in ((page.locator(".js-plotly-plot").first, "map"),
                           (page.get_by_text("Ranked along the axis"), "ranked")):
            part.scroll_into_view_if_needed()
            if name == "ranked":
                page.mouse.wheel(0, 200)
            wait_until_drawn(page)
            assert screenshot(page, f"projections-custom-axis-{name}-{scheme}").exists()
