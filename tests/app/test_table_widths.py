"""The key columns of the main tables fit a projector-sized window (1024 px, sidebar open) without scrolling
sideways: their configured widths add up to no more than the width a full-width table gets there, which the
browser test at 1024 x 768 measures (tests/e2e/test_projector.py). Long, least-compared columns (genres, the
"because you rated" list) come last and may scroll."""

import pytest

from collab_app.apptest import column_config

from .conftest import no_exceptions, open_app

TABLE_WIDTH_AT_1024 = 660  # px a full-width table gets at 1024 px with the sidebar open (the browser test checks)
KEY_COLUMNS = {  # page -> (a column that identifies the table, its key columns)
    "pages/neighbours.py": [("distance", ["rank", "title", "distance", "bias", "count"])],
    "pages/biases.py": [("mean_rating", ["rank", "title", "bias", "mean_rating", "count"])],
    "pages/you.py": [("because", ["rank", "title", "score", "count"]), ("prediction", ["title", "rating",
                                                                                    "prediction", "error"])],
    "pages/diagnostics.py": [("prediction", ["user", "title", "rating", "prediction", "error"])],
}


def widths(at, marker: str) -> dict:
    for table in at.dataframe:
        config = column_config(table)
        if marker in config or marker in table.value.columns:
            return {name: column.get("width") for name, column in config.items()}
    raise AssertionError(f"no table with a column {marker!r}")


@pytest.mark.parametrize("page", list(KEY_COLUMNS))
def test_key_columns_fit_a_projector_window(with_run, page):
    _, run_id = with_run
    at = open_app(page, {"run": run_id})
    if page == "pages/you.py":
        at.button(key="you_demo").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    for marker, keys in KEY_COLUMNS[page]:
        configured = widths(at, marker)
        missing = [k for k in keys if not isinstance(configured.get(k), int)]
        assert not missing, f"{page}: key columns without a width: {missing}"
        assert sum(configured[k] for k in keys) <= TABLE_WIDTH_AT_1024, (page, configured)
