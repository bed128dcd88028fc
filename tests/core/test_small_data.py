"""Small data: the defaults chosen by size at the small end (config.SMALL_DATA_TIERS), the verdict on a run worse
than its baselines (collab_core.model.verdict), and the small-data benchmark that measured the tiers (bench_small)."""
import json
import math

import pytest

from collab_core.bench.small_data import SAMPLES, Sample, candidates, sample_block
from collab_core.data.datasets import load_builtin
from collab_core.data.ratings import random_split
from collab_core.model.config import (
    LARGE_DATA_RATINGS,
    SMALL_DATA_TIERS,
    default_config,
    defaults_for,
    defaults_for_data,
    size_defaults,
    small_data_tier,
)
from collab_core.model.kinds import MODEL_KINDS
from collab_core.model.training import fit
from collab_core.model.verdict import FEW_STEPS, baseline_verdict


@pytest.fixture(scope="module")
def movielens():
    return load_builtin()


@pytest.fixture(scope="module")
def upload(movielens):
    """A class-sized upload: 40 users x 30 movies, 560 ratings."""
    return sample_block(movielens, SAMPLES[0], seed=0)


def sizes(n_ratings):
    return {"n_ratings": n_ratings, "n_users": 40, "n_items": 30}


# ---------------------------------------------------------------------- the tiers
def test_each_sample_size_gets_its_own_tier_and_says_what_it_was_measured_on():
    assert [s.n_ratings for s in SAMPLES] == sorted(s.n_ratings for s in SAMPLES)
    for sample, tier in zip(SAMPLES, SMALL_DATA_TIERS):
        chosen = defaults_for("dot_bias", **sizes(sample.n_ratings))
        assert chosen.config == default_config("dot_bias", **tier.settings["dot_bias"])
        assert f"{sample.n_ratings:,} ratings (up to {tier.up_to:,})" in chosen.reason
        assert f"samples of {tier.measured_on} from MovieLens 100K" in chosen.reason
        assert "measured best on MovieLens 100K" not in chosen.reason and "\n" not in chosen.reason
        assert f"{sample.n_users} users x {sample.n_items} movies" in tier.measured_on


def test_a_dataset_of_500_ratings_gets_the_smallest_tier(upload):
    small = upload.subset(list(range(500)))
    chosen = defaults_for_data(small)
    assert chosen.config == size_defaults("dot_bias", 500) == default_config(
        "dot_bias", **SMALL_DATA_TIERS[0].settings["dot_bias"])
    assert chosen.config.batch_size < default_config().batch_size  # the point: more than one step per epoch
    assert "500 ratings" in chosen.reason


@pytest.mark.parametrize("model", MODEL_KINDS)
def test_tiers_end_where_they_say_and_hand_over_to_the_movielens_defaults(model):
    bounds = [tier.up_to for tier in SMALL_DATA_TIERS]
    assert bounds == sorted(bounds) and bounds[-1] < LARGE_DATA_RATINGS
    for tier, following in zip(SMALL_DATA_TIERS, [*SMALL_DATA_TIERS[1:], None]):
        at = size_defaults(model, tier.up_to)
        assert at == default_config(model, **tier.settings.get(model, {})) and at.validate()
        after = size_defaults(model, tier.up_to + 1)
        expected = default_config(model, **following.settings.get(model, {})) if following else default_config(model)
        assert after == expected
    assert defaults_for(model, **sizes(100_000)).config == default_config(model)  # MovieLens 100K's own: unchanged
    assert defaults_for(model, n_ratings=100_000, n_users=943, n_items=1682).reason.count("MovieLens 100K") == 1


def test_given_settings_still_win_over_the_small_tier():
    chosen = defaults_for("dot_bias", **sizes(560), batch_size=512, epochs=6)
    assert chosen.config.batch_size == 512 and chosen.config.epochs == 6
    assert chosen.config.n_factors == SMALL_DATA_TIERS[0].settings["dot_bias"]["n_factors"]
    assert "given: batch_size=512, epochs=6" in chosen.reason


def test_on_a_small_upload_the_small_tier_beats_the_movielens_defaults_and_the_global_mean(upload):
    """What the tier is for, on a class-sized upload (the figures: docs/performance.md, "Small data")."""
    for seed in (0, 1):
        split = random_split(upload, 0.1, seed)
        tier = fit(upload, split, defaults_for_data(upload, seed=seed, device="cpu").config).metrics
        movielens = fit(upload, split, default_config(seed=seed, device="cpu")).metrics
        assert tier["rmse"] < movielens["rmse"]
        assert tier["rmse"] < tier["baseline_global_mean_rmse"]
        assert baseline_verdict(movielens, default_config()) is not None  # the MovieLens-100K defaults: said so


# ---------------------------------------------------------------------- the verdict
def metrics(rmse, bias=0.9, mean=1.0, n_train=504, n_valid=56):
    return {"rmse": rmse, "baseline_bias_rmse": bias, "baseline_global_mean_rmse": mean, "n_train": n_train,
            "n_valid": n_valid}


def test_a_run_better_than_both_baselines_gets_no_verdict():
    assert baseline_verdict(metrics(0.85)) is None
    assert baseline_verdict(metrics(0.9)) is None  # level with the bias baseline is not worse


def test_a_run_worse_than_its_bias_baseline_says_so_with_the_figures():
    verdict = baseline_verdict(metrics(0.95))
    assert verdict.short == "worse than bias baseline"
    assert verdict.worse_than_bias and not verdict.worse_than_mean
    assert "0.9500" in verdict.message and "0.9000" in verdict.message and "1.0000" not in verdict.message


def test_a_run_worse_than_the_global_mean_says_so_too():
    both = baseline_verdict(metrics(1.45, bias=1.356, mean=1.392))
    assert both.short == "worse than both baselines" and both.worse_than_bias and both.worse_than_mean
    assert "1.3560" in both.message and "1.3920" in both.message
    only_mean = baseline_verdict(metrics(1.05, bias=1.1, mean=1.0))  # a bias baseline worse than the mean: rare
    assert only_mean.short == "worse than mean baseline" and not only_mean.worse_than_bias


@pytest.mark.parametrize("given", [
    None, {}, {"rmse": None}, {"rmse": 1.2}, {"rmse": float("nan"), "baseline_bias_rmse": 0.9},
    {"rmse": 1.2, "baseline_bias_rmse": None, "baseline_global_mean_rmse": None},
    {"rmse": "1.2", "baseline_bias_rmse": 0.9},
])
def test_without_an_rmse_and_a_baseline_there_is_no_verdict(given):
    assert baseline_verdict(given) is None


def test_one_baseline_is_enough_to_judge():
    verdict = baseline_verdict({"rmse": 1.0, "baseline_bias_rmse": 0.9, "baseline_global_mean_rmse": None})
    assert verdict.short == "worse than bias baseline"


def test_the_advice_names_the_settings_measured_for_the_runs_size_and_its_own():
    config = default_config()  # the MovieLens-100K defaults on 560 ratings
    verdict = baseline_verdict(metrics(1.45, 1.356, 1.392), config)
    tier = size_defaults("dot_bias", 560)
    assert "measured best for 560 ratings" in verdict.message
    assert f"batch {tier.batch_size} (this run: {config.batch_size})" in verdict.message
    assert f"factors {tier.n_factors} (this run: {config.n_factors})" in verdict.message
    steps = math.ceil(504 / config.batch_size) * config.epochs
    assert steps < FEW_STEPS and f"only {steps} optimiser steps" in verdict.message
    as_dict = baseline_verdict(metrics(1.45, 1.356, 1.392), config.to_dict())  # a run's config as saved
    assert as_dict == verdict


def test_a_run_already_on_the_measured_settings_is_told_what_the_data_allows():
    tier = size_defaults("dot_bias", 560)
    message = baseline_verdict(metrics(0.95), tier).message
    assert "already the settings measured best" in message and "this run:" not in message
    assert "optimiser steps" not in message  # the tier takes enough
    large = size_defaults("dot_bias", 100_000)
    message = baseline_verdict(metrics(0.95, n_train=90_000, n_valid=10_000), large).message
    assert "training loss fell far below the validation loss" in message


def test_the_dot_model_is_pointed_at_the_model_with_biases():
    message = baseline_verdict(metrics(0.95), size_defaults("dot", 560)).message
    assert "EmbeddingDotBias" in message


# ---------------------------------------------------------------------- the benchmark
def test_the_samples_are_dense_blocks_of_active_users_and_popular_items(movielens):
    shape = SAMPLES[0]
    one, again, other = (sample_block(movielens, shape, seed) for seed in (3, 3, 4))
    assert (one.n_users, one.n_items, one.n_ratings) == (shape.n_users, shape.n_items, shape.n_ratings)
    assert one.density > 5 * movielens.density  # much denser than MovieLens as a whole, as a class's upload is
    assert list(one.user_ids) == list(again.user_ids) and list(one.rating) == list(again.rating)
    assert list(one.user_ids) != list(other.user_ids)
    most_active = set(movielens.user_ids[movielens.user_counts.argsort()[::-1][:2 * shape.n_users]])
    assert set(one.user_ids) <= most_active


def test_the_candidates_are_every_tier_and_one_change_at_a_time_around_the_chosen_one():
    found = candidates("dot_bias", 560)
    labels = [label for label, _ in found]
    assert "MovieLens-100K defaults" in labels and len(labels) == len(set(labels))
    nearby = {f"defaults up to {small_data_tier(n).up_to:,} ratings" for n in (560 // 4, 560, 560 * 4)}
    assert nearby == {label for label in labels if label.startswith("defaults up to")}
    chosen = size_defaults("dot_bias", 560)
    assert (f"batch doubled ({chosen.batch_size * 2})", {**SMALL_DATA_TIERS[0].settings["dot_bias"],
                                                          "batch_size": chosen.batch_size * 2}) in found
    handover = candidates("dot_bias", 1_000, handover=True)
    assert [label for label, _ in handover] == [f"defaults up to {tier.up_to:,} ratings"
                                                for tier in SMALL_DATA_TIERS[:2]]


def test_the_benchmark_scores_each_candidate_against_both_baselines(monkeypatch):
    import collab_core.bench.small_data as bench_small

    monkeypatch.setattr(bench_small, "SAMPLES", (Sample(300, 30, 20, 2),))
    monkeypatch.setattr(bench_small, "HANDOVERS", ())
    monkeypatch.setattr(bench_small, "candidates", lambda model, n, handover=False: candidates(model, n)[:2])
    result = bench_small.run_small_data_benchmark(["dot_bias"], device="cpu")
    (size,) = result["results"]
    assert size["sample_sizes"] == [300, 300] and len(size["rows"]) == 2
    assert [row["chosen"] for row in size["rows"]] == [True, False]  # the first tier is 300 ratings' tier
    for row in size["rows"]:
        assert len(row["rmse"]) == len(row["bias"]) == len(row["mean"]) == 2
        assert row["bias"] == size["rows"][0]["bias"]  # one split per seed, shared by every candidate
    report = bench_small.format_small_data_report(result)
    assert "300 ratings (size): 30 users x 20 items, 2 seeds" in report and "<- chosen" in report


# ---------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def upload_csv(upload, tmp_path_factory):
    path = tmp_path_factory.mktemp("upload") / "class-ratings.csv"
    upload.to_frame()[["user", "item", "rating"]].to_csv(path, index=False)
    return path


def test_train_warns_after_a_run_worse_than_its_baselines_and_runs_lists_it(upload_csv, tmp_path):
    from .test_cli import cli

    runs = tmp_path / "runs"
    # the MovieLens-100K settings on 560 ratings (one batch per epoch)
    worse = cli("train", "--train", upload_csv, "--batch-size", 512, "--epochs", 6, "--factors", 50, runs_dir=runs)
    assert worse.returncode == 0, worse.stderr
    summary = json.loads(worse.stdout.strip().splitlines()[-1])
    assert summary["verdict"] == "worse than both baselines"
    warning = worse.stderr.splitlines()[-1]  # after the line that says where the run was saved
    assert warning.startswith("warning: Validation RMSE") and "Try this:" in warning
    assert "batch 16 (this run: 512)" in warning
    assert f"{summary['rmse']:.4f}" in warning and f"{summary['baseline_bias_rmse']:.4f}" in warning
    quiet = cli("train", "--train", upload_csv, "--batch-size", 512, "--quiet", runs_dir=tmp_path / "quiet")
    assert quiet.stderr == "" and json.loads(quiet.stdout.splitlines()[-1])["verdict"] == "worse than both baselines"

    chosen = cli("train", "--train", upload_csv, runs_dir=runs)  # the defaults for its size
    other = json.loads(chosen.stdout.strip().splitlines()[-1])
    said = baseline_verdict(other, size_defaults("dot_bias", 560))
    assert other["verdict"] == (said.short if said else None)
    assert ("warning:" in chosen.stderr) == (said is not None)

    listed = cli("runs", runs_dir=runs).stdout.splitlines()
    line = next(line for line in listed if line.startswith(summary["run_id"]))
    assert f"rmse {summary['rmse']:.4f}  (worse than both baselines)" in line
    as_json = {r["run_id"]: r["verdict"] for r in json.loads(cli("runs", "--json", runs_dir=runs).stdout)}
    assert as_json == {summary["run_id"]: "worse than both baselines", other["run_id"]: other["verdict"]}


@pytest.mark.parametrize("args, message", [
    (["--small-data", "--draws", "0"], "--draws must be"),
    (["--small-data", "--models", "dot_bias,svd"], "--models takes dot, dot_bias, nn; got 'svd'"),
])
def test_bad_small_data_benchmark_settings_are_refused_before_any_work(args, message):
    from .test_cli import cli

    result = cli("bench", *args)
    assert result.returncode == 2 and message in result.stderr and result.stdout == ""
