"""The command line: `collab_core.cli.main.main([...])` called in-process, as the shell would call it (one test runs
`python -m collab_core` in a subprocess too, to check the entry point itself)."""
import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from collab_core.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(*args, runs_dir=None) -> Result:
    extra = ["--runs-dir", str(runs_dir)] if runs_dir is not None else []
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in (*args, *extra)])
    return Result(code, out.getvalue(), err.getvalue())


def cli_process(*args, runs_dir=None) -> subprocess.CompletedProcess:
    extra = ["--runs-dir", str(runs_dir)] if runs_dir is not None else []
    return subprocess.run([sys.executable, "-m", "collab_core", *args, *extra], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def planted_csv(tmp_path_factory):
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=80, n_items=60, n_ratings=3000, seed=5)
    folder = tmp_path_factory.mktemp("csv")
    rows = np.arange(ratings.n_ratings)
    frame = ratings.to_frame(rows)
    frame.iloc[:2700].to_csv(folder / "train.csv", index=False)
    frame.iloc[2700:].to_csv(folder / "valid.csv", index=False)
    frame.to_csv(folder / "all.csv", index=False)
    return folder


def test_train_with_explicit_validation_then_neighbours(planted_csv, tmp_path):
    runs = tmp_path / "runs"
    result = cli_process("train", "--train", str(planted_csv / "train.csv"), "--valid", str(planted_csv / "valid.csv"),
                         "--epochs", "3", "--factors", "6", runs_dir=runs)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"run_id", "rmse", "mse", "fit_seconds", "device"} <= set(summary)
    assert summary["device"] == "cpu" and 0 < summary["rmse"] < 2 and summary["n_train"] == 2700
    assert "epoch 3/3" in result.stderr
    assert (runs / summary["run_id"] / "weights.safetensors").is_file()

    found = cli("neighbours", "--run", summary["run_id"], "--item", "Item 7", "-k", "5", "--metric", "cosine",
                "--min-ratings", "0", "--json", runs_dir=runs)
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert answer["query"]["item"] == "7" and len(answer["neighbours"]) == 5
    assert [n["rank"] for n in answer["neighbours"]] == [1, 2, 3, 4, 5]
    assert all(n["item"] != "7" for n in answer["neighbours"])
    distances = [n["distance"] for n in answer["neighbours"]]
    assert distances == sorted(distances)

    listed = cli("runs", "--json", runs_dir=runs)
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [summary["run_id"]]


def test_train_with_a_random_split_of_one_file(planted_csv, tmp_path):
    result = cli("train", "--train", str(planted_csv / "all.csv"), "--epochs", "1", "--model", "nn",
                 "--nn-layers", "16,8", "--quiet", runs_dir=tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["n_valid"] == 300 and summary["model"] == "nn" and result.stderr == ""


@pytest.mark.parametrize("args, message", [
    (["train", "--epochs", "0"], "epochs must be"),
    (["train", "--factors", "0"], "n_factors must be"),
    (["train", "--lr", "-1"], "lr must be"),
    (["train", "--y-range", "5", "0"], "y_range low must be below high"),
    (["train", "--batch-size", "0"], "batch_size must be"),
    (["train", "--model", "svd"], "model must be one of"),
    (["train", "--device", "cuda:7"], "cuda"),
    (["train", "--nn-layers", "a,b"], "hidden layers must be comma-separated"),
    (["train", "--train", "MISSING.csv"], "no such file"),
    (["train", "--valid", "x.csv"], "--valid needs --train"),
    (["train", "--dataset", "/no/such/place"], "not 'builtin'"),
    (["neighbours", "--run", "../etc", "--item", "1"], "invalid run id"),
    (["neighbours", "--run", "nope", "--item", "1"], "no run 'nope'"),
])
def test_bad_input_exits_2_with_a_message_and_writes_no_run(tmp_path, args, message):
    runs = tmp_path / "runs"
    result = cli(*args, runs_dir=runs)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--synthetic", "0"], "--synthetic must be"),
    (["--synthetic", "-5"], "--synthetic must be"),
    (["--step-cost", "--threads", "0"], "--threads must be"),
    (["--synthetic", "1000", "--epochs", "0"], "--epochs must be"),
    (["--synthetic", "1000", "--lr", "-1"], "lr must be"),
    (["--synthetic", "1000", "--optimizer", "bogus"], "optimizer must be one of"),
    (["--synthetic", "1000", "--batch-size", "0"], "batch_size must be"),
    (["--synthetic", "1000", "--variant", "plain", "--device", "bogus"], "device must be"),
    (["--loading", "--n-ratings", "0"], "--n-ratings must be"),
    (["--loading", "--layout", "bogus"], "invalid choice"),
    (["--seeds", "abc"], "--seeds must be"),
])
def test_bad_benchmark_settings_are_refused_before_any_work(args, message):
    """A benchmark takes minutes: a setting it would fail on (or silently replace: --synthetic 0 once ran
    the accuracy benchmark) is refused first, in one line."""
    result = cli("bench", *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_bad_file_content_is_reported_with_row_and_value(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating\n1,2,4\n1,3,five\n")
    result = cli("train", "--train", str(bad), runs_dir=tmp_path / "runs")
    assert result.returncode == 2 and "bad.csv: row 2: rating 'five'" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()


def test_ambiguous_title_lists_candidates(tiny_trained, tmp_path):
    from collab_core.runs.store import RunStore

    run_id = RunStore(tmp_path / "runs").save(tiny_trained)
    result = cli("neighbours", "--run", run_id, "--item", "em 1", runs_dir=tmp_path / "runs")
    assert result.returncode == 2 and "matches" in result.stderr and "Item 10" in result.stderr


def test_ratings_outside_the_declared_scale_and_one_user_files_fail_cleanly(tmp_path):
    scaled = tmp_path / "scaled.csv"
    scaled.write_text("user,item,rating\n1,a,4\n2,b,9\n1,b,3\n2,a,1\n")
    result = cli("train", "--train", str(scaled), "--rating-scale", "1", "5", runs_dir=tmp_path / "runs")
    assert result.returncode == 2 and "row 2: rating 9 is outside the declared scale 1-5" in result.stderr
    lonely = tmp_path / "lonely.csv"
    lonely.write_text("user,item,rating\n1,a,4\n1,b,3\n1,c,2\n")
    result = cli("train", "--train", str(lonely), runs_dir=tmp_path / "runs")
    assert result.returncode == 2 and "1 user(s) and 3 item(s)" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()
