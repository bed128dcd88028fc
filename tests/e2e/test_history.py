"""Browser history: one page visit is one entry, however often the page syncs its options into the address
(collab_app.browser). Back and Forward step one page at a time, and the address of each entry is that page's."""
import pytest

from collab_core.bench.harness import wait_for_app

from .conftest import a_run_served, browser_page, open_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory, save_small_run):
    yield from a_run_served(tmp_path_factory, save_small_run, "history")


def visit(page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(name, exact=True).click()
    wait_for_app(page)
    page.wait_for_function("(path) => location.pathname === path", arg=f"/{name.lower()}")
    wait_for_app(page)


def step(page, how: str, path: str) -> None:
    """One press of Back or Forward; it must land on `path` with that page drawn and no error."""
    page.go_back() if how == "back" else page.go_forward()
    page.wait_for_function("(path) => location.pathname === path", arg=path, timeout=10_000)
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0


def test_back_and_forward_step_one_page_at_a_time(server, browser):
    with browser_page(browser, width=1024, height=768) as page:
        open_page(page, f"{server}/")
        page.wait_for_function("() => location.search.includes('run=a-run')")  # the address follows at once
        start = page.evaluate("history.length")
        for name in ("Biases", "Projections", "Neighbours"):
            visit(page, name)
        assert page.evaluate("history.length") == start + 3
        box = page.get_by_label("k", exact=True)  # a change of view rewrites the address, not the history
        box.fill("7")
        box.press("Enter")
        page.wait_for_function("() => location.search.includes('k=7')")  # written in place, after the run
        assert page.evaluate("history.length") == start + 3
        queries = {}
        for path in ("/projections", "/biases", "/"):
            step(page, "back", path)
            queries[path] = page.evaluate("location.search")
        assert "method=PCA" in queries["/projections"] and "among=" in queries["/biases"]
        assert queries["/"] == "?run=a-run"  # the home entry kept its own address
        step(page, "forward", "/biases")
        step(page, "forward", "/projections")
        step(page, "forward", "/neighbours")
        assert "k=7" in page.evaluate("location.search")  # the view as it was left


def test_a_link_with_options_keeps_them_and_adds_no_entry(server, browser):
    with browser_page(browser) as page:
        open_page(page, f"{server}/neighbours?run=a-run&movie=2&k=5")
        page.wait_for_function("() => location.search.includes('metric=')")  # the rest of the view is added
        assert page.evaluate("history.length") == 2  # about:blank, then the link
        assert "movie=2" in page.url and "k=5" in page.url
