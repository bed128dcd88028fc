"""Work outlives the page, in a real browser: a training keeps its progress, its Cancel and its form across a
reload, a second tab of the same browser lists it too, and when it ends it becomes the active run of every open
tab (collab_app.browser's owner id, kept in the browser's storage and cookie)."""
import re

import pytest

from collab_core.bench.harness import set_epochs, wait_for_app

from .conftest import a_run_served, browser_page, open_page, screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory, save_small_run):
    yield from a_run_served(tmp_path_factory, save_small_run, "your-work")


def test_a_reload_during_a_training_keeps_it_and_a_second_tab_sees_it(server, browser):
    with browser_page(browser, width=1024, height=768) as page:
        open_page(page, f"{server}/train?run=a-run")
        page.get_by_role("button", name="Use the lesson's settings").click()
        wait_for_app(page)
        set_epochs(page, 10)  # long enough to be still running after the reload on a busy machine
        wait_for_app(page)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(re.compile(r"Training EmbeddingDotBias on")).wait_for(timeout=60_000)
        page.reload()
        wait_for_app(page)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text(re.compile(r"Training: EmbeddingDotBias on MovieLens 100K")).wait_for(timeout=30_000)
        sidebar.get_by_role("button", name="Cancel training").wait_for(timeout=10_000)
        assert page.get_by_text(re.compile(r"Training EmbeddingDotBias on")).first.is_visible()  # the live view is back
        # the form as it was typed
        assert page.get_by_label("Factors (embedding width)", exact=True).input_value() == "40"
        assert page.get_by_label("Epochs", exact=True).input_value() == "10"
        screenshot(page, "train-reloaded")
        other = page.context.new_page()  # a second tab of the same browser
        open_page(other, f"{server}/neighbours?run=a-run")
        other.get_by_test_id("stSidebar").get_by_text(re.compile(r"Training: EmbeddingDotBias")).wait_for()
        page.get_by_text(re.compile(r"trained: validation RMSE")).wait_for(timeout=180_000)
        page.wait_for_url(lambda address: "run=" in address and "run=a-run" not in address)  # written after the run
        new_run = re.search(r"run=([\w.-]+)", page.url).group(1)
        other.wait_for_url(re.compile(rf"run={re.escape(new_run)}"), timeout=30_000)  # every open tab moves on
        assert page.locator("[data-testid='stException']").count() == 0
        assert other.locator("[data-testid='stException']").count() == 0
