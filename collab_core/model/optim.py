"""LazyAdamW: AdamW whose step costs what the batch touches, not what the embedding tables hold.

An `nn.Embedding(sparse=True)` gives its table a sparse gradient: the rows the batch looked up and their
gradients, nothing for the others. torch's AdamW refuses sparse gradients; with the dense ones of a default
`nn.Embedding` it updates every row (moments, decay and weights of all 11M numbers of an ML-25M-sized
dot_bias model, each step). LazyAdamW updates only the
rows that have a gradient: their moments, their decoupled weight decay and their weights. A dense
gradient (the MLP layers, or every row touched) updates the whole tensor: then it is AdamW exactly.

What "lazy" changes (the rows a step does not touch):
- moments: a dense AdamW keeps moving an untouched row along its decaying momentum; here the row's
  moments wait until the row is touched again (as TensorFlow's LazyAdam and torch's SparseAdam do), and
  bias correction counts the optimizer's steps, not the row's;
- weight decay: with `decay_untouched` (the default) the decay a row missed is applied the next time it is
  touched (exactly the product of (1 - lr_t * wd) over the steps it missed, kept as a running log of that
  product), and `catch_up()` applies it to every row before anyone reads the weights. Without it, a row
  decays only on steps that touch it, so a rarely rated item is barely regularised.

Only torch tensor ops: it runs wherever its parameters live (CPU or CUDA).
"""
from __future__ import annotations

import math

import torch


class LazyAdamW(torch.optim.Optimizer):
    """AdamW that updates only the rows of a sparse (row) gradient; see the module docstring.

    Per parameter it keeps AdamW's two moments (2 x the parameter's size, float32) and, for tables with
    sparse gradients and `decay_untouched`, one float64 per row: the running log-decay when the row was
    last brought up to date."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, decay_untouched: bool = True):
        if not lr >= 0.0:
            raise ValueError(f"invalid learning rate {lr}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"invalid betas {betas}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                                  "decay_untouched": decay_untouched})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self._state_for(param, group)
                state["step"] += 1
                if group["decay_untouched"] and group["weight_decay"]:
                    state["log_decay"] += _log_decay(group["lr"] * group["weight_decay"])
                if param.grad.is_sparse:
                    self._sparse_update(param, state, group)
                else:
                    self._dense_update(param, state, group)
        return loss

    @torch.no_grad()
    def catch_up(self) -> None:
        """Apply to every row the weight decay it missed while untouched: call before reading the weights."""
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state.get(param)
                if state and "row_log_decay" in state:
                    missed = (state["log_decay"] - state["row_log_decay"]).exp_()  # (n_rows,) float64
                    param.mul_(missed.to(param.dtype).unsqueeze(1))
                    state["row_log_decay"].fill_(state["log_decay"])

    # ------------------------------------------------------------------ internals
    def _state_for(self, param: torch.Tensor, group: dict) -> dict:
        state = self.state[param]
        if not state:
            state["step"] = 0
            state["log_decay"] = 0.0  # sum over steps of log(1 - lr * wd): the decay a dense AdamW applied
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            if param.grad.is_sparse and group["decay_untouched"]:
                state["row_log_decay"] = torch.zeros(param.shape[0], dtype=torch.float64, device=param.device)
        return state

    def _dense_update(self, param: torch.Tensor, state: dict, group: dict) -> None:
        """Every element has a gradient: AdamW exactly (torch's formulation)."""
        beta1, beta2 = group["betas"]
        grad, exp_avg, exp_avg_sq = param.grad, state["exp_avg"], state["exp_avg_sq"]
        param.mul_(1 - group["lr"] * group["weight_decay"])
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        self._apply(param, exp_avg, exp_avg_sq, state["step"], group)
        if "row_log_decay" in state:
            state["row_log_decay"].fill_(state["log_decay"])

    def _sparse_update(self, param: torch.Tensor, state: dict, group: dict) -> None:
        """Only the rows in the gradient: their missed decay, this step's decay, moments and weights."""
        beta1, beta2 = group["betas"]
        rows, grad = _summed_rows(param.grad)  # (n_touched,), (n_touched, width)
        weights = param.index_select(0, rows)  # (n_touched, width)
        if "row_log_decay" in state:
            # the decay of the steps missed since the row's last update, then this step's (already in log_decay)
            missed = (state["log_decay"] - state["row_log_decay"].index_select(0, rows)).exp_()  # (n_touched,)
            weights.mul_(missed.to(weights.dtype).unsqueeze(1))
            state["row_log_decay"].index_fill_(0, rows, state["log_decay"])
        else:
            weights.mul_(1 - group["lr"] * group["weight_decay"])
        exp_avg = state["exp_avg"].index_select(0, rows).lerp_(grad, 1 - beta1)  # (n_touched, width)
        exp_avg_sq = state["exp_avg_sq"].index_select(0, rows).mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        self._apply(weights, exp_avg, exp_avg_sq, state["step"], group)
        state["exp_avg"].index_copy_(0, rows, exp_avg)
        state["exp_avg_sq"].index_copy_(0, rows, exp_avg_sq)
        param.index_copy_(0, rows, weights)

    @staticmethod
    def _apply(weights: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor, step: int, group: dict):
        """weights -= lr * m_hat / (sqrt(v_hat) + eps), with bias correction by the optimizer's step count."""
        beta1, beta2 = group["betas"]
        bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
        denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(group["eps"])
        weights.addcdiv_(exp_avg, denom, value=-group["lr"] / bias_correction1)


def _log_decay(lr_times_wd: float) -> float:
    """log(1 - lr * wd), the log of one step's decay factor. At lr * wd >= 1 (an lr finder sweeping up to lr 1
    with wd 2.5 gets there) a dense AdamW multiplies the weights by zero or less: the log is -inf or undefined,
    so take the decay as wiping the weights out (a factor of 1e-30) and let the loss say it diverged."""
    return math.log(max(1.0 - lr_times_wd, 1e-30))


def _summed_rows(grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct rows of a sparse row gradient and each one's summed gradient: (n_touched,), (n_touched, width).

    nn.Embedding's sparse gradient lists one row per lookup, repeats included. The distinct rows are found by
    marking them in a (n_rows,) bool array, not by sorting, which is faster than torch.unique (which sorts) and
    grad.coalesce() at large batches; scatter_add_ sums them
    (docs/performance.md, "Figures behind choices in the code")."""
    lookups, values = grad._indices()[0], grad._values()  # (batch,), (batch, width)
    n_rows = grad.shape[0]
    touched = torch.zeros(n_rows, dtype=torch.bool, device=lookups.device)
    touched[lookups] = True
    rows = touched.nonzero().squeeze(1)  # (n_touched,) ascending
    position = torch.empty(n_rows, dtype=torch.long, device=lookups.device)
    position[rows] = torch.arange(len(rows), device=lookups.device)
    where = position[lookups].unsqueeze(1).expand_as(values)  # (batch, width): each lookup's row in `summed`
    summed = torch.zeros((len(rows), values.shape[1]), dtype=values.dtype, device=values.device)
    return rows, summed.scatter_add_(0, where, values)
