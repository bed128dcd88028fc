"""RunStore: trained (and imported) runs on disk, one folder each, in a runs directory ($COLLAB_RUNS_DIR,
default ./runs).

A run folder holds
  run.json              format version, config, metrics, loss history, dataset name, creation time, and the
                        rating values of the data (its rating scale)
  vocab.json            raw user/item ids, item titles, years and genres
  weights.safetensors   the network's state_dict (an imported run: its VectorsOnly tables)
  stats.safetensors     per-user/per-item rating counts and means
Nothing is ever pickled or unpickled: tensors go through safetensors, everything else through JSON, so a
planted file cannot run code when a run is loaded.

Writes are atomic: a run is written into a hidden temporary folder and renamed into place in one step,
so a crash mid-save leaves either no run or the complete run, never half of one. Run ids are plain names
(letters, digits, '.', '_', '-'); anything that could leave the runs directory is refused.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import secrets
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from collab_core import settings
from collab_core.data.catalog import ItemCatalog, Vocab
from collab_core.errors import RunStoreError
from collab_core.model.kinds import DEFAULT_KIND
from collab_core.model.trained import TrainedModel
from collab_core.runs.ids import RUN_ID_PATTERN, valid_run_id
from collab_core.runs.owners import HOST_OWNER, valid_owner
from collab_core.runs.schema import (
    FORMAT_VERSION,
    RunMeta,
    build_network,
    check_headers,
    check_meta,
    check_name,
    check_values,
    check_vocab,
)

__all__ = ["FORMAT_VERSION", "RunInfo", "RunStore", "choose_default", "default_runs_dir", "valid_run_id"]

PIN_FILE = ".default-run.json"  # hidden: never listed as a run
SHARING_FILE = ".sharing.json"  # the host's choice whether visitors see each other's runs
MIN_FREE_BYTES = 50 * 1024 * 1024  # refuse to start a training whose run could not be written
RUN_FILES = ("run.json", "vocab.json", "weights.safetensors", "stats.safetensors")


def default_runs_dir() -> Path:
    return settings.get("COLLAB_RUNS_DIR")


@dataclass(frozen=True)
class RunInfo:
    """One entry of the run list: readable runs carry their summary, unreadable ones the reason."""

    run_id: str
    ok: bool
    reason: str = ""  # why the run cannot be read, when not ok
    created: str = ""
    model: str = ""  # 'dot', 'dot_bias', 'nn', or 'imported' (then config is None)
    dataset: str = ""
    config: dict | None = None
    metrics: dict | None = None
    name: str = ""  # the person's name for the run, if any
    owner: str = HOST_OWNER  # whose run it is (collab_core.runs.owners)


class RunStore:
    """Save, list, load and delete trained runs in one directory."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_runs_dir()

    # ------------------------------------------------------------------ paths
    def path(self, run_id: str) -> Path:
        """The folder of `run_id`, after checking that the id is a plain name inside the store."""
        if not valid_run_id(run_id):
            raise RunStoreError(f"invalid run id {run_id!r}: use letters, digits, '.', '_' and '-' only "
                                f"(at most 128 characters, no '..')")
        path = self.root / run_id
        if path.is_symlink():
            raise RunStoreError(f"run {run_id!r} is a symbolic link; runs must be real folders in {self.root}")
        return path

    def new_run_id(self, model: str) -> str:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return f"{stamp}-{model}-{secrets.token_hex(2)}"

    # ------------------------------------------------------------------ save
    def save(self, trained: TrainedModel, run_id: str | None = None, name: str = "", owner: str = HOST_OWNER) -> str:
        """Write the run atomically and return its id. An existing run is never overwritten. `owner`: whose run it
        is (collab_core.runs.owners).

        The runs folder is checked first (`check_writable`); any OS error while writing (disk full,
        permissions) becomes a RunStoreError saying why, and leaves no half run behind."""
        run_id = run_id or self.new_run_id(trained.model_kind)
        if not valid_owner(owner):
            raise RunStoreError(f"invalid owner {owner!r} for run {run_id!r}")
        final = self.path(run_id)
        if final.exists():
            raise RunStoreError(f"run {run_id!r} already exists in {self.root}")
        self.check_writable()
        self.root.mkdir(parents=True, exist_ok=True)
        self._sweep_stale()
        staging = self.root / f".tmp-{run_id}-{secrets.token_hex(4)}"
        try:
            staging.mkdir()
            self._write(staging, trained, run_id, check_name(name), owner)
            _fsync_dir(staging)
            os.rename(staging, final)  # atomic on one filesystem: the run appears whole or not at all
            _fsync_dir(self.root)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, (OSError, SafetensorError)):  # disk full, permissions: safetensors wraps them
                raise RunStoreError(f"could not save run {run_id!r} in {self.root}: {_os_reason(exc)}; "
                                    f"nothing was saved") from None
            raise
        return run_id

    @staticmethod
    def _write(folder: Path, trained: TrainedModel, run_id: str, name: str, owner: str) -> None:
        meta = RunMeta(run_id=run_id, created=trained.created, dataset=trained.dataset, name=name,
                       config=trained.config, metrics=trained.metrics, history=trained.history,
                       n_users=trained.n_users, n_items=trained.n_items, imported=trained.source,
                       rating_scale=trained.recorded_scale, owner=owner)
        _write_json(folder / "run.json", meta.to_json())
        items = trained.catalog.items
        _write_json(folder / "vocab.json", {
            "user_ids": [str(u) for u in trained.users.ids],
            "item_ids": [str(i) for i in trained.catalog.vocab.ids],
            "titles": [str(t) for t in items["title"]],
            "years": [None if pd.isna(y) else int(y) for y in items["year"]],
            "genres": [list(g) for g in items["genres"]],
        })
        state = {k: v.detach().cpu().contiguous() for k, v in trained.model.state_dict().items()}
        save_file(state, str(folder / "weights.safetensors"))
        save_file({
            "user_counts": torch.from_numpy(np.asarray(trained.user_counts, dtype=np.int64)),
            "user_means": torch.from_numpy(np.asarray(trained.user_means, dtype=np.float64)),
            "item_counts": torch.from_numpy(np.asarray(trained.catalog.counts, dtype=np.int64)),
            "item_means": torch.from_numpy(np.asarray(trained.catalog.means, dtype=np.float64)),
        }, str(folder / "stats.safetensors"))

    def check_writable(self) -> None:
        """Raise RunStoreError unless runs can be saved here: called before training, so that hours of work
        are never lost to a runs folder that is a file, is read-only, or sits on a full disk."""
        if self.root.exists() and not self.root.is_dir():
            raise RunStoreError(f"the runs folder {self.root} is a file, not a folder; choose another --runs-dir "
                                f"(or COLLAB_RUNS_DIR)")
        created = [p for p in (self.root, *self.root.parents) if not p.exists()]  # deepest first
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{secrets.token_hex(4)}"
            probe.write_bytes(b"x" * 4096)
            probe.unlink()
            free = shutil.disk_usage(self.root).free
        except OSError as exc:
            raise RunStoreError(f"runs cannot be saved in {self.root}: {_os_reason(exc)}; choose another "
                                f"--runs-dir (or COLLAB_RUNS_DIR)") from None
        finally:
            for folder in created:  # a check leaves nothing behind; save() creates the folder when it writes
                try:
                    folder.rmdir()
                except OSError:
                    break
        if free < MIN_FREE_BYTES:
            raise RunStoreError(f"runs cannot be saved in {self.root}: only {free / 1e6:.1f} MB free on its disk "
                                f"(at least {MIN_FREE_BYTES / 1e6:.0f} MB needed); free some space")

    def rename(self, run_id: str, name: str) -> None:
        """Give a run a display name (run.json is rewritten atomically; the id and files stay)."""
        folder = self.path(run_id)
        meta = check_meta(_read_json(folder / "run.json"), run_id)
        updated = replace(meta, name=check_name(name))
        _replace_json(folder / "run.json", updated.to_json(), f"rename run {run_id!r}")
        try:
            os.utime(self.root)  # listings are cached on the runs folder's time stamp
        except OSError as exc:
            raise RunStoreError(f"could not rename run {run_id!r}: {_os_reason(exc)}") from None

    def _sweep_stale(self, older_than_s: float = 3600.0) -> None:
        """Remove staging/deletion folders that a killed process left behind (never a real run)."""
        now = time.time()
        for entry in self.root.iterdir():
            leftover = entry.name.startswith((".tmp-", ".del-")) and entry.is_dir() and not entry.is_symlink()
            if leftover and now - entry.stat().st_mtime > older_than_s:
                shutil.rmtree(entry, ignore_errors=True)

    # ------------------------------------------------------------------ list / load / delete
    def list(self) -> list[RunInfo]:
        """Every run folder, newest first. Each is checked (run.json field by field, the tensor headers against
        its vocabulary sizes); one that fails is listed as unreadable with the reason, never raised."""
        if not self.root.is_dir():
            return []
        infos = []
        for entry in self.root.iterdir():
            if entry.name.startswith(".") or not entry.is_dir() or entry.is_symlink():
                continue
            if not RUN_ID_PATTERN.match(entry.name):
                continue
            infos.append(self._info(entry))
        return sorted(infos, key=lambda info: (info.created, info.run_id), reverse=True)

    def _info(self, folder: Path) -> RunInfo:
        try:
            meta = self._checked_meta(folder)
            check_headers(folder, meta)
        except RunStoreError as exc:
            return RunInfo(folder.name, ok=False, reason=str(exc), created=_mtime_text(folder))
        return RunInfo(folder.name, True, created=meta.created, model=meta.model, dataset=meta.dataset,
                       config=None if meta.config is None else meta.config.to_dict(), metrics=meta.metrics,
                       name=meta.name, owner=meta.owner)

    def _checked_meta(self, folder: Path) -> RunMeta:
        missing = [name for name in RUN_FILES if not (folder / name).is_file()]
        if missing:
            raise RunStoreError(f"run {folder.name!r} is incomplete: missing {', '.join(missing)}")
        return check_meta(_read_json(folder / "run.json"), folder.name)

    def exists(self, run_id: str) -> bool:
        try:
            return self.path(run_id).is_dir()
        except RunStoreError:
            return False

    def load(self, run_id: str) -> TrainedModel:
        """The trained model of `run_id`, checked in full (see run_schema). Raises RunStoreError with the reason."""
        folder = self.path(run_id)
        if not folder.is_dir():
            raise RunStoreError(f"no run {run_id!r} in {self.root}")
        meta = self._checked_meta(folder)
        check_headers(folder, meta)
        vocab = check_vocab(_read_json(folder / "vocab.json"), meta)
        try:
            stats = load_file(str(folder / "stats.safetensors"))
            state = load_file(str(folder / "weights.safetensors"))
        except Exception as exc:  # safetensors' own error type for a damaged body
            raise RunStoreError(f"run {run_id!r} is unreadable: {type(exc).__name__}: {str(exc)[:300]}") from None
        check_values(state, stats, run_id, imported=meta.imported is not None)
        model = build_network(meta)
        model.load_state_dict(state, strict=True)  # names and shapes were checked against the same rule
        items = pd.DataFrame({"title": vocab["titles"], "year": pd.array(vocab["years"], dtype="Int64"),
                              "genres": vocab["genres"]})
        item_ids = np.array(vocab["item_ids"], dtype=object)
        catalog = ItemCatalog(Vocab(item_ids, "item"), items, stats["item_counts"].numpy(), stats["item_means"].numpy())
        return TrainedModel(model.eval(), meta.config, Vocab(np.array(vocab["user_ids"], dtype=object), "user"),
                            stats["user_counts"].numpy(), stats["user_means"].numpy(), catalog, meta.metrics,
                            meta.history, meta.dataset, meta.created, name=meta.name, source=meta.imported,
                            recorded_scale=meta.rating_scale)

    # ------------------------------------------------------------------ the default run
    def pinned(self) -> str | None:
        """The run pinned as the default for new visitors (see choose_default), if any."""
        try:
            value = json.loads((self.root / PIN_FILE).read_text(encoding="utf-8")).get("run_id")
        except (OSError, ValueError, AttributeError):
            return None
        return value if valid_run_id(value) else None

    def pin(self, run_id: str | None) -> None:
        """Pin `run_id` as the default run (None: unpin). Written atomically."""
        path = self.root / PIN_FILE
        if run_id is None:
            path.unlink(missing_ok=True)
            return
        self.path(run_id)  # a valid id
        _replace_json(path, {"run_id": run_id}, f"pin run {run_id!r}")

    # ------------------------------------------------------------------ what visitors see
    def visitor_runs_shared(self) -> bool:
        """Whether visitors see each other's runs (the host's choice; yes unless the host said no)."""
        try:
            value = json.loads((self.root / SHARING_FILE).read_text(encoding="utf-8")).get("visitor_runs_shared")
        except (OSError, ValueError, AttributeError):
            return True
        return value is not False

    def share_visitor_runs(self, shared: bool) -> None:
        """Record the host's choice (written atomically)."""
        self.root.mkdir(parents=True, exist_ok=True)
        _replace_json(self.root / SHARING_FILE, {"visitor_runs_shared": bool(shared)},
                      "record whether visitors see each other's runs")

    def delete(self, run_id: str) -> None:
        """Remove a run folder, readable or not."""
        folder = self.path(run_id)
        if not folder.is_dir():
            raise RunStoreError(f"no run {run_id!r} in {self.root}")
        # Rename first so a crash mid-delete never leaves a half run under its real name.
        doomed = self.root / f".del-{run_id}-{secrets.token_hex(4)}"
        try:
            os.rename(folder, doomed)
        except OSError as exc:
            raise RunStoreError(f"could not delete run {run_id!r}: {_os_reason(exc)}") from None
        shutil.rmtree(doomed, ignore_errors=True)


def choose_default(infos: list[RunInfo], configured: str | None, pinned: str | None,
                   builtin_dataset: str = "MovieLens 100K (built-in)") -> str | None:
    """The run a new visitor sees first: the one an operator configured (COLLAB_DEFAULT_RUN), else the one pinned
    in the run history, else the most accurate model with biases on the built-in data (so that the landing page
    shows a bias ranking, not a 20-item upload or an MLP), else the newest readable run."""
    readable = [info for info in infos if info.ok]
    ids = {info.run_id for info in readable}
    for wanted in (configured, pinned):
        if wanted in ids:
            return wanted
    builtin = [info for info in readable if info.dataset == builtin_dataset and info.model == DEFAULT_KIND.name
               and (info.metrics or {}).get("rmse") is not None]
    if builtin:
        return min(builtin, key=lambda info: info.metrics["rmse"]).run_id
    return readable[0].run_id if readable else None


def _os_reason(exc: Exception) -> str:
    """'No space left on device' rather than a traceback; errno's text when the OS gives one."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.split(" at path ")[0]  # safetensors appends its temporary file's path


def _mtime_text(folder: Path) -> str:
    try:
        return dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.UTC).isoformat(timespec="seconds")
    except OSError:
        return ""


def _replace_json(path: Path, value, what: str) -> None:
    """Write `value` as JSON over `path` in one step (a hidden temporary file beside it, renamed over it), so a
    reader never sees half a file; RunStoreError saying that `what` failed, and why, when the OS refuses."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}"
    try:
        _write_json(tmp, value)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunStoreError(f"could not {what}: {_os_reason(exc)}") from None


def _write_json(path: Path, value) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(_finite_or_null(value), handle, indent=1, default=_json_default, allow_nan=False)
        handle.flush()
        os.fsync(handle.fileno())


def _finite_or_null(value):
    """NaN and infinity are not JSON: a metric that could not be computed is stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (tuple, np.ndarray)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def _read_json(path: Path) -> dict:
    try:
        with path.open("r", encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunStoreError(f"run {path.parent.name!r}: {path.name} is unreadable ({exc})") from None
    if not isinstance(value, dict):
        raise RunStoreError(f"run {path.parent.name!r}: {path.name} does not hold a JSON object")
    return value


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
