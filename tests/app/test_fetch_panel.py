"""The Data page's "Get a MovieLens dataset" panel, against a download folder served on 127.0.0.1: the terms
must be accepted first, the download runs in the background, a failure is named, and the fetched set can be
used at once."""
import pytest

from tests.movielens_server import Server
from tests.waiting import wait_until

from .conftest import no_exceptions, open_app, shown


@pytest.fixture()
def grouplens(tmp_path, monkeypatch):
    server = Server()
    server.serve("ml-latest-small")
    monkeypatch.setenv("COLLAB_MOVIELENS_URL", server.url)
    monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COLLAB_DATA_ROOTS", raising=False)  # default: the data folder
    yield server
    server.httpd.shutdown()


def fetch_job(name):
    from collab_app import services

    return services.fetch_service().get(name)


def test_accept_the_terms_download_and_use_a_dataset(empty_runs, grouplens, tmp_path):
    at = open_app("pages/data.py")
    at.selectbox(key="p_data_fetch_name").set_value("ml-latest-small").run()
    assert "may not use it for commercial" in at.code[0].value  # the terms, before anything is downloaded
    assert at.button(key="fetch_start").disabled
    at.checkbox(key="fetch_accept_ml-latest-small").check().run()
    at.button(key="fetch_start").click().run()
    wait_until(lambda: not fetch_job("ml-latest-small").active, timeout=60)
    assert fetch_job("ml-latest-small").status == "done", fetch_job("ml-latest-small").error
    at.run()
    assert "ml-latest-small is in the data folder" in shown(at.success)
    assert str(tmp_path) not in shown(at.success)  # the server's folders are not the visitor's business
    at.button(key="fetch_use").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert at.segmented_control(key="p_data_source").value == "folder"
    at.button(key="use_dataset").click().run()
    assert "Training uses: **MovieLens ml-latest-small**" in shown(at.caption)
    assert (tmp_path / "data" / "ml-latest-small" / "ratings.csv").is_file()


def test_a_failed_download_is_named_and_leaves_nothing(empty_runs, grouplens, tmp_path):
    at = open_app("pages/data.py")
    at.selectbox(key="p_data_fetch_name").set_value("ml-1m").run()  # the test server does not have it
    at.checkbox(key="fetch_accept_ml-1m").check().run()
    at.button(key="fetch_start").click().run()
    wait_until(lambda: not fetch_job("ml-1m").active, timeout=60)
    at.run()
    assert no_exceptions(at)
    assert "404" in shown(at.error) and "ml-1m.zip" in shown(at.error)
    assert not (tmp_path / "data" / "ml-1m").exists()
