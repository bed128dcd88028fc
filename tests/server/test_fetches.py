"""The server's dataset downloads: one per dataset however many sessions ask, cancellable, failures named."""
import threading

import pytest

from collab_server.fetches import FetchService
from tests.movielens_server import Server
from tests.waiting import wait_until


@pytest.fixture()
def grouplens(tmp_path, monkeypatch):
    server = Server()
    server.serve("ml-1m")
    monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path / "data"))
    yield server
    server.httpd.shutdown()


def test_two_sessions_asking_for_the_same_dataset_share_one_download(grouplens, tmp_path):
    grouplens.delay = 0.5  # long enough for the second request to find the first under way
    service = FetchService(base_url=grouplens.url)
    first, second = service.start("ml-1m"), service.start("ml-1m")
    assert first is second
    wait_until(lambda: not first.active, timeout=30)
    assert first.status == "done" and first.result.folder == tmp_path / "data" / "ml-1m"
    assert len(grouplens.gets("ml-1m")) == 1


def test_a_download_can_be_cancelled_and_a_missing_one_is_named(grouplens):
    grouplens.delay = 2.0
    service = FetchService(base_url=grouplens.url)
    job = service.start("ml-1m")
    threading.Timer(0.3, service.cancel, args=(job,)).start()
    wait_until(lambda: not job.active, timeout=30)
    assert job.status == "cancelled"
    missing = service.start("ml-25m")
    wait_until(lambda: not missing.active, timeout=30)
    assert missing.status == "failed" and "404" in missing.error
    with pytest.raises(Exception, match="unknown MovieLens dataset"):
        service.start("ml-7m")
