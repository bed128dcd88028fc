"""The `data` commands of the command line: `data fetch NAME` and `data list` (see collab_core.data.fetch).

`data fetch` shows the download size and GroupLens' usage terms, and goes on only once they are accepted:
`--accept-terms` (or `--yes`) without asking; on a terminal it asks; with neither it exits 2 saying to
pass the flag (CI has no stdin). The terms and results go to stdout, progress to stderr. Failures are
CollabErrors, which cli.main prints as one line before exiting 2.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict

from collab_core.data.fetch import (
    RELEASES,
    FetchProgress,
    data_dir,
    fetch,
    get_release,
    is_fetched,
    list_datasets,
    remote_size,
    terms_text,
)
from collab_core.errors import CollabError


def add_data_parser(commands) -> None:
    """Add `data fetch` and `data list` to the top-level subcommands."""
    data = commands.add_parser("data", help="fetch MovieLens datasets from GroupLens and list them")
    actions = data.add_subparsers(dest="data_command", required=True)
    fetch_cmd = actions.add_parser("fetch", help="download and unpack a MovieLens dataset into the data folder")
    fetch_cmd.add_argument("name", help=f"one of: {', '.join(RELEASES)}")
    fetch_cmd.add_argument("--accept-terms", "--yes", "-y", dest="accept_terms", action="store_true",
                           help="accept GroupLens' usage terms (shown) without being asked")
    fetch_cmd.add_argument("--base-url", help="download from this folder instead of $COLLAB_MOVIELENS_URL "
                                              "(default: GroupLens' download folder)")
    fetch_cmd.add_argument("--zip", dest="zip_path", metavar="FILE",
                           help="unpack this zip, downloaded by hand, instead of downloading")
    fetch_cmd.add_argument("--data-dir", help="the data folder (default: $COLLAB_DATA_DIR)")
    fetch_cmd.add_argument("--quiet", action="store_true", help="no progress on stderr")
    listing = actions.add_parser("list", help="list fetched datasets and those that can be fetched")
    listing.add_argument("--json", action="store_true", help="print one JSON list")
    listing.add_argument("--data-dir", help="the data folder (default: $COLLAB_DATA_DIR)")


def cmd_data(args) -> int:
    return {"fetch": cmd_fetch, "list": cmd_list}[args.data_command](args)


# ---------------------------------------------------------------------- fetch
def cmd_fetch(args) -> int:
    release = get_release(args.name)
    root = data_dir(args.data_dir)
    if is_fetched(root / release.name):
        print(f"{release.name} is already fetched: {root / release.name}")
        return 0
    if args.zip_path is None:
        size = remote_size(release.name, args.base_url, folder=root)  # unreachable or missing: fail before asking
        print(f"{release.name}: " + (f"{size / 1e6:,.1f} MB to download" if size is not None else
                                     f"about {release.approx_mb} MB to download (the server did not say)"))
    print(terms_text(release.name))
    if not args.accept_terms and not _ask_acceptance(release.name):
        print("terms not accepted; nothing was downloaded", file=sys.stderr)
        return 1
    printer = ProgressPrinter(sys.stderr, quiet=args.quiet)
    try:
        result = fetch(release.name, accept_terms=True, folder=root, base_url=args.base_url,
                       zip_path=args.zip_path, progress=printer)
    except KeyboardInterrupt:
        printer.finish()
        part = root / f"{release.name}.zip.part"
        kept = part.stat().st_size if part.is_file() else 0
        print(f"interrupted; {kept / 1e6:,.1f} MB are kept in {part}: run the same command again to resume" if kept
              else "interrupted; nothing was saved", file=sys.stderr)
        return 130
    finally:
        printer.finish()
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.already_present:
        print(f"{release.name} is already fetched: {result.folder}")
        return 0
    check = "MD5 verified against GroupLens' .md5" if result.verified else "MD5 not checked against a published one"
    print(f"{release.name}: ready in {result.folder} ({result.downloaded_bytes / 1e6:,.1f} MB downloaded in "
          f"{result.seconds:.1f}s; {check}); train on it with `python -m collab_core train --dataset {release.name}`")
    return 0


def _ask_acceptance(name: str) -> bool:
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        raise CollabError(f"{name}: GroupLens' terms (above) must be accepted and there is no terminal to ask on; "
                          f"pass --accept-terms (or --yes) to accept them")
    return input("Do you accept these terms? [y/N] ").strip().lower() in ("y", "yes")


class ProgressPrinter:
    """Prints FetchProgress: one line rewritten in place on a terminal, else a line every few seconds."""

    def __init__(self, stream, quiet: bool = False, every: float = 2.0):
        self.stream, self.quiet, self.every = stream, quiet, every
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.phase, self.last, self.open_line = None, 0.0, False

    def __call__(self, progress: FetchProgress) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        line = progress.describe()
        if self.tty:
            self.stream.write("\r" + line.ljust(79))
            self.open_line = True
        elif progress.phase != self.phase or now - self.last >= self.every or progress.fraction == 1.0:
            self.stream.write(line + "\n")
            self.last = now
        self.stream.flush()
        self.phase = progress.phase

    def finish(self) -> None:
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False


# ---------------------------------------------------------------------- list
def cmd_list(args) -> int:
    rows = list_datasets(args.data_dir)
    if args.json:
        print(json.dumps([asdict(row) for row in rows]))
        return 0
    for row in rows:
        if row.fetched:
            sizes = (f"{row.ratings:,} ratings, {row.users:,} users, {row.items:,} items" if row.ratings is not None
                     else "sizes shown once it has been loaded")
            print(f"{row.name:<16} fetched      {row.bytes_on_disk / 1e6:>9,.1f} MB  {sizes}  {row.folder}")
        else:
            resume = (f"; {row.partial_bytes / 1e6:,.1f} MB downloaded, fetching resumes" if row.partial_bytes else "")
            print(f"{row.name:<16} not fetched  about {row.approx_download_mb} MB: "
                  f"python -m collab_core data fetch {row.name}{resume}")
    print(f"data folder: {data_dir(args.data_dir)}")
    return 0
