"""RunStore: round trip, listing, refusal of ids that escape, atomic saves, unreadable runs."""
import json
import os

import numpy as np
import pytest

from collab_core.errors import RunStoreError
from collab_core.runs import store as runs_module
from collab_core.runs.store import RunStore


def test_save_load_round_trip_gives_identical_predictions(tiny_trained, runs_dir):
    store = RunStore()
    run_id = store.save(tiny_trained)
    loaded = store.load(run_id)
    users = list(tiny_trained.users.ids[:50]) * 2
    items = list(tiny_trained.catalog.vocab.ids[:100])
    assert np.array_equal(loaded.predict(users, items), tiny_trained.predict(users, items))
    assert loaded.config == tiny_trained.config
    assert loaded.metrics["rmse"] == tiny_trained.metrics["rmse"]
    assert np.array_equal(loaded.catalog.counts, tiny_trained.catalog.counts)
    assert list(loaded.catalog.titles) == list(tiny_trained.catalog.titles)
    assert np.array_equal(loaded.item_bias(["3", "4"]), tiny_trained.item_bias(["3", "4"]))
    assert len(loaded.history) == len(tiny_trained.history)
    assert sorted(os.listdir(runs_dir / run_id)) == sorted(runs_module.RUN_FILES)


def test_list_and_delete(tiny_trained, runs_dir):
    store = RunStore()
    assert store.list() == []
    first, second = store.save(tiny_trained, "run-a"), store.save(tiny_trained, "run-b")
    assert {info.run_id for info in store.list()} == {first, second}
    assert all(info.ok and info.metrics["rmse"] > 0 for info in store.list())
    store.delete(first)
    assert [info.run_id for info in store.list()] == [second]
    with pytest.raises(RunStoreError, match="already exists"):
        store.save(tiny_trained, second)


@pytest.mark.parametrize("bad_id", ["../x", "/etc", "a/b", "..", ".hidden", "", "a\x00b", "x" * 200, "run id"])
def test_run_ids_that_are_not_plain_names_are_refused(runs_dir, bad_id):
    with pytest.raises(RunStoreError, match="invalid run id"):
        RunStore().load(bad_id)


def test_a_symlinked_run_is_refused(tiny_trained, runs_dir, tmp_path):
    store = RunStore()
    store.save(tiny_trained, "real")
    os.symlink(runs_dir / "real", runs_dir / "link")
    with pytest.raises(RunStoreError, match="symbolic link"):
        store.load("link")


def test_a_crash_while_saving_leaves_no_run(tiny_trained, runs_dir, monkeypatch):
    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(runs_module, "save_file", explode)
    with pytest.raises(RunStoreError, match="could not save run 'doomed' .*: disk full; nothing was saved"):
        RunStore().save(tiny_trained, "doomed")
    assert RunStore().list() == [] and not any(runs_dir.iterdir())


def test_unreadable_runs_are_listed_with_the_reason(tiny_trained, runs_dir):
    store = RunStore()
    store.save(tiny_trained, "good")
    store.save(tiny_trained, "truncated")
    (runs_dir / "truncated" / "weights.safetensors").write_bytes(b"\x00\x01garbage")
    store.save(tiny_trained, "old")
    meta = json.loads((runs_dir / "old" / "run.json").read_text())
    (runs_dir / "old" / "run.json").write_text(json.dumps({**meta, "format_version": 0}))
    (runs_dir / "half").mkdir()
    (runs_dir / "half" / "run.json").write_text("{")
    infos = {info.run_id: info for info in store.list()}
    assert infos["good"].ok
    assert not infos["half"].ok and "missing" in infos["half"].reason
    assert not infos["old"].ok and "format version" in infos["old"].reason
    assert not infos["truncated"].ok and "weights.safetensors" in infos["truncated"].reason
    with pytest.raises(RunStoreError, match="weights.safetensors"):
        store.load("truncated")
    store.delete("half")
    assert "half" not in {info.run_id for info in store.list()}
