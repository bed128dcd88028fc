"""In a real browser on a laptop-sized window: an upload's error is in view right under the uploader (not below
the density filter, off-screen), names the person's own file, and the server's log holds the full story for
its operator and no per-run timing lines (they are off by default)."""
import re
from urllib.parse import urlparse

import pytest

from collab_core.bench.harness import wait_for_app

from .conftest import browser_page, open_page, serving

pytestmark = pytest.mark.e2e
WIDTH, HEIGHT = 1280, 800


def test_an_upload_error_is_in_view_right_under_the_uploader(browser, tmp_path):
    runs = tmp_path / "runs"
    with serving(runs) as url, browser_page(browser, height=HEIGHT, width=WIDTH) as page:
        open_page(page, f"{url}/data")
        page.get_by_text("Upload CSV / Parquet").click()
        wait_for_app(page)
        page.locator("input[type=file]").set_input_files(files=[
            {"name": "bad2.csv", "mimeType": "text/csv", "buffer": b"user,item,rating\nu1,m1,5\nu2,m1,five\n"}])
        alert = page.get_by_test_id("stAlert").filter(has_text="bad2.csv")
        alert.wait_for(timeout=30_000)
        wait_for_app(page)
        assert "row 2" in alert.inner_text() and "five" in alert.inner_text()
        uploader, box = page.get_by_test_id("stFileUploader").bounding_box(), alert.bounding_box()
        assert 0 <= box["y"] <= HEIGHT - box["height"], f"the error is out of view at {box}"
        below = box["y"] - (uploader["y"] + uploader["height"])
        assert 0 <= below <= 40, f"the error is {below:.0f} px below the uploader"
        assert page.get_by_text("Density filter").bounding_box()["y"] > box["y"] + box["height"]
        log = (runs.parent / f"server-{urlparse(url).port}.log").read_text()  # where the harness writes it
    assert re.search(r"error shown in the browser: bad2\.csv: row 2.* bad2\.csv is /", log), log[-2000:]
    assert not [line for line in log.splitlines() if re.match(r"(script-run|gc-pause) ", line)]

