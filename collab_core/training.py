"""Training: fit(), lr_find(), device choice (the settings live in config.py).

Speed comes from keeping the whole rating set as three tensors on the training device and slicing
shuffled batches out of them: no DataLoader, no per-batch Python collation. On a 2-core CPU the default
EmbeddingDotBias trains on MovieLens 100K in about a second (see `python -m collab_core bench`).

Accuracy comes from the lesson's recipe plus one measured change: one-cycle AdamW, but with weight decay
split between the factors (strong) and the biases and MLP layers (weak): a bias is one number per
user/item that the data pins down well, while a rarely-rated item's factors overfit first.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from .baselines import bias_baseline_rmse, global_mean_rmse
from .config import TrainConfig
from .errors import ConfigError, DataError, DeviceError, TrainingCancelled, TrainingDivergedError
from .memory import check_fits
from .models import build_model
from .ratings import Ratings, Split
from .trained import TrainedModel

EVAL_CHUNK = 1 << 16  # rows per forward pass when scoring a whole set


# ---------------------------------------------------------------------- warm-up
_warmed_up = False


def warm_up() -> None:
    """Pay torch's lazy one-off costs now: the first optimizer imports torch._dynamo (about 1 s).

    Measured: that import takes 1.1 s alone but 71 s in a thread while two other Python threads are busy
    (each small file read hands the GIL away and waits to get it back). A server must therefore call this
    at start-up, before its threads get busy, not let the first training job pay it."""
    global _warmed_up
    if _warmed_up:
        return
    model = build_model("dot_bias", 2, 2, 2, (0.0, 1.0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = model(torch.tensor([0, 1]), torch.tensor([1, 0])).sum()
    loss.backward()
    optimizer.step()
    _warmed_up = True


# ---------------------------------------------------------------------- devices
def cuda_summary() -> dict:
    """Whether CUDA is usable here and which GPU(s): shown in the UI and recorded by benchmarks."""
    available = torch.cuda.is_available()
    return {
        "cuda_available": available,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if available else [],
        "torch": torch.__version__,
        "torch_cuda_build": torch.version.cuda,
        "cpu_threads": torch.get_num_threads(),
    }


def resolve_device(preference: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU. Asking for CUDA where there is none is an error."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
            raise ConfigError(f"device {preference!r} asked for, but no CUDA GPU is available (torch "
                              f"{torch.__version__}, {build}); use device 'cpu' or 'auto'")
        index = int(preference.split(":")[1]) if ":" in preference else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {preference!r}: only {torch.cuda.device_count()} GPU(s) present")
    return torch.device(preference)


# ---------------------------------------------------------------------- progress reporting
@dataclass(frozen=True)
class Progress:
    """What a callback sees, every `progress_every` batches ('batch') and after each epoch ('epoch')."""

    kind: str  # 'batch' or 'epoch'
    epoch: int  # 1-based epoch in progress (or just finished)
    epochs: int
    step: int  # optimiser steps done so far
    total_steps: int
    train_loss: float  # mean MSE: over the batches since the last report ('batch'), over the epoch ('epoch')
    valid_rmse: float | None  # after each epoch; None on batch reports
    valid_mse: float | None
    lr: float  # learning rate of the last step
    elapsed: float  # seconds since training started

    @property
    def fraction(self) -> float:
        return self.step / max(1, self.total_steps)


ProgressCallback = Callable[[Progress], None]


@dataclass
class _Tensors:
    """The ratings on the training device. Shapes: (n_ratings,)."""

    users: torch.Tensor  # int64
    items: torch.Tensor  # int64
    ratings: torch.Tensor  # float32


def _to_device(ratings: Ratings, device: torch.device) -> _Tensors:
    # torch.tensor copies: the numpy arrays may be read-only views owned by pandas
    return _Tensors(torch.tensor(ratings.user_index, device=device),
                    torch.tensor(ratings.item_index, device=device),
                    torch.tensor(ratings.rating, device=device))


@torch.no_grad()
def predict_rows(model: nn.Module, data: _Tensors, rows: torch.Tensor) -> torch.Tensor:
    """Predictions for the given rows, (len(rows),), computed in chunks to bound memory."""
    model.eval()
    out = [model(data.users[chunk], data.items[chunk]) for chunk in rows.split(EVAL_CHUNK)]
    return torch.cat(out) if out else torch.empty(0, device=rows.device)


@torch.no_grad()
def _mse(model: nn.Module, data: _Tensors, rows: torch.Tensor) -> float:
    if len(rows) == 0:
        return float("nan")
    predictions = predict_rows(model, data, rows)
    return float(((predictions - data.ratings[rows]) ** 2).mean())


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Two parameter groups: the embedding factors get `weight_decay`; biases and MLP layers, which the
    data pins down far better than a rarely-rated item's factors, get the weak `bias_weight_decay`."""
    factor_names = ("user_factors.weight", "item_factors.weight")
    factors = [p for name, p in model.named_parameters() if name in factor_names]
    others = [p for name, p in model.named_parameters() if name not in factor_names]
    groups = [{"params": factors, "weight_decay": config.weight_decay}]
    if others:
        groups.append({"params": others, "weight_decay": config.bias_weight_decay})
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.99))
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr, betas=(0.9, 0.99))
    return torch.optim.SGD(groups, lr=config.lr, momentum=0.9)


def _check_data(ratings: Ratings, split: Split, config: TrainConfig):
    if len(split.train) == 0:
        raise ConfigError("the training split holds no ratings")
    if ratings.n_users < 2 or ratings.n_items < 2:
        raise DataError(f"{ratings.n_users} user(s) and {ratings.n_items} item(s): collaborative filtering needs at "
                        f"least 2 users and 2 items")
    low, high = ratings.rating_range
    if config.model != "dot" and (low < config.y_range[0] or high > config.y_range[1]):
        raise ConfigError(
            f"y_range {tuple(config.y_range)} does not cover the ratings, which run from {low:g} to {high:g}; "
            f"a sigmoid output can never reach them. Use e.g. {ratings.suggested_y_range()}")


def _set_up(ratings: Ratings, split: Split, config: TrainConfig):
    """What fit() and lr_find() both start from: checked settings, device, seeded generator, a fresh model and
    its optimizer, and the ratings on the device. Returns (device, generator, model, optimizer, data)."""
    config.validate()
    _check_data(ratings, split, config)
    device = resolve_device(config.device)
    check_fits(config, ratings.n_users, ratings.n_items, ratings.n_ratings, device)  # before allocating anything
    generator = _seeded(config)
    model = build_model(config.model, ratings.n_users, ratings.n_items, config.n_factors, config.y_range,
                        config.nn_layers, config.nn_dropout, config.nn_item_factors).to(device)
    return device, generator, model, _optimizer(model, config), _to_device(ratings, device)


def _seeded(config: TrainConfig) -> torch.Generator:
    """A CPU generator for init and shuffling; the global seed is set too, for dropout masks."""
    seed = config.seed if config.seed is not None else int(torch.seed() % (2**63))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def fit(ratings: Ratings, split: Split, config: TrainConfig = TrainConfig(), *,
        callback: ProgressCallback | None = None, progress_every: int = 50,
        cancel: threading.Event | None = None, between_batches: Callable[[], None] | None = None) -> TrainedModel:
    """Train `config.model` on `split.train`, report validation RMSE on `split.valid`, return the trained model.

    `cancel` is a flag (anything with is_set()) checked between batches; `between_batches()` is called there
    too, e.g. to let a server render pages first.

    Raises TrainingDivergedError when the loss becomes NaN/inf (saying to lower lr), TrainingCancelled when
    `cancel` is set, ConfigError for bad settings or a y_range that cannot reach the ratings, DeviceError
    when the GPU runs out of memory.
    """
    try:
        return _fit(ratings, split, config, callback, progress_every, cancel, between_batches)
    except torch.cuda.OutOfMemoryError:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # give the memory back so the server keeps working
        raise DeviceError(
            f"the GPU ran out of memory (device {config.device!r}, batch size {config.batch_size}, "
            f"{config.n_factors} factors, {ratings.n_users:,} users x {ratings.n_items:,} items): lower the batch "
            f"size or the number of factors, or train on the CPU (device 'cpu'). Nothing was saved.") from None


def _fit(ratings: Ratings, split: Split, config: TrainConfig, callback: ProgressCallback | None,
         progress_every: int, cancel: threading.Event | None,
         between_batches: Callable[[], None] | None) -> TrainedModel:
    device, generator, model, optimizer, data = _set_up(ratings, split, config)
    train_rows = torch.from_numpy(split.train)  # CPU; shuffled per epoch, then moved
    valid_rows = torch.from_numpy(split.valid).to(device)
    n_train = len(train_rows)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps,
                                                     pct_start=config.pct_start) if config.one_cycle else None)
    history: list[dict] = []
    step = 0
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = train_rows[torch.randperm(n_train, generator=generator)].to(device)  # (n_train,)
        loss_sum = torch.zeros((), device=device)  # epoch total, summed on-device: no host sync per batch
        window_sum, window_rows = torch.zeros((), device=device), 0
        for batch_start in range(0, n_train, config.batch_size):
            if between_batches is not None:
                between_batches()
            if cancel is not None and cancel.is_set():
                raise TrainingCancelled(f"cancelled at epoch {epoch}, step {step} of {total_steps}")
            rows = order[batch_start: batch_start + config.batch_size]  # (batch,)
            predictions = model(data.users[rows], data.items[rows])  # (batch,)
            loss = ((predictions - data.ratings[rows]) ** 2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            batch_total = loss.detach() * len(rows)
            loss_sum += batch_total
            window_sum += batch_total
            window_rows += len(rows)
            step += 1
            last_batch = batch_start + config.batch_size >= n_train
            if step % progress_every == 0 or last_batch:
                window_loss = float(window_sum) / window_rows  # one host sync per report
                _stop_if_diverged(window_loss, epoch, step, config)
                if callback is not None and not last_batch:
                    # the mean over the batches since the last report: a running epoch mean would reset
                    # (and jump) at every epoch boundary
                    callback(Progress("batch", epoch, config.epochs, step, total_steps, window_loss, None, None,
                                      optimizer.param_groups[0]["lr"], time.perf_counter() - start))
                window_sum, window_rows = torch.zeros((), device=device), 0
        train_loss = float(loss_sum) / n_train
        valid_mse = _mse(model, data, valid_rows)
        record = {"epoch": epoch, "train_loss": train_loss, "valid_mse": valid_mse,
                  "valid_rmse": None if math.isnan(valid_mse) else math.sqrt(valid_mse),
                  "elapsed": time.perf_counter() - start}
        history.append(record)
        if callback is not None:
            callback(Progress("epoch", epoch, config.epochs, step, total_steps, train_loss, record["valid_rmse"],
                              valid_mse, optimizer.param_groups[0]["lr"], record["elapsed"]))
    fit_seconds = time.perf_counter() - start
    metrics = _evaluation_metrics(model, ratings, split, data, valid_rows)
    metrics.update({"fit_seconds": fit_seconds, "device": str(device),
                    "ratings_per_second": n_train * config.epochs / fit_seconds})
    return TrainedModel.from_training(model.cpu().eval(), ratings, config, metrics, history)


def _stop_if_diverged(train_loss: float, epoch: int, step: int, config: TrainConfig):
    if not math.isfinite(train_loss):
        raise TrainingDivergedError(
            f"training diverged: the loss became {train_loss} at epoch {epoch}, step {step} with lr {config.lr:g}. "
            f"Lower the learning rate (try {config.lr / 10:g}) or use the lr finder; nothing was saved.")


def _evaluation_metrics(model: nn.Module, ratings: Ratings, split: Split, data: _Tensors,
                        valid_rows: torch.Tensor) -> dict:
    """Validation RMSE and MSE of the model, next to the baselines on the same split."""
    mse = _mse(model, data, valid_rows)
    return {
        "rmse": None if math.isnan(mse) else math.sqrt(mse),
        "mse": None if math.isnan(mse) else mse,
        "baseline_global_mean_rmse": global_mean_rmse(ratings, split),
        "baseline_bias_rmse": bias_baseline_rmse(ratings, split),
        "n_train": int(len(split.train)),
        "n_valid": int(len(split.valid)),
        "split": split.description,
    }


# ---------------------------------------------------------------------- learning-rate finder
@dataclass(frozen=True)
class LRFinderResult:
    """Loss after each step while the learning rate grows exponentially; `suggested_lr` is where to train."""

    lrs: list[float]
    losses: list[float]  # exponentially smoothed training loss
    suggested_lr: float  # a tenth of the lr at the lowest smoothed loss (fastai's 'min/10' rule)
    min_loss_lr: float


def lr_find(ratings: Ratings, split: Split, config: TrainConfig = TrainConfig(), start_lr: float = 1e-6,
            end_lr: float = 1.0, num_steps: int = 100, cancel: threading.Event | None = None,
            between_batches: Callable[[], None] | None = None) -> LRFinderResult:
    """Train a fresh model for `num_steps` batches with lr rising from start_lr to end_lr; stop when the loss
    explodes (4x its minimum). The model is thrown away afterwards."""
    if not (0 < start_lr < end_lr):
        raise ConfigError(f"lr finder needs 0 < start_lr < end_lr, got {start_lr:g}, {end_lr:g}")
    device, generator, model, optimizer, data = _set_up(ratings, split, replace(config, one_cycle=False))
    train_rows = torch.from_numpy(split.train)
    factor = (end_lr / start_lr) ** (1 / max(1, num_steps - 1))
    lrs, losses, smoothed, best = [], [], 0.0, float("inf")
    model.train()
    step = 0
    while step < num_steps:
        order = train_rows[torch.randperm(len(train_rows), generator=generator)].to(device)
        for batch_start in range(0, len(order), config.batch_size):
            if between_batches is not None:
                between_batches()
            if step >= num_steps or (cancel is not None and cancel.is_set()):
                break
            lr = start_lr * factor**step
            for group in optimizer.param_groups:
                group["lr"] = lr
            rows = order[batch_start: batch_start + config.batch_size]
            loss = ((model(data.users[rows], data.items[rows]) - data.ratings[rows]) ** 2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = loss.item()
            step += 1
            smoothed = 0.9 * smoothed + 0.1 * value
            debiased = smoothed / (1 - 0.9**step)  # undo the zero start of the moving average
            if not math.isfinite(debiased) or debiased > 4 * best:
                step = num_steps
                break
            best = min(best, debiased)
            lrs.append(lr)
            losses.append(debiased)
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("lr finder cancelled")
    if len(losses) < 3:
        raise TrainingDivergedError(f"the loss exploded within {len(losses)} steps of the lr finder; "
                                    f"start from a lower start_lr than {start_lr:g}")
    min_lr = lrs[int(np.argmin(losses))]
    return LRFinderResult(lrs, losses, suggested_lr=min_lr / 10, min_loss_lr=min_lr)
