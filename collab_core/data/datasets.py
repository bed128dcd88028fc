"""Where ratings come from: the built-in MovieLens 100K, a MovieLens folder, or any CSV/Parquet table.

- Built-in: the MovieLens 100K files that the `recbole==1.2.1` wheel ships as example data. The wheel is
  installed with `--no-deps` purely as a data carrier and located through `importlib.metadata`; recbole is
  never imported. (GroupLens does not allow redistribution, so the project commits no MovieLens file.)
- A folder downloaded from GroupLens; the format is detected from the files it holds: ml-100k (`u.data`),
  ml-1m / ml-10m (`ratings.dat`), ml-latest-small / ml-20m / ml-25m / ml-32m (`ratings.csv`).
- Any table with user, item and rating columns; names are mapped by the caller or guessed from common
  spellings (`userId`, `user_id`, ...), with optional title/genres columns or a separate items file.

Every reader fails with a DataError that names the file and what is wrong with it. The readers a dashboard
visitor reaches take `name`, what that person calls the file or folder (an upload's own file name, a dataset
folder's name): the path on the server (an upload is stored under a hash of its content) is then never in a
message; the command line leaves it out and its messages name the paths its user typed. Nothing here executes
content from a file: CSV is parsed by pandas' C parser, Parquet by pyarrow.
"""
from __future__ import annotations

import csv
import importlib.metadata
import io
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from collab_core.data.cache import cached_load
from collab_core.data.fetch import resolve_dataset
from collab_core.data.ratings import Ratings, Split, with_validation_frame
from collab_core.data.roots import MOVIELENS_MARKERS
from collab_core.data.tables import DEFAULT_MAX_BYTES, file_error, first_line, names_for, read_csv, read_table
from collab_core.errors import DataError

BUILTIN = "builtin"

ML100K_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]

# Column names tried, in order, when the caller does not name them.
USER_COLUMNS = ["user", "userId", "user_id", "userid", "UserID", "User"]
ITEM_COLUMNS = ["item", "movieId", "movie_id", "item_id", "itemId", "itemid", "MovieID", "movie", "Item"]
RATING_COLUMNS = ["rating", "Rating", "score", "stars", "value"]
TITLE_COLUMNS = ["title", "Title", "name", "movie_title"]
GENRE_COLUMNS = ["genres", "Genres", "genre"]


# ---------------------------------------------------------------------- built-in MovieLens 100K
def builtin_dir() -> Path:
    """The folder of ml-100k atomic files inside the installed recbole wheel (never imported)."""
    try:
        dist = importlib.metadata.distribution("recbole")
    except importlib.metadata.PackageNotFoundError:
        raise DataError("the built-in MovieLens 100K is missing: its carrier package is not installed; run "
                        "`make setup` (or `pip install --no-deps recbole==1.2.1`)") from None
    folder = Path(dist.locate_file("recbole/dataset_example/ml-100k"))
    if not (folder / "ml-100k.inter").is_file():
        raise DataError(f"the built-in MovieLens 100K is missing: {folder}/ml-100k.inter not found "
                        f"(recbole {dist.version} installed; version 1.2.1 ships the files)")
    return folder


def load_builtin() -> Ratings:
    """MovieLens 100K: 100,000 ratings (1-5) by 943 users of 1,682 movies, with titles, genres, demographics."""
    folder = builtin_dir()
    inter = _read_csv_file(folder / "ml-100k.inter", sep="\t", dtype=str)
    inter.columns = [c.split(":")[0] for c in inter.columns]
    items = _read_csv_file(folder / "ml-100k.item", sep="\t", dtype=str, keep_default_na=False)
    items.columns = [c.split(":")[0] for c in items.columns]
    year = pd.to_numeric(items["release_year"], errors="coerce")
    known_title = items["movie_title"].str.strip().str.lower().ne("unkonwn")  # the data's own spelling
    title = items["movie_title"].where(known_title, None)
    title = np.where(year.notna() & known_title, title + " (" + year.astype("Int64").astype(str) + ")", title)
    item_meta = pd.DataFrame({
        "item": items["item_id"],
        "title": title,
        "year": year,
        "genres": items["class"].str.split(),
    })
    users = _read_csv_file(folder / "ml-100k.user", sep="\t", dtype=str)
    users.columns = [c.split(":")[0] for c in users.columns]
    users = users.rename(columns={"user_id": "user"})
    users["age"] = pd.to_numeric(users["age"], errors="coerce")
    frame = pd.DataFrame({"user": inter["user_id"], "item": inter["item_id"],
                          "rating": pd.to_numeric(inter["rating"]), "timestamp": inter["timestamp"]})
    return Ratings.from_frame(frame, item_meta, users, name="MovieLens 100K (built-in)")


# ---------------------------------------------------------------------- MovieLens folders
def detect_movielens_format(folder: Path, name: str | None = None) -> str:
    """'ml-100k', 'ml-1m' (also ml-10m) or 'ml-latest' (ml-latest-small, 20m, 25m, 32m) from the files present.
    Messages call the folder `name` when given, else its path."""
    folder = Path(folder)
    shown = name or str(folder)
    if not folder.is_dir():
        raise DataError(f"{shown}: not a folder")
    for marker, layout in MOVIELENS_MARKERS.items():
        if (folder / marker).is_file():
            return layout
    present = sorted(p.name for p in folder.iterdir())[:12]
    raise DataError(f"{shown}: no MovieLens ratings file found (expected u.data, ratings.dat or ratings.csv); "
                    f"the folder holds: {', '.join(present) or 'nothing'}")


def load_movielens_folder(folder: str | Path, cache: bool = True, name: str | None = None) -> Ratings:
    """Read a MovieLens folder as downloaded from GroupLens, whatever its size. Messages call the folder
    `name` when given (its files `<name>/ratings.dat`, ...), else its path.

    With `cache`, the parsed result is kept in `<folder>/.collab-cache/` and later loads read it instead
    (see collab_core.data.cache): seconds rather than a minute at 25M ratings."""
    found = _Folder(Path(folder), name)
    kind = detect_movielens_format(found.path, name)
    parse = {"ml-100k": _load_ml100k, "ml-1m": _load_ml1m, "ml-latest": _load_ml_latest}[kind]
    return cached_load(found.path, lambda: parse(found)) if cache else parse(found)


@dataclass(frozen=True)
class _Folder:
    """A MovieLens folder being read, and what messages call it and its files."""

    path: Path
    name: str | None  # None: its path (the command line's user typed it)

    def file(self, file_name: str) -> tuple[Path, str | None]:
        """(the file's path, what messages call it: None for its path)."""
        return self.path / file_name, f"{self.name}/{file_name}" if self.name else None

    def require(self, file_name: str) -> tuple[Path, str | None]:
        path, shown = self.file(file_name)
        if not path.is_file():
            raise DataError(f"{self.name or self.path}: the MovieLens file {file_name} is missing; download the "
                            f"complete folder again")
        return path, shown


def _load_ml100k(folder: _Folder) -> Ratings:
    data_file = folder.require("u.data")
    data = _read_csv_file(*data_file, sep="\t", header=None, dtype=str, names=["user", "item", "rating", "timestamp"])
    item_path, item_name = folder.require("u.item")
    items = _read_csv_file(item_path, item_name, sep="|", header=None, dtype=str, encoding="latin-1",
                           keep_default_na=False)
    if items.shape[1] < 5 + len(ML100K_GENRES):
        raise DataError(f"{item_name or item_path}: expected {5 + len(ML100K_GENRES)} '|'-separated fields "
                        f"(id, title, dates, URL, 19 genre flags), found {items.shape[1]}")
    flags = items.iloc[:, 5:5 + len(ML100K_GENRES)].to_numpy() == "1"
    genres = [[g for g, on in zip(ML100K_GENRES, row) if on] for row in flags]
    item_meta = pd.DataFrame({"item": items[0], "title": items[1].replace("", None), "genres": genres})
    user_meta = None
    if folder.file("u.user")[0].is_file():
        user_meta = _read_csv_file(*folder.file("u.user"), sep="|", header=None, dtype=str,
                                   names=["user", "age", "gender", "occupation", "zip_code"])
    return _ratings_from_table(data, names_for(*data_file)[1], item_meta, user_meta,
                               name=f"MovieLens {folder.path.name}")


def _load_ml1m(folder: _Folder) -> Ratings:
    ratings_file = folder.require("ratings.dat")
    ratings = _read_double_colon(*ratings_file, ["user", "item", "rating", "timestamp"])
    movies = _read_double_colon(*folder.require("movies.dat"), ["item", "title", "genres"])
    item_meta = movies.assign(genres=_split_genres(movies["genres"]))
    user_meta = None
    if folder.file("users.dat")[0].is_file():
        user_meta = _read_double_colon(*folder.file("users.dat"), ["user", "gender", "age", "occupation", "zip_code"])
    return _ratings_from_table(ratings, names_for(*ratings_file)[1], item_meta, user_meta,
                               name=f"MovieLens {folder.path.name}")


def _load_ml_latest(folder: _Folder) -> Ratings:
    """ratings.csv + movies.csv. Column names are matched like any table's (userId, user_id, ...), and a
    movies file without genres or titles still loads: releases and hand-made extracts differ."""
    ratings_file, movies_file = folder.require("ratings.csv"), folder.require("movies.csv")
    ratings = _read_csv_file(*ratings_file, dtype=str, keep_default_na=False)
    table, _ = _map_columns(ratings, ColumnMap(), names_for(*ratings_file)[1])
    item_meta = _items_table(_read_csv_file(*movies_file, dtype=str, keep_default_na=False),
                             names_for(*movies_file)[1])
    return _ratings_from_table(table, names_for(*ratings_file)[1], item_meta, None,
                               name=f"MovieLens {folder.path.name}")


def _split_genres(column: pd.Series) -> list[list[str]]:
    """'Action|Comedy' -> ['Action', 'Comedy']; '(no genres listed)' and blanks -> []."""
    out = []
    for value in column.fillna(""):
        parts = [g for g in str(value).split("|") if g and g != "(no genres listed)"]
        out.append(parts)
    return out


def _read_double_colon(path: Path, shown: str | None, names: list[str]) -> pd.DataFrame:
    """MovieLens 1M/10M '::'-separated latin-1 files, as a frame of strings.

    No CSV parser takes a two-character separator at C speed, so '::' is swapped for the ASCII unit
    separator (which no MovieLens field contains) in the raw bytes: latin-1 is one byte per character, so
    this is the same as swapping it in the text. pyarrow then parses without quoting rules (titles hold
    '"'); it is several times faster than pandas' C parser on 10M rows. A ragged file falls back to the
    C parser, which pads short rows and names the first long one, as this reader always did. Messages call
    the file `shown` (None: its path).
    """
    try:
        data = path.read_bytes().replace(b"::", b"\x1f")
    except OSError as exc:
        raise file_error(path, exc, shown) from None
    try:
        return _parse_unit_separated(data, names)
    except ValueError:  # pyarrow.ArrowInvalid: ragged rows or an empty file; pandas' C parser decides
        return _parse_unit_separated_leniently(shown or str(path), data, names)


def _parse_unit_separated(data: bytes, names: list[str]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    encoding = "utf8" if data.isascii() else "latin1"  # ratings.dat is ASCII: skip transcoding 250 MB
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=names, encoding=encoding),
        parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False, double_quote=False),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                             quoted_strings_can_be_null=False))
    return table.to_pandas()


def _parse_unit_separated_leniently(shown: str, data: bytes, names: list[str]) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(data), sep="\x1f", header=None, names=names, dtype=str, encoding="latin-1",
                           quoting=csv.QUOTE_NONE, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise DataError(f"{shown}: not a '::'-separated MovieLens file ({first_line(str(exc))})") from None


# ---------------------------------------------------------------------- generic tables
@dataclass(frozen=True)
class ColumnMap:
    """Which columns of a user's table hold what. None means: guess from common names."""

    user: str | None = None
    item: str | None = None
    rating: str | None = None
    title: str | None = None
    genres: str | None = None  # '|'-joined genre names


def load_table(path: str | Path, columns: ColumnMap = ColumnMap(), items_path: str | Path | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, rating_scale: tuple[float, float] | None = None,
               name: str | None = None) -> Ratings:
    """Ratings from any table with user, item and rating columns (and optional title/genres).

    With `rating_scale` (low, high) declared, a rating outside it is refused, naming the row: a 50 in a
    1-5 file is a data error, and clipping it would hide that. `name` is what the person calls the file (an
    upload's own name): the ratings' name on screen and the file's name in every message (default: the path
    in messages where it helps, such as "no such file", and the file name elsewhere)."""
    path = Path(path)
    rating_scale = check_rating_scale(rating_scale)
    frame, notes = read_table(path, max_bytes, name)
    shown = names_for(path, name)[1]
    table, item_meta = _map_columns(frame, columns, shown)
    if items_path is not None:
        item_meta = load_items_file(items_path, max_bytes)
    return _ratings_from_table(table, shown, item_meta, None, name=shown, rating_scale=rating_scale, notes=notes)


def check_rating_scale(scale) -> tuple[float, float] | None:
    """A declared rating scale: two finite numbers, low below high (or None: no scale declared)."""
    if scale is None:
        return None
    low, high = (float(v) for v in scale)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise DataError(f"the rating scale must be two finite numbers, got {low:g} to {high:g}")
    if low >= high:
        raise DataError(f"the rating scale's lowest rating must be below its highest, got {low:g} to {high:g}")
    return low, high


def load_train_valid(train_path: str | Path, valid_path: str | Path, columns: ColumnMap = ColumnMap(),
                     max_bytes: int = DEFAULT_MAX_BYTES,
                     rating_scale: tuple[float, float] | None = None) -> tuple[Ratings, Split]:
    """Ratings from a training file and an explicit validation file with the same columns."""
    train_path, valid_path = Path(train_path), Path(valid_path)
    rating_scale = check_rating_scale(rating_scale)
    train_frame, read_notes = read_table(train_path, max_bytes)
    train, item_meta = _map_columns(train_frame, columns, train_path.name)
    valid, _ = _map_columns(read_table(valid_path, max_bytes)[0], columns, valid_path.name)
    train, train_notes = _validated(train, train_path.name, rating_scale)
    train_notes = read_notes + train_notes
    valid, _ = _validated(valid, valid_path.name, rating_scale)
    ratings, split = with_validation_frame(train, valid, item_meta, None, name=train_path.name)
    ratings.require_two_of_each(train_path.name)
    return replace(ratings, notes=tuple(train_notes) + ratings.notes), split


def load_items_file(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> pd.DataFrame:
    """An items table: an id column (item/movieId/...) plus title and/or genres."""
    path = Path(path)
    return _items_table(read_table(path, max_bytes)[0], path.name)


def _items_table(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    """item (raw id) plus title and genres when the frame has them, its columns found by name."""
    meta = pd.DataFrame({"item": frame[_pick(frame, None, ITEM_COLUMNS, "item id", file)]})
    title = _pick(frame, None, TITLE_COLUMNS, "title", file, required=False)
    genres = _pick(frame, None, GENRE_COLUMNS, "genres", file, required=False)
    if title:
        meta["title"] = frame[title]
    if genres:
        meta["genres"] = _split_genres(frame[genres])
    return meta


def load_dataset(spec: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Ratings:
    """'builtin', a MovieLens folder, a ratings table, or the name of a fetched dataset ('ml-1m', see
    collab_core.data.fetch), by what `spec` is. An existing path wins over a dataset of the same name."""
    if str(spec) == BUILTIN:
        return load_builtin()
    path = Path(spec)
    if path.is_dir():
        return load_movielens_folder(path)
    if path.is_file():
        return load_table(path, max_bytes=max_bytes)
    fetched = resolve_dataset(str(spec))  # a known name that is not fetched raises, saying how to fetch it
    if fetched is not None:
        return load_movielens_folder(fetched)
    raise DataError(f"{spec}: not 'builtin', a MovieLens folder, a ratings file or a fetched dataset "
                    f"(no such file or folder; `python -m collab_core data list` shows the datasets)")


# ---------------------------------------------------------------------- shared helpers
def _map_columns(frame: pd.DataFrame, columns: ColumnMap, file: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The user, item and rating columns (and item metadata) of `frame`; messages call it `file`."""
    user = _pick(frame, columns.user, USER_COLUMNS, "user", file)
    item = _pick(frame, columns.item, ITEM_COLUMNS, "item", file)
    rating = _pick(frame, columns.rating, RATING_COLUMNS, "rating", file)
    if len({user, item, rating}) < 3:
        raise DataError(f"{file}: the user, item and rating columns must differ "
                        f"(got {user!r}, {item!r}, {rating!r})")
    table = pd.DataFrame({"user": frame[user], "item": frame[item], "rating": frame[rating]})
    title = _pick(frame, columns.title, TITLE_COLUMNS, "title", file, required=False)
    genres = _pick(frame, columns.genres, GENRE_COLUMNS, "genres", file, required=False)
    item_meta = None
    if title or genres:
        item_meta = pd.DataFrame({"item": frame[item]})
        if title:
            item_meta["title"] = frame[title]
        if genres:
            item_meta["genres"] = _split_genres(frame[genres])
    return table, item_meta


COLUMN_CANDIDATES = {"user": USER_COLUMNS, "item": ITEM_COLUMNS, "rating": RATING_COLUMNS, "title": TITLE_COLUMNS,
                     "genres": GENRE_COLUMNS}


def guess_column(columns: list[str], candidates: list[str]) -> str | None:
    """The first of `columns` whose name matches one of `candidates` (case-insensitive, in their order)."""
    lowered = {str(c).lower(): str(c) for c in reversed(columns)}
    for name in candidates:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _pick(frame: pd.DataFrame, wanted: str | None, candidates: list[str], what: str, file: str,
          required: bool = True) -> str | None:
    columns = [str(c) for c in frame.columns]
    if wanted:
        if wanted not in columns:
            raise DataError(f"{file}: no column {wanted!r} for the {what}; columns are: {', '.join(columns)}")
        return wanted
    found = guess_column(columns, candidates)
    if found is None and required:
        raise DataError(f"{file}: no {what} column found (tried {', '.join(candidates[:5])}); columns are: "
                        f"{', '.join(columns)}. Name the {what} column explicitly.")
    return found


def _validated(table: pd.DataFrame, file: str,
               rating_scale: tuple[float, float] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Check ids and ratings row by row; the message names the first bad row (1-based, header excluded).
    Returns the cleaned table and notes about what was found (e.g. ids that mix numbers and text)."""
    notes = []
    for column in ("user", "item"):
        # Checked on the distinct ids, then mapped back to rows: 25M rows hold only ~200k distinct ids.
        codes, uniques = pd.factorize(table[column])  # a missing id gets code -1
        ids = pd.Series(uniques, dtype=object).astype(str).str.strip()
        blank = ids.eq("") | ids.str.lower().isin(["nan", "none"])
        blank_rows = (codes < 0) | blank.to_numpy()[codes]
        if blank_rows.any():
            row = int(np.flatnonzero(blank_rows)[0]) + 1
            raise DataError(f"{file}: row {row}: the {column} id is empty "
                            f"({int(blank_rows.sum())} rows have none)")
        notes += _id_notes(ids, column)  # uniques come in row order: examples are the first such rows' ids
        # Stripping can make two ids equal (' 7' and '7'): re-code, and hand on a categorical, which
        # Ratings.from_frame codes without hashing every row's string again.
        merged, stripped = pd.factorize(ids)
        table = table.assign(**{column: pd.Categorical.from_codes(merged[codes], categories=stripped)})
    numbers = _parse_ratings(table["rating"])
    bad = ~np.isfinite(numbers.to_numpy())
    raw = table["rating"]
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{file}: row {row + 1}: rating {raw.iloc[row]!r} is not a finite number "
                        f"({int(bad.sum())} such rows)")
    if rating_scale is not None:
        low, high = rating_scale
        outside = ((numbers < low) | (numbers > high)).to_numpy()
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise DataError(f"{file}: row {row + 1}: rating {numbers.iloc[row]:g} is outside the declared scale "
                            f"{low:g}-{high:g} ({int(outside.sum())} such rows); fix the file or the scale")
    return table.assign(rating=numbers), notes


def _id_notes(ids: pd.Series, column: str) -> list[str]:
    """Ids are compared as text; say so where that could surprise: a column mixing numbers and text, or
    numbers that differ only in leading zeros ('007' and '7' stay two different items)."""
    unique = pd.Series(ids.unique())
    numeric = unique.str.fullmatch(r"-?[0-9]+(\.[0-9]+)?")
    if numeric.any() and not numeric.all():
        example = unique[~numeric].iloc[0]
        return [f"{column} ids mix numbers and text (e.g. {example!r}); all ids are compared as text, "
                f"so '1' and '1.0' would be different {column}s"]
    digits = unique[unique.str.fullmatch(r"[0-9]+")]
    stripped = digits.str.lstrip("0").replace("", "0")
    clashing = stripped.duplicated(keep=False)
    if clashing.any():
        group = digits[stripped == stripped[clashing].iloc[0]].tolist()
        return [f"{int(clashing.sum()):,} {column} ids differ only in leading zeros (e.g. "
                f"{', '.join(repr(g) for g in group[:3])}); ids are compared as text, so they are different "
                f"{column}s. Strip the zeros in the file if they name the same {column}"]
    return []


def _parse_ratings(raw: pd.Series) -> pd.Series:
    """Ratings as float64 (NaN where a value is not a number). Numbers pass through; text is parsed once
    per distinct value, since a ratings column holds a handful of them (0.5, 1.0, ... 5.0)."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64")
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object).astype(str).str.strip(), errors="coerce")
    return pd.Series(parsed.astype("float64").to_numpy()[codes], index=raw.index)


def _ratings_from_table(table: pd.DataFrame, file: str, item_meta, user_meta, name: str,
                        rating_scale: tuple[float, float] | None = None, notes: list[str] = ()) -> Ratings:
    """Ratings from the user, item and rating columns read from `file` (what messages call it)."""
    table, id_notes = _validated(table[["user", "item", "rating"]], file, rating_scale)
    notes = list(notes) + id_notes
    ratings = Ratings.from_frame(table, item_meta, user_meta, name=name, notes=notes)
    ratings.require_two_of_each(file)
    return ratings


def _read_csv_file(path: Path, shown: str | None = None, **kwargs) -> pd.DataFrame:
    """A MovieLens file of known layout (built-in or from a GroupLens folder), errors naming the file (`shown`,
    else its path)."""
    return read_csv(path, path, name=shown, **kwargs)
