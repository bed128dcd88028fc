"""Importing embeddings trained elsewhere: every format, the round trip through this app's own
exports, and every kind of bad input, through `collab_core.cli.main.main` in-process as a user runs it.

Bad input must end with exit status 2, one line on stderr naming the file (and row, column, value where there
is one), and no run written."""
import json

import numpy as np
import pandas as pd
import pytest

from collab_core.analysis import interpret
from collab_core.cli.main import main as cli_main
from collab_core.errors import DataError
from collab_core.runs import export
from collab_core.runs.importer import import_embeddings, preview
from collab_core.runs.store import RunStore


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = cli_main(list(map(str, args)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def imported(capsys, runs, *args):
    """Import through the CLI; (the loaded run, its JSON summary)."""
    code, out, err = run_cli(capsys, "import-embeddings", *args, "--runs-dir", runs)
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    return RunStore(runs).load(summary["run_id"]), summary


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------- round trips through our own exports
def test_the_projector_pair_round_trip_gives_the_same_vectors_neighbours_and_pca(tiny_trained, tmp_path, capsys):
    vectors, metadata = export.projector_files(tiny_trained)
    (tmp_path / "vectors.tsv").write_bytes(vectors)
    (tmp_path / "metadata.tsv").write_bytes(metadata)
    run, summary = imported(capsys, tmp_path / "runs", "--vectors", tmp_path / "vectors.tsv",
                            "--metadata", tmp_path / "metadata.tsv", "--name", "from the projector")
    assert summary["n_items"] == tiny_trained.n_items and summary["dim"] == 8 and run.name == "from the projector"
    assert run.imported and run.config is None and run.metrics == {} and run.history == []
    np.testing.assert_array_equal(run.item_factors(), tiny_trained.item_factors())  # %.9g: float32 exactly
    np.testing.assert_array_equal(run.catalog.vocab.ids, tiny_trained.catalog.vocab.ids)
    np.testing.assert_array_equal(run.catalog.titles, tiny_trained.catalog.titles)
    np.testing.assert_array_equal(run.catalog.counts, tiny_trained.catalog.counts)
    np.testing.assert_array_equal(run.catalog.means, tiny_trained.catalog.means)
    assert run.has_counts and not run.has_bias  # the Projector's metadata carries no bias
    for metric in ("euclidean", "cosine"):
        mine, theirs = (interpret.NeighbourIndex(r.item_factors(), metric) for r in (run, tiny_trained))
        for query in (0, 7, 55):
            np.testing.assert_array_equal(mine.query_index(query, 10)[0], theirs.query_index(query, 10)[0])
    indices = tiny_trained.catalog.top_items(100)
    np.testing.assert_array_equal(run.catalog.top_items(100), indices)
    np.testing.assert_allclose(interpret.item_pca(run, indices).coords,
                               interpret.item_pca(tiny_trained, indices).coords)


def test_the_embeddings_csv_round_trip_keeps_biases_genres_and_hostile_titles(tmp_path, capsys):
    from tests.hostile import save_hostile_run

    save_hostile_run(tmp_path / "trained")
    original = RunStore(tmp_path / "trained").load("hostile-run")
    (tmp_path / "items.csv").write_bytes(export.embeddings_csv(original))
    run, summary = imported(capsys, tmp_path / "runs", "--vectors", tmp_path / "items.csv")
    assert summary["has_bias"] and run.source.columns["vectors"] == "f0..f3"
    np.testing.assert_array_equal(run.catalog.titles, original.catalog.titles)  # '=HYPERLINK' unescaped exactly
    assert list(run.catalog.items["genres"]) == list(original.catalog.items["genres"])
    np.testing.assert_array_equal(run.item_factors(), original.item_factors())
    np.testing.assert_array_equal(run.item_biases(), original.item_biases())
    top, _ = interpret.bias_ranking(run, 5)
    assert list(top["item"]) == list(interpret.bias_ranking(original, 5)[0]["item"])


# ---------------------------------------------------------------------- the other formats
def test_npy_with_a_metadata_csv_uses_every_optional_column(tmp_path, capsys):
    vectors = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    np.save(tmp_path / "v.npy", vectors)
    write(tmp_path / "meta.csv", 'movieId,title,genres,year,count,bias\n10,"Heat, 1995",Action|Crime,1995,50,0.5\n'
                                 "11,Up,,2009,3,-0.25\n12,=cmd,Drama,,0,0\n13,'=x,Drama|Drama,1999,7,1e-3\n")
    run, _ = imported(capsys, tmp_path / "runs", "--vectors", tmp_path / "v.npy", "--metadata", tmp_path / "meta.csv")
    assert list(run.catalog.vocab.ids) == ["10", "11", "12", "13"]
    assert list(run.catalog.titles) == ["Heat, 1995", "Up", "=cmd", "=x"]  # "'=x" was our escape of "=x"
    assert list(run.catalog.items["genres"]) == [["Action", "Crime"], [], ["Drama"], ["Drama", "Drama"]]
    assert list(run.catalog.items["year"].astype(object).where(run.catalog.items["year"].notna(), None)) == [
        1995, 2009, None, 1999]
    assert list(run.catalog.counts) == [50, 3, 0, 7] and run.has_counts
    np.testing.assert_allclose(run.item_biases(), [0.5, -0.25, 0, 1e-3], rtol=1e-6)
    np.testing.assert_array_equal(run.item_factors(), vectors.astype(np.float32))
    assert run.source.columns == {"id": "movieId", "title": "title", "genres": "genres", "year": "year",
                                  "count": "count", "bias": "bias"}


def test_npy_without_metadata_names_items_by_row_and_knows_no_counts(tmp_path, capsys):
    np.save(tmp_path / "v.npy", np.eye(5, 3, dtype=np.float32))
    run, summary = imported(capsys, tmp_path / "runs", "--vectors", tmp_path / "v.npy")
    assert list(run.catalog.vocab.ids) == ["0", "1", "2", "3", "4"] and not summary["has_counts"]
    assert not run.has_counts and run.user_factors() is None and run.n_users == 0 and run.user_biases() is None
    assert list(interpret.candidate_items(run, 2)) == [0, 1, 2, 3, 4]  # no "most rated": every item
    code, out, err = run_cli(capsys, "neighbours", "--run", summary["run_id"], "--item", "0", "-k", "2", "--json",
                             "--runs-dir", tmp_path / "runs")
    assert code == 0 and json.loads(out)["min_ratings"] == 0, err
    code, _, err = run_cli(capsys, "neighbours", "--run", summary["run_id"], "--item", "0", "--min-ratings", "5",
                           "--runs-dir", tmp_path / "runs")
    assert code == 2 and "has no rating counts" in err


def test_parquet_with_a_list_column_and_user_vectors_with_biases(tmp_path, capsys):
    rng = np.random.default_rng(0)
    pd.DataFrame({"item_id": ["a", "b", "c"], "name": ["A", "B", "C"], "tags": [["x", "y"], [], ["z"]],
                  "embedding": list(rng.normal(size=(3, 4)))}).to_parquet(tmp_path / "items.parquet")
    users = rng.normal(size=(6, 4))
    pd.DataFrame({"user_id": [f"u{i}" for i in range(6)], "vec": list(users),
                  "bias": np.linspace(-1, 1, 6)}).to_parquet(tmp_path / "users.parquet")
    run, summary = imported(capsys, tmp_path / "runs", "--vectors", tmp_path / "items.parquet",
                            "--user-vectors", tmp_path / "users.parquet")
    assert summary["n_users"] == 6 and run.source.columns["vectors"] == "embedding"
    assert list(run.catalog.vocab.ids) == ["a", "b", "c"] and list(run.catalog.titles) == ["A", "B", "C"]
    assert list(run.users.ids) == [f"u{i}" for i in range(6)]
    np.testing.assert_allclose(run.user_factors(), users.astype(np.float32))
    np.testing.assert_allclose(run.user_biases(), np.linspace(-1, 1, 6), rtol=1e-6)
    assert run.source.files == {"vectors": "items.parquet", "user_vectors": "users.parquet"}


def test_user_vectors_with_a_separate_metadata_file(tmp_path, capsys):
    write(tmp_path / "v.tsv", "1\t0\n0\t1\n1\t1\n")
    write(tmp_path / "u.tsv", "0.5\t0.5\n-1\t2\n")
    write(tmp_path / "um.tsv", "alice\nbob\n")  # one column: the Projector's format, no header
    run, _ = imported(capsys, tmp_path / "runs", "--vectors", tmp_path / "v.tsv", "--user-vectors",
                      tmp_path / "u.tsv", tmp_path / "um.tsv")
    assert list(run.users.ids) == ["alice", "bob"] and run.user_biases() is None


def test_a_single_column_of_labels_is_the_ids_unless_labels_repeat(tmp_path, capsys):
    write(tmp_path / "v.tsv", "1 2\n3 4\n5 6\n")
    write(tmp_path / "unique.tsv", "jazz\nrock\npop\n")
    write(tmp_path / "repeated.tsv", "jazz\nrock\njazz\n")
    run, _ = imported(capsys, tmp_path / "runs", "--vectors", tmp_path / "v.tsv", "--metadata", tmp_path / "unique.tsv")
    assert list(run.catalog.vocab.ids) == ["jazz", "rock", "pop"] == list(run.catalog.titles)
    code, out, err = run_cli(capsys, "import-embeddings", "--vectors", tmp_path / "v.tsv", "--metadata",
                             tmp_path / "repeated.tsv", "--runs-dir", tmp_path / "runs")
    run = RunStore(tmp_path / "runs").load(json.loads(out.splitlines()[-1])["run_id"])
    assert list(run.catalog.vocab.ids) == ["0", "1", "2"] and list(run.catalog.titles) == ["jazz", "rock", "jazz"]
    assert "labels repeat (e.g. 'jazz')" in err


def test_columns_that_are_not_obvious_must_be_named(tmp_path, capsys):
    write(tmp_path / "v.tsv", "1\t2\n3\t4\n")
    write(tmp_path / "m.tsv", "key\tcaption\tmisc\nk1\tFirst\tx\nk2\tSecond\ty\n")
    code, _, err = run_cli(capsys, "import-embeddings", "--vectors", tmp_path / "v.tsv", "--metadata",
                           tmp_path / "m.tsv", "--runs-dir", tmp_path / "runs")
    assert code == 2 and "m.tsv: no title column found" in err and "columns are: key, caption, misc" in err
    assert preview(tmp_path / "v.tsv", tmp_path / "m.tsv") .columns == ["key", "caption", "misc"]
    assert preview(tmp_path / "v.tsv", tmp_path / "m.tsv").id_column == "key"
    assert preview(tmp_path / "v.tsv", tmp_path / "m.tsv").title_column is None
    code, _, err = run_cli(capsys, "import-embeddings", "--vectors", tmp_path / "v.tsv", "--metadata",
                           tmp_path / "m.tsv", "--title-column", "nope", "--runs-dir", tmp_path / "runs")
    assert code == 2 and "no column 'nope' for the title" in err
    run, _ = imported(capsys, tmp_path / "runs", "--vectors", tmp_path / "v.tsv", "--metadata", tmp_path / "m.tsv",
                      "--title-column", "caption", "--id-column", "misc")
    assert list(run.catalog.vocab.ids) == ["x", "y"] and list(run.catalog.titles) == ["First", "Second"]


# ---------------------------------------------------------------------- bad input: one line, no run
def _pickle_npy(path, marker):
    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    np.save(path, np.array([[Planted()]], dtype=object), allow_pickle=True)


BAD = [  # (files {name: text, or a callable writing it}, extra args, message parts)
    ({"v.tsv": "1\t2\t3\n4\t5\t6\n7\t8\n"}, [], ["v.tsv: row 3 has 2 value(s) but row 1 has 3"]),
    ({"v.tsv": "1\t2\n\n3\t4\n"}, [], ["v.tsv: row 2 is blank; every row must hold one vector"]),
    ({"v.tsv": "\n1\t2\n3\t4\n"}, [], ["v.tsv: row 1 is blank"]),
    ({"v.tsv": "1\t2\n3\t3.5e38\n"}, [], ["v.tsv: row 2, column 2: '3.5e38' is too large for 32-bit floats"]),
    ({"v.tsv": "1\t2\n3\tabc\n"}, [], ["v.tsv: row 2, column 2: 'abc' is not a number"]),
    ({"v.tsv": "1\t2\nnan\t4\n"}, [], ["v.tsv: row 2, column 1: 'nan' is not finite"]),
    ({"v.tsv": "1\t2\n3\t1e39\n"}, [], ["v.tsv: row 2, column 2: '1e39' is too large for 32-bit floats"]),
    ({"v.tsv": "x\ty\n1\t2\n"}, [], ["v.tsv: row 1: 'x' is not a number"]),
    ({"v.tsv": ""}, [], ["v.tsv: the file is empty"]),
    ({"v.tsv": "\n\n"}, [], ["v.tsv: no vectors"]),
    ({"v.tsv": "1\t2\n"}, [], ["v.tsv: 1 vector(s); an imported run needs at least 2 items"]),
    ({"v.npy": lambda p: np.save(p, np.zeros((3, 0)))}, [], ["v.npy: the vectors have dimension 0"]),
    ({"v.npy": lambda p: np.save(p, np.array([[1.0, np.inf], [0, 1]]))}, [], ["v.npy: row 1, column 2", "not finite"]),
    ({"v.npy": lambda p: np.save(p, np.arange(4.0))}, [], ["v.npy: a 1-D array of shape (4,)"]),
    ({"v.npy": lambda p: np.save(p, np.array([["a", "b"]]))}, [], ["v.npy: holds <U1 values; expected numbers"]),
    ({"v.npy": lambda p: p.write_bytes(b"\x93NUMPY garbage")}, [], ["v.npy: not a readable .npy file"]),
    ({"v.tsv": "1\t2\n3\t4\n5\t6\n", "m.tsv": "item\ttitle\na\tA\nb\tB\n"}, ["--metadata", "m.tsv"],
     ["m.tsv has 2 rows but v.tsv has 3 vectors"]),
    ({"v.tsv": "1\t2\n3\t4\n", "m.tsv": "label\na\nb\n"}, ["--metadata", "m.tsv"],
     ["m.tsv has 3 rows but v.tsv has 2 vectors", "has no header row in the Projector's format"]),
    ({"v.tsv": "1\t2\n3\t4\n5\t6\n", "m.tsv": "item\ttitle\na\tA\nb\tB\na\tC\n"}, ["--metadata", "m.tsv"],
     ["m.tsv: rows 1 and 3 have the same id 'a' (column 'item'); ids must be unique"]),
    ({"v.tsv": "1\t2\n3\t4\n", "m.tsv": "item\ttitle\na\tA\n\tB\n"}, ["--metadata", "m.tsv"],
     ["m.tsv: row 2: the id (column 'item') is blank"]),
    ({"v.tsv": "1\t2\n3\t4\n", "m.tsv": "item\ttitle\tcount\na\tA\t5\nb\tB\t-1\n"}, ["--metadata", "m.tsv"],
     ["m.tsv: row 2: count '-1' is not a whole number >= 0"]),
    ({"v.tsv": "1\t2\n3\t4\n", "m.tsv": "item\ttitle\tbias\na\tA\tlow\nb\tB\t1\n"}, ["--metadata", "m.tsv"],
     ["m.tsv: row 1: bias 'low' is not a finite number"]),
    ({"v.tsv": "1\t2\n3\t4\n", "m.tsv": ""}, ["--metadata", "m.tsv"], ["m.tsv: the file is empty"]),
    ({"v.csv": "item,f0,f2\na,1,2\nb,3,4\n"}, [], ["v.csv: vector column f1 is missing"]),
    ({"v.csv": "item,f0,f1\na,1,2\nb,3,\n"}, [], ["v.csv: row 2, column 'f1': '' is not a number"]),
    ({"v.csv": "item,f0\na,1\nb,2\n", "m.tsv": "x\n"}, ["--metadata", "m.tsv"],
     ["v.csv is a table that holds its own"]),
    ({"v.npy": lambda p: np.save(p, np.zeros((2, 70_000), dtype=np.float32))}, [],
     ["v.npy: the vectors have dimension 70,000; at most 65,536"]),
    ({"v.tsv": "1\t2\n3\t4\n", "u.tsv": "1\t2\t3\n4\t5\t6\n"}, ["--user-vectors", "u.tsv"],
     ["u.tsv: the user vectors have 3 dimension(s) but the item vectors 2"]),
    ({"v.tsv": "1\t2\n3\t4\n", "u.tsv": "1\t2\n"}, ["--user-vectors", "u.tsv"], ["at least 2 users"]),
    ({"v.parquet": lambda p: pd.DataFrame({"id": ["a", "b"], "v": [[1.0, 2.0], [3.0]]}).to_parquet(p)}, [],
     ["v.parquet: row 2 has 1 value(s) in column 'v' but row 1 has 2"]),
    ({"v.parquet": lambda p: pd.DataFrame({"id": ["a", "b"], "v": [[1.0, 2.0], [3.0, None]]}).to_parquet(p)}, [],
     ["v.parquet: row 2, column 'v', value 2", "not finite"]),
    ({"v.parquet": lambda p: pd.DataFrame({"id": ["a", "b"], "v": [[], []]}).to_parquet(p)}, [],
     ["v.parquet: no vector columns"]),
    ({"v.parquet": lambda p: p.write_bytes(b"PAR1 not really")}, [], ["v.parquet: not a readable Parquet file"]),
    ({"v.tsv": "1\t2\n3\t4\n"}, ["--name", "a\x07b"], ["control characters"]),
    ({"v.tsv": "1\t2\n3\t4\n"}, ["--user-vectors", "v.tsv", "v.tsv", "v.tsv"], ["--user-vectors takes a vectors file"]),
]


@pytest.mark.parametrize("files, extra, message", BAD, ids=[" ".join(m)[:40] for _, _, m in BAD])
def test_bad_input_is_one_line_naming_the_problem_and_saves_nothing(tmp_path, capsys, files, extra, message):
    for name, content in files.items():
        if callable(content):
            content(tmp_path / name)
        else:
            write(tmp_path / name, content)
    first = next(iter(files))
    args = [str(tmp_path / a) if a in files else a for a in extra]
    code, out, err = run_cli(capsys, "import-embeddings", "--vectors", tmp_path / first, *args,
                             "--runs-dir", tmp_path / "runs")
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    for part in message:
        assert part in err, err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_pickle_inside_an_npy_file_is_never_loaded(tmp_path, capsys):
    marker = tmp_path / "pwned"
    _pickle_npy(tmp_path / "v.npy", marker)
    code, _, err = run_cli(capsys, "import-embeddings", "--vectors", tmp_path / "v.npy",
                           "--runs-dir", tmp_path / "runs")
    assert code == 2 and "v.npy: holds Python objects (a pickle), which are never loaded" in err
    assert not marker.exists()
    with open(tmp_path / "v.npy", "rb") as handle:  # it really is a pickled object array: loading it would run it
        np.lib.format.read_magic(handle)
        assert np.lib.format.read_array_header_1_0(handle)[2] == np.dtype(object)


def test_files_over_the_upload_limit_are_refused_unless_the_cli_is_told_more(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLLAB_UPLOAD_LIMIT_MB", "1")
    np.save(tmp_path / "big.npy", np.ones((140, 2000)))  # 2.2 MB
    code, _, err = run_cli(capsys, "import-embeddings", "--vectors", tmp_path / "big.npy",
                           "--runs-dir", tmp_path / "runs")
    assert code == 2 and "big.npy: 2,240,128 bytes is above the import limit of 1,048,576 bytes" in err
    assert "(COLLAB_UPLOAD_LIMIT_MB, or --max-mb)" in err and not (tmp_path / "runs").exists()
    with pytest.raises(DataError, match=r"above the import limit .*\(COLLAB_UPLOAD_LIMIT_MB\)"):
        import_embeddings(tmp_path / "big.npy")
    run, summary = imported(capsys, tmp_path / "runs", "--vectors", tmp_path / "big.npy", "--max-mb", "3")
    assert summary["dim"] == 2000 and run.n_items == 140
    code, _, err = run_cli(capsys, "import-embeddings", "--vectors", tmp_path / "big.npy", "--max-mb", "0")
    assert code == 2 and "--max-mb must be a whole number >= 1" in err


def test_latin1_titles_are_read_with_a_note(tmp_path, capsys):
    (tmp_path / "v.tsv").write_text("1\t2\n3\t4\n")
    (tmp_path / "m.tsv").write_bytes("item\ttitle\na\tAm\u00e9lie\nb\tNa\u00efve\n".encode("latin-1"))
    code, out, err = run_cli(capsys, "import-embeddings", "--vectors", tmp_path / "v.tsv", "--metadata",
                             tmp_path / "m.tsv", "--runs-dir", tmp_path / "runs")
    run = RunStore(tmp_path / "runs").load(json.loads(out.splitlines()[-1])["run_id"])
    assert list(run.catalog.titles) == ["Am\u00e9lie", "Na\u00efve"]
    assert "note: m.tsv: 2 line(s) are not valid UTF-8" in err


def test_a_missing_file_is_named(tmp_path, capsys):
    code, _, err = run_cli(capsys, "import-embeddings", "--vectors", tmp_path / "nope.tsv", "--runs-dir", tmp_path)
    assert code == 2 and "nope.tsv: no such file" in err
