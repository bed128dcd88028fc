"""Hostile strings and a run that carries them in every text field, for the escaping tests (app and browser)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

EVIL = "https://evil.example"
HOSTILE = [f'<a href="{EVIL}/t">click</a>', '<span style="font-size:80px">BIG</span>', f"[Log in]({EVIL}/l)",
           f"![x]({EVIL}/p.png)", ":red[alarm] :material/warning: $x^2$", f'=HYPERLINK("{EVIL}","x")',
           "**bold** _it_ `code`", f"{EVIL}/bare", "<img src=x onerror=alert(1)>"]


def save_hostile_run(root: Path, run_id: str = "hostile-run") -> str:
    """A small trained run whose titles, genres, dataset name and run name are hostile strings."""
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=60, n_items=40, n_ratings=1500, n_factors=2, seed=4)
    items = pd.DataFrame({"title": [HOSTILE[i % len(HOSTILE)] + f" #{i}" for i in range(ratings.n_items)],
                          "year": pd.array([None] * ratings.n_items, dtype="Int64"),
                          "genres": [[HOSTILE[i % len(HOSTILE)]] for i in range(ratings.n_items)]})
    ratings = replace(ratings, items=items, name=HOSTILE[0])
    trained = fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=1, n_factors=4))
    return RunStore(root).save(trained, run_id, name=HOSTILE[2])
