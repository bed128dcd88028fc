"""Uploads are private to their browser, size-limited, and deleted when nothing refers to them any more."""
import gc
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from collab_app import uploads
from collab_app.uploads import BrowserUploads
from collab_core.errors import DataError

from .conftest import ROOT, open_app, owner_of, shown

GOOD = "user,item,rating\n" + "".join(f"u{u},m{i},{(u * i) % 5 + 1}\n" for u in range(8) for i in range(6))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_names_cannot_choose_where_bytes_land():
    session = BrowserUploads(10_000)
    path = session.save("../../../etc/evil.csv", b"user,item,rating\n1,2,3\n")
    assert path.parent == session.folder and path.suffix == ".csv" and "evil" not in path.name
    assert session.save("x.exe", b"1").suffix == ".csv"


def test_each_session_has_a_private_folder_and_private_files():
    first, second = BrowserUploads(10_000), BrowserUploads(10_000)
    path = first.save("a.csv", GOOD.encode())
    assert first.folder != second.folder and not second.owns(path) and first.owns(path)
    assert mode(first.folder) == 0o700 and mode(path) == 0o600 and mode(uploads.process_root()) == 0o700


def test_new_uploads_replace_old_ones_but_the_few_most_recent_and_those_kept():
    session = BrowserUploads(10_000)
    dataset = session.save("dataset.csv", b"user,item,rating\nu,m,5\n")
    saved = [session.save(f"{i}.csv", f"user,item,rating\n1,2,{i}\n".encode(), keep=(dataset,)) for i in range(6)]
    assert dataset.exists()  # the dataset in use: kept, however old
    assert [p.exists() for p in saved] == [False, False] + [True] * BrowserUploads.RECENT  # another tab's, an import's
    assert len(list(session.folder.iterdir())) == BrowserUploads.RECENT + 1


def test_the_size_limit_is_checked_before_anything_is_written():
    session = BrowserUploads(10)
    with pytest.raises(DataError, match="above the upload limit of 10 bytes"):
        session.save("big.csv", b"x" * 11)
    assert list(session.folder.iterdir()) == []


def test_a_dropped_session_takes_its_uploads_with_it():
    session = BrowserUploads(10_000)
    folder = session.folder
    session.save("a.csv", GOOD.encode())
    del session
    gc.collect()
    assert not folder.exists()


def test_a_browser_keeps_its_upload_across_sessions_until_the_server_forgets_it(empty_runs):
    from collab_app import services

    at = open_app("pages/data.py")
    at.segmented_control(key="p_data_source").set_value("upload").run()
    at.file_uploader(key="data_upload").set_value(("mine.csv", GOOD.encode(), "text/csv")).run()
    at.button(key="use_dataset").click().run()
    files = [p for p in uploads.process_root().rglob("*.csv")]
    folder = next(p.parent for p in files if p.read_bytes() == GOOD.encode())
    assert mode(folder) == 0o700
    owner = owner_of(at)
    del at  # the page is reloaded: a new session of the same browser
    gc.collect()
    assert folder.exists()
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.session_state["_proposed_owner"] = owner  # the browser's cookie
    again.switch_page("pages/train.py").run()
    assert "mine.csv" in shown(again.caption)  # it still trains on its upload
    services.owner_memory().forget(owner)
    gc.collect()
    assert not folder.exists()


def test_folders_of_dead_processes_are_swept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = Path(tempfile.gettempdir()) / f"collab-uploads-{int(dead.stdout)}-test"
    stale.mkdir()
    mine = Path(tempfile.gettempdir()) / f"collab-uploads-{os.getpid()}-test"
    mine.mkdir()
    try:
        uploads.sweep_dead_processes()
        assert not stale.exists() and mine.exists()
    finally:
        for folder in (stale, mine):
            if folder.exists():
                folder.rmdir()
