"""Fetching MovieLens from an HTTP server started here on 127.0.0.1, serving zips written here in each
release's real layout (no MovieLens file is committed): success, resume, every failure leaving nothing
behind, one download for concurrent fetches, a hand-downloaded zip, and the `data` commands."""
import io
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from collab_core.cli import main as cli
from collab_core.data import fetch
from collab_core.data.datasets import load_dataset
from collab_core.errors import DataError, FetchCancelled, FetchError
from tests.movielens_server import NAMES, ZIPS, Server, make_zip, md5, release_files  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def http_server():
    server = Server()
    yield server
    server.httpd.shutdown()


@pytest.fixture()
def server(http_server):
    http_server.files.clear()
    http_server.requests.clear()
    http_server.cut_once.clear()
    http_server.ignore_range, http_server.delay = False, 0.0
    return http_server


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("COLLAB_DATA_DIR", str(folder))
    return folder


def get(server, name, **kwargs):
    kwargs.setdefault("accept_terms", True)
    return fetch.fetch(name, base_url=server.url, **kwargs)


def assert_nothing_left(data_dir: Path, name: str, part_kept: bool = False):
    leftovers = sorted(p.name for p in data_dir.iterdir()) if data_dir.is_dir() else []
    assert name not in leftovers, "a dataset folder appeared"
    assert not [n for n in leftovers if "staging" in n], leftovers
    assert (f"{name}.zip.part" in leftovers) == part_kept, leftovers


# ---------------------------------------------------------------------- success
@pytest.mark.parametrize("name", NAMES)
def test_each_release_is_fetched_and_then_loads_by_name(server, data_dir, name):
    md5_text = {"ml-25m": f"MD5 (ml-25m.zip) = {md5(ZIPS['ml-25m'])}\n",
                "ml-20m": f"{md5(ZIPS['ml-20m'])}  ml-20m.zip\n"}.get(name)
    server.serve(name, md5_text=md5_text)
    seen = []
    result = get(server, name, progress=seen.append)
    assert result.folder == data_dir / name and not result.already_present
    assert result.verified == (md5_text is not None) and result.md5 == md5(ZIPS[name])
    assert result.downloaded_bytes == len(ZIPS[name])
    if md5_text is None:
        assert any("no checksum published" in note for note in result.notes)
    assert sorted(p.name for p in data_dir.iterdir()) == [f".{name}.lock", name]  # no zip, part or staging left
    phases = [p.phase for p in seen]
    assert phases[0] == "downloading" and phases[-1] == "done" and "unzipping" in phases
    download = [p for p in seen if p.phase == "downloading"]
    assert download[-1].done == download[-1].total == len(ZIPS[name])
    ratings = load_dataset(name)
    assert ratings.n_ratings == (5 if name in ("ml-1m", "ml-10m") else 4)
    if name in ("ml-1m", "ml-10m"):
        assert ratings.titles[ratings.item_to_index("661")] == "Café (1996)"
        assert ratings.titles[ratings.item_to_index("914")] == '"My Fair Lady" (1964)'
        assert (ratings.users is not None) == (name == "ml-1m")
    else:
        assert ratings.titles[ratings.item_to_index("3")] == "Grumpier Old Men, The (1995)"
    assert get(server, name).already_present  # a second fetch finds it done and downloads nothing
    assert len(server.gets(name)) == 1


def test_progress_describes_bytes_rate_and_time_left():
    progress = fetch.FetchProgress("ml-25m", "downloading", 120_300_000, 250_000_000, 10_200_000.0, 12.7)
    assert progress.describe() == "downloading ml-25m.zip: 120.3 of 250.0 MB (48%), 10.2 MB/s, 13 s left"
    assert fetch.FetchProgress("ml-1m", "waiting", 0, None, None, None).describe().startswith("ml-1m: waiting")


@pytest.mark.parametrize("text", ["MD5 (ml-25m.zip) = 6B51FB2759A8657D3BFCBFC42B592ADA\n",
                                  "6b51fb2759a8657d3bfcbfc42b592ada  ml-25m.zip\n"])
def test_both_md5_file_forms_parse(text):
    assert fetch.parse_md5_file(text) == "6b51fb2759a8657d3bfcbfc42b592ada"
    assert fetch.parse_md5_file("<html>not found</html>") is None


# ---------------------------------------------------------------------- resuming
def test_a_cut_download_is_resumed_with_a_range_request(server, data_dir):
    server.serve("ml-1m", md5_text=f"MD5 (ml-1m.zip) = {md5(ZIPS['ml-1m'])}")
    server.cut_once.add("/movielens/ml-1m.zip")
    result = get(server, "ml-1m", retries=1)
    ranges = server.gets("ml-1m")
    assert ranges == [None, f"bytes={len(ZIPS['ml-1m']) // 2}-"]
    assert result.verified and result.downloaded_bytes == len(ZIPS["ml-1m"]) and result.resumed_from == 0
    assert load_dataset("ml-1m").n_ratings == 5
    assert sorted(p.name for p in data_dir.iterdir()) == [".ml-1m.lock", "ml-1m"]


def test_an_interruption_keeps_the_part_and_the_next_fetch_resumes_it(server, data_dir):
    server.serve("ml-10m")
    server.cut_once.add("/movielens/ml-10m.zip")
    with pytest.raises(FetchError, match="run the same fetch again to resume") as caught:
        get(server, "ml-10m", retries=0)
    assert caught.value.reason == "interrupted"
    assert_nothing_left(data_dir, "ml-10m", part_kept=True)
    half = len(ZIPS["ml-10m"]) // 2
    assert (data_dir / "ml-10m.zip.part").stat().st_size == half
    status = {row.name: row for row in fetch.list_datasets()}["ml-10m"]
    assert status.partial_bytes == half and not status.fetched
    result = get(server, "ml-10m")
    assert result.resumed_from == half and result.downloaded_bytes == len(ZIPS["ml-10m"]) - half
    assert server.gets("ml-10m")[-1] == f"bytes={half}-"
    assert load_dataset("ml-10m").n_ratings == 5 and not (data_dir / "ml-10m.zip.part").exists()


def test_a_server_that_ignores_range_makes_the_download_restart(server, data_dir):
    server.serve("ml-1m")
    server.ignore_range = True
    data_dir.mkdir()
    junk = b"junk from an older, different file"
    (data_dir / "ml-1m.zip.part").write_bytes(junk)
    result = get(server, "ml-1m")
    assert server.gets("ml-1m") == [f"bytes={len(junk)}-"] and result.downloaded_bytes == len(ZIPS["ml-1m"])
    assert result.resumed_from == 0  # nothing of the junk was kept
    assert load_dataset("ml-1m").n_ratings == 5


def test_a_complete_part_is_not_downloaded_again(server, data_dir):
    server.serve("ml-1m")
    data_dir.mkdir()
    (data_dir / "ml-1m.zip.part").write_bytes(ZIPS["ml-1m"])
    result = get(server, "ml-1m")
    assert result.downloaded_bytes == 0 and result.resumed_from == len(ZIPS["ml-1m"])
    assert fetch.is_fetched(data_dir / "ml-1m")


def test_cancelling_keeps_the_part_for_the_next_fetch(server, data_dir, monkeypatch):
    big = make_zip({**release_files("ml-1m"), "ml-1m/padding.bin": os.urandom(3 << 20)})
    server.serve("ml-1m", big)
    monkeypatch.setattr(fetch, "CHUNK", 1 << 18)
    cancel = threading.Event()

    def progress(p):
        if p.phase == "downloading":  # the next chunk's report sees the flag
            cancel.set()
    with pytest.raises(FetchCancelled):
        get(server, "ml-1m", progress=progress, cancel=cancel)
    assert_nothing_left(data_dir, "ml-1m", part_kept=True)
    assert 0 < (data_dir / "ml-1m.zip.part").stat().st_size < len(big)
    assert get(server, "ml-1m").resumed_from > 0 and fetch.is_fetched(data_dir / "ml-1m")


# ---------------------------------------------------------------------- failures leave nothing behind
def test_no_network_says_where_to_put_a_downloaded_zip(data_dir):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        fetch.fetch("ml-1m", accept_terms=True, base_url=f"http://127.0.0.1:{port}", timeout=5)
    message = str(caught.value)
    assert caught.value.reason == "network" and "cannot reach" in message and "\n" not in message
    assert str(data_dir / "ml-1m.zip") in message and "--zip" in message
    assert_nothing_left(data_dir, "ml-1m")


def test_not_found(server, data_dir):
    with pytest.raises(FetchError, match="HTTP 404") as caught:
        get(server, "ml-32m")
    assert caught.value.reason == "not_found"
    assert_nothing_left(data_dir, "ml-32m")


@pytest.mark.parametrize("form", ["MD5 (ml-25m.zip) = {}\n", "{}  ml-25m.zip\n"])
def test_a_checksum_mismatch_deletes_the_download(server, data_dir, form):
    server.serve("ml-25m", md5_text=form.format("0" * 32))
    with pytest.raises(FetchError, match=f"MD5 is {md5(ZIPS['ml-25m'])} but .* says 0{{32}}; the download was deleted"):
        get(server, "ml-25m")
    assert_nothing_left(data_dir, "ml-25m")


def corrupted(data: bytes) -> bytes:
    """Flip bytes inside the first stored member, so its CRC fails while the directory still reads."""
    middle = data.index(b"ratings") + 40
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 8]) + data[middle + 8:]


@pytest.mark.parametrize("data", [ZIPS["ml-1m"][: len(ZIPS["ml-1m"]) // 2], corrupted(ZIPS["ml-1m"]), b"<html>"],
                         ids=["truncated", "crc", "not-a-zip"])
def test_a_truncated_or_corrupt_zip(server, data_dir, data):
    server.serve("ml-1m", data)
    with pytest.raises(FetchError, match="not a complete, readable zip") as caught:
        get(server, "ml-1m")
    assert caught.value.reason == "corrupt"
    assert_nothing_left(data_dir, "ml-1m")


@pytest.mark.parametrize("files, links", [
    ({"/etc/evil": b"x"}, {}),
    ({"ml-1m/../../evil": b"x"}, {}),
    ({}, {"ml-1m/link": "/etc/passwd"}),
], ids=["absolute", "dotdot", "symlink"])
def test_a_zip_escaping_its_folder_is_refused(server, data_dir, files, links):
    server.serve("ml-1m", make_zip({**release_files("ml-1m"), **files}, links))
    with pytest.raises(FetchError, match="refusing to unzip") as caught:
        get(server, "ml-1m")
    assert caught.value.reason == "unsafe"
    assert_nothing_left(data_dir, "ml-1m")
    assert not (data_dir.parent / "evil").exists()


def test_a_zip_without_the_ratings_file(server, data_dir):
    files = {k: v for k, v in release_files("ml-25m").items() if not k.endswith("ratings.csv")}
    server.serve("ml-25m", make_zip(files))
    with pytest.raises(FetchError, match="holds no ml-25m/ratings.csv"):
        get(server, "ml-25m")
    assert_nothing_left(data_dir, "ml-25m")


@pytest.mark.parametrize("where", ["downloading", "unzipping"])
def test_disk_full(server, data_dir, monkeypatch, where):
    server.serve("ml-1m")
    real_write = fetch._write

    def write(handle, data):
        if (where == "downloading") == handle.name.endswith(".part"):
            raise OSError(28, "No space left on device")
        real_write(handle, data)
    monkeypatch.setattr(fetch, "_write", write)
    with pytest.raises(FetchError, match="no space left on the device; free some space") as caught:
        get(server, "ml-1m")
    assert caught.value.reason == "disk_full"
    assert_nothing_left(data_dir, "ml-1m")


def test_terms_must_be_accepted(server, data_dir):
    server.serve("ml-1m")
    with pytest.raises(FetchError, match="terms must be accepted"):
        get(server, "ml-1m", accept_terms=False)
    assert server.requests == []


# ---------------------------------------------------------------------- concurrency, local zips, names
def test_concurrent_fetches_of_one_set_download_once(server, data_dir):
    server.serve("ml-1m")
    server.delay = 0.5
    barrier, results, errors = threading.Barrier(2), [], []

    def run():
        barrier.wait()
        try:
            results.append(get(server, "ml-1m"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(results) == 2
    assert len(server.gets("ml-1m")) == 1
    assert sorted(r.already_present for r in results) == [False, True]


def test_a_hand_downloaded_zip_is_accepted(tmp_path, data_dir):
    manual = tmp_path / "ml-1m.zip"
    manual.write_bytes(ZIPS["ml-1m"])
    result = fetch.fetch("ml-1m", accept_terms=True, zip_path=manual, base_url="http://127.0.0.1:9")
    assert result.source == str(manual) and manual.is_file() and load_dataset("ml-1m").n_ratings == 5
    # saved where the no-network message says: used without any download either
    (data_dir / "ml-10m.zip").write_bytes(ZIPS["ml-10m"])
    result = fetch.fetch("ml-10m", accept_terms=True, base_url="http://127.0.0.1:9")
    assert result.source == str(data_dir / "ml-10m.zip")


def test_a_known_but_unfetched_name_says_how_to_fetch_it(data_dir):
    with pytest.raises(DataError, match=r"ml-20m is not fetched yet: run `python -m collab_core data fetch ml-20m`"):
        load_dataset("ml-20m")
    with pytest.raises(DataError, match="not 'builtin', a MovieLens folder"):
        load_dataset("no-such-set")
    with pytest.raises(DataError, match="unknown MovieLens dataset 'ml-3m'"):
        fetch.fetch("ml-3m", accept_terms=True)


# ---------------------------------------------------------------------- the command line
def run_cli(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_fetch_shows_size_and_terms_then_lists_the_set(server, data_dir, capsys):
    server.serve("ml-1m")
    code, out, err = run_cli(capsys, "data", "fetch", "ml-1m", "--yes", "--base-url", server.url)
    assert code == 0, err
    assert f"{len(ZIPS['ml-1m']) / 1e6:,.1f} MB to download" in out
    assert "Harper and Joseph A. Konstan. 2015" in out and "may not redistribute" in out and "endorsement" in out
    assert "ml-1m: ready in" in out and "downloading ml-1m.zip" in err
    load_dataset("ml-1m")  # fills the parse cache, whose sizes `data list` then shows
    code, out, err = run_cli(capsys, "data", "list", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(rows) == set(NAMES) and rows["ml-1m"]["fetched"] and not rows["ml-25m"]["fetched"]
    assert (rows["ml-1m"]["ratings"], rows["ml-1m"]["users"], rows["ml-1m"]["items"]) == (5, 3, 3)
    assert rows["ml-1m"]["bytes_on_disk"] > 0 and rows["ml-25m"]["approx_download_mb"] == 250
    code, out, _ = run_cli(capsys, "data", "list")
    assert "5 ratings, 3 users, 3 items" in out and "python -m collab_core data fetch ml-25m" in out


def test_cli_without_a_terminal_or_flag_exits_2_in_one_line(server, data_dir, capsys):
    server.serve("ml-1m")
    code, out, err = run_cli(capsys, "data", "fetch", "ml-1m", "--base-url", server.url)
    assert code == 2 and err.count("\n") == 1 and "pass --accept-terms" in err
    assert "Usage License" not in err and "research" in out  # the terms were shown, on stdout
    assert server.gets("ml-1m") == [] and not (data_dir / "ml-1m").exists()


@pytest.mark.parametrize("answer, code", [("y\n", 0), ("n\n", 1)])
def test_cli_asks_on_a_terminal(server, data_dir, capsys, monkeypatch, answer, code):
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    server.serve("ml-1m")
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    assert run_cli(capsys, "data", "fetch", "ml-1m", "--base-url", server.url)[0] == code
    assert fetch.is_fetched(data_dir / "ml-1m") == (code == 0)


@pytest.mark.parametrize("args, message", [
    (["data", "fetch", "ml-32m", "-y"], "HTTP 404"),
    (["data", "fetch", "ml-3m", "-y"], "unknown MovieLens dataset"),
    (["data", "fetch", "ml-1m", "-y", "--zip", "/no/such.zip"], "no such file"),
    (["data", "fetch", "ml-1m", "-y", "--base-url", "http://127.0.0.1:9"], "cannot reach"),
])
def test_cli_failures_exit_2_in_one_line(server, data_dir, capsys, args, message):
    if "--base-url" not in args:
        args = [*args, "--base-url", server.url]
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and message in err
    if message == "cannot reach":
        assert f"save it as {data_dir / 'ml-1m.zip'}" in err


def test_cli_zip_and_train_by_name(tmp_path, data_dir, capsys):
    manual = tmp_path / "ml-1m.zip"
    manual.write_bytes(ZIPS["ml-1m"])
    code, out, err = run_cli(capsys, "data", "fetch", "ml-1m", "--zip", str(manual), "--accept-terms")
    assert code == 0 and "ready in" in out, err
    code, out, err = run_cli(capsys, "train", "--dataset", "ml-1m", "--epochs", "1", "--factors", "2",
                             "--valid-frac", "0.4", "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["n_train"] == 3


def test_cli_subprocess_smoke_without_stdin(data_dir):
    done = subprocess.run([sys.executable, "-m", "collab_core", "data", "fetch", "ml-1m", "--zip", "/dev/null"],
                          cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "COLLAB_DATA_DIR": str(data_dir)})
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--accept-terms" in done.stderr
