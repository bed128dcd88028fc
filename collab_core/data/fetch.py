"""Fetch a MovieLens release from GroupLens into the data folder, whole or not at all.

`fetch(name, accept_terms=True)` downloads `<base>/<name>.zip` (streamed, with a progress callback and a
cancel flag; resumed with an HTTP Range request after an interruption, from `<name>.zip.part`), checks
it against the `.md5` file published beside it when there is one, and unzips it through a staging folder
renamed into place, so `<data dir>/<name>/` appears complete or not at all. A lock file in the data folder
(fcntl.flock) makes two processes or threads fetching the same set share one download. Every failure is
a FetchError naming the URL or file and what to do, and leaves no dataset, staging folder or partial
file behind, except the partial download of an interrupted transfer, which the next fetch resumes. Each
FetchError also says it in plain words for a person using the dashboard (`plain`): the dataset's name, what
failed and what to do, never a path on the server, a command or an error number.

Also here: the releases this knows (`RELEASES`), a summary of GroupLens' usage terms (`terms_text`), the
download size (`remote_size`), what is fetched (`list_datasets`) and names -> folders (`resolve_dataset`).
GroupLens forbids redistribution of most releases: the project ships none; each user downloads their own.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.client import HTTPException
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

from collab_core import settings
from collab_core.data.roots import DATASET_MARKERS
from collab_core.errors import DataError, FetchCancelled, FetchError, os_reason

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; concurrent fetches are then not serialised
    fcntl = None

CHUNK = 1 << 20
MARKER = ".collab-fetch.json"  # written into a dataset folder by fetch: where and when it came from
USER_AGENT = "cf-embedding-explorer (collab_core.data.fetch)"


# ---------------------------------------------------------------------- the releases
@dataclass(frozen=True)
class Release:
    """A MovieLens release on GroupLens' download folder. Counts are those its README states."""

    name: str  # canonical name: the zip is <name>.zip, the dataset is stored as <data dir>/<name>
    zip_folder: str  # the folder inside the zip holding the files
    ratings_file: str
    movies_file: str
    approx_mb: int  # the zip's size as grouplens.org lists it, shown when the server does not say
    ratings: int
    users: int
    movies: int
    redistribution: str  # what its README says about redistributing it


_NO_REDISTRIBUTION = "you may not redistribute the data without separate permission from GroupLens"
RELEASES: dict[str, Release] = {r.name: r for r in [
    Release("ml-latest-small", "ml-latest-small", "ratings.csv", "movies.csv", 1, 100_836, 610, 9_742,
            "its README allows redistribution, including of transformations, only under these same terms"),
    Release("ml-1m", "ml-1m", "ratings.dat", "movies.dat", 6, 1_000_209, 6_040, 3_900, _NO_REDISTRIBUTION),
    Release("ml-10m", "ml-10M100K", "ratings.dat", "movies.dat", 63, 10_000_054, 71_567, 10_681, _NO_REDISTRIBUTION),
    Release("ml-20m", "ml-20m", "ratings.csv", "movies.csv", 190, 20_000_263, 138_493, 27_278, _NO_REDISTRIBUTION),
    Release("ml-25m", "ml-25m", "ratings.csv", "movies.csv", 250, 25_000_095, 162_541, 62_423, _NO_REDISTRIBUTION),
    Release("ml-32m", "ml-32m", "ratings.csv", "movies.csv", 239, 32_000_204, 200_948, 87_585, _NO_REDISTRIBUTION),
]}
CITATION = ("F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and Context. "
            "ACM Transactions on Interactive Intelligent Systems (TiiS) 5, 4: 19:1-19:19. "
            "https://doi.org/10.1145/2827872")


def get_release(name: str) -> Release:
    """The release called `name`; a DataError listing the known names otherwise."""
    if name not in RELEASES:
        raise DataError(f"unknown MovieLens dataset {name!r}; known: {', '.join(RELEASES)}")
    return RELEASES[name]


def terms_text(name: str) -> str:
    """A faithful summary of GroupLens' usage license for `name` (its README holds the full text)."""
    release = get_release(name)
    return "\n".join([
        f"MovieLens {name} is provided by GroupLens Research (University of Minnesota) under its usage license:",
        "  - it may be used for research purposes;",
        "  - you may not state or imply any endorsement from the University of Minnesota or GroupLens;",
        "  - you must acknowledge the data set in publications that result from using it, citing:",
        f"    {CITATION}",
        f"  - {release.redistribution};",
        "  - you may not use it for commercial or revenue-bearing purposes without first obtaining permission",
        "    from a faculty member of the GroupLens Research Project;",
        "  - neither the University nor the researchers guarantee its correctness, its suitability for any",
        "    purpose or the validity of results based on it; it comes without warranty of any kind.",
        f"The full license is in the README of the downloaded folder ({release.zip_folder}).",
    ])


def zip_url(name: str, base_url: str | None = None) -> str:
    """Where `name`'s zip is downloaded from: `base_url`, else $COLLAB_MOVIELENS_URL, else GroupLens."""
    base = base_url or settings.get("COLLAB_MOVIELENS_URL")
    if not re.match(r"^https?://[^/\s]+", base):
        raise DataError(f"base URL {base!r}: expected an http:// or https:// address")
    return f"{base.rstrip('/')}/{get_release(name).name}.zip"


def data_dir(folder: str | Path | None = None) -> Path:
    """The data folder: `folder` if given, else $COLLAB_DATA_DIR (default ~/.cache/collab-explorer/datasets)."""
    return Path(folder).expanduser() if folder else settings.get("COLLAB_DATA_DIR")


# ---------------------------------------------------------------------- progress, result, cancel
@dataclass(frozen=True)
class FetchProgress:
    """Where a fetch stands, passed to the progress callback several times a second at most."""

    name: str
    phase: str  # 'waiting' (for another fetch of the same set), 'downloading', 'verifying', 'unzipping', 'done'
    done: int  # bytes handled so far in this phase (for a resumed download: including the part kept)
    total: int | None  # bytes this phase will handle, when known
    rate: float | None  # bytes per second in this phase, over this call
    eta: float | None  # seconds left in this phase, when total and rate are known

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None

    def describe(self) -> str:
        """One line: 'downloading ml-25m.zip: 120.3 of 250.0 MB (48%), 10.2 MB/s, 13 s left'."""
        if self.phase == "waiting":
            return f"{self.name}: waiting for another fetch of the same dataset to finish"
        if self.phase == "done":
            return f"{self.name}: done"
        what = {"downloading": f"downloading {self.name}.zip", "verifying": f"checking {self.name}.zip's MD5",
                "unzipping": f"unzipping {self.name}"}.get(self.phase, self.phase)
        size = f"{self.done / 1e6:,.1f}" + (f" of {self.total / 1e6:,.1f} MB" if self.total else " MB")
        if self.fraction is not None:
            size += f" ({self.fraction:.0%})"
        parts = [f"{what}: {size}"]
        if self.rate:
            parts.append(f"{self.rate / 1e6:,.1f} MB/s")
        if self.eta is not None:
            parts.append(f"{_duration(self.eta)} left")
        return ", ".join(parts)


@dataclass(frozen=True)
class FetchResult:
    """What a fetch did."""

    name: str
    folder: Path  # <data dir>/<name>
    source: str  # the URL or the zip file it came from
    already_present: bool  # nothing was done: the dataset was there (perhaps fetched by a concurrent call)
    downloaded_bytes: int = 0  # bytes transferred by this call
    resumed_from: int = 0  # bytes of an earlier partial download that were kept (0: downloaded from the start)
    md5: str | None = None  # the zip's MD5
    verified: bool = False  # the MD5 matched the .md5 file published beside the zip
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...  # threading.Event fits


ProgressCallback = Callable[[FetchProgress], None]


class _Reporter:
    """Turns byte counts into FetchProgress calls, at most every `interval` seconds (and at each phase's end)."""

    def __init__(self, name: str, callback: ProgressCallback | None, cancel: CancelFlag | None, interval=0.2):
        self.name, self.callback, self.cancel, self.interval = name, callback, cancel, interval
        self.phase, self.total, self.start_done, self.started, self.last = "", None, 0, 0.0, 0.0

    def begin(self, phase: str, total: int | None, done: int = 0) -> None:
        self.phase, self.total, self.start_done = phase, total, done
        self.started = self.last = time.monotonic()
        self.report(done, force=True)

    def finish(self) -> None:
        """The 'done' report: no cancel check, since what was asked for is done."""
        if self.callback is not None:
            self.callback(FetchProgress(self.name, "done", 0, None, None, None))

    def report(self, done: int, force: bool = False) -> None:
        """Report `done` bytes; raise FetchCancelled if the cancel flag is set."""
        if self.cancel is not None and self.cancel.is_set():
            raise FetchCancelled(f"fetching {self.name} was cancelled while {self.phase}")
        now = time.monotonic()
        if self.callback is None or (not force and now - self.last < self.interval):
            return
        self.last = now
        elapsed = now - self.started
        rate = (done - self.start_done) / elapsed if elapsed > 0.05 and done > self.start_done else None
        eta = (self.total - done) / rate if rate and self.total else None
        self.callback(FetchProgress(self.name, self.phase, done, self.total, rate, eta))


# ---------------------------------------------------------------------- fetch
def fetch(name: str, *, accept_terms: bool, folder: str | Path | None = None, base_url: str | None = None,
          zip_path: str | Path | None = None, progress: ProgressCallback | None = None,
          cancel: CancelFlag | None = None, retries: int = 2, timeout: float = 30.0) -> FetchResult:
    """Put MovieLens `name` into `<data dir>/<name>/`, downloading it unless it is there already.

    `accept_terms` must be True: the caller has shown `terms_text(name)` and the user accepted it.
    `zip_path`: a zip downloaded by hand instead of the download (a zip saved as `<data dir>/<name>.zip`
    is used the same way). `progress` receives FetchProgress; setting `cancel` stops the fetch with
    FetchCancelled, keeping a partial download for the next call. An interrupted transfer is resumed up to
    `retries` times within this call. Raises FetchError (a DataError) for every failure.
    """
    release = get_release(name)
    if not accept_terms:
        raise FetchError("terms", f"{name}: GroupLens' usage terms must be accepted before fetching (see terms_text)",
                         plain=f"Accept GroupLens' usage terms for {name} before downloading it.")
    root = data_dir(folder)
    url = zip_url(name, base_url)
    _make_folder(root)
    started = time.monotonic()
    reporter = _Reporter(name, progress, cancel)
    with _locked(root / f".{name}.lock", reporter):
        result = _fetch_locked(release, root, url, zip_path, reporter, retries, timeout)
    reporter.finish()
    return replace(result, seconds=time.monotonic() - started)


def _fetch_locked(release: Release, root: Path, url: str, zip_path: str | Path | None, reporter: _Reporter,
                  retries: int, timeout: float) -> FetchResult:
    name = release.name
    _remove_leftover_staging(root, name)
    target = root / name
    if is_fetched(target):
        return FetchResult(name, target, str(target), already_present=True)
    if target.exists():
        raise FetchError("exists", f"{target} exists but holds no MovieLens ratings file; move it away and "
                                   f"fetch again",
                         plain=f"The server's data folder already holds a folder called {name} with no MovieLens "
                               f"ratings in it; ask the server's operator to move it away, then download again.")
    dropped = root / f"{name}.zip"  # where the network error message tells the user to save a zip
    if zip_path is None and dropped.is_file():
        zip_path = dropped
    if zip_path is not None:
        return _install_local_zip(release, Path(zip_path), root, reporter)
    return _download_and_install(release, url, root, reporter, retries, timeout)


def _download_and_install(release: Release, url: str, root: Path, reporter: _Reporter, retries: int,
                          timeout: float) -> FetchResult:
    part = root / f"{release.name}.zip.part"
    received, resumed_from = _download_with_retries(url, part, reporter, retries, timeout)
    notes = []
    published = _published_md5(url + ".md5", timeout, notes)
    reporter.begin("verifying", part.stat().st_size)
    digest = _md5_of(part, reporter)
    if published is not None and digest != published:
        part.unlink(missing_ok=True)
        raise FetchError("checksum", f"{url}: the download's MD5 is {digest} but {url}.md5 says {published}; the "
                                     f"download was deleted: fetch again (a mirror may be out of date)",
                         plain=f"The download of {release.name} arrived damaged (its checksum is not the one "
                               f"published beside it) and was deleted; press Download to try again.")
    try:
        _unpack(part, release, root, reporter, source=url, md5=digest, verified=published is not None)
    except FetchError:
        part.unlink(missing_ok=True)  # a corrupt, unsafe or wrong zip cannot be resumed into a good one
        raise
    part.unlink(missing_ok=True)
    return FetchResult(release.name, root / release.name, url, already_present=False, downloaded_bytes=received,
                       resumed_from=resumed_from, md5=digest, verified=published is not None, notes=tuple(notes))


def _install_local_zip(release: Release, zip_path: Path, root: Path, reporter: _Reporter) -> FetchResult:
    if not zip_path.is_file():
        raise FetchError("missing_file", f"{zip_path}: no such file (expected {release.name}.zip as downloaded "
                                         f"from GroupLens)",
                         plain=f"The zip of {release.name} to unpack is missing on the server; press Download to "
                               f"download it.")
    reporter.begin("verifying", zip_path.stat().st_size)
    digest = _md5_of(zip_path, reporter)
    _unpack(zip_path, release, root, reporter, source=str(zip_path), md5=digest, verified=False)
    note = f"unpacked from {zip_path} (kept; delete it if you like); its CRCs were checked, not GroupLens' MD5"
    return FetchResult(release.name, root / release.name, str(zip_path), already_present=False, md5=digest,
                       notes=(note,))


# ---------------------------------------------------------------------- download
class _Interrupted(Exception):
    """The transfer stopped early; what arrived is kept in the .part file."""


def _download_with_retries(url: str, part: Path, reporter: _Reporter, retries: int,
                           timeout: float) -> tuple[int, int]:
    """Download `url` into `part`, resuming after interruptions up to `retries` times.

    Returns (bytes received by this call, bytes of an earlier partial download that were kept)."""
    received, kept_before = 0, None
    for attempt in range(retries + 1):
        try:
            got, start = _download(url, part, reporter, timeout)
            return received + got, start if kept_before is None else kept_before
        except _Interrupted as exc:
            received += exc.args[1]
            kept_before = exc.args[2] if kept_before is None else kept_before
            if attempt == retries:
                kept = part.stat().st_size if part.is_file() else 0
                raise FetchError("interrupted", f"{url}: the download stopped after {kept / 1e6:,.1f} MB "
                                                f"({exc.args[0]}); the part is kept in {part}: run the same "
                                                f"fetch again to resume",
                                 plain=f"The download of {_dataset_of(url)} stopped after {kept / 1e6:,.1f} MB "
                                       f"({exc.args[0]}); what arrived is kept: press Download again to "
                                       f"resume.") from None
            time.sleep(min(2.0, 0.2 * 2**attempt))
    raise AssertionError("unreachable")


def _download(url: str, part: Path, reporter: _Reporter, timeout: float) -> tuple[int, int]:
    """One request: append to `part` (Range) or write it from the start.

    Returns (bytes received, offset it started at: what was kept of an earlier download). An early end
    raises _Interrupted(reason, bytes received, offset)."""
    start = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={start}-"} if start else {})}
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        if exc.code == 416 and start:  # nothing left to send: complete if the server's size is ours
            if _range_total(exc.headers.get("Content-Range")) == start:
                return 0, start
            part.unlink()
            return _download(url, part, reporter, timeout)
        raise _http_error(url, exc) from None
    except (URLError, OSError, HTTPException) as exc:
        raise _network_error(url, part.parent, exc, kept=start) from None
    with response:
        if start and response.status == 206 and _range_start(response.headers.get("Content-Range")) != start:
            part.unlink()  # the next attempt starts from scratch
            offset = response.headers.get("Content-Range")
            raise _Interrupted(f"the server resumed at the wrong offset ({offset})", 0, 0)
        if start and response.status != 206:  # the server ignored Range: its 200 sends the whole file again
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        if total is not None:
            _require_space(part.parent, total - start, f"downloading {url}", _dataset_of(url))
        return _stream(response, part, start, total, reporter), start


def _stream(response, part: Path, start: int, total: int | None, reporter: _Reporter) -> int:
    reporter.begin("downloading", total, start)
    received = 0
    with part.open("r+b" if start else "wb") as handle:
        handle.seek(start)
        handle.truncate()
        while True:
            try:
                chunk = response.read(CHUNK)
            except (OSError, ValueError, HTTPException) as exc:  # reset, timeout, IncompleteRead
                raise _Interrupted(os_reason(exc), received, start) from None
            if not chunk:
                break
            _write_or_fail(handle, chunk, part, delete=True)
            received += len(chunk)
            reporter.report(start + received)
    if total is not None and start + received < total:
        raise _Interrupted(f"the connection closed at {(start + received) / 1e6:,.1f} of {total / 1e6:,.1f} MB",
                           received, start)
    reporter.report(start + received, force=True)
    return received


def _write(handle, data: bytes) -> None:
    """Every byte fetch writes goes through here (the tests make it fail with ENOSPC)."""
    handle.write(data)


def _write_or_fail(handle, data: bytes, path: Path, delete: bool) -> None:
    try:
        _write(handle, data)
    except OSError as exc:
        if delete:
            handle.close()
            path.unlink(missing_ok=True)
        raise _disk_error(path, exc) from None


def _disk_error(path: Path, exc: OSError) -> FetchError:
    name = _dataset_of(path)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return FetchError("disk_full", f"{path}: no space left on the device; free some space in {path.parent} "
                                       f"(or set COLLAB_DATA_DIR to a folder on a larger disk) and fetch again",
                          plain=f"{name} could not be saved: the server's disk is full. Ask the server's operator "
                                f"to free some space, then press Download again.")
    return FetchError("disk", f"{path}: cannot write ({os_reason(exc)})",
                      plain=f"{name} could not be saved on the server ({os_reason(exc)}); ask the server's operator "
                            f"to check its data folder, then press Download again.")


def _require_space(folder: Path, needed: int, doing: str, name: str) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise FetchError("disk_full", f"{folder}: {doing} needs {needed / 1e6:,.0f} MB but only {free / 1e6:,.0f} MB "
                                      f"are free; free some space (or set COLLAB_DATA_DIR elsewhere) and fetch again",
                         plain=f"{name} needs {needed / 1e6:,.0f} MB on the server's disk but only "
                               f"{free / 1e6:,.0f} MB are free; ask the server's operator to free some space, then "
                               f"press Download again.")


def _range_start(content_range: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", content_range or "")
    return int(match.group(1)) if match else None


def _range_total(content_range: str | None) -> int | None:
    match = re.match(r"bytes (?:\d+-\d+|\*)/(\d+)", content_range or "")
    return int(match.group(1)) if match else None


def _dataset_of(where: str | Path) -> str:
    """The dataset a download URL or a file of the data folder belongs to: .../ml-1m.zip(.part) -> 'ml-1m'."""
    return PurePosixPath(str(where)).name.split(".zip")[0]


def _host(url: str) -> str:
    return urlparse(url).netloc or url


def _http_error(url: str, exc: HTTPError) -> FetchError:
    name, host = _dataset_of(url), _host(url)
    if exc.code == 404:
        return FetchError("not_found", f"{url}: not found (HTTP 404); check the dataset name and the base URL "
                                       f"(--base-url or COLLAB_MOVIELENS_URL)",
                          plain=f"{name} could not be downloaded: {host} has no {name}.zip (HTTP 404 not found). "
                                f"The download address may be wrong: ask the server's operator to check it "
                                f"(COLLAB_MOVIELENS_URL).")
    return FetchError("http", f"{url}: the server answered HTTP {exc.code} {exc.reason}; try again later",
                      plain=f"{name} could not be downloaded: {host} answered HTTP {exc.code} {exc.reason}; "
                            f"press Download again later.")


def _network_error(url: str, root: Path, exc: Exception, kept: int = 0) -> FetchError:
    reason = os_reason(exc)
    name = PurePosixPath(url).name
    resume = f" (the {kept / 1e6:,.1f} MB downloaded so far are kept and resumed next time)" if kept else ""
    kept_plain = f" The {kept / 1e6:,.1f} MB downloaded so far are kept." if kept else ""
    return FetchError("network", f"cannot reach {url} ({reason}){resume}. Download {name} yourself (in a "
                                 f"browser or on another machine), then save it as {root / name} and fetch again, "
                                 f"or run `python -m collab_core data fetch {name.removesuffix('.zip')} --zip PATH`",
                      plain=f"{_dataset_of(url)} could not be downloaded: the server running this dashboard "
                            f"cannot reach {_host(url)} ({reason}).{kept_plain} Press Download again later, or "
                            f"ask the server's operator to download {name} from GroupLens and put it in the "
                            f"server's data folder.")


def remote_size(name: str, base_url: str | None = None, timeout: float = 10.0,
                folder: str | Path | None = None) -> int | None:
    """The zip's size from a HEAD request; None when the server does not say. FetchError when it is
    unreachable or the zip is not there (the download would fail the same way)."""
    url = zip_url(name, base_url)
    try:
        with urlopen(Request(url, method="HEAD", headers={"User-Agent": USER_AGENT}), timeout=timeout) as response:
            length = response.headers.get("Content-Length")
    except HTTPError as exc:
        if exc.code == 404:
            raise _http_error(url, exc) from None
        return None  # HEAD not allowed, or the like: the download itself will tell
    except (URLError, OSError) as exc:
        raise _network_error(url, data_dir(folder), exc) from None
    return int(length) if length and length.isdigit() else None


# ---------------------------------------------------------------------- checksum
_MD5_HEX = re.compile(r"\b([0-9a-fA-F]{32})\b")


def parse_md5_file(text: str) -> str | None:
    """The hex digest of an .md5 file: `MD5 (ml-25m.zip) = <hex>` (BSD) or `<hex>  ml-25m.zip` (GNU)."""
    match = _MD5_HEX.search(text)
    return match.group(1).lower() if match else None


def _published_md5(url: str, timeout: float, notes: list[str]) -> str | None:
    try:
        with urlopen(Request(url, headers={"User-Agent": USER_AGENT}), timeout=timeout) as response:
            text = response.read(4096).decode("ascii", errors="replace")
    except HTTPError as exc:
        notes.append(f"no checksum published at {url} (HTTP {exc.code}); the zip's CRCs were checked while unzipping")
        return None
    except (URLError, OSError) as exc:
        notes.append(f"could not read {url} ({getattr(exc, 'reason', exc)}); the zip's CRCs were checked instead")
        return None
    digest = parse_md5_file(text)
    if digest is None:
        notes.append(f"{url} holds no MD5 checksum; the zip's CRCs were checked instead")
    return digest


def _md5_of(path: Path, reporter: _Reporter) -> str:
    digest, done = hashlib.md5(usedforsecurity=False), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            reporter.report(done)
    reporter.report(done, force=True)
    return digest.hexdigest()


# ---------------------------------------------------------------------- unzip
def _unpack(zip_path: Path, release: Release, root: Path, reporter: _Reporter, source: str, md5: str,
            verified: bool) -> None:
    """Unzip `release`'s folder from `zip_path` into `<root>/<name>` through a staging folder."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _corrupt(zip_path, exc) from None
    with archive:
        members = archive.infolist()
        _check_members_safe(members, zip_path)
        prefix = _dataset_prefix(members, release, zip_path)
        chosen = [m for m in members if m.filename.startswith(prefix) and not m.is_dir()]
        _require_space(root, sum(m.file_size for m in chosen), f"unzipping {zip_path.name}", release.name)
        staging = Path(tempfile.mkdtemp(prefix=f".{release.name}.staging-", dir=root))
        try:
            _extract(archive, chosen, prefix, staging, reporter)
            marker = {"name": release.name, "source": source, "md5": md5, "verified": verified,
                      "fetched_at": time.time(), "zip_bytes": zip_path.stat().st_size}
            (staging / MARKER).write_text(json.dumps(marker))
            os.rename(staging, root / release.name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _extract(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], prefix: str, staging: Path,
             reporter: _Reporter) -> None:
    reporter.begin("unzipping", sum(m.file_size for m in members))
    done = 0
    for member in members:
        target = staging / member.filename[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(member) as source, target.open("wb") as handle:
                while chunk := source.read(CHUNK):
                    _write_or_fail(handle, chunk, target, delete=False)
                    done += len(chunk)
                    reporter.report(done)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise _corrupt(Path(archive.filename), exc) from None
    reporter.report(done, force=True)


def _corrupt(zip_path: Path, exc: Exception) -> FetchError:
    return FetchError("corrupt", f"{zip_path}: not a complete, readable zip ({exc}); it was truncated or damaged: "
                                 f"download it again",
                      plain=f"The download of {_dataset_of(zip_path)} is not a complete zip (it was cut short or "
                            f"damaged) and was deleted; press Download to try again.")


def _check_members_safe(members: list[zipfile.ZipInfo], zip_path: Path) -> None:
    """Refuse a zip any of whose members would land outside the folder: absolute paths, '..', symlinks."""
    for member in members:
        name = member.filename.replace("\\", "/")
        path = PurePosixPath(name)
        is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in path.parts or is_link:
            what = "a symbolic link" if is_link else "a path outside the folder"
            raise FetchError("unsafe", f"{zip_path}: member {member.filename!r} is {what}; refusing to unzip it "
                                       f"(a genuine MovieLens zip has none)",
                             plain=f"The download of {_dataset_of(zip_path)} holds {what} ({member.filename!r}), "
                                   f"which no genuine MovieLens zip has; it was not unpacked. Ask the server's "
                                   f"operator to check the download address (COLLAB_MOVIELENS_URL).")


def _dataset_prefix(members: list[zipfile.ZipInfo], release: Release, zip_path: Path) -> str:
    """The folder inside the zip holding the ratings file: the release's own, else the only one that does."""
    names = {m.filename for m in members}
    candidates = [f"{release.zip_folder}/"] + sorted(
        n[: -len(release.ratings_file)] for n in names if n.endswith("/" + release.ratings_file) and n.count("/") == 1)
    candidates += [""] if release.ratings_file in names else []
    for prefix in candidates:
        if prefix + release.ratings_file in names:
            if prefix + release.movies_file not in names:
                raise FetchError("missing_file", f"{zip_path}: holds {prefix}{release.ratings_file} but no "
                                                 f"{prefix}{release.movies_file}; not a complete {release.name} zip",
                                 plain=_not_the_release(release))
            return prefix
    shown = ", ".join(sorted(names)[:6]) or "nothing"
    raise FetchError("missing_file", f"{zip_path}: holds no {release.zip_folder}/{release.ratings_file}; not a "
                                     f"{release.name} zip (it holds {shown})", plain=_not_the_release(release))


def _not_the_release(release: Release) -> str:
    return (f"The download of {release.name} is not the complete {release.name} dataset (its ratings or movies "
            f"file is missing); it was not unpacked. Ask the server's operator to check the download address "
            f"(COLLAB_MOVIELENS_URL).")


# ---------------------------------------------------------------------- the data folder
def is_fetched(folder: Path) -> bool:
    """A dataset folder is there (the rename into place makes it whole) and holds a ratings file."""
    return folder.is_dir() and any((folder / f).is_file() for f in DATASET_MARKERS)


def _make_folder(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError("disk", f"{root}: cannot create the data folder ({os_reason(exc)}); set "
                                 f"COLLAB_DATA_DIR to a folder you can write",
                         plain=_data_folder_unwritable(exc)) from None


@contextmanager
def _locked(lock_path: Path, reporter: _Reporter) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path`: a second fetch of the same set waits here, then finds it done."""
    try:
        handle = lock_path.open("a")
    except OSError as exc:
        raise FetchError("disk", f"{lock_path}: cannot create the lock file ({os_reason(exc)}); set "
                                 f"COLLAB_DATA_DIR to a folder you can write",
                         plain=_data_folder_unwritable(exc)) from None
    with handle:
        locked = fcntl is not None and _wait_for_lock(handle, reporter)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _data_folder_unwritable(exc: OSError) -> str:
    return (f"Nothing can be downloaded: the server's data folder cannot be written ({os_reason(exc)}). Ask the "
            f"server's operator to point COLLAB_DATA_DIR at a folder it can write.")


def _wait_for_lock(handle, reporter: _Reporter) -> bool:
    """Poll for the lock (so a cancel is noticed while waiting). False where the file system has no flock."""
    waiting = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if not waiting:
                reporter.begin("waiting", None)
                waiting = True
            reporter.report(0)  # raises FetchCancelled if cancelled while waiting
            time.sleep(0.1)
        except OSError:  # e.g. ENOLCK on some network file systems: go on unserialised rather than fail
            return False


def _remove_leftover_staging(root: Path, name: str) -> None:
    """Staging folders of a process that died while unzipping (we hold the lock: nobody else is using them)."""
    for path in root.glob(f".{name}.staging-*"):
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class DatasetStatus:
    """One row of `data list`: a known release or a MovieLens folder found in the data folder."""

    name: str
    folder: str
    fetched: bool
    known: bool  # one of RELEASES (otherwise a folder someone put into the data folder)
    bytes_on_disk: int | None = None  # the folder, its parse cache included
    ratings: int | None = None  # sizes known without parsing: from the parse cache, once loaded
    users: int | None = None
    items: int | None = None
    partial_bytes: int = 0  # a kept partial download, resumed by the next fetch
    approx_download_mb: int | None = None
    source: str | None = None  # where fetch got it from
    verified: bool | None = None  # whether its MD5 matched GroupLens' .md5


def list_datasets(folder: str | Path | None = None) -> list[DatasetStatus]:
    """The known releases (fetched or not) and any other MovieLens folder in the data folder."""
    from collab_core.data.cache import cached_summary

    root = data_dir(folder)
    names = list(RELEASES)
    if root.is_dir():
        names += sorted(p.name for p in root.iterdir() if p.name not in RELEASES and not p.name.startswith(".")
                        and is_fetched(p))
    rows = []
    for name in names:
        path, release = root / name, RELEASES.get(name)
        part = root / f"{name}.zip.part"
        row = {"name": name, "folder": str(path), "fetched": is_fetched(path), "known": release is not None,
               "partial_bytes": part.stat().st_size if part.is_file() else 0,
               "approx_download_mb": release.approx_mb if release else None}
        if row["fetched"]:
            row["bytes_on_disk"] = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            row.update({k: v for k, v in (cached_summary(path) or {}).items() if k in ("ratings", "users", "items")})
            row.update(_marker(path))
        rows.append(DatasetStatus(**row))
    return rows


def _marker(folder: Path) -> dict:
    try:
        marker = json.loads((folder / MARKER).read_text())
        return {"source": str(marker["source"]), "verified": bool(marker["verified"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def resolve_dataset(name: str, folder: str | Path | None = None) -> Path | None:
    """The folder of the fetched dataset `name`; None when `name` names no dataset at all.

    A known release that is not fetched raises a DataError saying how to fetch it."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        return None
    root = data_dir(folder)
    path = root / name
    if is_fetched(path):
        return path
    if name not in RELEASES:
        return None
    part = root / f"{name}.zip.part"
    kept = part.stat().st_size if part.is_file() else 0
    resume = f" ({kept / 1e6:,.1f} MB of it are downloaded and will be resumed)" if kept else ""
    raise DataError(f"{name} is not fetched yet{resume}: run `python -m collab_core data fetch {name}` (about "
                    f"{RELEASES[name].approx_mb} MB from GroupLens) or fetch it on the Data page; it is looked for "
                    f"in {root}")


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
