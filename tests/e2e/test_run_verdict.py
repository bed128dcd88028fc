"""In a real browser 1,024 px wide (sidebar open), the run history shows a run's verdict against its baselines
beside its RMSE without scrolling sideways."""
import pytest

from .conftest import open_page, screenshot, serving, wait_until_drawn

pytestmark = pytest.mark.e2e
# The grid is drawn on a canvas; glide-data-grid mirrors the columns it draws (those at least partly in view) in
# an accessibility table, which says which columns a person can see: [[column index, text], ...] per row.
DRAWN = """() => Array.from(document.querySelectorAll('[data-testid=stDataFrame] table tr')).map(
  row => Array.from(row.querySelectorAll('th, td')).map(
    c => [Number(c.getAttribute('aria-colindex')), c.textContent]))"""


def test_the_verdict_is_seen_beside_rmse_at_1024_px_without_scrolling(tmp_path, browser):
    from collab_core.bench.small_data import SAMPLES, sample_block
    from collab_core.data.datasets import load_builtin
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore

    upload = sample_block(load_builtin(), SAMPLES[0], seed=0)  # 560 ratings; one batch per epoch: learns nothing
    runs = tmp_path / "runs"
    run_id = RunStore(runs).save(fit(upload, random_split(upload, 0.1, 0), default_config(epochs=2, device="cpu")),
                                 name="A class's ratings with settings made for 100,000")
    with serving(runs) as url:
        context = browser.new_context(viewport={"width": 1024, "height": 900})
        try:
            page = context.new_page()
            open_page(page, f"{url}/train?run={run_id}")
            assert page.get_by_test_id("stSidebar").is_visible()
            grid = page.get_by_test_id("stDataFrame").first
            grid.scroll_into_view_if_needed()
            wait_until_drawn(page)  # the canvas draws after the element appears
            header, row = page.evaluate(DRAWN)[:2]
            screenshot(page, "run-history-1024")
            names = [text for _, text in header]
            assert "vs baselines" in names, names  # drawn at all
            verdict = names.index("vs baselines")
            assert names[verdict - 1] == "RMSE"
            assert len(names) > verdict + 1, names  # the next column is drawn too: the verdict's is wholly in view
            assert dict(row)[header[verdict][0]] == "worse than both baselines"
        finally:
            context.close()
