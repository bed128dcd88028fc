"""A run id can come back with other contents (a run deleted, and an import or a training saved under its name):
nothing derived from the first run may be served for the second from a cache (collab_app.cached.run_version)."""
import shutil

import pytest

from collab_app import cached
from collab_core.runs.store import RunStore


@pytest.mark.parametrize("derive", [
    lambda run_id: cached.item_table(run_id)["item"].tolist(),
    lambda run_id: cached.embeddings_csv(run_id),
    lambda run_id: cached.rating_scale(run_id).values(),
])
def test_a_run_id_saved_again_with_other_contents_is_read_afresh(with_run, tiny_trained, derive):
    root, run_id = with_run
    before = derive(run_id)
    shutil.rmtree(root / run_id)  # as the run history's Delete does
    RunStore(root).save(tiny_trained, run_id)  # another run, under the same id
    assert derive(run_id) != before
