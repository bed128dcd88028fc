"""Selecting a region of the Projections map in a real browser: a box and a lasso drawn with the mouse (Plotly's
selection tools), then the panel, its CSV export, the link, and the grey / only / clear controls."""
import csv
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
import pytest

from collab_core.analysis.selection import in_box, in_polygon
from collab_core.bench.harness import wait_for_app
from collab_core.bench.plotly_page import TO_WINDOW, TRACE_POINTS, TRACES

from .conftest import a_run_served, browser_page, open_page, screenshot, wait_until_drawn

pytestmark = pytest.mark.e2e

MAP = "projections?run=a-run&method=PCA&dims=2&color=none&labels=0"
# keeps what the chart's next selection event says: the drawn geometry in data coordinates, as Plotly gives it
LISTEN = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  window.__drawn = null;
  gd.on('plotly_selected', e => { if (e) window.__drawn = {range: e.range || null, lasso: e.lassoPoints || null}; });
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, save_small_run):
    yield from a_run_served(tmp_path_factory, save_small_run, "selection")


def points(page) -> dict:
    found = page.evaluate(TRACE_POINTS, "items")
    return {k: np.asarray(v, dtype=float) for k, v in found.items()}


def trace_items(page, name: str) -> set[int] | None:
    found = {t["name"]: t["customdata"] for t in page.evaluate(TRACES)}
    return None if name not in found else {int(i) for i in found[name]}


def open_map(page, url: str, query: str = MAP) -> dict:
    page.goto(f"{url}/{query}")
    wait_for_app(page)
    errors = [e.inner_text() for e in page.locator("[data-testid='stException']").all()]
    assert not errors, errors
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(timeout=30_000)
    chart.scroll_into_view_if_needed()
    wait_until_drawn(page)
    page.evaluate(LISTEN)
    return points(page)


def pick_tool(page, title: str) -> None:
    page.locator(".js-plotly-plot").first.hover()
    page.locator(f".js-plotly-plot .modebar-btn[data-title='{title}']").click()


def drag(page, pairs: list[tuple[float, float]]) -> dict:
    """Press at the first window position, move through the others, release; returns the geometry Plotly drew."""
    (x0, y0), *rest = pairs
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()
    page.wait_for_function("() => window.__drawn !== null", timeout=30_000)
    return page.evaluate("() => window.__drawn")


def selection_heading(page, how: str):
    heading = page.get_by_role("heading", name=f"Selection: {how}")
    heading.wait_for(timeout=30_000)
    wait_for_app(page)
    return heading


def sel_param(url: str) -> set[str]:
    raw = parse_qs(urlparse(url).query).get("sel", [""])[0]
    return {unquote(p) for p in raw.split(",") if p}


def test_a_box_selects_the_items_inside_it_exports_them_and_the_link_keeps_them(server, page, browser):
    p = open_map(page, server)
    # a box round the middle of the map: its middle tenth along each axis
    xs, ys = np.quantile(p["x"], [0.45, 0.55]), np.quantile(p["y"], [0.40, 0.60])
    corners = page.evaluate(TO_WINDOW, ["items", [[xs[0], ys[0]], [xs[1], ys[1]]]])
    pick_tool(page, "Box Select")
    drawn = drag(page, [tuple(corners[0]), tuple(corners[1])])
    box = drawn["range"]
    expected = {int(i) for i in p["customdata"][in_box(p["x"], p["y"], box["x"], box["y"])]}
    assert 1 <= len(expected) <= 50, len(expected)
    selection_heading(page, "drawn with the box")
    assert page.get_by_text(f"{len(expected)} of the 1000 movies shown.").is_visible()
    assert trace_items(page, "region") == expected  # ringed on the map
    assert page.evaluate("() => document.querySelector('.js-plotly-plot').layout.dragmode") == "select"
    # the export: one row per selected item, text cells safe for a spreadsheet
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile(r"Export \d+ movies \(CSV\)")).click()
    assert download.value.suggested_filename == "a-run-selection.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert list(rows[0]) == ["item", "title", "genres", "year", "count", "mean_rating", "bias"]
    assert {int(r["item"]) - 1 for r in rows} == expected  # MovieLens 100K: item index i is id i + 1
    # the link: it names the items, and a fresh browser opened at it shows the same selection (dark theme too)
    page.wait_for_url(re.compile(r"[?&]sel="), timeout=30_000)
    assert {int(i) - 1 for i in sel_param(page.url)} == expected
    screenshot(page, "selection-box-light")  # the panel
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    wait_until_drawn(page)
    screenshot(page, "selection-box-light-map")
    with browser_page(browser, color_scheme="dark") as fresh:
        open_page(fresh, page.url)
        selection_heading(fresh, "from the link")
        fresh.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        wait_until_drawn(fresh)
        assert trace_items(fresh, "region") == expected
        assert fresh.get_by_text(f"{len(expected)} of the 1000 movies shown.").is_visible()
        screenshot(fresh, "selection-box-dark")
        fresh.get_by_role("heading", name="Selection: from the link").scroll_into_view_if_needed()
        wait_until_drawn(fresh)
        screenshot(fresh, "selection-box-dark-panel")


def test_a_lasso_then_grey_the_rest_show_only_and_clear(server, page):
    p = open_map(page, server)
    cx, cy = np.median(p["x"]), np.median(p["y"])
    rx, ry = np.std(p["x"]) * 0.5, np.std(p["y"]) * 0.5
    angles = np.linspace(0, 2 * np.pi, 9)[:-1]
    ring = [[cx + rx * np.cos(a), cy + ry * np.sin(a)] for a in angles]
    path = page.evaluate(TO_WINDOW, ["items", ring])
    pick_tool(page, "Lasso Select")
    drawn = drag(page, [tuple(xy) for xy in path + path[:1]])
    lasso = drawn["lasso"]
    expected = {int(i) for i in p["customdata"][in_polygon(p["x"], p["y"], lasso["x"], lasso["y"])]}
    assert len(expected) >= 5
    selection_heading(page, "drawn with the lasso")
    assert trace_items(page, "region") == expected
    page.get_by_text("grey the rest", exact=True).click()
    page.wait_for_url(re.compile(r"selview=grey"), timeout=30_000)
    wait_for_app(page)
    assert trace_items(page, "outside the region") == set(int(i) for i in p["customdata"]) - expected
    assert trace_items(page, "items") == expected
    screenshot(page, "selection-lasso-grey-panel")
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    wait_until_drawn(page)
    screenshot(page, "selection-lasso-grey-map")
    page.get_by_text("show only", exact=True).click()
    page.wait_for_url(re.compile(r"selview=only"), timeout=30_000)
    wait_for_app(page)
    assert trace_items(page, "outside the region") is None and trace_items(page, "items") == expected
    page.get_by_role("button", name="Clear selection").click()
    page.get_by_role("heading", name=re.compile("Selection:")).wait_for(state="detached", timeout=30_000)
    wait_for_app(page)
    assert "sel=" not in page.url
    assert trace_items(page, "items") == set(int(i) for i in p["customdata"])
    assert trace_items(page, "region") is None and trace_items(page, "outside the region") is None
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_box_on_the_neighbours_map_selects_a_region_and_keeps_the_query(server, page):
    p = open_map(page, server, "neighbours?run=a-run&movie=50&k=10&metric=cosine&min=20")
    xs, ys = np.quantile(p["x"], [0.40, 0.60]), np.quantile(p["y"], [0.40, 0.60])
    corners = page.evaluate(TO_WINDOW, ["items", [[xs[0], ys[0]], [xs[1], ys[1]]]])
    pick_tool(page, "Box Select")
    box = drag(page, [tuple(corners[0]), tuple(corners[1])])["range"]
    expected = {int(i) for i in p["customdata"][in_box(p["x"], p["y"], box["x"], box["y"])]}
    assert expected
    selection_heading(page, "drawn with the box")
    assert trace_items(page, "region") == expected
    assert page.get_by_text(f"{len(expected)} of the {len(p['customdata'])} movies shown.").is_visible()
    assert "movie=50" in page.url  # the query is unchanged
    screenshot(page, "selection-neighbours")
    if len(expected) <= 50:
        assert {int(i) - 1 for i in sel_param(page.url)} == expected
