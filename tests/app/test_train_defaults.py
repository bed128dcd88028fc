"""The Train page's defaults follow the training data's size (collab_core.model.config.defaults_for) and say why;
switching to data of another size refills the form from the new defaults and says so."""
import re

import numpy as np
import pandas as pd

from collab_app.cached import DatasetSpec
from collab_core.model import config

from .conftest import no_exceptions, open_app, shown, use_dataset


def _large_folder(tmp_path):
    """A MovieLens-layout folder (ratings.csv, movies.csv) of 600,000 ratings (above the threshold the test sets)."""
    rng = np.random.default_rng(0)
    n = 600_000
    frame = pd.DataFrame({"userId": rng.integers(1, 20_001, n), "movieId": rng.integers(1, 5_001, n),
                          "rating": rng.integers(1, 11, n) / 2, "timestamp": 0})
    folder = tmp_path / "big"
    folder.mkdir()
    frame.to_csv(folder / "ratings.csv", index=False)
    pd.DataFrame({"movieId": range(1, 5_001), "title": [f"Movie {i} (1999)" for i in range(1, 5_001)],
                  "genres": "Drama"}).to_csv(folder / "movies.csv", index=False)
    return folder


def said_why(at) -> str:
    """The reason for the defaults: in the help of the caption that introduces them."""
    return " ".join(re.sub(r"\\(.)", r"\1", c.help) for c in at.caption if "defaults measured" in c.value)


def test_the_defaults_follow_the_size_of_the_data_and_say_why(with_run, tmp_path, monkeypatch):
    monkeypatch.setattr(config, "LARGE_DATA_RATINGS", 500_000)  # a smaller file than 2M ratings, same rule
    monkeypatch.setattr(config, "SIZE_TIERS", ((500_000, config.SIZE_TIERS[0][1]),))
    at = open_app("pages/train.py")
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "up to 500,000)" in said_why(at) and "measured best on MovieLens 100K" in said_why(at)
    assert at.selectbox(key="p_tr_dot_bias_optimizer").value == "adamw"
    at.number_input(key="p_tr_dot_bias_epochs").set_value(2).run()

    use_dataset(at, DatasetSpec(kind="folder", path=str(_large_folder(tmp_path)), label="big"))
    at.run(timeout=120)
    assert no_exceptions(at), [e.value for e in at.exception]
    assert not at.error, shown(at.error)
    assert "ratings (over 500,000)" in said_why(at) and "batch 16384" in said_why(at)
    assert "reset to the defaults for this training data" in shown(at.info)
    assert at.number_input(key="p_tr_dot_bias_batch_size").value == 16384
    assert at.number_input(key="p_tr_dot_bias_epochs").value == 3  # the edit made for the other data is gone

    at.run()  # nothing changed: no reset, no notice
    assert "reset to the defaults" not in shown(at.info)


def test_a_reload_after_another_objective_keeps_its_settings_and_says_no_reset(with_run):
    """Switching the objective refills the form with that objective's defaults (and says so); the browser keeps
    the refilled form, so a reload shows the same settings without announcing a reset again."""
    from streamlit.testing.v1 import AppTest

    from .conftest import ROOT, owner_of

    at = open_app("pages/train.py")
    at.segmented_control(key="p_tr_objective").set_value("ranking").run()
    assert "reset to the defaults for this training data and objective" in shown(at.info)
    epochs = at.number_input(key="p_tr_dot_bias_epochs").value
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.session_state["_proposed_owner"] = owner_of(at)
    again.switch_page("pages/train.py").run()
    assert again.segmented_control(key="p_tr_objective").value == "ranking"
    assert again.number_input(key="p_tr_dot_bias_epochs").value == epochs
    assert "reset to the defaults" not in shown(again.info)
