"""RunStore: trained runs on disk, one folder each, in a runs directory ($COLLAB_RUNS_DIR, default ./runs).

A run folder holds
  run.json              format version, config, metrics, loss history, dataset name, creation time
  vocab.json            raw user/item ids, item titles, years and genres
  weights.safetensors   the network's state_dict
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
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from .catalog import ItemCatalog, Vocab
from .config import TrainConfig
from .errors import CollabError, RunStoreError
from .models import build_model_for
from .trained import TrainedModel

FORMAT_VERSION = 1
RUN_FILES = ("run.json", "vocab.json", "weights.safetensors", "stats.safetensors")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def default_runs_dir() -> Path:
    from . import settings

    return settings.get("COLLAB_RUNS_DIR")


def valid_run_id(run_id) -> bool:
    """A plain name: letters, digits, '.', '_' and '-', at most 128 characters, never '..'."""
    return isinstance(run_id, str) and bool(_RUN_ID.match(run_id)) and ".." not in run_id


@dataclass(frozen=True)
class RunInfo:
    """One entry of the run list: readable runs carry their summary, unreadable ones the reason."""

    run_id: str
    ok: bool
    reason: str = ""  # why the run cannot be read, when not ok
    created: str = ""
    model: str = ""
    dataset: str = ""
    config: dict | None = None
    metrics: dict | None = None


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
    def save(self, trained: TrainedModel, run_id: str | None = None) -> str:
        """Write the run atomically and return its id. An existing run is never overwritten."""
        run_id = run_id or self.new_run_id(trained.config.model)
        final = self.path(run_id)
        if final.exists():
            raise RunStoreError(f"run {run_id!r} already exists in {self.root}")
        self.root.mkdir(parents=True, exist_ok=True)
        self._sweep_stale()
        staging = self.root / f".tmp-{run_id}-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            _write_json(staging / "run.json", {
                "format_version": FORMAT_VERSION,
                "run_id": run_id,
                "created": trained.created,
                "dataset": trained.dataset,
                "config": trained.config.to_dict(),
                "metrics": trained.metrics,
                "history": trained.history,
                "n_users": trained.n_users,
                "n_items": trained.n_items,
            })
            items = trained.catalog.items
            _write_json(staging / "vocab.json", {
                "user_ids": [str(u) for u in trained.users.ids],
                "item_ids": [str(i) for i in trained.catalog.vocab.ids],
                "titles": [str(t) for t in items["title"]],
                "years": [None if pd.isna(y) else int(y) for y in items["year"]],
                "genres": [list(g) for g in items["genres"]],
            })
            state = {k: v.detach().cpu().contiguous() for k, v in trained.model.state_dict().items()}
            save_file(state, str(staging / "weights.safetensors"))
            save_file({
                "user_counts": torch.from_numpy(np.asarray(trained.user_counts, dtype=np.int64)),
                "user_means": torch.from_numpy(np.asarray(trained.user_means, dtype=np.float64)),
                "item_counts": torch.from_numpy(np.asarray(trained.catalog.counts, dtype=np.int64)),
                "item_means": torch.from_numpy(np.asarray(trained.catalog.means, dtype=np.float64)),
            }, str(staging / "stats.safetensors"))
            _fsync_dir(staging)
            os.rename(staging, final)  # atomic on one filesystem: the run appears whole or not at all
            _fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return run_id

    def _sweep_stale(self, older_than_s: float = 3600.0) -> None:
        """Remove staging/deletion folders that a killed process left behind (never a real run)."""
        now = time.time()
        for entry in self.root.iterdir():
            if entry.name.startswith((".tmp-", ".del-")) and entry.is_dir() and not entry.is_symlink():
                if now - entry.stat().st_mtime > older_than_s:
                    shutil.rmtree(entry, ignore_errors=True)

    # ------------------------------------------------------------------ list / load / delete
    def list(self) -> list[RunInfo]:
        """Every run folder, newest first; unreadable ones are listed with the reason instead of raising."""
        if not self.root.is_dir():
            return []
        infos = []
        for entry in self.root.iterdir():
            if entry.name.startswith(".") or not entry.is_dir() or entry.is_symlink():
                continue
            if not _RUN_ID.match(entry.name):
                continue
            infos.append(self._info(entry))
        return sorted(infos, key=lambda info: (info.created, info.run_id), reverse=True)

    def _info(self, folder: Path) -> RunInfo:
        try:
            meta = self._read_meta(folder)
        except RunStoreError as exc:
            return RunInfo(folder.name, ok=False, reason=str(exc))
        return RunInfo(folder.name, True, created=meta.get("created", ""), model=meta["config"].get("model", ""),
                       dataset=meta.get("dataset", ""), config=meta["config"], metrics=meta.get("metrics", {}))

    def _read_meta(self, folder: Path) -> dict:
        missing = [name for name in RUN_FILES if not (folder / name).is_file()]
        if missing:
            raise RunStoreError(f"run {folder.name!r} is incomplete: missing {', '.join(missing)}")
        meta = _read_json(folder / "run.json")
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise RunStoreError(f"run {folder.name!r} has format version {version!r}; this version reads "
                                f"{FORMAT_VERSION}. Retrain it")
        if not isinstance(meta.get("config"), dict):
            raise RunStoreError(f"run {folder.name!r}: run.json has no config")
        return meta

    def exists(self, run_id: str) -> bool:
        try:
            return self.path(run_id).is_dir()
        except RunStoreError:
            return False

    def load(self, run_id: str) -> TrainedModel:
        """The trained model of `run_id`. Any problem with its files raises RunStoreError with the reason."""
        folder = self.path(run_id)
        if not folder.is_dir():
            raise RunStoreError(f"no run {run_id!r} in {self.root}")
        meta = self._read_meta(folder)
        vocab = _read_json(folder / "vocab.json")
        try:
            config = TrainConfig.from_dict(meta["config"])
            user_ids = np.array(vocab["user_ids"], dtype=object)
            item_ids = np.array(vocab["item_ids"], dtype=object)
            items = pd.DataFrame({"title": vocab["titles"], "year": pd.array(vocab["years"], dtype="Int64"),
                                  "genres": vocab["genres"]})
            stats = load_file(str(folder / "stats.safetensors"))
            state = load_file(str(folder / "weights.safetensors"))
            model = build_model_for(config, len(user_ids), len(item_ids))
            model.load_state_dict(state, strict=True)
        except CollabError as exc:
            raise RunStoreError(f"run {run_id!r}: {exc}") from None
        except Exception as exc:  # a damaged file: KeyError, shape RuntimeError, safetensors' own error type
            raise RunStoreError(f"run {run_id!r} is unreadable: {type(exc).__name__}: {str(exc)[:300]}") from None
        catalog = ItemCatalog(Vocab(item_ids, "item"), items, stats["item_counts"].numpy(), stats["item_means"].numpy())
        return TrainedModel(model.eval(), config, Vocab(user_ids, "user"), stats["user_counts"].numpy(),
                            stats["user_means"].numpy(), catalog, meta.get("metrics", {}), meta.get("history", []),
                            meta.get("dataset", ""), meta.get("created", ""))

    def delete(self, run_id: str) -> None:
        """Remove a run folder, readable or not."""
        folder = self.path(run_id)
        if not folder.is_dir():
            raise RunStoreError(f"no run {run_id!r} in {self.root}")
        # Rename first so a crash mid-delete never leaves a half run under its real name.
        doomed = self.root / f".del-{run_id}-{secrets.token_hex(4)}"
        os.rename(folder, doomed)
        shutil.rmtree(doomed, ignore_errors=True)


def _write_json(path: Path, value) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1, default=_json_default, allow_nan=True)
        handle.flush()
        os.fsync(handle.fileno())


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
