"""Fit for a projector: at 1024 x 768 in the light and the dark theme, and at 1280 x 800, no page cuts off a
widget's label, a button's text, a shown value or a choice (tests/e2e/clipped.js finds them: text overflowing
its box, ellipsed, or a word broken across lines), and the screenshots in docs/ are taken here, at 1024 x 768."""
from pathlib import Path

import pytest

from collab_core.bench.harness import wait_for_app

from .conftest import browser_page, open_page, screenshot, serving, wait_until_drawn

pytestmark = pytest.mark.e2e
CLIPPED = (Path(__file__).parent / "clipped.js").read_text()
PAGES = ["", "data", "train", "biases", "projections", "neighbours", "you", "compare", "diagnostics"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, save_small_run):
    root = tmp_path_factory.mktemp("projector") / "runs"
    save_small_run(root, "movie-run", seed=0)
    save_small_run(root, "another-seed", name="Lesson run, second seed", seed=1)
    with serving(root) as url:
        yield url


def show(page, url: str, path: str) -> None:
    open_page(page, f"{url}/{path}?run=movie-run")
    if path == "you":
        page.get_by_role("button", name="Start with 5 popular movies").click()
        wait_for_app(page)
    if path in ("biases", "projections", "neighbours", "you", "compare", "diagnostics"):
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    page.mouse.move(5, 5)  # no tooltip in the picture
    wait_until_drawn(page)  # charts and tables paint after the script ends


def test_a_full_width_table_has_the_room_the_table_widths_are_planned_for(server, page):
    from tests.app.test_table_widths import TABLE_WIDTH_AT_1024

    show(page, server, "neighbours")
    width = page.locator("[data-testid='stDataFrame']").first.evaluate("e => e.getBoundingClientRect().width")
    assert width >= TABLE_WIDTH_AT_1024, width


@pytest.mark.parametrize("scheme,size", [("light", (1024, 768)), ("dark", (1024, 768)), ("light", (1280, 800))])
def test_nothing_a_person_reads_is_cut_off_at_projector_size(server, browser, scheme, size):
    cut = {}
    with browser_page(browser, width=size[0], height=size[1], color_scheme=scheme) as page:
        for path in PAGES:
            show(page, server, path)
            cut[path or "home"] = page.evaluate(CLIPPED)
            if size == (1024, 768):  # the screenshots in docs/
                screenshot(page, (path or "home") + ("-dark" if scheme == "dark" else ""))
    assert not any(cut.values()), {page: found for page, found in cut.items() if found}


def test_3d_labels_are_few_and_2d_labels_say_how_many(server, page):
    show(page, server, "projections")
    page.get_by_text("Labelled: ").wait_for()  # 2D: how many of the labels asked for are drawn
    page.get_by_role("radio", name="3D").click()
    wait_for_app(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    shown = page.evaluate("""() => document.querySelector('.js-plotly-plot').data
        .filter(t => t.mode && t.mode.includes('text')).flatMap(t => Array.from(t.text).filter(x => x))""")
    assert 0 < len(shown) <= 8, shown
    assert page.evaluate(CLIPPED) == []
