"""Training: fit(), lr_find(), device choice (the settings live in config.py).

Speed comes from keeping the whole rating set as three tensors on the training device and slicing
shuffled batches out of them: no DataLoader, no per-batch Python collation. On a 2-core CPU the default
EmbeddingDotBias trains on MovieLens 100K in about a second (see `python -m collab_core bench`).

Accuracy comes from the lesson's recipe plus one measured change: one-cycle AdamW, but with weight decay
split between the factors (strong) and the biases and MLP layers (weak): a bias is one number per
user/item that the data pins down well, while a rarely-rated item's factors overfit first.

Two objectives share the loop (`_Objective`): 'rating', the squared error of each rating in shuffled batches of
ratings, scored by validation RMSE; and 'ranking' (collab_core.model.ranking), a softmax over all items for
shuffled batches of users, scored by validation nDCG@10. Only the batches, the loss and the scores differ.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import torch
from torch import nn

from collab_core.data.ratings import Ratings, Split
from collab_core.errors import ConfigError, DeviceError, TrainingCancelled, TrainingDivergedError
from collab_core.model import ranking
from collab_core.model.baselines import bias_baseline_rmse, global_mean_rmse
from collab_core.model.config import TrainConfig, default_config
from collab_core.model.memory import (  # EVAL_CHUNK: rows per forward pass when scoring a whole set
    EVAL_CHUNK,
    check_fits,
)
from collab_core.model.networks import EmbeddingDotBias
from collab_core.model.optim import LazyAdamW
from collab_core.model.trained import TrainedModel

# ---------------------------------------------------------------------- warm-up
_warmed_up = False


def warm_up() -> None:
    """Pay torch's lazy one-off costs now: the first optimizer imports torch._dynamo.

    That import takes about a second alone but over a minute in a thread while two other Python threads are
    busy (each small file read hands the GIL away and waits to get it back; docs/performance.md, "Memory over
    a long session"). A server must therefore call this at start-up, before its threads get busy, not let the
    first training job pay it."""
    global _warmed_up
    if _warmed_up:
        return
    model = EmbeddingDotBias(2, 2, 2, (0.0, 1.0))
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
    train_loss: float  # mean loss (MSE, or the ranking softmax's): over the batches since the last report
    # ('batch'), over the epoch ('epoch')
    valid_rmse: float | None  # after each epoch; None on batch reports and for ranking runs
    valid_mse: float | None
    lr: float  # learning rate of the next step (read after the scheduler moved on)
    elapsed: float  # seconds since training started
    valid_ndcg10: float | None = None  # a ranking run's validation nDCG@10 after each epoch

    @property
    def fraction(self) -> float:
        return self.step / max(1, self.total_steps)


ProgressCallback = Callable[[Progress], None]


class CancelFlag(Protocol):
    """What fit() and lr_find() poll to stop early: a threading.Event, or anything with is_set()."""

    def is_set(self) -> bool: ...


@dataclass
class _Tensors:
    """Ratings on the training device, one row per rating. Shapes: (n,).

    Indices are int32 (embedding lookups take them as they take int64): 12 bytes a rating instead of 20, which
    is 300 MB instead of 500 MB for ML-25M, and the same again for each epoch's shuffled copy."""

    users: torch.Tensor  # int32
    items: torch.Tensor  # int32
    ratings: torch.Tensor  # float32

    def __len__(self) -> int:
        return len(self.ratings)

    def shuffled(self, generator: torch.Generator) -> _Tensors:
        """A copy with the rows in random order, so that each batch is then a slice, a view: no gathers per
        batch (docs/performance.md, "Figures behind choices in the code"). The order is
        torch.randperm's from the seeded generator, so a seed always trains the same model."""
        # int32 draws the same permutation as int64, in less memory
        order = torch.randperm(len(self), generator=generator, dtype=torch.int32).to(self.ratings.device)  # (n,)
        return _Tensors(self.users[order], self.items[order], self.ratings[order])

    def batches(self, size: int):
        """(users, items, ratings) slices of `size` rows, in order; the last may be shorter."""
        return zip(self.users.split(size), self.items.split(size), self.ratings.split(size))


def _to_device(ratings: Ratings, rows: np.ndarray, device: torch.device) -> _Tensors:
    """The given rows (n,) of `ratings` on `device` (numpy's fancy indexing copies them)."""
    return _Tensors(torch.from_numpy(ratings.user_index[rows].astype(np.int32)).to(device),
                    torch.from_numpy(ratings.item_index[rows].astype(np.int32)).to(device),
                    torch.from_numpy(ratings.rating[rows]).to(device))


@torch.no_grad()
def _mse(model: nn.Module, data: _Tensors) -> float:
    """Mean squared error of the model on every row of `data`, in chunks to bound memory."""
    if len(data) == 0:
        return float("nan")
    model.eval()
    squared = sum(((model(u, i) - r) ** 2).sum() for u, i, r in data.batches(EVAL_CHUNK))
    return float(squared) / len(data)


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Two parameter groups: the embedding factors get `weight_decay`; biases and MLP layers, which the
    data pins down far better than a rarely-rated item's factors, get the weak `bias_weight_decay`."""
    factor_names = ("user_factors.weight", "item_factors.weight")
    factors = [p for name, p in model.named_parameters() if name in factor_names]
    others = [p for name, p in model.named_parameters() if name not in factor_names]
    groups = [{"params": factors, "weight_decay": config.weight_decay}]
    if others:
        groups.append({"params": others, "weight_decay": config.bias_weight_decay})
    # fused=True: one kernel per parameter group instead of a dozen foreach ops, a shorter fit with the same
    # RMSE (docs/performance.md, "Figures behind choices in the code"); fused on the CPU needs torch 2.4.
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.99), fused=True)
    if config.optimizer == "lazy_adamw":
        return LazyAdamW(groups, lr=config.lr, betas=(0.9, 0.99))
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr, betas=(0.9, 0.99), fused=True)
    return torch.optim.SGD(groups, lr=config.lr, momentum=0.9)


def squared_error(model: nn.Module, users: torch.Tensor, items: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The rating objective: mean squared error of the predicted ratings (users, items, targets: (batch,))."""
    return ((model(users, items) - targets) ** 2).mean()


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, users: torch.Tensor, items: torch.Tensor | None,
               targets: torch.Tensor, loss_of: Callable = squared_error) -> torch.Tensor:
    """One optimiser step on a batch: forward, `loss_of` (mean squared error unless told; the ranking objective's
    batch has no items and (batch, n_items) targets), backward, update. Returns the batch's loss, detached and
    still on the device (reading it is a host sync: the caller decides when)."""
    loss = loss_of(model, users, items, targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def _weights_readable(optimizer: torch.optim.Optimizer) -> None:
    """Bring every weight up to date before it is read: LazyAdamW owes untouched rows their weight decay."""
    if isinstance(optimizer, LazyAdamW):
        optimizer.catch_up()


def _check_data(ratings: Ratings, split: Split, config: TrainConfig):
    if len(split.train) == 0:
        raise ConfigError("the training split holds no ratings")
    ratings.require_two_of_each()
    low, high = ratings.rating_range
    if config.kind.bounded and (low < config.y_range[0] or high > config.y_range[1]):
        raise ConfigError(
            f"y_range {tuple(config.y_range)} does not cover the ratings, which run from {low:g} to {high:g}; "
            f"a sigmoid output can never reach them. Use e.g. {ratings.suggested_y_range()}")


def _set_up(ratings: Ratings, split: Split, config: TrainConfig):
    """What fit() and lr_find() both start from: checked settings, device, seeded generator, a fresh model and
    its optimizer, and the objective with its training data on the device. Returns (device, generator, model,
    optimizer, objective)."""
    config.validate()
    _check_data(ratings, split, config)
    device = resolve_device(config.device)
    check_fits(config, ratings.n_users, ratings.n_items, ratings.n_ratings, device)  # before allocating anything
    generator = _seeded(config)
    model = config.kind.build(config, ratings.n_users, ratings.n_items).to(device)
    objective = (_ranking_objective if config.kind.ranking else _rating_objective)(ratings, split, config, device)
    return device, generator, model, _optimizer(model, config), objective


@dataclass(frozen=True)
class _Objective:
    """What a training minimises, on what batches, and how the model is scored after each epoch and at the end."""

    n_rows: int  # what an epoch's mean loss is over: training ratings (= (user, item) pairs)
    n_batches: int  # batches per epoch
    epoch: Callable[[torch.Generator], Iterator[tuple]]  # one epoch's batches: (users, items, targets, n_rows)
    loss: Callable  # (model, users, items, targets) -> the batch's mean loss
    score: Callable[[nn.Module], dict]  # the epoch record's validation fields
    final: Callable[[nn.Module], dict]  # the run's metrics


def _rating_objective(ratings: Ratings, split: Split, config: TrainConfig, device: torch.device) -> _Objective:
    """Squared error on shuffled batches of `batch_size` ratings; validation MSE and RMSE."""
    train, valid = _to_device(ratings, split.train, device), _to_device(ratings, split.valid, device)

    def epoch(generator: torch.Generator):
        for users, items, targets in train.shuffled(generator).batches(config.batch_size):  # each (batch,)
            yield users, items, targets, len(targets)

    def score(model: nn.Module) -> dict:
        valid_mse = _mse(model, valid)
        return {"valid_mse": valid_mse, "valid_rmse": None if math.isnan(valid_mse) else math.sqrt(valid_mse)}

    return _Objective(len(train), math.ceil(len(train) / config.batch_size), epoch, squared_error, score,
                      lambda model: _evaluation_metrics(model, ratings, split, valid))


def _ranking_objective(ratings: Ratings, split: Split, config: TrainConfig, device: torch.device) -> _Objective:
    """Softmax over all items on shuffled batches of `batch_size` users; validation nDCG@10 (no RMSE: the
    scores are logits, not ratings)."""
    train, valid = ranking.UserItems.of(ratings, split.train), ranking.UserItems.of(ratings, split.valid)

    def score(model: nn.Module) -> dict:
        return {"valid_mse": None, "valid_rmse": None,
                "valid_ndcg10": ranking.valid_ndcg(model, train, valid, device)}

    def final(model: nn.Module) -> dict:
        return {"objective": "ranking", "rmse": None, "mse": None,
                "ndcg10": ranking.valid_ndcg(model, train, valid, device, max_users=ratings.n_users),
                "baseline_popular_ndcg10": ranking.popularity_ndcg(train, valid),
                "valid_loss": ranking.mean_softmax_loss(model, valid, device),
                "n_train": int(len(split.train)), "n_valid": int(len(split.valid)), "split": split.description}

    def epoch(generator: torch.Generator):
        for users, targets, n_pairs in train.batches(config.batch_size, generator, device):  # (b,), (b, n_items)
            yield users, None, targets, n_pairs

    return _Objective(len(train), train.n_batches(config.batch_size), epoch, ranking.softmax_loss, score, final)


def one_cycle(optimizer: torch.optim.Optimizer, max_lr: float, total_steps: int,
              pct_start: float) -> torch.optim.lr_scheduler.OneCycleLR:
    """fastai's fit_one_cycle schedule (torch's OneCycleLR), for any number of steps.

    OneCycleLR divides by the warm-up's length in steps minus one, `pct_start * total_steps - 1`: when the
    warm-up is exactly one step (4 steps at 0.25, 10 at 0.1, 2 at 0.5) that is zero and its first step raises
    ZeroDivisionError. A one-step warm-up is no warm-up, so ask for half a step: training starts at the peak
    and anneals, as it does whenever the warm-up is shorter than a step."""
    if math.isclose(pct_start * total_steps, 1.0):
        pct_start = 0.5 / total_steps
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start)


def _seeded(config: TrainConfig) -> torch.Generator:
    """A CPU generator for init and shuffling; the global seed is set too, for dropout masks."""
    seed = config.seed if config.seed is not None else int(torch.seed() % (2**63))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def fit(ratings: Ratings, split: Split, config: TrainConfig | None = None, *,
        callback: ProgressCallback | None = None, progress_every: int = 50,
        cancel: CancelFlag | None = None, between_batches: Callable[[], None] | None = None) -> TrainedModel:
    """Train `config.model` on `split.train`, report validation RMSE on `split.valid`, return the trained model.
    Without a config, the measured defaults of dot_bias (config.default_config()).

    `callback` gets a Progress every `progress_every` batches and after each epoch. `cancel` is only a flag
    (anything with `is_set()`, e.g. a threading.Event), checked before every batch. `between_batches()` is
    called once after every batch, e.g. to let page renders run first; it may block.

    Raises TrainingDivergedError when the loss becomes NaN/inf (saying to lower lr), TrainingCancelled when
    `cancel` is set, ConfigError for bad settings or a y_range that cannot reach the ratings, DeviceError
    when the GPU runs out of memory.
    """
    config = default_config() if config is None else config
    try:
        return _fit(ratings, split, config, _Hooks(callback, progress_every, cancel, between_batches))
    except torch.cuda.OutOfMemoryError:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # give the memory back so the server keeps working
        raise DeviceError(
            f"the GPU ran out of memory (device {config.device!r}, batch size {config.batch_size}, "
            f"{config.n_factors} factors, {ratings.n_users:,} users x {ratings.n_items:,} items): lower the batch "
            f"size or the number of factors, or train on the CPU (device 'cpu'). Nothing was saved.") from None


@dataclass(frozen=True)
class _Hooks:
    """What fit() was given to report to, stop on and run between batches."""

    callback: ProgressCallback | None
    progress_every: int
    cancel: CancelFlag | None
    between_batches: Callable[[], None] | None

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


def _fit(ratings: Ratings, split: Split, config: TrainConfig, hooks: _Hooks) -> TrainedModel:
    device, generator, model, optimizer, objective = _set_up(ratings, split, config)
    total_steps = objective.n_batches * config.epochs
    scheduler = one_cycle(optimizer, config.lr, total_steps, config.pct_start) if config.one_cycle else None
    history: list[dict] = []
    start = time.perf_counter()
    clock = _Clock(start, total_steps)
    for epoch in range(1, config.epochs + 1):
        train_loss = _train_epoch(model, optimizer, scheduler, objective, generator, epoch, config, hooks, clock)
        _weights_readable(optimizer)
        record = {"epoch": epoch, "train_loss": train_loss, **objective.score(model),
                  "elapsed": time.perf_counter() - start}
        history.append(record)
        if hooks.callback is not None:
            hooks.callback(Progress("epoch", epoch, config.epochs, clock.step, total_steps, train_loss,
                                    record["valid_rmse"], record["valid_mse"], optimizer.param_groups[0]["lr"],
                                    record["elapsed"], record.get("valid_ndcg10")))
    fit_seconds = time.perf_counter() - start
    metrics = objective.final(model)
    metrics.update({"fit_seconds": fit_seconds, "device": str(device),
                    "ratings_per_second": objective.n_rows * config.epochs / fit_seconds})
    return TrainedModel.from_training(model.cpu().eval(), ratings, config, metrics, history)


@dataclass
class _Clock:
    """Where training is: steps done of all, and when it started."""

    start: float
    total_steps: int
    step: int = 0


def _train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler, objective: _Objective,
                 generator: torch.Generator, epoch: int, config: TrainConfig, hooks: _Hooks, clock: _Clock) -> float:
    """One pass over the objective's shuffled batches; returns the epoch's mean training loss."""
    model.train()
    epoch_losses: list[torch.Tensor] = []  # per batch, left on the device: no host sync per batch
    sizes: list[int] = []  # rows (ratings) per batch, known on the host
    reported = 0  # batches of this epoch already in a report
    for users, items, targets, size in objective.epoch(generator):
        if hooks.cancelled():
            raise TrainingCancelled(f"cancelled at epoch {epoch}, step {clock.step} of {clock.total_steps}")
        epoch_losses.append(train_step(model, optimizer, users, items, targets, objective.loss))
        sizes.append(size)
        if scheduler is not None:
            scheduler.step()
        clock.step += 1
        last_batch = len(epoch_losses) == objective.n_batches
        if clock.step % hooks.progress_every == 0 or last_batch:
            # the mean over the batches since the last report: a running epoch mean would reset (and jump) at
            # every epoch boundary. One host sync per report.
            window_loss = _mean_loss(epoch_losses[reported:], sizes[reported:])
            reported = len(epoch_losses)
            _stop_if_diverged(window_loss, epoch, clock.step, config)
            if hooks.callback is not None and not last_batch:
                hooks.callback(Progress("batch", epoch, config.epochs, clock.step, clock.total_steps, window_loss,
                                        None, None, optimizer.param_groups[0]["lr"],
                                        time.perf_counter() - clock.start))
        if hooks.between_batches is not None:
            hooks.between_batches()
    return _mean_loss(epoch_losses, sizes)


def _mean_loss(losses: list[torch.Tensor], sizes: list[int]) -> float:
    """Mean loss over the rows of these consecutive batches, each batch's mean weighted by its rows."""
    weights = torch.tensor(sizes, dtype=losses[0].dtype, device=losses[0].device)
    return float(torch.stack(losses) @ weights) / sum(sizes)


def _stop_if_diverged(train_loss: float, epoch: int, step: int, config: TrainConfig):
    if not math.isfinite(train_loss):
        raise TrainingDivergedError(
            f"training diverged: the loss became {train_loss} at epoch {epoch}, step {step} with lr {config.lr:g}. "
            f"Lower the learning rate (try {config.lr / 10:g}) or use the lr finder; nothing was saved.")


def _evaluation_metrics(model: nn.Module, ratings: Ratings, split: Split, valid: _Tensors) -> dict:
    """Validation RMSE and MSE of the model, next to the baselines on the same split."""
    mse = _mse(model, valid)
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


def lr_find(ratings: Ratings, split: Split, config: TrainConfig | None = None, start_lr: float = 1e-6,
            end_lr: float = 1.0, num_steps: int = 100, cancel: CancelFlag | None = None,
            between_batches: Callable[[], None] | None = None) -> LRFinderResult:
    """Train a fresh model for `num_steps` batches with lr rising from start_lr to end_lr; stop when the loss
    explodes (4x its minimum). The model is thrown away afterwards. Without a config, dot_bias's defaults."""
    config = default_config() if config is None else config
    if not (0 < start_lr < end_lr):
        raise ConfigError(f"lr finder needs 0 < start_lr < end_lr, got {start_lr:g}, {end_lr:g}")
    device, generator, model, optimizer, objective = _set_up(ratings, split, replace(config, one_cycle=False))
    factor = (end_lr / start_lr) ** (1 / max(1, num_steps - 1))
    lrs, losses, smoothed, best = [], [], 0.0, float("inf")
    model.train()
    step = 0
    while step < num_steps:
        for users, items, targets, _ in objective.epoch(generator):
            if between_batches is not None:
                between_batches()
            if step >= num_steps or (cancel is not None and cancel.is_set()):
                break
            lr = start_lr * factor**step
            for group in optimizer.param_groups:
                group["lr"] = lr
            value = train_step(model, optimizer, users, items, targets, objective.loss).item()
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
