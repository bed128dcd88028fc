"""Real-browser fixtures: the app served by `streamlit run` on a free loopback port, and Debian's Chromium
driven by Playwright (`playwright install` cannot download browsers here).

Without /usr/bin/chromium the e2e tests skip with a message, except in CI (CI=true), where that fails."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from collab_core.bench.harness import CHROMIUM, launch_chromium, start_server, stop_server, wait_for_app
from tests.conftest import HOST_KEY

ROOT = Path(__file__).resolve().parents[2]


# no UMAP worker: these tests look at PCA views only, and numba's warm-up would take a core
NO_UMAP = {"COLLAB_UMAP_PREWARM": "0", "COLLAB_UMAP_WORKER": "0"}


@contextmanager
def serving(runs_dir: Path, extra_env: dict | None = None):
    """The app served on `runs_dir` (created if missing) for the length of the block: yields its base URL."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    process, url = start_server(runs_dir, runs_dir.parent, NO_UMAP | (extra_env or {}))
    try:
        yield url
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def save_small_run():
    """`save_small_run(root, run_id, name="", **settings)`: a run on the built-in MovieLens 100K (split seed 0)
    with the default settings and `settings` on top (by default 1 epoch, 8 factors), saved into `root`. Each
    distinct setting is trained once per session; every module gets its own copy on disk."""
    from collab_core.data.datasets import load_builtin
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore

    trained = {}

    def save(root: Path, run_id: str, name: str = "", **settings) -> None:
        settings = {"epochs": 1, "n_factors": 8, **settings}
        key = tuple(sorted(settings.items()))
        if key not in trained:
            ratings = load_builtin()
            trained[key] = fit(ratings, random_split(ratings, 0.1, 0), default_config(**settings))
        RunStore(root).save(trained[key], run_id, name=name)

    return save


def a_run_served(tmp_path_factory, save_small_run, folder: str):
    """For a module's `server` fixture: the app on a runs folder holding one small run, "a-run"; yields its URL."""
    root = tmp_path_factory.mktemp(folder) / "runs"
    save_small_run(root, "a-run")
    with serving(root) as url:
        yield url


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("e2e") / "runs"
    with serving(runs_dir) as url:
        yield url, runs_dir


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`) for browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@contextmanager
def browser_page(browser, height: int = 768, width: int = 1024, color_scheme: str = "light"):
    """A page in a fresh context (its own cookies and storage), `width` x `height` px: by default a projector's
    1024 x 768, the size a study group sees and the screenshots in docs/ are taken at."""
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=color_scheme)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture()
def page(browser):
    with browser_page(browser) as page:
        yield page


# Resolves true once every chart and table shown in the page is drawn (Plotly's SVG layers, no tooltip shown; a grid's
# accessibility table, which glide-data-grid fills as it paints its canvas) and the page's layout has held still for
# three animation frames; false at the deadline. What a person sees has then stopped changing: frames are only
# drawn when the browser gets the time, so this holds on a busy machine, where a fixed pause would not.
DRAWN = """async (timeout) => {
  const deadline = performance.now() + timeout;
  const all = (selector) => Array.from(document.querySelectorAll(selector));
  const shown = (selector) => all(selector).filter(e => e.checkVisibility());  // not in a closed expander
  const ready = () => shown('.js-plotly-plot').every(gd => gd.querySelector('.main-svg')
      && !gd.querySelector('.hoverlayer .hovertext'))
    && shown("[data-testid='stDataFrame']").every(grid => grid.querySelector('table tr'));
  const shape = () => JSON.stringify([document.documentElement.scrollHeight, ...all(
    ".js-plotly-plot, .nsewdrag, [data-testid='stDataFrame'], [data-testid='stElementContainer']").map(e => {
      const r = e.getBoundingClientRect();
      return [r.x, r.y, r.width, r.height].map(Math.round);
    })]);
  let last = null, same = 0;
  while (performance.now() < deadline) {
    await new Promise(resolve => requestAnimationFrame(() => resolve()));
    const now = ready() ? shape() : null;
    same = now !== null && now === last ? same + 1 : 0;
    last = now;
    if (same >= 3) return true;
  }
  return false;
}"""


def wait_until_drawn(page, timeout: float = 30_000) -> None:
    """Wait until the page's charts and tables are drawn and its layout holds still (see DRAWN)."""
    assert page.evaluate(DRAWN, timeout), f"the page's charts and tables were not drawn in {timeout / 1000:.0f} s"


def hover(page, x: float, y: float) -> None:
    """Move the mouse to (x, y) over a chart and wait for Plotly's tooltip there: a click then hits that point."""
    page.mouse.move(x, y)
    page.wait_for_function("() => document.querySelector('.js-plotly-plot .hoverlayer .hovertext') !== null",
                           timeout=30_000)


def open_page(page, url: str) -> None:
    """Go to `url`, wait until the app has drawn, and check that no page raised."""
    page.goto(url)
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0


def host_link(url: str) -> str:
    """`url` as the host opens it: with the host key of the suite's servers (tests/conftest.HOST_KEY). The browser
    (the page's context) is the host's from then on; a new context is a visitor."""
    return f"{url}{'&' if '?' in url else '?'}host={HOST_KEY}"


def screenshot(page, name: str) -> Path:
    """Screenshots go to test-artifacts/screenshots, and to docs/screenshots when COLLAB_SCREENSHOTS=docs."""
    folders = [ROOT / "test-artifacts" / "screenshots"]
    if os.environ.get("COLLAB_SCREENSHOTS") == "docs":
        folders.append(ROOT / "docs" / "screenshots")
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    return folders[0] / f"{name}.png"
