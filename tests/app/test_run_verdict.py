"""The Train page's run history says, beside each run's RMSE, when the run is worse than the baselines scored on
its own validation ratings (collab_core.model.verdict), so a model that learned nothing is not read as a result."""
from collab_core.bench.small_data import SAMPLES, sample_block
from collab_core.data.datasets import load_builtin
from collab_core.data.ratings import random_split
from collab_core.model.config import default_config
from collab_core.model.training import fit
from collab_core.model.verdict import baseline_verdict
from collab_core.runs.store import RunStore

from .conftest import no_exceptions, open_app


def test_the_run_history_shows_beside_rmse_a_run_worse_than_its_baselines(with_run):
    runs_dir, _ = with_run
    upload = sample_block(load_builtin(), SAMPLES[0], seed=0)  # 560 ratings, as small as a class's upload
    # settings made for 100,000 ratings: one batch per epoch, 2 steps in all, so the model learns nothing
    worse = fit(upload, random_split(upload, 0.1, 0), default_config(epochs=2, device="cpu"))
    worse_id = RunStore(runs_dir).save(worse, "big-settings-small-data")

    at = open_app("pages/train.py")
    assert no_exceptions(at), [e.value for e in at.exception]
    history = at.dataframe[0].value
    columns = list(history.columns)
    assert columns[columns.index("RMSE") + 1] == "vs baselines"
    assert columns.index("vs baselines") < columns.index("factors")  # left of the settings, with the key columns
    shown = history.set_index("run")["vs baselines"]
    assert shown[worse_id] == "worse than both baselines"
    for info in RunStore(runs_dir).list():  # every row says what the verdict says, blank for a run that is fine
        verdict = baseline_verdict(info.metrics, info.config)
        assert shown[info.run_id] == (verdict.short if verdict else "")
