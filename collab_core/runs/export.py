"""A run's item embeddings as files other tools open: a CSV table, the TSV pair that TensorFlow's Embedding
Projector (projector.tensorflow.org) loads, and a Parquet table. The sidebar offers the first two; the command
line (`python -m collab_core export`) writes all three.

Text cells come from data (titles from an uploaded file), so each is made safe for its sink. In CSV and TSV, a
cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a formula when the file is
opened in Excel or LibreOffice (`=HYPERLINK(...)`), so it gets a leading apostrophe, the usual escape (OWASP,
"CSV injection"); `unescape_cell` undoes it for a reader of our own files. Parquet cells are typed values that
no spreadsheet evaluates, so the Parquet table holds the text as the data gives it.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from collab_core.model.trained import TrainedModel

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A text cell that a spreadsheet shows as text, never evaluates."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def unescape_cell(text: str) -> str:
    """Inverse of csv_cell for cells this module wrote."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def items_csv(table: pd.DataFrame) -> bytes:
    """Any table of items (a selection's rows) as CSV: its text cells escaped by csv_cell, numbers as they are."""
    frame = table.copy()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):  # object or string dtype: text from data
            frame[column] = frame[column].map(csv_cell)
    return frame.to_csv(index=False).encode()


def item_metadata(trained: TrainedModel, cell=csv_cell) -> pd.DataFrame:
    """item (raw id), title, genres ('|'-joined), count and mean_rating (unless an imported run does not know
    them) and bias (when the model has one); text cells made by `cell` (csv_cell: escaped for a spreadsheet)."""
    catalog = trained.catalog
    frame = pd.DataFrame({
        "item": [cell(i) for i in catalog.vocab.ids],
        "title": [cell(t) for t in catalog.titles],
        "genres": [cell("|".join(g)) for g in catalog.items["genres"]],
    })
    if trained.has_counts:  # an imported run without a count column would otherwise export zeros as counts
        frame["count"], frame["mean_rating"] = catalog.counts, catalog.means
    biases = trained.item_biases()
    if biases is not None:
        frame["bias"] = biases
    return frame


def embeddings_table(trained: TrainedModel, cell=csv_cell) -> pd.DataFrame:
    """One row per item: its metadata (item_metadata, text cells made by `cell`), then one column per factor
    (f0, f1, ...)."""
    factors = trained.item_factors()  # (n_items, width)
    columns = pd.DataFrame(factors, columns=[f"f{i}" for i in range(factors.shape[1])])
    return pd.concat([item_metadata(trained, cell), columns], axis=1)


def embeddings_csv(trained: TrainedModel) -> bytes:
    """The embeddings table as CSV, text cells escaped for spreadsheets."""
    return embeddings_table(trained).to_csv(index=False).encode()


def embeddings_parquet(trained: TrainedModel) -> bytes:
    """The embeddings table as Parquet: the CSV's columns, text as the data gives it, the factors as float32."""
    buffer = io.BytesIO()
    embeddings_table(trained, cell=str).to_parquet(buffer, index=False)
    return buffer.getvalue()


def projector_files(trained: TrainedModel) -> tuple[bytes, bytes]:
    """(vectors.tsv, metadata.tsv): vectors without a header, one row per item; metadata with a header row
    (the Projector's rule when there is more than one column)."""
    vectors = io.StringIO()
    # 9 significant digits write every float32 exactly, so importing the files gives the same vectors back
    np.savetxt(vectors, trained.item_factors(), fmt="%.9g", delimiter="\t")
    meta = item_metadata(trained).drop(columns=["bias"], errors="ignore")
    meta = meta[["title", "item", *meta.columns.drop(["title", "item"])]]  # title first: the Projector's label
    for column in ("title", "item", "genres"):  # the Projector splits on tabs and lines, and knows no quoting
        meta[column] = meta[column].str.replace(r"[\t\r\n]", " ", regex=True)
    return vectors.getvalue().encode(), meta.to_csv(sep="\t", index=False).encode()
