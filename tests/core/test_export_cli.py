"""`python -m collab_core export`: each format written from a small trained run and read back (ids, titles and
vectors equal the run's), and the refusals: an unknown run, a bad format, a file already there without --force.
A hostile title stays text in the CSV, exactly as the sidebar's download escapes it."""
import csv
import io

import numpy as np
import pandas as pd
import pytest

from collab_core.runs import export
from collab_core.runs.store import RunStore
from tests.core.test_cli import cli
from tests.hostile import save_hostile_run


@pytest.fixture(scope="module")
def saved(tiny_trained, tmp_path_factory):
    """(runs folder, run id) of the session's tiny trained run."""
    root = tmp_path_factory.mktemp("export-runs")
    return root, RunStore(root).save(tiny_trained, "tiny-run")


def _written(result) -> dict[str, int]:
    """{path: size} from export's stdout, one 'PATH<TAB>N bytes' line per file."""
    sizes = {}
    for line in result.stdout.strip().splitlines():
        path, size = line.split("\t")
        sizes[path] = int(size.removesuffix(" bytes").replace(",", ""))
    return sizes


def test_csv_is_the_sidebars_csv_and_reads_back_as_the_run(saved, tiny_trained, tmp_path):
    root, run_id = saved
    out = tmp_path / "new" / "folder"  # created, parents included
    result = cli("export", "--run", run_id, "--format", "csv", "--out", out, runs_dir=root)
    assert result.returncode == 0, result.stderr
    path = out / f"{run_id}-item-embeddings.csv"
    assert _written(result) == {str(path): path.stat().st_size}
    assert path.read_bytes() == export.embeddings_csv(tiny_trained)
    table = pd.read_csv(path, dtype={"item": str, "title": str})
    assert list(table["item"]) == list(tiny_trained.catalog.vocab.ids)
    assert list(table["title"]) == list(tiny_trained.catalog.titles)
    factors = tiny_trained.item_factors()  # (n_items, width)
    np.testing.assert_array_equal(table[[f"f{i}" for i in range(factors.shape[1])]].to_numpy(np.float32), factors)
    assert not list(tmp_path.rglob(".*.partial"))


def test_projector_pair_reads_back_as_the_run(saved, tiny_trained, tmp_path):
    root, run_id = saved
    result = cli("export", "--run", run_id, "--format", "projector", "--out", tmp_path, runs_dir=root)
    assert result.returncode == 0, result.stderr
    assert set(_written(result)) == {str(tmp_path / "vectors.tsv"), str(tmp_path / "metadata.tsv")}
    vectors = np.loadtxt(tmp_path / "vectors.tsv", delimiter="\t", dtype=np.float32)  # (n_items, width), no header
    np.testing.assert_array_equal(vectors, tiny_trained.item_factors())
    meta = pd.read_csv(tmp_path / "metadata.tsv", sep="\t", dtype=str)
    assert list(meta.columns[:2]) == ["title", "item"]  # the title first: the Projector's label
    assert list(meta["item"]) == list(tiny_trained.catalog.vocab.ids)
    assert list(meta["title"]) == list(tiny_trained.catalog.titles)


def test_parquet_holds_the_csvs_columns_and_the_run(saved, tiny_trained, tmp_path):
    root, run_id = saved
    result = cli("export", "--run", run_id, "--format", "parquet", "--out", tmp_path, runs_dir=root)
    assert result.returncode == 0, result.stderr
    path = tmp_path / f"{run_id}-item-embeddings.parquet"
    assert _written(result) == {str(path): path.stat().st_size}
    table = pd.read_parquet(path)
    assert list(table.columns) == list(pd.read_csv(io.BytesIO(export.embeddings_csv(tiny_trained))).columns)
    assert list(table["item"]) == list(tiny_trained.catalog.vocab.ids)
    assert list(table["title"]) == list(tiny_trained.catalog.titles)
    factors = tiny_trained.item_factors()
    vectors = table[[f"f{i}" for i in range(factors.shape[1])]].to_numpy()
    assert vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors, factors)
    np.testing.assert_array_equal(table["count"].to_numpy(), tiny_trained.catalog.counts)


def test_an_existing_file_is_refused_without_force_and_overwritten_with_it(saved, tmp_path):
    root, run_id = saved
    (tmp_path / "vectors.tsv").write_text("mine\n")
    refused = cli("export", "--run", run_id, "--format", "projector", "--out", tmp_path, runs_dir=root)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip() == f"error: {tmp_path / 'vectors.tsv'}: already there; add --force to overwrite it"
    assert (tmp_path / "vectors.tsv").read_text() == "mine\n" and not (tmp_path / "metadata.tsv").exists()

    forced = cli("export", "--run", run_id, "--format", "projector", "--out", tmp_path, "--force", runs_dir=root)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "vectors.tsv").read_text() != "mine\n" and (tmp_path / "metadata.tsv").is_file()


@pytest.mark.parametrize("args, message", [
    (["--run", "no-such-run", "--format", "csv"], "no-such-run"),
    (["--run", "../elsewhere", "--format", "csv"], "invalid run id '../elsewhere'"),
    (["--run", "tiny-run", "--format", "xlsx"], "argument --format: invalid choice: 'xlsx'"),
    (["--run", "tiny-run"], "the following arguments are required: --format"),
])
def test_bad_input_is_one_line_and_exit_status_2(saved, tmp_path, args, message):
    root, _ = saved
    out = tmp_path / "out"
    result = cli("export", *args, "--out", out, runs_dir=root)
    assert result.returncode == 2 and result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_out_that_is_a_file_is_refused(saved, tmp_path):
    root, run_id = saved
    (tmp_path / "a-file").write_text("x")
    result = cli("export", "--run", run_id, "--format", "csv", "--out", tmp_path / "a-file", runs_dir=root)
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr


def test_a_hostile_title_stays_text_in_the_csv_and_as_given_in_parquet(tmp_path):
    root = tmp_path / "runs"
    run_id = save_hostile_run(root)
    formula = next(t for t in RunStore(root).load(run_id).catalog.titles if t.startswith("=HYPERLINK"))
    assert cli("export", "--run", run_id, "--format", "csv", "--out", tmp_path, runs_dir=root).returncode == 0
    with open(tmp_path / f"{run_id}-item-embeddings.csv", newline="") as handle:
        titles = [row["title"] for row in csv.DictReader(handle)]
    assert "'" + formula in titles and formula not in titles  # the spreadsheet shows it, never runs it
    assert not any(t.startswith(("=", "+", "-", "@")) for t in titles)
    assert [export.unescape_cell(t) for t in titles] == list(RunStore(root).load(run_id).catalog.titles)

    assert cli("export", "--run", run_id, "--format", "parquet", "--out", tmp_path, runs_dir=root).returncode == 0
    assert formula in list(pd.read_parquet(tmp_path / f"{run_id}-item-embeddings.parquet")["title"])
