"""How much memory a training needs, and a refusal that says what to change when the machine lacks it.

A width of 65,536 in two hidden layers asks for a 17 GB weight matrix; on a shared server the kernel's
out-of-memory killer would then take the whole process, every session with it. The estimate counts what
training holds at once: the parameters (sized exactly, by building the network on PyTorch's 'meta' device,
which allocates nothing), their gradients, the optimizer's state, one batch's activations, the evaluation
chunk, and the ratings on the device. It is checked against the memory available now (CPU: the kernel's
MemAvailable; CUDA: the free device memory), keeping a margin for everything else the process holds.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from collab_core.errors import ConfigError

FLOAT_BYTES = 4
USABLE_FRACTION = 0.8  # leave a fifth of what is available for the rest of the process and the system
EVAL_CHUNK = 1 << 16  # rows per forward pass when scoring a whole set (training uses this one)


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a training holds at its peak, by what holds them."""

    parameters: int
    gradients: int
    optimizer: int
    activations: int  # one training batch (forward values kept for backward) or one evaluation chunk
    ratings: int  # user, item and rating tensors plus their shuffled copy

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer + self.activations + self.ratings

    def parts(self) -> dict[str, int]:
        return {"parameters": self.parameters, "gradients": self.gradients, "optimizer state": self.optimizer,
                "batch activations": self.activations, "ratings": self.ratings}


RANKING_EVAL_USERS = 256  # users scored at once when a ranking run is evaluated (ranking.EVAL_USERS_PER_CHUNK)


def estimate(config, n_users: int, n_items: int, n_ratings: int) -> MemoryEstimate:
    """What training `config` on n_users x n_items with n_ratings ratings needs (see the module docstring)."""
    with torch.device("meta"):
        model = config.kind.build(config, n_users, n_items)
    n_params = sum(p.numel() for p in model.parameters())
    state_per_param = {"adamw": 2, "lazy_adamw": 2, "adam": 2, "sgd": 1}.get(config.optimizer, 2)  # moments
    # LazyAdamW also keeps one float64 per table row (the decay it has applied); its sparse gradients are
    # smaller than the dense ones counted below, which stay as an upper bound
    row_state = 8 * (n_users + n_items) * config.kind.tables_per_row if config.sparse_rows else 0
    width = config.kind.activation_width(config)
    rows = max(config.batch_size, min(EVAL_CHUNK, n_ratings))
    activations = rows * width * FLOAT_BYTES * 2  # values kept for backward, and their gradients
    if config.kind.ranking:  # a batch of users scores every item: targets, logits, log-softmax and gradients
        activations = max(config.batch_size, RANKING_EVAL_USERS) * n_items * FLOAT_BYTES * 4
    return MemoryEstimate(parameters=n_params * FLOAT_BYTES, gradients=n_params * FLOAT_BYTES,
                          optimizer=n_params * FLOAT_BYTES * state_per_param + row_state, activations=activations,
                          ratings=n_ratings * (2 * (4 + 4 + 4) + 4))  # int32 user, int32 item, float32
    # rating; the epoch's shuffled copy of them (training._Tensors) and its int32 permutation


def available_bytes(device: torch.device) -> int:
    """Memory that can be allocated now on `device`."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def check_fits(config, n_users: int, n_items: int, n_ratings: int, device: torch.device,
               available: int | None = None) -> MemoryEstimate:
    """Raise ConfigError when the training would not fit in `device`'s available memory, naming the setting
    that takes the most; return the estimate otherwise."""
    need = estimate(config, n_users, n_items, n_ratings)
    available = available_bytes(device) if available is None else available
    if need.total <= USABLE_FRACTION * available:
        return need
    parts = ", ".join(f"{name} {_gb(size)}" for name, size in need.parts().items() if size >= 0.01e9)
    where = "the CPU" if device.type == "cpu" else f"the GPU ({device})"
    raise ConfigError(f"this training needs about {_gb(need.total)} of memory ({parts}), but {where} has "
                      f"{_gb(available)} available; {_advice(config, n_users, n_items)}")


def _advice(config, n_users: int, n_items: int) -> str:
    """Which setting to lower: the one behind the largest part of the parameters, or the batch."""
    item_width = config.nn_item_factors or config.n_factors
    embeddings = n_users * config.n_factors + n_items * item_width
    layers = 0
    if config.kind.mlp:
        widths = [config.n_factors + item_width, *config.nn_layers, 1]
        layers = sum(a * b for a, b in zip(widths, widths[1:]))
    if layers > embeddings:
        return f"lower the hidden layer widths (nn_layers {', '.join(map(str, config.nn_layers))})"
    if config.batch_size * 2 * config.n_factors > embeddings:
        return f"lower the batch size ({config.batch_size:,})"
    return f"lower the number of factors ({config.n_factors})"


def _gb(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 0.1e9 else f"{size / 1e6:.0f} MB"
