"""`python -m collab_core export --run ID --format csv|projector|parquet --out DIR [--force]`: a run's item
embeddings written as files (collab_core.runs.export).

  csv        RUN-item-embeddings.csv: the CSV the sidebar downloads (metadata, then f0, f1, ...)
  projector  vectors.tsv and metadata.tsv: the pair the sidebar offers for the Embedding Projector
  parquet    RUN-item-embeddings.parquet: the CSV's columns in one Parquet table

DIR is created when missing. A file that is already there is refused, naming it, unless --force; then nothing
is written at all. Each file is written under a temporary name and renamed into place, so an interrupted export
leaves no half file under the final name. stdout gets one line per file written: its path and size.
"""
from __future__ import annotations

import os
from pathlib import Path

from collab_core.errors import CollabError

FORMATS = ("csv", "projector", "parquet")


def add_export_parser(commands) -> None:
    """Add `export` to the top-level subcommands."""
    export = commands.add_parser("export", help="write a run's item embeddings as CSV, Embedding Projector TSV "
                                                "or Parquet files")
    export.add_argument("--run", required=True, help="run id (see `runs`)")
    export.add_argument("--format", required=True, choices=FORMATS,
                        help="csv: the sidebar's CSV; projector: vectors.tsv + metadata.tsv; parquet: one table")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")
    export.add_argument("--force", action="store_true", help="overwrite files that are already there")
    export.add_argument("--runs-dir", help="where runs are saved (default $COLLAB_RUNS_DIR or ./runs)")


def export_files(trained, run_id: str, form: str) -> dict[str, bytes]:
    """{file name: content} of one export format."""
    from collab_core.runs import export

    if form == "csv":
        return {f"{run_id}-item-embeddings.csv": export.embeddings_csv(trained)}
    if form == "projector":
        vectors, metadata = export.projector_files(trained)
        return {"vectors.tsv": vectors, "metadata.tsv": metadata}
    if form == "parquet":
        return {f"{run_id}-item-embeddings.parquet": export.embeddings_parquet(trained)}
    raise CollabError(f"--format must be one of {', '.join(FORMATS)}; got {form!r}")


def cmd_export(args) -> int:
    from collab_core.runs.store import RunStore

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CollabError(f"--out {out}: is a file, not a folder")
    trained = RunStore(args.runs_dir).load(args.run)  # checks the id too, so it is safe in a file name
    files = export_files(trained, args.run, args.format)
    present = [str(out / name) for name in files if (out / name).exists()]
    if present and not args.force:
        raise CollabError(f"{', '.join(present)}: already there; add --force to overwrite "
                          f"{'it' if len(present) == 1 else 'them'}")
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = out / name
        staging = out / f".{name}.partial"
        try:
            staging.write_bytes(content)
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)  # a write that failed (disk full) leaves nothing behind
        print(f"{path}\t{len(content):,} bytes")
    return 0
