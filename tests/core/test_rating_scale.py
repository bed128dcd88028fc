"""The rating scale comes from the ratings: a run records the rating values its data holds, loads them back,
offers exactly those stars and takes only those from a person. A run without them (imported vectors, a run
saved before they were recorded) offers whole stars 1 to 5 and says so.

The class of bug: the scale was guessed from per-item and per-user means, which never reach the ends of the
scale unless some item or user sits at an end (data with 1 star ratings got 2-5 stars), and from nothing at
all for imported vectors (11 buttons 1, 1.4, 1.8, ... 5)."""
import json

import numpy as np
import pandas as pd
import pytest

from collab_core.analysis import foldin, foldin_inputs
from collab_core.data.rating_values import MAX_DISTINCT, NOTE_IMPORTED, NOTE_UNRECORDED, observed_scale
from collab_core.data.ratings import Ratings, random_split
from collab_core.model.config import default_config
from collab_core.model.trained import TrainedModel
from collab_core.model.training import fit
from collab_core.runs.importer import import_embeddings
from collab_core.runs.store import RunStore


def ratings_of(values: np.ndarray, n_users: int = 40, n_items: int = 30, seed: int = 0) -> Ratings:
    """Ratings of random (user, item) pairs, each pair once, with `values` as the ratings."""
    rng = np.random.default_rng(seed)
    cells = rng.choice(n_users * n_items, len(values), replace=False)
    table = pd.DataFrame({"user": (cells // n_items).astype(str), "item": (cells % n_items).astype(str),
                          "rating": values})
    return Ratings.from_frame(table, name="test ratings")


def untrained_on(ratings: Ratings, kind: str = "dot_bias", y_range=(0.0, 5.5)) -> TrainedModel:
    """A run on `ratings` with untrained weights: what is recorded about the data does not depend on them."""
    config = default_config(kind, n_factors=2, y_range=y_range)
    model = config.kind.build(config, ratings.n_users, ratings.n_items)
    return TrainedModel.from_training(model.eval(), ratings, config, {"n_train": ratings.n_ratings}, [])


def saved_and_loaded(trained: TrainedModel, tmp_path, run_id: str = "run") -> tuple[TrainedModel, dict]:
    """The run as it loads back from a run folder, and its run.json."""
    store = RunStore(tmp_path / "runs")
    store.save(trained, run_id)
    return store.load(run_id), json.loads((tmp_path / "runs" / run_id / "run.json").read_text())


def test_one_star_ratings_give_a_one_star_button_though_no_mean_is_near_one(tmp_path):
    values = np.random.default_rng(1).integers(1, 6, 900).astype(np.float32)  # 1 to 5 stars, evenly
    ratings = ratings_of(values)
    assert min(ratings.item_means.min(), ratings.user_means.min()) > 1.5  # the means alone never reach 1
    trained = fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=1, n_factors=2, batch_size=256))
    loaded, meta = saved_and_loaded(trained, tmp_path)
    assert meta["rating_scale"] == {"values": sorted(set(values.tolist()))}
    scale = foldin_inputs.rating_scale(loaded)
    assert scale.values() == sorted(set(values.tolist())) and scale.low == values.min()
    assert scale.exact and not scale.assumed and scale.note == ""
    assert foldin_inputs.check_rating(loaded, "1") == 1.0


def test_half_star_data_gives_half_stars_and_refuses_what_it_does_not_hold(tmp_path):
    values = np.random.default_rng(2).integers(1, 11, 900) / 2  # 0.5 to 5 in half stars
    loaded, _ = saved_and_loaded(untrained_on(ratings_of(values)), tmp_path)
    scale = foldin_inputs.rating_scale(loaded)
    assert scale.values() == sorted(set(values.tolist())) and scale.values()[:3] == [0.5, 1.0, 1.5]
    assert scale.nearest(4.3) == 4.5 and scale.nearest(-3) == 0.5
    assert foldin_inputs.parse_ratings(loaded, ["3=4.5"]) == {loaded.catalog.vocab.to_index("3"): 4.5}
    with pytest.raises(foldin_inputs.RatingError, match=r"'3=4\.3': 4\.3 is not on this run's scale; its data holds "
                                                 r"the ratings 0\.5, 1, 1\.5, .*, 5$"):
        foldin_inputs.parse_ratings(loaded, ["3=4.3"])
    with pytest.raises(foldin_inputs.RatingError, match=r"rating of .+: 4\.25 is not on this run's scale"):
        foldin.fold_in(loaded, {0: 4.0, 1: 4.25})  # the path the You page takes: the message names the item


def test_a_continuous_scale_is_recorded_as_its_range_and_a_round_step(tmp_path):
    values = np.round(np.random.default_rng(3).uniform(-9.95, 10, 1000), 2).astype(np.float32)
    trained = untrained_on(ratings_of(values, 60, 40), "dot")
    loaded, meta = saved_and_loaded(trained, tmp_path)
    recorded = meta["rating_scale"]
    assert set(recorded) == {"low", "high", "step"}
    assert (recorded["low"], recorded["high"]) == pytest.approx((float(values.min()), float(values.max())))
    scale = foldin_inputs.rating_scale(loaded)
    assert scale.continuous and not scale.exact and len(scale.values()) <= MAX_DISTINCT
    assert scale.values()[0] == recorded["low"] and scale.values()[-1] == recorded["high"]
    inside = np.diff(scale.values()[1:-1])
    assert np.allclose(inside, recorded["step"])  # round steps between the ends
    assert foldin_inputs.check_rating(loaded, 3.17) == pytest.approx(3.17)  # a value between the points is a rating


def test_the_most_distinct_values_a_discrete_scale_lists():
    assert observed_scale(np.arange(MAX_DISTINCT, dtype=np.float32) / 2).values() == (
        np.arange(MAX_DISTINCT) / 2).tolist()
    assert observed_scale(np.arange(MAX_DISTINCT + 1, dtype=np.float32)).continuous


def test_an_imported_run_gets_exactly_one_to_five_stars_and_the_note(tmp_path):
    np.save(tmp_path / "v.npy", np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32))
    run, _ = import_embeddings(tmp_path / "v.npy")
    loaded, meta = saved_and_loaded(run, tmp_path)
    assert "rating_scale" not in meta
    for each in (run, loaded):
        scale = foldin_inputs.rating_scale(each)
        assert scale.values() == [1.0, 2.0, 3.0, 4.0, 5.0] and scale.assumed and scale.note == NOTE_IMPORTED
    assert foldin_inputs.check_rating(loaded, 7.5) == 7.5  # the assumed scale is not enforced: any finite rating


def test_a_run_saved_before_scales_were_recorded_loads_with_one_to_five_stars(tmp_path):
    values = np.random.default_rng(4).integers(1, 11, 900) / 2
    store = RunStore(tmp_path / "runs")
    store.save(untrained_on(ratings_of(values)), "old")
    path = tmp_path / "runs" / "old" / "run.json"
    meta = json.loads(path.read_text())
    del meta["rating_scale"]
    path.write_text(json.dumps(meta))
    assert store.list()[0].ok
    scale = foldin_inputs.rating_scale(store.load("old"))
    assert scale.values() == [1.0, 2.0, 3.0, 4.0, 5.0] and scale.assumed and scale.note == NOTE_UNRECORDED
    assert foldin_inputs.check_rating(store.load("old"), 0.5) == 0.5  # its data's half stars are still taken


def test_recommend_on_the_command_line_takes_the_runs_own_stars(tmp_path, capsys):
    from collab_core.cli.main import main

    values = np.random.default_rng(5).integers(1, 6, 900).astype(np.float32)
    RunStore(tmp_path / "runs").save(untrained_on(ratings_of(values)), "stars")
    command = ["recommend", "--run", "stars", "--runs-dir", str(tmp_path / "runs"), "--json"]
    assert main([*command, "--rate", "3=1", "--rate", "4=5"]) == 0
    assert {f["rating"] for f in json.loads(capsys.readouterr().out)["fitted"]} == {1.0, 5.0}
    assert main([*command, "--rate", "3=4.5"]) == 2
    err = capsys.readouterr().err
    assert "'3=4.5': 4.5 is not on this run's scale; its data holds the ratings 1, 2, 3, 4, 5" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_rating_between_two_offered_values_goes_to_the_nearest_and_a_tie_goes_up():
    from collab_core.data.rating_values import RatingScale

    whole = RatingScale(points=(1.0, 2.0, 3.0, 4.0, 5.0))
    assert [whole.nearest(r) for r in (0.2, 1.4, 1.5, 2.5, 4.6, 9.0)] == [1.0, 1.0, 2.0, 3.0, 5.0, 5.0]
