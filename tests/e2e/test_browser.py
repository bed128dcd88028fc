"""The app in a real browser: every page opens, a training started from the Train page finishes and becomes
the active run, and a neighbour search on the Neighbours page shows results. Screenshots of each page are
saved (see conftest.screenshot)."""
import json
import re

import pytest

from collab_core.bench.harness import set_epochs, wait_for_app

from .conftest import screenshot, wait_until_drawn

pytestmark = pytest.mark.e2e


def test_train_then_explore_every_page(app_server, page):
    url, runs_dir = app_server
    page.goto(f"{url}/train")
    wait_for_app(page)
    assert page.get_by_role("heading", name="Train").is_visible()
    set_epochs(page, 15)  # long enough (~5-15 s) to watch the live progress
    page.get_by_role("button", name="Train", exact=True).click()
    # live progress bar and loss curves appear ...
    page.get_by_text(re.compile(r"Training EmbeddingDotBias on MovieLens 100K")).wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    screenshot(page, "train-live")
    # ... then the finished run becomes the active run
    page.get_by_text(re.compile(r"trained: validation RMSE 0\.\d+")).wait_for(timeout=120_000)
    wait_for_app(page)
    wait_until_drawn(page)  # the run-history grid paints on a canvas after the script ends
    saved = [p for p in runs_dir.iterdir() if not p.name.startswith(".")]
    assert len(saved) == 1
    assert json.loads((saved[0] / "run.json").read_text())["config"]["epochs"] == 15
    assert page.get_by_text("Run history").is_visible()
    screenshot(page, "train")

    # Home is the default page, served at the root URL; Biases has its own address since Home took "/"
    for path, heading in [("data", "Data"), ("biases", "Biases"), ("projections", "Projections")]:
        page.goto(f"{url}/{path}")
        wait_for_app(page)
        page.get_by_role("heading", name=heading).wait_for()
        assert page.locator("[data-testid='stException']").count() == 0
        if path != "data":
            page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        wait_until_drawn(page)
        screenshot(page, heading.lower())

    page.goto(f"{url}/neighbours")
    wait_for_app(page)
    search = page.get_by_label("Search movies", exact=True)  # the picker: Enter selects the best match
    search.fill("goldeneye")
    search.press("Enter")
    wait_for_app(page)
    assert page.get_by_role("combobox", name="Movie", exact=True).input_value() == "GoldenEye (1995)"
    page.get_by_text(re.compile(r"The 10 movies whose vectors lie nearest .* ms")).wait_for()
    page.wait_for_url(re.compile(r"movie=2\b"), timeout=30_000)  # the address follows the run that drew it
    table = page.locator("[data-testid='stDataFrame']").first
    table.wait_for()
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    wait_until_drawn(page)
    screenshot(page, "neighbours")
