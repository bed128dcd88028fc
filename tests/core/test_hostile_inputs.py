"""Input that could end in a traceback or silently change meaning, engine and CLI. Each case must give one
line naming the problem (the CLI: exit status 2) or load correctly with a note; no traceback, no run written.

The CLI is called in-process (`collab_core.cli.main.main`), as a user's shell would, minus the interpreter start."""
import errno
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collab_core.cli.main import main
from collab_core.data.datasets import load_dataset, load_table
from collab_core.errors import DataError
from collab_core.runs import store as runs_module

GOOD = "user,item,rating\n" + "".join(f"u{u},m{i},{(u * i) % 5 + 1}\n" for u in range(8) for i in range(6))


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *parts: str):
    assert code == 2, err
    errors = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0] and "Traceback" not in err, err
    for part in parts:
        assert part in errors[0], errors[0]


# ---------------------------------------------------------------------- ids
def test_ids_beyond_64_bits_and_other_scripts_digits_are_text(tmp_path):
    big = [str(2**63), str(2**64 + 7), "5"]
    rows = "".join(f"{u},{i},3\n" for u in ("1", "2") for i in big)
    ratings = load_table(write(tmp_path / "r.csv", "user,item,rating\n" + rows))
    assert list(ratings.item_ids) == ["5", str(2**63), str(2**64 + 7)]  # numeric order, from the text
    ratings = load_table(write(tmp_path / "u.csv", "user,item,rating\n١,a,3\n٢,b,4\n²,a,1\n١,b,2\n"))
    assert sorted(ratings.user_ids) == sorted(["١", "٢", "²"]) and ratings.n_users == 3


def test_ids_differing_only_in_leading_zeros_get_a_note(tmp_path):
    ratings = load_table(write(tmp_path / "r.csv", "user,item,rating\n1,007,4\n2,7,3\n1,7,2\n2,8,5\n"))
    assert ratings.n_items == 3
    assert any("differ only in leading zeros" in note and "'007'" in note for note in ratings.notes), ratings.notes


# ---------------------------------------------------------------------- files
def test_a_folder_given_as_a_file_is_called_a_folder(tmp_path, capsys):
    with pytest.raises(DataError, match="is a folder, not a file"):
        load_table(tmp_path)
    assert_one_line_error(*cli(capsys, "train", "--train", tmp_path, "--runs-dir", tmp_path / "runs")[::2],
                          "is a folder, not a file")


def test_a_file_that_cannot_be_read_says_why(tmp_path, monkeypatch):
    path = write(tmp_path / "r.csv", GOOD)
    real = Path.read_bytes

    def denied(self):  # as root, chmod 000 does not stop a read: simulate the OS's answer
        if self == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(DataError, match=r"r.csv: cannot be read \(Permission denied\)"):
        load_table(path)


def test_one_latin1_line_in_a_utf8_file_keeps_the_rest_utf8_and_says_so(tmp_path):
    lines = ["user,item,rating,title"] + [f"{u},{i},3,Amélie {i}" for u in range(3) for i in range(4)]
    data = ("\n".join(lines) + "\n").encode("utf-8") + "9,9,4,Café\n".encode("latin-1")
    ratings = load_table(write(tmp_path / "mixed.csv", data))
    assert set(ratings.titles) == {f"Amélie {i}" for i in range(4)} | {"Café"}
    assert any("1 line(s) are not valid UTF-8 (line 14)" in note for note in ratings.notes), ratings.notes


def test_a_movielens_latest_folder_with_other_column_names_and_no_genres_loads(tmp_path):
    folder = tmp_path / "ml-latest-extract"
    folder.mkdir()
    write(folder / "ratings.csv", "user_id,item_id,rating,timestamp\n" + "".join(
        f"{u},{i},{(u + i) % 5 + 1},0\n" for u in range(1, 5) for i in range(1, 4)))
    write(folder / "movies.csv", "movie_id,title\n1,Alpha (1999)\n2,Beta\n3,Gamma\n")
    ratings = load_dataset(folder)
    assert ratings.n_users == 4 and list(ratings.titles) == ["Alpha (1999)", "Beta", "Gamma"]
    assert all(g == [] for g in ratings.items["genres"])


# ---------------------------------------------------------------------- settings and arguments
@pytest.mark.parametrize("args, message", [
    (["--split-seed", "-1"], "the split seed must be a whole number from 0"),
    (["--rating-scale", "nan", "nan"], "the rating scale must be two finite numbers"),
    (["--rating-scale", "5", "1"], "the rating scale's lowest rating must be below its highest, got 5 to 1"),
    (["--epochs", "many"], "argument --epochs: invalid int value: 'many'"),
    (["--nn-layers", "64,x", "--model", "nn"], "hidden layers must be comma-separated whole numbers"),
    (["--model", "nn", "--nn-layers", "65536,65536"], "lower the hidden layer widths (nn_layers 65536, 65536)"),
    (["--valid-frac", "nan"], "validation fraction must be between 0 and 1"),
])
def test_bad_settings_are_one_line_and_train_nothing(tmp_path, capsys, args, message):
    train = write(tmp_path / "r.csv", GOOD)
    code, _, err = cli(capsys, "train", "--train", train, "--epochs", "1", *args, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(code, err, message)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_bad_environment_setting_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLLAB_RUNS_DIR", "")
    monkeypatch.setenv("COLLAB_DEFAULT_RUN", "../../etc")
    from collab_core import settings

    with pytest.raises(settings.SettingError, match=r"COLLAB_DEFAULT_RUN='../../etc'"):
        settings.check_all()


# ---------------------------------------------------------------------- the runs folder
def test_a_runs_folder_that_is_a_file_fails_before_training(tmp_path, capsys):
    not_a_folder = write(tmp_path / "runs", "x")
    code, _, err = cli(capsys, "train", "--epochs", "1", "--runs-dir", not_a_folder)
    assert_one_line_error(code, err, "is a file, not a folder")
    assert "epoch" not in err


def test_a_read_only_runs_folder_fails_before_training(tmp_path, capsys, monkeypatch):
    real = Path.write_bytes

    def read_only(self, data):  # as root, chmod does not stop a write: simulate the OS's answer
        if self.name.startswith(".probe-"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", read_only)
    code, _, err = cli(capsys, "train", "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(code, err, "runs cannot be saved in", "Permission denied")


def test_a_disk_that_fills_during_the_save_leaves_no_half_run(tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs_module, "save_file", full)
    train = write(tmp_path / "r.csv", GOOD)
    code, _, err = cli(capsys, "train", "--train", train, "--epochs", "1", "--quiet", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(code, err, "No space left on device", "nothing was saved")
    assert [p.name for p in (tmp_path / "runs").iterdir()] == []


# ---------------------------------------------------------------------- the class, generated
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(st.sampled_from(["user", "item", "rating", "title", "genres", "x", ""]), min_size=1,
                       max_size=5),
       rows=st.lists(st.lists(TEXT, min_size=0, max_size=6), max_size=8),
       sep=st.sampled_from([",", ";", "\t", "|"]), raw=st.binary(max_size=40))
def test_any_small_table_loads_or_names_its_problem(tmp_path, header, rows, sep, raw):
    """Whatever a file holds, reading it gives Ratings or a DataError: never another exception."""
    text = sep.join(header) + "\n" + "\n".join(sep.join(row) for row in rows) + "\n"
    path = tmp_path / "fuzz.csv"
    for content in (text.encode("utf-8"), text.encode("utf-8") + raw):
        path.write_bytes(content)
        try:
            ratings = load_table(path)
        except DataError as exc:
            assert str(exc) and "\n" not in str(exc).strip()
        else:
            assert ratings.n_users >= 2 and ratings.n_items >= 2 and len(ratings.rating) > 0
            assert re.fullmatch(r"[^\n]*", ratings.name)
