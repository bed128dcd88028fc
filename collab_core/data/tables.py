"""Reading one table file safely: size limit, file-system errors, text encoding, separator, parse errors.

Every failure is a DataError naming the file and what is wrong with it; nothing here executes content from a
file (CSV is parsed by pandas' C parser, Parquet by pyarrow). Text is decoded as UTF-8, and only the bytes
that are not valid UTF-8 are read as latin-1, with a note saying how many lines that touched: decoding a
whole file as latin-1 because of one stray line would turn every accented character elsewhere into mojibake.
"""
from __future__ import annotations

import codecs
import csv
import io
import threading
from pathlib import Path

import pandas as pd

from collab_core.errors import DataError

DEFAULT_MAX_BYTES = 200 * 1024 * 1024  # refuse larger uploads/files unless the caller raises the limit
_FALLBACK = "collab-latin1-fallback"
_fallback_positions = threading.local()  # byte offsets the handler decoded as latin-1, per decoding thread


def _latin1_fallback(error: UnicodeDecodeError):
    _fallback_positions.found.append(error.start)
    return error.object[error.start:error.end].decode("latin-1"), error.end


codecs.register_error(_FALLBACK, _latin1_fallback)


def decode_text(data: bytes, name: str) -> tuple[str, list[str]]:
    """UTF-8 text of `data` (a leading BOM dropped), with invalid byte sequences read as latin-1, and a note
    saying which lines that touched."""
    _fallback_positions.found = []
    text = data.decode("utf-8-sig", errors=_FALLBACK)
    positions, _fallback_positions.found = _fallback_positions.found, []
    if not positions:
        return text, []
    lines = sorted({data.count(b"\n", 0, p) + 1 for p in positions})
    shown = ", ".join(str(n) for n in lines[:5]) + (" ..." if len(lines) > 5 else "")
    return text, [f"{name}: {len(lines):,} line(s) are not valid UTF-8 (line {shown}); their accented characters "
                  f"were read as latin-1 and the rest of the file as UTF-8"]


def names_for(path: Path, name: str | None) -> tuple[str, str]:
    """(long, short): how messages call the file at `path`. With `name`, the name its user knows (an upload is
    stored under a hash of its content; a dataset folder lies somewhere on the server), both are `name`;
    without, the path as given (its user typed it, e.g. on the command line) and its file name."""
    return (name, name) if name else (str(path), path.name)


def check_file(path: Path, max_bytes: int, name: str | None = None) -> int:
    """The file's size, after checking it is a readable, non-empty file within the size limit. Messages call
    the file `name` when given (see names_for)."""
    long, short = names_for(path, name)
    if path.is_dir():
        raise DataError(f"{long}: is a folder, not a file")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{long}: no such file") from None
    except OSError as exc:
        raise file_error(path, exc, name) from None
    if not path.is_file():
        raise DataError(f"{long}: not a regular file")
    if size > max_bytes:
        raise DataError(f"{short}: {size / 1e6:.1f} MB is above the {max_bytes / 1e6:.0f} MB limit")
    if size == 0:
        raise DataError(f"{short}: the file is empty")
    return size


def file_error(path: Path, exc: OSError, name: str | None = None) -> DataError:
    """An OS error while reading `path`, as one line in plain words: 'r.csv: cannot be read (Permission
    denied)' (the OS's words for the error, never its number)."""
    return DataError(f"{names_for(path, name)[0]}: cannot be read ({exc.strerror or type(exc).__name__})")


def read_table(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES,
               name: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """A CSV/TSV (separator sniffed) or Parquet file as a frame of strings, and notes on how it was read.
    Messages and notes call the file `name` when given (see names_for)."""
    path = Path(path)
    short = names_for(path, name)[1]
    check_file(path, max_bytes, name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise file_error(path, exc, name) from None
    if path.suffix.lower() in (".parquet", ".pq") or data.startswith(b"PAR1"):
        try:
            return pd.read_parquet(io.BytesIO(data)).astype(str), []
        except Exception as exc:  # pyarrow raises several types for a damaged file
            # pyarrow's reason ("Parquet magic bytes not found in footer") tells a person nothing more
            raise DataError(f"{short}: not a readable Parquet file (damaged, or not Parquet at all)") from exc
    if b"\x00" in data[:8192]:
        raise DataError(f"{short}: looks like a binary file, not CSV text (it contains NUL bytes)")
    text, notes = decode_text(data, short)
    sep = sniff_separator(text[:8192])
    frame = read_csv(io.StringIO(text), path, name=name, sep=sep, dtype=str, keep_default_na=False,
                     skipinitialspace=True)
    if frame.shape[1] < 3:
        raise DataError(f"{short}: found {frame.shape[1]} column(s) ({', '.join(map(str, frame.columns))}) with "
                        f"separator {sep!r}; expected at least user, item and rating columns")
    return frame, notes


def read_csv(source, path: Path, *, name: str | None = None, **kwargs) -> pd.DataFrame:
    """pandas.read_csv of `source` (a path or text buffer), with its errors turned into DataErrors on `path`
    (called `name` when given, see names_for)."""
    long, short = names_for(Path(path), name)
    try:
        return pd.read_csv(source, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"{short}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{short}: rows have different numbers of fields ({first_line(str(exc))})") from None
    except UnicodeDecodeError as exc:
        encoding = kwargs.get("encoding", "UTF-8")
        raise DataError(f"{short}: not {encoding} text ({exc.reason} at byte {exc.start})") from None
    except FileNotFoundError:
        raise DataError(f"{long}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{long}: is a folder, not a file") from None
    except OSError as exc:
        raise file_error(Path(path), exc, name) from None


def sniff_separator(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {sep: lines[0].count(sep) for sep in ",\t;|"}
        return max(counts, key=counts.get) if max(counts.values()) else ","


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
