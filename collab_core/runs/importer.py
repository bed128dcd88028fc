"""Embeddings trained elsewhere (implicit's ALS, LightFM, a two-tower model, word2vec of playlists), read from
files and made into a run like any other: a TrainedModel whose network is its tables
(collab_core.model.kinds.imported_tables).

The vectors file is recognised by its content, not only its name:
- headerless numbers, one vector per row (tab-, comma- or space-separated): the Embedding Projector's
  vectors.tsv, as collab_core.runs.export writes it. Its metadata file, when given, follows the Projector's rule: a
  header row when it has more than one column, a single unnamed column of labels otherwise;
- NumPy `.npy`: a 2-D numeric array, read with `allow_pickle=False`, so a pickle inside is never loaded;
- a table with a header, CSV/TSV or Parquet, holding the metadata columns and the vectors, either as one
  list/array column (Parquet) or as columns f0, f1, ... (collab_core.runs.export.embeddings_csv).
A metadata file (CSV/TSV, or Parquet) goes with the first two; a table carries its own.

The metadata names each item's id and title (guessed from the column names when obvious, else the caller
names them) and may hold genres ('|'-joined), year, count (then "most rated" orderings work), mean_rating
and bias (then the Biases page works). Cells that collab_core.runs.export escaped for spreadsheets are unescaped
(export.unescape_cell), so importing this app's own export gives back exactly the run's items. Without
metadata, items are named by their row number (0, 1, ...). Optional user vectors (same formats, with an
optional user metadata file: ids and a bias) let a folded-in user find their nearest users.

Every problem is one DataError naming the file and, where there is one, the row, column and value; nothing
is saved until everything has been read and checked (the caller saves with RunStore.save).
"""
from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from collab_core.data.catalog import ItemCatalog, Vocab
from collab_core.data.datasets import GENRE_COLUMNS, ITEM_COLUMNS, TITLE_COLUMNS, USER_COLUMNS, guess_column
from collab_core.data.nouns import from_words
from collab_core.data.tables import check_file, decode_text, file_error, first_line, read_csv, sniff_separator
from collab_core.errors import DataError
from collab_core.model.kinds import imported_tables
from collab_core.model.trained import ImportInfo, TrainedModel
from collab_core.runs.export import unescape_cell
from collab_core.runs.schema import MAX_IMPORT_DIM
from collab_core.runs.schema import short_repr as _short

ID_COLUMNS = [*ITEM_COLUMNS, "id", "Id", "ID", "word", "token", "key"]
TITLE_CANDIDATES = [*TITLE_COLUMNS, "label", "Label", "word"]
USER_ID_COLUMNS = [*USER_COLUMNS, "id", "Id", "ID"]
OPTIONAL_COLUMNS = {  # role -> column names it is guessed from
    "genres": GENRE_COLUMNS, "year": ["year", "Year", "release_year"],
    "count": ["count", "Count", "n_ratings", "num_ratings", "rating_count", "ratings_count", "popularity"],
    "mean_rating": ["mean_rating", "mean", "avg_rating", "average_rating"], "bias": ["bias", "item_bias", "Bias"],
}
_VECTOR_COLUMN = re.compile(r"^f(\d+)$")  # collab_core.runs.export.embeddings_csv's f0, f1, ...
_NPY_MAGIC, _PARQUET_MAGIC = b"\x93NUMPY", b"PAR1"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
SINGLE_COLUMN = "(the only column)"  # how a Projector metadata file's single unnamed column is named here


@dataclass
class _Read:
    """One vectors file (and its metadata) as read: checked vectors, metadata cells as text."""

    name: str  # the vectors file's name, for messages
    vectors: np.ndarray  # (n, dim) float32, all finite
    metadata: pd.DataFrame | None  # n rows of text, or None
    metadata_name: str  # the file the metadata came from (the vectors file for a table)
    headerless: bool = False  # a single unnamed column of labels (the Projector's one-column metadata)
    columns: dict = field(default_factory=dict)  # role -> column used so far ('vectors')
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Preview:
    """What the vectors (and metadata) files hold, for a person to name the id and title columns."""

    n_rows: int
    dim: int
    columns: list[str]  # metadata columns to choose from ([] without metadata or for a single unnamed column)
    id_column: str | None  # guessed (None: not obvious, or nothing to choose)
    title_column: str | None
    notes: list[str]


def upload_limit_bytes() -> int:
    from collab_core import settings

    return settings.get("COLLAB_UPLOAD_LIMIT_MB") * 1024 * 1024


def _limit(max_bytes: int | None, hint: str = "COLLAB_UPLOAD_LIMIT_MB") -> tuple[int, str]:
    """(bytes allowed per file, what to change to allow more): the upload limit unless the caller gives one."""
    return (upload_limit_bytes() if max_bytes is None else max_bytes), hint


# ---------------------------------------------------------------------- the two entry points
def preview(vectors, metadata=None, *, vector_column: str | None = None, max_bytes: int | None = None,
            names: Mapping[str, str] | None = None) -> Preview:
    """Read and check the item files; say which metadata columns there are and which look like the id and title."""
    read = _read_side(vectors, metadata, vector_column, _limit(max_bytes), names or {}, "")
    columns = [] if read.metadata is None or read.headerless else [str(c) for c in read.metadata.columns]
    return Preview(len(read.vectors), read.vectors.shape[1], columns, guess_column(columns, ID_COLUMNS),
                   guess_column(columns, TITLE_CANDIDATES), read.notes)


def import_embeddings(vectors, metadata=None, *, id_column: str | None = None, title_column: str | None = None,
                      vector_column: str | None = None, user_vectors=None, user_metadata=None,
                      user_id_column: str | None = None, max_bytes: int | None = None,
                      names: Mapping[str, str] | None = None, limit_hint: str = "COLLAB_UPLOAD_LIMIT_MB",
                      item_noun: str | None = None) -> tuple[TrainedModel, list[str]]:
    """(imported run, notes on how the files were read): item vectors (and optionally metadata and user
    vectors), checked in full; not saved.

    `names` maps a file role ('vectors', 'metadata', 'user_vectors', 'user_metadata') to the name messages and
    the run use (the app stores uploads under hashed names); `max_bytes` limits each file (default
    COLLAB_UPLOAD_LIMIT_MB), and `limit_hint` says in the message how to raise it. `item_noun`: what the items are,
    as a person says it ("foods", or "food / foods"): the pages then speak of them so, not of "items"."""
    noun = from_words(item_noun)  # a bad one fails before any file is read
    if user_metadata is not None and user_vectors is None:
        raise DataError("user metadata was given without user vectors")
    names = dict(names or {})
    limit = _limit(max_bytes, limit_hint)
    items = _read_side(vectors, metadata, vector_column, limit, names, "")
    catalog, columns = _catalog(items, id_column, title_column)
    files = {"vectors": items.name} | ({"metadata": items.metadata_name} if metadata is not None else {})
    bias = _optional_numbers(items, columns, "bias")
    users, notes = None, items.notes
    if user_vectors is not None:
        side = _read_side(user_vectors, user_metadata, None, limit, names, "user_")
        users = _users(side, user_id_column, items)
        columns |= users.columns
        files |= {"user_vectors": side.name} | ({"user_metadata": side.metadata_name} if user_metadata is not None
                                                 else {})
        notes = notes + side.notes
    return _assemble(items, catalog, bias, users, ImportInfo(items.vectors.shape[1], files, columns, noun)), notes


# ---------------------------------------------------------------------- reading one side (items or users)
def _read_side(vectors, metadata, vector_column, limit: tuple[int, str], names: Mapping[str, str], role: str
               ) -> _Read:
    """Read the vectors file of `role` ('' for items, 'user_' for users) and its metadata, rows matched."""
    vectors_path = Path(vectors)
    name = names.get(f"{role}vectors") or vectors_path.name
    read = _read_vectors(_read_bytes(vectors_path, name, limit), name, vector_column)
    if metadata is not None:
        if read.metadata is not None:
            raise DataError(f"{name} is a table that holds its own metadata columns; give a separate metadata file "
                            f"only with a .npy or headerless vectors file")
        meta_path = Path(metadata)
        meta_name = names.get(f"{role}metadata") or meta_path.name
        read.metadata, read.headerless, notes = _read_metadata(_read_bytes(meta_path, meta_name, limit), meta_name)
        read.notes += notes
        read.metadata_name = meta_name
        _check_rows_match(read)
    if len(read.vectors) < 2:
        what = "user" if role else "item"
        raise DataError(f"{name}: {len(read.vectors)} vector(s); an imported run needs at least 2 {what}s")
    return read


def _read_bytes(path: Path, name: str, limit: tuple[int, str]) -> bytes:
    max_bytes, hint = limit
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # check_file names what is wrong with it
    if size > max_bytes:
        raise DataError(f"{name}: {size:,} bytes is above the import limit of {max_bytes:,} bytes ({hint})")
    known = name if name != path.name else None  # a name of its own (an upload's): never the stored path
    check_file(path, max_bytes, known)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise file_error(path, exc, known) from None


def _read_vectors(data: bytes, name: str, vector_column: str | None) -> _Read:
    if data.startswith(_NPY_MAGIC):
        return _Read(name, _npy_vectors(data, name), None, name)
    if data.startswith(_PARQUET_MAGIC) or name.lower().endswith((".parquet", ".pq")):
        return _table_vectors(_parquet_frame(data, name), name, vector_column)
    text, _ = _text(data, name)
    lines = text.splitlines()
    if not "".join(lines).strip():
        raise DataError(f"{name}: no vectors (the file holds only blank lines)")
    if not lines[0].strip() or _is_number_row(lines[0]):
        return _Read(name, _number_rows(text, lines, name), None, name)
    sep = sniff_separator(text[:8192])
    frame = read_csv(io.StringIO(text), Path(name), sep=sep, dtype=str, keep_default_na=False)
    if vector_column is None and not any(_VECTOR_COLUMN.match(str(c)) for c in frame.columns):
        first = next(v for v in _split(lines[0]) if not _is_number(v))
        raise DataError(f"{name}: row 1: {first!r} is not a number, and the file has no vector columns f0, f1, ... "
                        f"to read it as a table (a headerless vectors file holds numbers only)")
    return _table_vectors(frame, name, vector_column)


def _text(data: bytes, name: str) -> tuple[str, list[str]]:
    """The file's text (UTF-8, stray bytes as latin-1: see tables.decode_text) and notes on how it was decoded."""
    if b"\x00" in data[:8192]:
        raise DataError(f"{name}: looks like a binary file, neither text, .npy nor Parquet (it contains NUL bytes)")
    return decode_text(data, name)


# ---------------------------------------------------------------------- .npy
def _npy_vectors(data: bytes, name: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)  # never unpickle: a pickle can run code
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(f"{name}: holds Python objects (a pickle), which are never loaded; save a numeric "
                            f"array (e.g. np.save(path, vectors.astype('float32')))") from None
        raise DataError(f"{name}: not a readable .npy file ({first_line(str(exc))})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{name}: not a readable .npy file ({first_line(str(exc)) or 'truncated'})") from None
    if array.dtype.kind not in "fiu":
        raise DataError(f"{name}: holds {array.dtype} values; expected numbers (float or int)")
    if array.ndim != 2:
        raise DataError(f"{name}: a {array.ndim}-D array of shape {array.shape}; expected 2-D, one row per vector")
    _check_shape(array.shape, name)
    return _finite_float32(array.astype(np.float64), name, lambda r, c: f"row {r + 1}, column {c + 1}")


def _check_shape(shape: tuple[int, int], name: str) -> None:
    if shape[0] == 0:
        raise DataError(f"{name}: no vectors (0 rows)")
    if shape[1] == 0:
        raise DataError(f"{name}: the vectors have dimension 0; each needs at least one value")
    if shape[1] > MAX_IMPORT_DIM:
        raise DataError(f"{name}: the vectors have dimension {shape[1]:,}; at most {MAX_IMPORT_DIM:,} is supported")


# ---------------------------------------------------------------------- headerless text
def _split(line: str) -> list[str]:
    sep = "\t" if "\t" in line else ("," if "," in line else None)  # None: any whitespace
    return line.split(sep)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_number_row(line: str) -> bool:
    values = _split(line)
    return bool(values) and all(_is_number(v) for v in values)


def _number_rows(text: str, lines: list[str], name: str) -> np.ndarray:
    """(n, dim) from one vector per line. pandas' C parser when the file is clean; otherwise a scan that names
    the first bad row (pandas pads short rows with NaN and would hide them)."""
    while lines and not lines[-1].strip():  # trailing blank lines are an editor's, not vectors
        lines.pop()
    sep = {"\t": "\t", ",": ","}.get(next((c for c in "\t," if c in lines[0]), None), r"\s+")
    try:
        fast = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=np.float64, skip_blank_lines=False,
                           nrows=len(lines)).to_numpy()
        if fast.shape[0] == len(lines) and np.isfinite(fast).all():
            _check_shape(fast.shape, name)
            return _finite_float32(fast, name, lambda r, c: f"row {r + 1}, column {c + 1}")
    except (ValueError, pd.errors.ParserError):
        pass
    blank = next((r for r, line in enumerate(lines) if not line.strip()), None)
    if blank is not None:
        raise DataError(f"{name}: row {blank + 1} is blank; every row must hold one vector")
    rows = [_split(line) for line in lines]
    widths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    ragged = np.flatnonzero(widths != widths[0])
    if len(ragged):
        r = ragged[0]
        raise DataError(f"{name}: row {r + 1} has {widths[r]} value(s) but row 1 has {widths[0]}; every vector must "
                        f"have the same length")
    cells = np.array(rows, dtype=str)  # (n, dim)
    return _finite_float32(_to_numbers(cells, name, lambda r, c: f"row {r + 1}, column {c + 1}"), name,
                           lambda r, c: f"row {r + 1}, column {c + 1}", cells)


def _to_numbers(cells: np.ndarray, name: str, where) -> np.ndarray:
    """(n, k) text cells -> float64, or DataError naming the first cell that is not a number."""
    try:
        return cells.astype(np.float64)
    except ValueError:
        pass
    for r, c in np.ndindex(cells.shape):  # only on failure: find the first culprit
        if not _is_number(cells[r, c]):
            raise DataError(f"{name}: {where(r, c)}: {str(cells[r, c])!r} is not a number")
    raise DataError(f"{name}: holds values that are not numbers")  # pragma: no cover - numpy and float() agree


def _finite_float32(values: np.ndarray, name: str, where, cells: np.ndarray | None = None) -> np.ndarray:
    """float64 (n, dim) -> float32, or DataError naming the first value that is NaN, infinite, or too large."""
    if np.isfinite(values).all() and np.abs(values).max() <= _FLOAT32_MAX:
        return values.astype(np.float32)
    bad = ~np.isfinite(values) | (np.abs(np.nan_to_num(values)) > _FLOAT32_MAX)
    r, c = np.argwhere(bad)[0]
    shown = str(cells[r, c]) if cells is not None else repr(float(values[r, c]))
    problem = "is not finite" if not np.isfinite(values[r, c]) else "is too large for 32-bit floats"
    raise DataError(f"{name}: {where(r, c)}: {shown!r} {problem}; every vector value must be a finite number")


# ---------------------------------------------------------------------- tables (CSV with a header, Parquet)
def _parquet_frame(data: bytes, name: str) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(data)).to_pandas(types_mapper=None)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(f"{name}: not a readable Parquet file (damaged, or not Parquet at all)") from exc


def _table_vectors(frame: pd.DataFrame, name: str, vector_column: str | None) -> _Read:
    """A table's vectors (one list column, or f0, f1, ...) and the rest of its columns as text metadata."""
    if len(frame) == 0:
        raise DataError(f"{name}: no vectors (the table has no rows)")
    frame.columns = [str(c) for c in frame.columns]
    if vector_column is not None and vector_column not in frame.columns:
        raise DataError(f"{name}: no column {vector_column!r} for the vectors; columns are: {', '.join(frame.columns)}")
    chosen = vector_column or _list_column(frame, name)
    if chosen is not None:
        vectors, used = _list_vectors(frame[chosen], name, chosen), [chosen]
    else:
        used = _numbered_columns(frame, name)
        cells = frame[used].astype(str).to_numpy()
        where = lambda r, c: f"row {r + 1}, column {used[c]!r}"  # noqa: E731 - one message format, used twice
        vectors = _finite_float32(_to_numbers(cells, name, where), name, where, cells)
    rest = frame.drop(columns=used)
    metadata = pd.DataFrame({c: _as_text(rest[c]) for c in rest.columns}) if len(rest.columns) else None
    label = chosen if chosen is not None else f"{used[0]}..{used[-1]}"
    return _Read(name, vectors, metadata, name, columns={"vectors": label})


def _list_column(frame: pd.DataFrame, name: str) -> str | None:
    """The one column whose cells are lists/arrays of numbers; None when there is none."""
    found = [c for c in frame.columns if _holds_number_lists(frame[c])]
    if len(found) > 1:
        raise DataError(f"{name}: several columns hold lists of numbers ({', '.join(found)}); name the vector column")
    return found[0] if found else None


def _holds_number_lists(column: pd.Series) -> bool:
    """Whether the column's first non-empty cell is a list/array of numbers (an empty list says nothing)."""
    for value in column:
        if isinstance(value, (list, np.ndarray)):
            if len(value):
                return np.asarray(value).dtype.kind in "fiu"
        elif value is not None:
            return False
    return False


def _list_vectors(column: pd.Series, name: str, label: str) -> np.ndarray:
    for r, value in enumerate(column):
        if not isinstance(value, (list, np.ndarray)):
            raise DataError(f"{name}: row {r + 1}, column {label!r}: {_short(value)} is not a list of numbers")
    widths = np.fromiter((len(v) for v in column), dtype=np.int64, count=len(column))
    ragged = np.flatnonzero(widths != widths[0])
    if len(ragged):
        r = ragged[0]
        raise DataError(f"{name}: row {r + 1} has {widths[r]} value(s) in column {label!r} but row 1 has "
                        f"{widths[0]}; every vector must have the same length")
    _check_shape((len(column), int(widths[0])), name)
    where = lambda r, c: f"row {r + 1}, column {label!r}, value {c + 1}"  # noqa: E731
    try:
        values = np.array([np.asarray(v, dtype=np.float64) for v in column])  # (n, dim); None inside -> NaN
    except (TypeError, ValueError):
        raise DataError(f"{name}: column {label!r} holds values that are not numbers") from None
    return _finite_float32(values, name, where)


def _numbered_columns(frame: pd.DataFrame, name: str) -> list[str]:
    """f0, f1, ..., f{k-1} in order; a gap is an error naming the missing column."""
    numbers = sorted(int(m.group(1)) for c in frame.columns if (m := _VECTOR_COLUMN.match(c)))
    if not numbers:
        raise DataError(f"{name}: no vector columns: expected one list column or columns f0, f1, ...; "
                        f"columns are: {', '.join(frame.columns)}")
    missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
    if missing:
        raise DataError(f"{name}: vector column f{missing[0]} is missing (found f0 to f{numbers[-1]} otherwise)")
    return [f"f{i}" for i in numbers]


def _as_text(column: pd.Series) -> pd.Series:
    """A metadata column as text cells: lists joined with '|' (genres), missing values as ''."""
    def cell(value) -> str:
        if isinstance(value, (list, tuple, np.ndarray)):
            return "|".join(str(v) for v in value)
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return ""
        return str(value)
    return column.map(cell).astype(object)


# ---------------------------------------------------------------------- a separate metadata file
def _read_metadata(data: bytes, name: str) -> tuple[pd.DataFrame, bool, list[str]]:
    """(text cells, headerless, notes): Parquet, or CSV/TSV with a header; a single column without a header is
    the Projector's labels-only format."""
    if data.startswith(_PARQUET_MAGIC):
        frame = _parquet_frame(data, name)
        frame.columns = [str(c) for c in frame.columns]
        return pd.DataFrame({c: _as_text(frame[c]) for c in frame.columns}), False, []
    text, notes = _text(data, name)
    if not text.strip():
        raise DataError(f"{name}: the file is empty")
    lines = text.splitlines()
    sep = "\t" if name.lower().endswith(".tsv") or "\t" in lines[0] else sniff_separator(text[:8192])
    if sep not in lines[0]:  # one column: no header row (the Projector's rule), one label per line
        return pd.DataFrame({SINGLE_COLUMN: lines}, dtype=object), True, notes
    frame = read_csv(io.StringIO(text), Path(name), sep=sep, dtype=str, keep_default_na=False)
    return frame.rename(columns=str), False, notes


def _check_rows_match(read: _Read) -> None:
    n_meta, n_vectors = len(read.metadata), len(read.vectors)
    if n_meta != n_vectors:
        hint = (" (a single-column metadata file has no header row in the Projector's format)"
                if read.headerless and n_meta == n_vectors + 1 else "")
        raise DataError(f"{read.metadata_name} has {n_meta:,} rows but {read.name} has {n_vectors:,} vectors; row i of "
                        f"the metadata must describe vector i{hint}")


# ---------------------------------------------------------------------- metadata -> catalog
def _catalog(read: _Read, id_column: str | None, title_column: str | None) -> tuple[ItemCatalog, dict]:
    """The item catalog (ids, titles, genres, years, counts, means) and the columns used, by role."""
    n = len(read.vectors)
    columns = dict(read.columns)
    if read.metadata is None:
        ids = np.array([str(i) for i in range(n)], dtype=object)
        titles = ids.copy()
        read.notes.append(f"{read.name}: no metadata, so items are named by their row number (0 to {n - 1})")
    elif read.headerless:
        titles, ids = _labels(read)
        columns["title"] = SINGLE_COLUMN
    else:
        ids, titles = _ids_and_titles(read, id_column, title_column, columns)
    items = pd.DataFrame({"title": titles, "year": _years(read, columns), "genres": _genres(read, columns)})
    counts, means = _counts(read, columns), _means(read, columns)
    return ItemCatalog(Vocab(ids, "item"), items, counts, means), columns


def _labels(read: _Read) -> tuple[np.ndarray, np.ndarray]:
    """(titles, ids) from a single column of labels: the labels are the ids too when they are unique."""
    labels = np.array([unescape_cell(v) for v in read.metadata[SINGLE_COLUMN]], dtype=object)
    if len(set(labels)) == len(labels):
        return labels, labels.copy()
    repeated = pd.Series(labels)[pd.Series(labels).duplicated()].iloc[0]
    read.notes.append(f"{read.metadata_name}: labels repeat (e.g. {repeated!r}), so items are identified by their "
                      f"row number (0 to {len(labels) - 1}) and the labels are their titles")
    return labels, np.array([str(i) for i in range(len(labels))], dtype=object)


def _ids_and_titles(read: _Read, id_column, title_column, columns: dict) -> tuple[np.ndarray, np.ndarray]:
    frame = read.metadata
    id_col = _pick(read, id_column, ID_COLUMNS, "id")
    title_col = _pick(read, title_column, TITLE_CANDIDATES, "title")
    columns |= {"id": id_col, "title": title_col}
    ids = np.array([unescape_cell(v) for v in frame[id_col]], dtype=object)
    _check_ids(ids, read.metadata_name, id_col)
    titles = np.array([unescape_cell(v) for v in frame[title_col]], dtype=object)
    blank = np.array([not t.strip() for t in titles], dtype=bool)
    titles[blank] = ids[blank]  # an untitled item is shown by its id
    return ids, titles


def _pick(read: _Read, wanted: str | None, candidates: list[str], role: str) -> str:
    columns = [str(c) for c in read.metadata.columns]
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"{read.metadata_name}: no column {wanted!r} for the {role}; columns are: "
                            f"{', '.join(columns)}")
        return wanted
    found = guess_column(columns, candidates)
    if found is None:
        raise DataError(f"{read.metadata_name}: no {role} column found (tried {', '.join(candidates[:6])}, ...); "
                        f"columns are: {', '.join(columns)}. Name the {role} column explicitly")
    return found


def _check_ids(ids: np.ndarray, file: str, column: str) -> None:
    blank = [i for i, v in enumerate(ids) if not str(v).strip()]
    if blank:
        raise DataError(f"{file}: row {blank[0] + 1}: the id (column {column!r}) is blank")
    series = pd.Series(ids)
    repeated = series[series.duplicated()]
    if len(repeated):
        first = repeated.iloc[0]
        rows = np.flatnonzero(series.to_numpy() == first)[:2] + 1
        raise DataError(f"{file}: rows {rows[0]} and {rows[1]} have the same id {first!r} (column {column!r}); "
                        f"ids must be unique ({len(repeated):,} repeated)")


def _optional_column(read: _Read, columns: dict, role: str) -> str | None:
    """The metadata column guessed for an optional role, unless it already plays another role."""
    if read.metadata is None or read.headerless:
        return None
    found = guess_column([str(c) for c in read.metadata.columns], OPTIONAL_COLUMNS[role])
    if found is None or found in columns.values():
        return None
    columns[role] = found
    return found


def _genres(read: _Read, columns: dict) -> list[list[str]]:
    """'Action|Comedy' -> ['Action', 'Comedy'] (as collab_core.runs.export joins them); [] without a genres column."""
    column = _optional_column(read, columns, "genres")
    if column is None:
        return [[] for _ in range(len(read.vectors))]
    return [[g.strip() for g in unescape_cell(v).split("|") if g.strip()] for v in read.metadata[column]]


def _numbers(read: _Read, column: str, *, blank_ok: bool, whole: bool = False) -> np.ndarray:
    """A metadata column as float64 (n,): every cell a finite number (blank -> NaN where allowed), or DataError
    naming the row, column and value."""
    cells = read.metadata[column].to_numpy(dtype=object)
    out = np.full(len(cells), np.nan)
    for r, text in enumerate(cells):
        text = str(text).strip()
        if not text and blank_ok:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (whole and (value < 0 or not value.is_integer())):
            expected = "a whole number >= 0" if whole else "a finite number"
            raise DataError(f"{read.metadata_name}: row {r + 1}: {column} {text!r} is not {expected}")
        out[r] = value
    return out


def _years(read: _Read, columns: dict):
    column = _optional_column(read, columns, "year")
    if column is None:
        return pd.array([None] * len(read.vectors), dtype="Int64")
    values = _numbers(read, column, blank_ok=True)
    fractional = np.flatnonzero(~np.isnan(values) & (values != np.round(values)))
    if len(fractional):
        r = fractional[0]
        raise DataError(f"{read.metadata_name}: row {r + 1}: {column} {read.metadata[column].iloc[r]!r} is not a "
                        f"whole number")
    return pd.array([None if np.isnan(v) else int(v) for v in values], dtype="Int64")


def _counts(read: _Read, columns: dict) -> np.ndarray:
    """(n,) int64 rating counts; zeros when the metadata has none (the run then reports has_counts False)."""
    column = _optional_column(read, columns, "count")
    if column is None:
        return np.zeros(len(read.vectors), dtype=np.int64)
    return _numbers(read, column, blank_ok=False, whole=True).astype(np.int64)


def _means(read: _Read, columns: dict) -> np.ndarray:
    """(n,) float64 mean ratings; NaN (unknown) where the metadata has none."""
    column = _optional_column(read, columns, "mean_rating")
    if column is None:
        return np.full(len(read.vectors), np.nan)
    return _numbers(read, column, blank_ok=True)


def _optional_numbers(read: _Read, columns: dict, role: str) -> np.ndarray | None:
    """(n,) float32 values of an optional all-numbers column (a bias), or None without one."""
    column = _optional_column(read, columns, role)
    if column is None:
        return None
    return _numbers(read, column, blank_ok=False).astype(np.float32)


# ---------------------------------------------------------------------- users
@dataclass(frozen=True)
class _Users:
    vocab: Vocab
    vectors: np.ndarray  # (n_users, dim) float32
    bias: np.ndarray | None  # (n_users,) float32
    columns: dict  # role -> column used ('user_vectors', 'user_id', 'user_bias')


def _users(read: _Read, id_column: str | None, items: _Read) -> _Users:
    """The user side: ids (from a metadata id column, a single column of labels, or row numbers) and biases."""
    if read.vectors.shape[1] != items.vectors.shape[1]:
        raise DataError(f"{read.name}: the user vectors have {read.vectors.shape[1]} dimension(s) but the item vectors "
                        f"{items.vectors.shape[1]}; they must match (a user's score for an item is their dot product)")
    columns = {"user_vectors": read.columns["vectors"]} if "vectors" in read.columns else {}
    if read.metadata is None:
        ids = np.array([str(i) for i in range(len(read.vectors))], dtype=object)
        return _Users(Vocab(ids, "user"), read.vectors, None, columns)
    id_col = SINGLE_COLUMN if read.headerless else _pick(read, id_column, USER_ID_COLUMNS, "user id")
    ids = np.array([unescape_cell(v) for v in read.metadata[id_col]], dtype=object)
    _check_ids(ids, read.metadata_name, id_col)
    found: dict = {"id": id_col}
    bias = _optional_numbers(read, found, "bias")
    columns |= {"user_id": id_col} | ({"user_bias": found["bias"]} if bias is not None else {})
    return _Users(Vocab(ids, "user"), read.vectors, bias, columns)


# ---------------------------------------------------------------------- the run
def _assemble(items: _Read, catalog: ItemCatalog, item_bias: np.ndarray | None, users: _Users | None,
              info: ImportInfo) -> TrainedModel:
    n_users = 0 if users is None else len(users.vocab)
    model = imported_tables(len(items.vectors), info.dim, n_users, item_bias is not None,
                        users is not None and users.bias is not None)
    with torch.no_grad():
        model.item_factors.weight.copy_(torch.from_numpy(items.vectors))  # (n_items, dim)
        if item_bias is not None:
            model.item_bias.weight.copy_(torch.from_numpy(item_bias)[:, None])  # (n_items, 1)
        if users is not None:
            model.user_factors.weight.copy_(torch.from_numpy(users.vectors))  # (n_users, dim)
            if users.bias is not None:
                model.user_bias.weight.copy_(torch.from_numpy(users.bias)[:, None])  # (n_users, 1)
    vocab = users.vocab if users is not None else Vocab(np.array([], dtype=object), "user")
    dataset = " + ".join(info.files[role] for role in ("vectors", "metadata") if role in info.files)
    return TrainedModel(model.eval(), None, vocab, np.zeros(n_users, dtype=np.int64), np.full(n_users, np.nan),
                        catalog, {}, [], dataset, source=info)


