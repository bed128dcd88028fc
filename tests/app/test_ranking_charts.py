"""The ranking lens's charts: a ranking run's loss curves show validation nDCG@10 per epoch on their own axis, a
rating run's keep validation MSE; the long-tail and overlap charts draw what they are given."""
import numpy as np

from collab_app import charts


def test_a_ranking_runs_curves_show_ndcg_per_epoch_and_a_rating_runs_keep_mse():
    ranking = [{"epoch": e, "train_loss": 6 - e, "valid_mse": None, "valid_rmse": None, "valid_ndcg10": 0.1 * e}
               for e in (1, 2, 3)]
    fig = charts.loss_curves([], ranking)
    names = [trace.name for trace in fig.data]
    assert names == ["train loss", "validation nDCG@10"] and fig.data[1].yaxis == "y2"
    assert list(fig.data[1].y) == [0.1, 0.2, 0.30000000000000004]
    rating = [{"epoch": e, "train_loss": 1.0, "valid_mse": 0.9, "valid_rmse": 0.95} for e in (1, 2)]
    assert [t.name for t in charts.loss_curves([], rating).data] == ["train loss (MSE)", "validation MSE"]


def test_the_overlap_histogram_counts_users_by_shared_items():
    fig = charts.overlap_histogram(np.array([0.0, 0.1, 0.1, 1.0]), k=10)
    assert list(fig.data[0].y) == [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_the_long_tail_chart_keeps_a_hostile_noun_out_of_its_hover_template():
    spread = {"group": np.arange(1, 3), "items": np.array([5, 5]), "recommended_share": np.array([0.9, 0.1]),
              "heldout_share": np.array([0.5, 0.5])}
    fig = charts.long_tail_spread(spread, "%{y}<b>bold</b>")
    for trace in fig.data:
        assert "bold" not in trace.hovertemplate and "<b>" not in trace.meta and "%{meta}" in trace.hovertemplate
