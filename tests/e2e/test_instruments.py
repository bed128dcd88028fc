"""The analysis pages in a real browser: rating movies on "You" gives recommendations and a point on the map, and
clicking a movie there explains it; Compare shows two runs, and clicking an item on the aligned map shows its
neighbours in both; Diagnostics; Home at "/" and a deep link to every page; the lesson preset trained from the
Train page shows the lesson's MSE beside its own. Screenshots of these pages (light, and one dark)."""
import re

import pytest

from collab_app.navigation import PAGES
from collab_core.bench.harness import wait_for_app
from collab_core.bench.plotly_page import CUSTOMDATA, POINT, SCROLL_TO

from .conftest import browser_page, hover, open_page, screenshot, serving, wait_until_drawn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Two default dot_bias runs on MovieLens 100K that differ only in the seed of their initial weights."""
    import torch

    from collab_core.data.datasets import load_builtin
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore

    root = tmp_path_factory.mktemp("instruments") / "runs"
    ratings = load_builtin()
    split = random_split(ratings, 0.1, 42)
    store = RunStore(root)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # ~1.5 s a run; with 2 threads on a loaded 2-core machine the two took minutes
    try:
        store.save(fit(ratings, split, default_config()), "movie-run")
        store.save(fit(ratings, split, default_config(seed=7)), "other-seed-run")
    finally:
        torch.set_num_threads(threads)
    with serving(root) as url:
        yield url, root


@pytest.fixture()
def tall_page(browser):
    """A 1,400 px wide window, tall enough for a screenshot to show a page's main chart."""
    with browser_page(browser, height=2200) as page:
        yield page


def click_point(page, trace: str):
    """Click the first point of `trace` (in whichever chart has it); returns its customdata."""
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert page.evaluate(SCROLL_TO, trace), f"no chart has a trace {trace!r}"
    wait_until_drawn(page)  # where the point is once the page has stopped moving
    point = page.evaluate(POINT, trace)
    assert point is not None, f"no trace {trace!r}"
    hover(page, point["x"], point["y"])
    page.mouse.click(point["x"], point["y"])
    return point["item"]


def rate(page, title_part: str, title: str, stars: str) -> None:
    """Find a movie with the picker's search box (Enter selects the best match), give it stars, press Rate."""
    box = page.get_by_label("Find a movie to rate", exact=True)
    box.fill(title_part)
    box.press("Enter")
    wait_for_app(page)
    assert page.get_by_role("combobox", name="Movie to rate", exact=True).input_value() == title
    page.get_by_role("radiogroup", name="Your rating").get_by_role("radio", name=stars, exact=True).click()
    wait_for_app(page)
    page.get_by_role("button", name="Rate", exact=True).click()
    wait_for_app(page)


def test_rating_movies_gives_recommendations_a_point_on_the_map_and_explanations(server, tall_page):
    url, _ = server
    page = tall_page
    open_page(page, f"{url}/you?run=movie-run")
    page.get_by_text("Rate at least one movie").wait_for()
    rate(page, "Star Wars", "Star Wars (1977)", "5 ★")
    rate(page, "Fargo", "Fargo (1996)", "4 ★")
    rate(page, "Liar Liar", "Liar Liar (1997)", "1 ★")
    page.get_by_role("heading", name="Your ratings (3)").wait_for()
    page.get_by_role("heading", name="Recommended for you").wait_for()
    assert page.get_by_test_id("stDataFrame").count() >= 3  # recommendations, the fit, users like you
    assert page.evaluate(CUSTOMDATA, "you") is not None  # your point on the map
    assert sorted(page.evaluate(CUSTOMDATA, "rated by you")) == [49, 99, 293]  # ML-100K: index = id - 1
    assert "run=movie-run" in page.url and "Star" not in page.url  # ratings are never put in the link
    # the caption says: click a movie to see why it gets its rating
    item = click_point(page, "predicted")
    page.wait_for_function(f"() => {{ const e = ({CUSTOMDATA})('explained'); return e && e[0] === {item}; }}",
                           timeout=30_000)
    wait_for_app(page)
    assert page.get_by_text("your predicted rating").first.is_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_role("button", name="Start with 5 popular movies").click()
    wait_for_app(page)
    page.get_by_role("heading", name="Your ratings (5)").wait_for()
    page.mouse.move(5, 5)
    wait_until_drawn(page)
    screenshot(page, "you")
    page.locator("[class*='st-key-you_rm_'] button").first.click()  # a rating's "Remove this rating" button
    page.get_by_role("heading", name="Your ratings (4)").wait_for(timeout=30_000)
    wait_for_app(page)  # the rerun has ended: a click during one can be lost with the element it hit
    page.get_by_role("button", name="Clear my ratings").click()
    page.get_by_text("Rate at least one movie").wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0


def test_home_without_runs_links_to_train_and_trains_the_default_run(tmp_path, page):
    """Home's links and its one-click default run, on a server with no run yet."""
    with serving(tmp_path / "runs") as url:
        open_page(page, url)
        page.get_by_role("link", name="Train with your own settings").click()
        page.get_by_role("heading", name="Train").wait_for(timeout=30_000)
        assert page.url.endswith("/train")
        open_page(page, url)
        page.get_by_role("button", name="Train the default run").click()
        page.get_by_role("heading", name="Explore the active run").wait_for(timeout=180_000)
        assert len([p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]) == 1
        page.get_by_role("link", name="Neighbours: the movies nearest to one").click()
        page.get_by_role("heading", name="Neighbours").wait_for(timeout=30_000)
        assert "/neighbours" in page.url and page.locator("[data-testid='stException']").count() == 0


def test_compare_two_runs_and_click_an_item_on_the_aligned_map(server, tall_page):
    url, _ = server
    page = tall_page
    open_page(page, f"{url}/compare?run=movie-run&a=movie-run&b=other-seed-run&min=20&moved=10")
    page.get_by_text("along arbitrarily turned axes").wait_for()
    page.get_by_role("heading", name="Aligned maps").wait_for()
    page.get_by_text("Same neighbours").wait_for()
    row = click_point(page, "moved most")  # the caption says: click an item to see its neighbours in both runs
    page.wait_for_url(re.compile(r"item=\d+"), timeout=30_000)
    wait_for_app(page)
    page.wait_for_function(f"() => {{ const s = ({CUSTOMDATA})('selected'); return s && s[0] === {row}; }}",
                           timeout=30_000)
    page.get_by_text(re.compile(r"of its 10 nearest neighbours are the same in both runs")).wait_for()
    # the screenshot: the same view from its link (a click leaves Plotly's selection dimming every other point)
    open_page(page, page.url)
    page.get_by_role("heading", name="Aligned maps").wait_for()
    page.get_by_role("heading", name="Neighbour stability").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.mouse.move(5, 5)
    wait_until_drawn(page)
    screenshot(page, "compare")


def test_diagnostics_and_the_dark_theme(server, browser):
    url, _ = server
    for scheme, name in (("light", "diagnostics"), ("dark", "you-dark")):
        context = browser.new_context(viewport={"width": 1400, "height": 2200}, color_scheme=scheme)
        page = context.new_page()
        try:
            if name == "diagnostics":
                open_page(page, f"{url}/diagnostics?run=movie-run&user=1&movie=50")
                page.get_by_text("The run's own ratings are loaded").wait_for()
                page.get_by_role("heading", name="Where the model is wrong").wait_for()
                page.get_by_text("as the run recorded").wait_for()
            else:
                open_page(page, f"{url}/you?run=movie-run")
                page.get_by_role("button", name="Start with 5 popular movies").click()
                wait_for_app(page)
                page.get_by_role("heading", name="You on the map").wait_for()
                background = page.evaluate("getComputedStyle(document.querySelector('.stApp')).backgroundColor")
                assert background != "rgb(255, 255, 255)", background  # the browser's dark preference is followed
                page.get_by_role("heading", name="Recommended for you").evaluate(
                    "e => e.scrollIntoView({block: 'start'})")  # the recommendations and the map, in the picture
            page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
            page.mouse.move(5, 5)
            wait_until_drawn(page)
            screenshot(page, name)
        finally:
            context.close()


def test_home_is_at_the_root_and_every_page_has_a_deep_link(server, page):
    url, _ = server
    open_page(page, f"{url}/?run=movie-run")
    page.get_by_role("heading", name="CF Embedding Explorer").wait_for()
    page.get_by_text("Explore the active run").wait_for()
    screenshot(page, "home")
    for _, title, _, path in PAGES[1:]:  # the others, Biases included now that Home holds "/"
        open_page(page, f"{url}/{path}?run=movie-run")
        page.get_by_role("heading", name=title, exact=True).wait_for(timeout=30_000)
        assert f"/{path}" in page.url and "run=movie-run" in page.url
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Home").click()
    page.get_by_role("heading", name="CF Embedding Explorer").wait_for()


def test_the_lesson_preset_trains_and_shows_the_lessons_mse_beside_its_own(server, page):
    url, _ = server
    open_page(page, f"{url}/train?run=movie-run")
    page.get_by_role("button", name="Use the lesson's settings").click()
    wait_for_app(page)
    assert page.get_by_label("Factors (embedding width)", exact=True).input_value() == "40"
    assert page.get_by_label("Validation fraction", exact=True).input_value() == "0.20"
    page.get_by_role("button", name="Train", exact=True).click()
    notice = page.get_by_text(re.compile(r"trained: validation RMSE 0\.\d+, MSE 0\.\d+ \(the lesson reported 0\.813\)"))
    notice.wait_for(timeout=300_000)
    wait_for_app(page)
    reported = page.get_by_text("The lesson reported", exact=True)  # the metric beside the run's own MSE
    reported.wait_for()
    assert page.locator("[data-testid='stException']").count() == 0
    reported.evaluate("e => e.scrollIntoView({block: 'center'})")
    wait_until_drawn(page)  # the run-history grid paints on a canvas after the script ends
    screenshot(page, "train-lesson")
