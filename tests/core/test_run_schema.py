"""A damaged run folder is refused with the reason, field by field, and never crashes a listing.

The class of bug: a value of run.json, vocab.json or a safetensors file that has the wrong type, shape or
value (text where a number belongs, a count vector cut short, a NaN weight) either crashed every page that
lists runs or gave silently wrong answers. These tests damage every field and tensor in turn."""
import json
import math
import re

import pytest
import torch
from safetensors.torch import load_file, save_file

from collab_core.cli.main import main as cli_main
from collab_core.errors import RunStoreError
from collab_core.runs.store import RunStore

WRONG_VALUES = ["text", 7, 2.5, None, [1], {"a": 1}, True, float("nan")]


@pytest.fixture()
def saved(tiny_trained, tmp_path):
    store = RunStore(tmp_path / "runs")
    return store, store.save(tiny_trained, "victim")


def rewrite_json(path, change):
    value = json.loads(path.read_text())
    change(value)
    path.write_text(json.dumps(value))


def assert_refused_everywhere(store, run_id, reason_part, capsys):
    """Listed as unreadable with the reason, refused by load, and the CLI's listing still prints every run."""
    info = {i.run_id: i for i in store.list()}[run_id]
    assert not info.ok and reason_part in info.reason, info.reason
    with pytest.raises(RunStoreError, match=re.escape(reason_part)):
        store.load(run_id)
    assert cli_main(["runs", "--runs-dir", str(store.root)]) == 0
    assert f"{run_id}  UNREADABLE" in capsys.readouterr().out


@pytest.mark.parametrize("key, value, reason", [
    (("metrics", "rmse"), "abc", "metrics 'rmse' must be a finite number or null"),
    (("metrics", "mse"), float("inf"), "metrics 'mse' must be a finite number or null"),
    (("created",), 5, "'created' must be an ISO date-time text"),
    (("dataset",), ["x"], "'dataset' must be text"),
    (("config",), "dot_bias", "'config' must be an object"),
    (("config", "n_factors"), "x", "config: n_factors must be a whole number"),
    (("config", "colour"), 1, "config: unknown training setting(s): colour"),
    (("history",), {"epoch": 1}, "'history' must be a list"),
    (("n_items",), "120", "'n_items' must be a whole number"),
    (("n_items",), 119, "expected F32 [119, 8]"),
    (("name",), "a\x07b", "control characters"),
])
def test_each_bad_run_json_field_is_named(saved, capsys, key, value, reason):
    store, run_id = saved

    def change(meta):
        target = meta
        for part in key[:-1]:
            target = target[part]
        target[key[-1]] = value

    rewrite_json(store.root / run_id / "run.json", change)
    assert_refused_everywhere(store, run_id, reason, capsys)


@pytest.mark.parametrize("scale, reason", [
    ({"values": "1-5"}, "rating_scale 'values' must be a list of 1 to 21 ratings, got str '1-5'"),
    ({"values": []}, "rating_scale 'values' must be a list of 1 to 21 ratings, got list []"),
    ({"values": list(range(1, 23))}, "rating_scale 'values' must be a list of 1 to 21 ratings"),
    ({"values": [1, "2", 3]}, "rating_scale 'values' must hold finite numbers, got str '2'"),
    ({"values": [1, True]}, "rating_scale 'values' must hold finite numbers, got bool True"),
    ({"values": [1, float("nan")]}, "rating_scale 'values' must hold finite numbers, got float nan"),
    ({"values": [1, 10**400]}, "rating_scale 'values' must hold finite numbers, got int 1000000000"),
    ({"values": [5, 1]}, "rating_scale 'values' must increase, without repeats, got [5, 1]"),
    ({"values": [1, 1, 2]}, "rating_scale 'values' must increase, without repeats"),
    ({"values": [0, 9]}, "rating_scale runs from 0 to 9, outside the model's y_range (0, 5.5)"),
    ({"low": 1, "high": 5, "step": 1e-9}, "rating_scale 'step' must be positive and cut 1 to 5 into at most 20 steps"),
    ({"low": 1, "high": 5, "step": -1}, "rating_scale 'step' must be positive"),
    ({"low": 5, "high": 1, "step": 1}, "rating_scale 'low' must be below 'high', got 5 and 1"),
    ({"low": 1, "high": "5", "step": 1}, "rating_scale 'high' must hold finite numbers, got str '5'"),
    ({"stars": 5}, "rating_scale must hold either 'values' or 'low', 'high' and 'step', got the keys ['stars']"),
    ({"values": [1, 2], "step": 1}, "rating_scale must hold either 'values' or"),
    ([1, 2, 3], "'rating_scale' must be an object of rating values, got list [1, 2, 3]"),
])
def test_a_bad_rating_scale_is_refused_with_what_is_wrong(saved, capsys, scale, reason):
    store, run_id = saved
    rewrite_json(store.root / run_id / "run.json", lambda meta: meta.__setitem__("rating_scale", scale))
    assert_refused_everywhere(store, run_id, reason, capsys)


@pytest.mark.parametrize("file, tensor, damage, reason", [
    ("stats", "item_counts", "drop", "missing tensor(s) item_counts"),
    ("stats", "item_counts", "cut", "tensor 'item_counts' is I64 [10], expected I64 [120]"),
    ("stats", "user_means", "float32", "tensor 'user_means' is F32"),
    ("weights", "item_factors.weight", "nan", "non-finite value(s)"),
    ("weights", "user_bias.weight", "inf", "non-finite value(s)"),
    ("weights", "item_factors.weight", "cut", "tensor 'item_factors.weight' is F32 [10, 8], expected F32 [120, 8]"),
    ("weights", "extra", "add", "unexpected tensor(s) extra"),
    ("stats", "item_counts", "negative", "negative counts"),
])
def test_each_damaged_tensor_is_named(saved, capsys, file, tensor, damage, reason):
    store, run_id = saved
    path = store.root / run_id / f"{file}.safetensors"
    tensors = load_file(str(path))
    if damage == "drop":
        del tensors[tensor]
    elif damage == "cut":
        tensors[tensor] = tensors[tensor][:10].clone()
    elif damage == "float32":
        tensors[tensor] = tensors[tensor].float()
    elif damage == "add":
        tensors[tensor] = torch.zeros(3)
    elif damage == "negative":
        tensors[tensor][0] = -1
    else:
        tensors[tensor].view(-1)[0] = float(damage)
    save_file(tensors, str(path))
    if damage in ("nan", "inf", "negative"):  # values: only a full load can see them
        assert {i.run_id: i for i in store.list()}[run_id].ok
        with pytest.raises(RunStoreError, match=re.escape(reason)):
            store.load(run_id)
    else:
        assert_refused_everywhere(store, run_id, reason, capsys)


@pytest.mark.parametrize("key, value, reason", [
    ("titles", ["only one"], "'titles' has 1 entries, expected 120"),
    ("item_ids", ["1"] * 120, "'item_ids' holds duplicate ids"),
    ("years", ["1999"] * 120, "'years' must be whole numbers or null"),
    ("genres", ["Drama"] * 120, "'genres' must be lists of text"),
    ("user_ids", None, "'user_ids' must be a list"),
])
def test_each_bad_vocabulary_is_named(saved, key, value, reason):
    store, run_id = saved
    rewrite_json(store.root / run_id / "vocab.json", lambda vocab: vocab.__setitem__(key, value))
    with pytest.raises(RunStoreError, match=re.escape(reason)):
        store.load(run_id)


def test_no_value_of_any_type_in_any_run_json_field_crashes_the_listing(saved, capsys):
    """The next member of the class: whatever a run.json field holds, listing says ok or why not."""
    store, run_id = saved
    path = store.root / run_id / "run.json"
    original = json.loads(path.read_text())
    fields = [(k,) for k in original] + [("metrics", k) for k in original["metrics"]] + [
        ("config", k) for k in original["config"]]
    for key in fields:
        for value in WRONG_VALUES:
            meta = json.loads(json.dumps(original))
            target = meta
            for part in key[:-1]:
                target = target[part]
            target[key[-1]] = value
            path.write_text(json.dumps(meta, allow_nan=True))
            info = store.list()[0]
            if info.ok:  # accepted values must be usable as they are read
                trained = store.load(run_id)
                rmse = (info.metrics or {}).get("rmse")
                assert rmse is None or (isinstance(rmse, (int, float)) and math.isfinite(rmse))
                assert isinstance(info.created, str) and isinstance(trained.dataset, str)
            else:
                assert info.reason.startswith(f"run {run_id!r}"), (key, value, info.reason)
            assert cli_main(["runs", "--runs-dir", str(store.root)]) == 0, (key, value)
    capsys.readouterr()


def test_a_run_can_be_named_and_renamed(saved):
    store, run_id = saved
    store.rename(run_id, "  lesson\n  preset  ")
    assert store.load(run_id).name == "lesson preset"
    assert store.list()[0].name == "lesson preset"
    with pytest.raises(RunStoreError.__mro__[1], match="at most 80 characters"):
        store.rename(run_id, "x" * 81)
