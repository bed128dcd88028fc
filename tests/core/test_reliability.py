"""Reliability and security of the engine: bad input, device faults, planted pickles, atomic saves under
SIGKILL. (CLI and app counterparts live in test_cli.py and tests/app.)"""
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from collab_core.data.datasets import load_table, load_train_valid
from collab_core.data.ratings import random_split
from collab_core.errors import DataError, DeviceError, RunStoreError
from collab_core.model.config import default_config
from collab_core.model.training import fit
from collab_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("content, message", [
    ("user,item,rating\n1,a,4\n1,b,3\n", "1 user(s) and 2 item(s)"),
    ("user,item,rating\n1,a,4\n2,a,3\n", "2 user(s) and 1 item(s)"),
    ("user;item;rating\n1;a;4\n", "1 user(s)"),  # ';' is sniffed, then too small
    ("just one column\nx\ny\n", "found 1 column"),  # no delimiter at all
])
def test_too_small_or_undelimited_tables(tmp_path, content, message):
    with pytest.raises(DataError, match=re.escape(message)):
        load_table(write(tmp_path / "r.csv", content))


def test_ratings_outside_a_declared_scale_are_refused_with_the_row(tmp_path):
    path = write(tmp_path / "r.csv", "user,item,rating\n1,a,4\n2,b,50\n1,b,3\n2,a,1\n")
    with pytest.raises(DataError, match=r"row 2: rating 50 is outside the declared scale 1-5 \(1 such rows\)"):
        load_table(path, rating_scale=(1, 5))
    assert load_table(path).rating.max() == 50  # undeclared: taken as it is


def test_ids_mixing_numbers_and_text_get_a_note(tmp_path):
    ratings = load_table(write(tmp_path / "r.csv", "user,item,rating\n1,a,4\nbob,b,3\n1,b,2\nbob,a,5\n"))
    assert any("user ids mix numbers and text" in note for note in ratings.notes)
    assert ratings.n_users == 2


def test_validation_file_with_a_bad_row_names_that_file(tmp_path):
    train = write(tmp_path / "train.csv", "user,item,rating\n1,a,4\n2,b,3\n1,b,2\n2,a,5\n")
    valid = write(tmp_path / "valid.csv", "user,item,rating\n1,a,x\n")
    with pytest.raises(DataError, match="valid.csv: row 1: rating 'x'"):
        load_train_valid(train, valid)


def test_gpu_out_of_memory_becomes_a_device_error_with_advice(planted, monkeypatch):
    ratings, _ = planted
    from collab_core.model import networks as models

    def out_of_memory(self, users, items):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(models.EmbeddingDotBias, "forward", out_of_memory)
    with pytest.raises(DeviceError, match="ran out of memory.*lower the batch size.*train on the CPU"):
        fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=1))


class Boom:
    """Unpickling this creates a marker file: proof that a pickle was executed."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_planted_pickle_is_never_executed(tiny_trained, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.save(tiny_trained, "victim")
    folder = tmp_path / "runs" / run_id
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Boom(str(marker)))
    for name in ("model.pkl", "weights.pt", "learner.pth", "data.pickle"):  # where torch/fastai would look
        (folder / name).write_bytes(payload)
    assert store.load(run_id).metrics["rmse"] > 0  # loads from safetensors + JSON only
    (folder / "weights.safetensors").write_bytes(payload)  # a pickle in place of the weights
    (folder / "stats.safetensors").write_bytes(payload)
    with pytest.raises(RunStoreError, match="weights.safetensors: .*not a safetensors file"):
        store.load(run_id)
    assert not marker.exists()


SAVER = """
import sys, itertools
sys.path.insert(0, {root!r})
from tests.planted import planted_ratings
from collab_core.data.ratings import random_split
from collab_core.model.training import fit
from collab_core.model.config import default_config
from collab_core.runs.store import RunStore
ratings, _ = planted_ratings(n_users=400, n_items=300, n_ratings=20000, seed=1)
trained = fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=1, n_factors=64))
store = RunStore({runs!r})
print("ready", flush=True)
for i in itertools.count():
    store.save(trained, f"run-{{i}}")
"""


def test_killing_a_saving_process_at_random_points_leaves_only_complete_runs(tmp_path):
    """SIGKILL a process that saves runs in a loop, 8 times at random moments: every run folder that
    exists must load completely; half-written ones may only exist as hidden staging folders."""
    runs = tmp_path / "runs"
    rng = np.random.default_rng(0)
    killed_mid_save = 0
    for _ in range(8):
        process = subprocess.Popen([sys.executable, "-c", SAVER.format(root=str(ROOT), runs=str(runs))],
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.6)))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        killed_mid_save += any(p.name.startswith(".tmp-") for p in runs.iterdir())
        store = RunStore(runs)
        infos = store.list()
        assert infos and all(info.ok for info in infos), [i.reason for i in infos if not i.ok]
        for info in infos:
            store.load(info.run_id)  # complete: every tensor and JSON file reads back
        for info in infos:
            store.delete(info.run_id)
    assert killed_mid_save >= 1  # at least one kill landed inside a save: the test exercised the hard case


def test_stale_staging_folders_are_swept_on_the_next_save(tiny_trained, tmp_path):
    runs = tmp_path / "runs"
    store = RunStore(runs)
    store.save(tiny_trained, "first")
    stale = runs / ".tmp-half-abcd"
    stale.mkdir()
    (stale / "run.json").write_text("{")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    store.save(tiny_trained, "second")
    assert not stale.exists()
    assert {i.run_id for i in store.list()} == {"first", "second"}
