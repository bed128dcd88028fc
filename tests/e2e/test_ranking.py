"""The ranking lens in a real browser: train a run with the ranking objective on the Train page, see it beside a
rating run in the history (nDCG@10 for both), then compare the two on Compare: both judged by the top of each
user's list on the ranking run's split, beside most popular, and how much their lists overlap. And You on a ranking
run: rated movies fold in by its softmax, and the page speaks of scores and ranks, not predicted ratings."""
from __future__ import annotations

import re

import pytest

from collab_core.bench.harness import wait_for_app
from collab_core.bench.plotly_page import CUSTOMDATA
from collab_core.runs.store import RunStore

from .conftest import browser_page, open_page, screenshot, serving, wait_until_drawn
from .test_instruments import click_point, rate

pytestmark = pytest.mark.e2e


def test_a_ranking_run_trained_in_the_browser_beats_the_rating_run_on_compare(tmp_path, save_small_run, browser):
    root = tmp_path / "runs"
    root.mkdir()
    save_small_run(root, "rating-run")
    with serving(root) as url:
        context = browser.new_context(viewport={"width": 1024, "height": 768})
        try:
            page = context.new_page()
            open_page(page, f"{url}/train?run=rating-run")
            page.get_by_role("radio", name="Rank items").or_(page.get_by_role("button", name="Rank items")).click()
            wait_for_app(page)
            page.get_by_text("reset to the defaults for this training data and objective").wait_for(timeout=30_000)
            held_out = page.get_by_role("combobox", name="Held out")  # the ranking protocol: every user is judged
            held_out.click()
            held_out.fill("per user, at random")
            page.keyboard.press("Enter")
            assert held_out.input_value() == "per user, at random"
            page.get_by_role("button", name="Train", exact=True).click()
            page.get_by_text(re.compile(r"trained: validation nDCG@10 0\.\d+")).wait_for(timeout=300_000)
            wait_for_app(page)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare").click()
            wait_for_app(page)
            page.get_by_role("heading", name="The top of each user's list").wait_for(timeout=60_000)
            same = page.get_by_test_id("stMetric").filter(has_text="Same top-k items")
            value = float(re.search(r"\d\.\d\d", same.inner_text()).group(0))
            assert 0 <= value < 1  # a rating run and a ranking run pick different items
            page.get_by_text(re.compile("B was trained with another split")).wait_for(timeout=30_000)
            wait_until_drawn(page)
            screenshot(page, "compare-ranking")
            assert page.get_by_test_id("stDataFrame").filter(has_text="most popular").count() >= 1
            recorded = {info.run_id: info for info in RunStore(root).list()}
            ranking_run = next(info for run_id, info in recorded.items() if run_id != "rating-run")
            assert ranking_run.config["objective"] == "ranking"
            assert ranking_run.metrics["ndcg10"] > 0.3  # a rating run's top 10 scores about 0.15 here
        finally:
            context.close()


def test_you_on_a_ranking_run_recommends_by_score_and_ranks_your_movies(tmp_path, save_small_run, browser):
    root = tmp_path / "runs"
    root.mkdir()
    save_small_run(root, "ranking-run", objective="ranking", epochs=5, n_factors=16)
    with serving(root) as url, browser_page(browser, height=2200) as page:
        open_page(page, f"{url}/you?run=ranking-run")
        page.get_by_text("Rate at least one movie").wait_for()
        rate(page, "Star Wars", "Star Wars (1977)", "5 ★")
        rate(page, "Return of the Jedi", "Return of the Jedi (1983)", "4 ★")
        rate(page, "Empire Strikes", "Empire Strikes Back, The (1980)", "2 ★")
        page.get_by_role("heading", name="Recommended for you").wait_for(timeout=30_000)
        page.get_by_role("heading", name="Your choices, as the model ranks them").wait_for()
        assert page.get_by_text("This run was trained for ranking").first.is_visible()
        assert page.get_by_text(re.compile("predicts no ratings")).first.is_visible()
        assert page.get_by_test_id("stDataFrame").count() >= 3  # recommendations, your ranks, users like you
        item = click_point(page, "predicted")  # a movie on the map: its score is explained
        page.wait_for_function(f"() => {{ const e = ({CUSTOMDATA})('explained'); return e && e[0] === {item}; }}",
                               timeout=30_000)
        wait_for_app(page)
        page.get_by_role("heading", name="Why this score?").wait_for()
        assert page.get_by_text("your score").first.is_visible()
        assert page.get_by_text("predicted rating").count() == 0 and page.get_by_text("Why this rating?").count() == 0
        assert page.get_by_role("alert").filter(has_text="trained for ranking").count() == 0  # no refusal
        assert page.locator("[data-testid='stException']").count() == 0
        page.mouse.move(5, 5)
        wait_until_drawn(page)
        screenshot(page, "you-ranking")
