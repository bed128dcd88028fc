"""Every error a browser user can cause names what they know (their own file's name, the dataset's name), carries
no error number, backtick or path on the server, and sits right under the control that caused it.

One case per error source a visitor can reach: rows of an uploaded CSV/TSV/Parquet, an unreadable or
unparsable upload, a download against a refused or unknown host or a 404, a folder outside the data folders
or without MovieLens files, a bad embeddings import. A new source belongs in CASES."""
from __future__ import annotations

import io
import re
import socket
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from tests.movielens_server import Server
from tests.waiting import wait_until

from .conftest import import_and_wait, no_exceptions, open_app, shown

# An absolute path, wherever it is in the text: a '/' that continues no word, URL ('http://host/p') or
# relative path ('../x').
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~\\-])/[\w.~-]")
GOOD = b"user,item,rating\n" + b"".join(f"u{u},m{i},{(u * i) % 5 + 1}\n".encode() for u in range(6) for i in range(5))


def leaves(node):
    """The page's elements in the order a person sees them, containers flattened."""
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for index in sorted(children):
            yield from leaves(children[index])
    else:
        yield node


def element_after(at, key: str):
    """The first element drawn after the widget with `key`."""
    elements = list(leaves(at.main))
    position = next(i for i, e in enumerate(elements) if getattr(e, "key", None) == key)
    return elements[position + 1] if position + 1 < len(elements) else None


# ---------------------------------------------------------------------- the sources
def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def upload(name: str, data: bytes):
    def drive(at, env):
        at.segmented_control(key="p_data_source").set_value("upload").run()
        at.file_uploader(key="data_upload").set_value((name, data, "application/octet-stream")).run()
        return "data_upload", name
    return drive


def unreadable_upload(at, env):
    """The stored upload cannot be read (as root, chmod does not stop a read: the OS's answer is simulated)."""
    from collab_app.uploads import process_root

    real = Path.read_bytes

    def denied(self):
        if process_root() in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    env.monkeypatch.setattr(Path, "read_bytes", denied)
    return upload("mine.csv", GOOD)(at, env)


def too_large_upload(at, env):
    env.monkeypatch.setenv("COLLAB_UPLOAD_LIMIT_MB", "1")
    return upload("huge.csv", GOOD * (1 + 1024 * 1024 // len(GOOD)))(at, env)


def download(name: str):
    def drive(at, env):
        at.selectbox(key="p_data_fetch_name").set_value(name).run()
        at.checkbox(key=f"fetch_accept_{name}").check().run()
        at.button(key="fetch_start").click().run()
        from collab_app import services

        wait_until(lambda: not services.fetch_service().get(name).active, timeout=60)
        at.run()
        assert services.fetch_service().get(name).status == "failed"
        return "fetch_start", name
    return drive


def refused_host(at, env):
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env.monkeypatch.setenv("COLLAB_MOVIELENS_URL", f"http://127.0.0.1:{port}/movielens")
    return download("ml-1m")(at, env)


def unknown_host(at, env):
    env.monkeypatch.setenv("COLLAB_MOVIELENS_URL", "http://no-such-host.invalid/movielens")
    return download("ml-10m")(at, env)


def not_on_the_server(at, env):
    server = Server()  # serves no zip at all: every download is a 404
    env.cleanups.append(server.httpd.shutdown)
    env.monkeypatch.setenv("COLLAB_MOVIELENS_URL", server.url)
    return download("ml-latest-small")(at, env)


def folder(typed: str, files: dict[str, str] | None = None, known: str | None = None):
    def drive(at, env):
        if files is not None:
            for name, text in files.items():
                (env.roots / typed / name).parent.mkdir(parents=True, exist_ok=True)
                (env.roots / typed / name).write_text(text)
        at.segmented_control(key="p_data_source").set_value("folder").run()
        at.text_input(key="p_data_folder").set_value(typed).run()
        return "p_data_folder", known or typed
    return drive


def import_preview(name: str, data: bytes):
    def drive(at, env):
        at.segmented_control(key="p_data_source").set_value("import").run()
        at.file_uploader(key="imp_vectors").set_value((name, data, "application/octet-stream")).run()
        return "imp_user_metadata", name  # the last uploader of the panel
    return drive


def import_button(at, env):
    at.segmented_control(key="p_data_source").set_value("import").run()
    at.file_uploader(key="imp_vectors").set_value(("items.tsv", b"1\t2\n3\t4\n", "text/plain")).run()
    at.file_uploader(key="imp_user_vectors").set_value(("people.tsv", b"1\t2\t3\n4\t5\t6\n", "text/plain")).run()
    import_and_wait(at)
    return "imp_go", "people.tsv"


def unreadable_import(at, env):
    from collab_app.uploads import process_root

    real = Path.read_bytes
    env.monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(
        PermissionError(13, "Permission denied", str(self))) if process_root() in self.parents else real(self))
    return import_preview("vectors.tsv", b"1\t2\n3\t4\n")(at, env)


CASES = {
    "csv with a bad rating": upload("bad2.csv", b"user,item,rating\nu1,m1,5\nu2,m1,five\n"),
    "tsv with an empty user id": upload("mine.tsv", b"user\titem\trating\nu1\tm1\t5\n\tm2\t4\n"),
    "parquet with a bad rating": upload("ratings.parquet", parquet(pd.DataFrame(
        {"user": ["a", "b"], "item": ["x", "y"], "rating": ["5", "lots"]}))),
    "damaged parquet": upload("broken.parquet", b"PAR1 not really parquet"),
    "binary file named csv": upload("photo.csv", bytes(range(256)) * 4),
    "two columns only": upload("two.csv", b"user,item\n1,2\n"),
    "unreadable upload": unreadable_upload,
    "upload above the limit": too_large_upload,
    "refused host": refused_host,
    "unknown host": unknown_host,
    "404 from the download server": not_on_the_server,
    "folder outside the data folders": folder("../outside"),
    "folder without MovieLens files": folder("my-set", {"notes.txt": "hello"}),
    "MovieLens folder with a bad row": folder("ml-latest-small", {
        "ratings.csv": "userId,movieId,rating\n1,1,4\n2,1,great\n", "movies.csv": "movieId,title\n1,A\n"},
        known="ml-latest-small/ratings.csv: row 2"),
    "ragged vectors": import_preview("vectors.tsv", b"1\t2\n3\n"),
    "unreadable vectors": unreadable_import,
    "user vectors of another width": import_button,
}


class Env:
    def __init__(self, monkeypatch, roots: Path):
        self.monkeypatch, self.roots, self.cleanups = monkeypatch, roots, []


@pytest.fixture()
def env(tmp_path, monkeypatch, empty_runs):
    roots = tmp_path / "data"
    roots.mkdir()
    monkeypatch.setenv("COLLAB_DATA_DIR", str(roots))
    monkeypatch.setenv("COLLAB_DATA_ROOTS", str(roots))
    environment = Env(monkeypatch, roots)
    from collab_app import services

    services.fetch_service.clear()  # downloads are shared by every session of the process: none from other tests
    yield environment
    services.fetch_service.clear()
    for cleanup in environment.cleanups:
        cleanup()


def server_folders(tmp_path: Path) -> list[str]:
    from collab_app.uploads import process_root

    folders = [tmp_path, Path(tempfile.gettempdir()), process_root(), Path.home(), Path.cwd()]
    return sorted({str(f) for f in folders} | {str(f.resolve()) for f in folders}, key=len, reverse=True)


@pytest.mark.parametrize("case", list(CASES))
def test_an_error_names_what_the_user_knows_and_sits_under_its_control(env, tmp_path, case):
    at = open_app("pages/data.py")
    control, known = CASES[case](at, env)
    assert no_exceptions(at), [e.value for e in at.exception]
    text = shown(at.error)
    assert len(at.error) == 1, text
    assert known in text, text
    assert "Errno" not in text and "`" not in text and "Traceback" not in text, text
    assert not [folder for folder in server_folders(tmp_path) if folder in text], text
    assert not ABSOLUTE_PATH.search(text), text
    assert element_after(at, control) == at.error[0], f"the error is not right under {control!r}"


def test_the_operator_log_keeps_where_the_file_is(env, caplog):
    at = open_app("pages/data.py")
    upload("logged.csv", b"user,item,rating\nu1,m1,5\nu2,m1,six\n")(at, env)
    logged = [r.getMessage() for r in caplog.records if r.name == "collab_app.messages"]
    assert len(logged) == 1 and "logged.csv is /" in logged[0] and "row 2" in logged[0]
    at.number_input(key="p_data_min_user").set_value(1).run()  # a rerun shows it again: logged once
    assert len([r for r in caplog.records if r.name == "collab_app.messages"]) == 1


# ---------------------------------------------------------------------- the safety net on its own
def net_cases(data_dir: Path, runs_dir: Path) -> list[tuple[str, dict, str, str]]:
    """(message a reader might let through, names, what must be shown, what must not)."""
    from collab_app.uploads import process_root

    stored = process_root() / "session-x" / "57dc7ce0ab.csv"
    return [
        (f"{stored}: row 2: rating 'five'", {str(stored): "bad2.csv"}, "bad2.csv: row 2", "57dc7ce0"),
        (f"{stored}: row 2", {}, "the uploaded file: row 2", "57dc7ce0"),
        ("cannot reach http://h/ml-1m.zip (<urlopen error [Errno -2] Name or service not known>); run "
         "`python -m collab_core data fetch ml-1m --zip PATH`", {}, "(Name or service not known)", "Errno"),
        (f"save it as {data_dir / 'ml-1m.zip'} and fetch again", {}, "save it as ml-1m.zip and fetch again", "/"),
        (f"runs cannot be saved in {runs_dir}: Permission denied", {}, "in the server's runs folder:", "/"),
        (f"{data_dir / 'ml-1m'}/ratings.dat: row 3", {str(data_dir / "ml-1m"): "ml-1m"}, "ml-1m/ratings.dat: row 3",
         str(data_dir)),
    ]


def test_the_net_catches_what_a_reader_missed(env, empty_runs):
    from collab_app.messages import user_message
    from collab_core.errors import DataError

    for message, names, wanted, unwanted in net_cases(env.roots, empty_runs):
        text = user_message(DataError(message), names)
        assert wanted in text and unwanted not in text and "`" not in text, (message, text)


def test_a_bug_is_not_shown_as_a_repr(env):
    from collab_app.messages import user_message

    text = user_message(KeyError("/srv/secret/path"), what="Downloading ml-1m")
    assert text.startswith("Downloading ml-1m failed unexpectedly") and "KeyError" not in text and "/" not in text


def test_a_fetch_error_is_said_in_plain_words(env):
    from collab_app.messages import user_message
    from collab_core.errors import FetchError

    error = FetchError("network", f"cannot reach x; save it as {env.roots}/ml-1m.zip", plain="ml-1m could not be "
                       "downloaded")
    assert user_message(error) == "ml-1m could not be downloaded"


def test_no_page_shows_an_exception_without_wording_it():
    """An exception's own text may name the server's folders (the runs folder on a full disk): pages show it through
    collab_app.messages (said or show_error), never escaped as it is."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    raw = re.compile(r"\bmd\((exc|error|err|e)\)|\{(exc|error|err)\}|(?<!clean\()\bstr\((exc|error|err)\)")
    found = [f"{path.relative_to(root)}:{i}" for path in [root / "app.py", *root.glob("pages/*.py"),
                                                           *root.glob("collab_app/*.py")]
             if path.name != "messages.py"
             for i, line in enumerate(path.read_text().splitlines(), 1) if raw.search(line)]
    assert found == []
