"""Importing embeddings in a real browser: a small pair of Projector TSV files uploaded on the Data
page becomes the active run, and Projections and Neighbours show its items."""
import re

import numpy as np
import pytest

from collab_core.bench.harness import wait_for_app
from collab_core.bench.plotly_page import CUSTOMDATA, TRACES

from .conftest import host_link, serving

pytestmark = pytest.mark.e2e
N_ITEMS = 24
TITLES = [f"Song {i:02d}" for i in range(N_ITEMS)]
# the traces of the first chart that are not items (the items are coloured by genre: one trace per genre, '(none)')
NOT_ITEMS = {"labels", "labelled", "selected", "neighbours"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("import") / "runs"
    with serving(root) as url:
        yield url, root


def tsv_pair() -> tuple[bytes, bytes]:
    """Two clusters of songs: 0-11 near (1, 0, 0), 12-23 near (0, 1, 0)."""
    rng = np.random.default_rng(3)
    centres = np.repeat(np.eye(3)[:2], N_ITEMS // 2, axis=0)  # (N_ITEMS, 3)
    vectors = centres + rng.normal(0, 0.05, (N_ITEMS, 3))
    vectors_tsv = "".join("\t".join(f"{v:.6f}" for v in row) + "\n" for row in vectors)
    metadata_tsv = "title\tid\n" + "".join(f"{t}\ts{i}\n" for i, t in enumerate(TITLES))
    return vectors_tsv.encode(), metadata_tsv.encode()


def upload(page, label: str, name: str, data: bytes) -> None:
    box = page.get_by_test_id("stFileUploader").filter(has_text=label)
    box.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/tab-separated-values", "buffer": data}])
    wait_for_app(page)


def test_an_imported_tsv_pair_shows_on_projections_and_neighbours(server, page):
    url, root = server
    page.goto(host_link(f"{url}/data"))  # only the host imports into the shared runs
    wait_for_app(page)
    page.get_by_text("Import embeddings").click()
    wait_for_app(page)
    vectors, metadata = tsv_pair()
    upload(page, "Item vectors", "vectors.tsv", vectors)
    upload(page, "Item metadata", "metadata.tsv", metadata)
    page.get_by_text(f"{N_ITEMS} item vectors of dimension 3").wait_for(timeout=30_000)
    page.get_by_label("Run name (optional)").fill("songs")
    page.get_by_label("Run name (optional)").press("Tab")
    wait_for_app(page)
    noun = page.get_by_role("textbox", name="What are the items? (optional)")
    noun.fill("songs")  # every page then speaks of songs
    noun.press("Tab")
    # the rerun that read both boxes has drawn (an idle app may not have started it yet on a busy machine)
    page.get_by_text(re.compile(r"Pages will say .1 song.")).wait_for(timeout=60_000)
    wait_for_app(page)
    page.get_by_role("button", name="Import as a run").click()
    page.get_by_text(re.compile(r"Imported 24 songs \(3 dimensions\) as run")).wait_for(timeout=30_000)
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_text("songs", exact=True).is_visible() and sidebar.get_by_text("Imported from").is_visible()
    assert len([p for p in root.iterdir() if not p.name.startswith(".")]) == 1

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Projections").click()  # same session
    wait_for_app(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    points = [i for trace in page.evaluate(TRACES) if trace["name"] not in NOT_ITEMS for i in trace["customdata"]]
    assert sorted(points) == list(range(N_ITEMS))  # every imported item is a point
    assert page.get_by_text("The first N songs of the file").is_visible()
    assert page.locator("[data-testid='stException']").count() == 0

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Neighbours").click()
    wait_for_app(page)
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=30_000)
    query = page.get_by_role("combobox", name="Song", exact=True)
    assert query.input_value() == "Song 00"  # the first item is the query
    assert re.search(r"movie=s0\b", page.url)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    neighbours = page.evaluate(CUSTOMDATA, "neighbours")
    assert len(neighbours) == 10 and all(1 <= i < N_ITEMS // 2 for i in neighbours)  # its own cluster
    assert page.locator("[data-testid='stException']").count() == 0
