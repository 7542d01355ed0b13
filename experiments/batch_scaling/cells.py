"""The sweep cells of `nnhw batch-scaling` (module level, so the sweep's process and Dask
executors can pickle them); the study is described in experiments.batch_scaling.compute.

- `gradient_cell(params, seed)`: one phase ("init" or "trained"; config.PHASES) of the gradient
  measurement (experiments.batch_scaling.measure): the course's preset nets of the training
  study's `params["seeds"]` seeds and the data for the task, pretrained for
  `params["pretrain_epochs"]` epochs in the "trained" phase. It returns the tables `gradients`
  (seed 0's net, per reduction x batch size: mean and spread of |g_B| and |g_B|^2), `noise`
  (seed 0's |G|^2, tr(Sigma), B_simple from the per-example gradients) and `noise_seeds` (the
  same for every seed's net, with the spread of log B_simple over BOOTSTRAP_REPLICATES bootstrap
  resamples of the examples: log_b_simple_sd, and their 2.5% and 97.5% quantiles boot_low,
  boot_high). Minibatches of phase p and batch size B come from stream(seed, SAMPLING, p, B), so
  they do not depend on the other sizes.
- `train_cell(params, seed)`: one batch size x reduction of the training study, under each of
  its learning-rate rules (ARMS): the study's net trained with plain SGD for `params["epochs"]`
  epochs at one batch size, every rule x seed at once as one ensemble (core.train.fit on a
  core.mlp.MLP with one member per rule and seed, each member with its own rate: `MemberSGD`).
  It returns two tidy tables:
  - `training_curves`: one row per rule x seed x epoch (epoch 0 = initialisation), with the
    rule's rate (lr) and warm-up, and the training loss
    as a per-example mean whatever the reduction (a `sum` loss divided by its number of terms),
    so curves of both reductions share one scale;
  - `training_members`: one row per rule x seed: initial and final loss, the epoch of the first
    non-finite loss (-1 if none) and `diverged` (the criterion below).

Learning-rate rules (base rate `lr`, reference batch size `b_ref`, the smallest of the sweep):
`fixed`: lr at every batch size; `linear`: lr * B / b_ref (the linear scaling rule, Goyal et al.
2017; the course's "increase proportionally"); `sqrt`: lr * sqrt(B / b_ref) (Krizhevsky 2014,
Hoffer et al. 2017: keeps the variance of a step's noise constant). All give the same rate at
b_ref. ARMS: the mean loss under each rule (the homework's question: how the rate should change
with B) and the summed loss with a fixed rate, which is the linear rule in disguise (the summed
gradient is B times the mean one, so lr * g_sum = (lr B) g_mean) and belongs to the gradient-size
reading of the course's answer.

Warm-up (`params["warmup_epochs"]` W > 0, Goyal et al. 2017's gradual warm-up): the rules that
scale the rate (linear, sqrt) start at the base rate lr and raise it by equal steps to their
target over the first round(W * steps per epoch) steps (`MemberSGD`); `fixed` and the summed
loss are not ramped (their rate is the base rate already, or stands for it).

Divergence (documented criterion): a seed diverged when its training loss became non-finite
(core.train.fit stops there) or its final loss exceeds DIVERGENCE_FACTOR (1) times its initial
loss: training made it worse. The second case covers bounded losses, e.g. MSE on a sigmoid
output, which cannot overflow: a step far too large saturates the output and the loss stays up.

Common random numbers: every training cell gives seed s the same initial parameters (stream
INIT, s, shared with the gradient study's net for s = 0) and the same data-order generator
(stream ORDER, s), so cells differ only in batch size, reduction and learning rate, and their
curves can be compared epoch by epoch. Neither cell needs its own SeedSequence: the result
depends on the root seed and the cell's parameters only, whichever worker runs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP
from nnhw.core.optim import SGD
from nnhw.core.presets import get_preset
from nnhw.core.train import TrainData, fit
from nnhw.experiments.batch_scaling.config import PHASES, data_source
from nnhw.experiments.batch_scaling.measure import (
    BOOTSTRAP,
    INIT,
    ORDER,
    SAMPLING,
    Problem,
    bootstrap_b_simple,
    build_data,
    make_net,
    minibatch_gradients,
    minibatch_sq_norms,
    noise_statistics,
    per_example_gradients,
    seed_nets,
    stream,
)

LR_RULES: tuple[str, ...] = ("fixed", "linear", "sqrt")
RAMPED: tuple[str, ...] = ("linear", "sqrt")  # the rules --warmup-epochs ramps
# reduction -> its lr rules: the mean loss under every rule, the summed loss at a fixed rate
ARMS: dict[str, tuple[str, ...]] = {"mean": LR_RULES, "sum": ("fixed",)}
DIVERGENCE_FACTOR = 1.0  # a seed diverged when its final loss exceeds this times its initial loss
BOOTSTRAP_REPLICATES = 200  # resamples of the examples per seed for B_simple's spread


class MemberSGD(SGD):
    """Plain SGD with a learning rate per parameter (`member_vector`: one rate per ensemble
    member), rising linearly from `start` to `target` over the first `steps` steps (Goyal et
    al. 2017's gradual warm-up: step t uses start + (target - start) t / steps), then `target`;
    steps = 0: `target` from the first step."""

    def __init__(self, start: np.ndarray, target: np.ndarray, steps: int) -> None:
        super().__init__(0.0)
        self.start, self.target, self.steps, self.t = start, target, steps, 0

    def step(self, model: MLP) -> None:
        if self.t >= self.steps:
            rate = self.target
        else:
            rate = self.start + (self.target - self.start) * (self.t / self.steps)
        self.t += 1
        model.flat -= rate * model.grad_flat


def gradient_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """Measure one phase: every batch size, both reductions, and the per-example statistics of
    every seed's net."""
    root, phase, task = int(params["root_seed"]), str(params["phase"]), str(params["task"])
    X, Y, labels = build_data(task, int(params["n_samples"]), root, **data_source(params))
    epochs = int(params["pretrain_epochs"]) if phase == "trained" else 0
    nets = seed_nets(task, X, Y, labels, int(params.get("seeds", 1)), root, epochs)
    prob = Problem(task, nets[0], X, Y, get_preset(task).loss, labels)
    M = int(params["minibatches"])
    rows = []
    for B in params["batch_sizes"]:
        rng = stream(root, SAMPLING, PHASES.index(phase), int(B))
        sq = minibatch_sq_norms(prob.net, prob.X, prob.Y, prob.loss, int(B), M, rng)
        for reduction in ("sum", "mean"):
            norm = np.sqrt(sq[reduction])
            rows.append({
                "phase": phase, "reduction": reduction, "batch_size": int(B), "minibatches": M,
                "norm_mean": norm.mean(), "norm_std": norm.std(ddof=1),
                "sq_norm_mean": sq[reduction].mean(), "sq_norm_std": sq[reduction].std(ddof=1),
            })  # fmt: skip
    seed_rows = []
    for s, net in enumerate(nets):
        G_examples = per_example_gradients(net, prob.X, prob.Y, prob.loss)
        boot_rng = stream(root, BOOTSTRAP, PHASES.index(phase), s)
        boot = bootstrap_b_simple(G_examples, BOOTSTRAP_REPLICATES, boot_rng)
        logs = np.log(boot[np.isfinite(boot) & (boot > 0)])
        stats = noise_statistics(G_examples)
        seed_rows.append({
            "phase": phase, "seed": s, "n_samples": prob.n_samples,
            "n_params": G_examples.shape[1], **stats,
            "log_b_simple_sd": float(logs.std(ddof=1)) if len(logs) > 1 else float("nan"),
            "boot_low": float(np.exp(np.quantile(logs, 0.025))) if len(logs) else float("nan"),
            "boot_high": float(np.exp(np.quantile(logs, 0.975))) if len(logs) else float("nan"),
        })  # fmt: skip
        if s == 0:
            full = minibatch_gradients(net, prob.X, prob.Y, prob.loss,
                                       np.arange(prob.n_samples)[None], "mean")[0]  # fmt: skip
            value, _ = get_loss(prob.loss)(net.forward(prob.X), prob.Y, "mean")
            noise = {
                "phase": phase, "n_samples": prob.n_samples, "n_params": G_examples.shape[1],
                "train_loss": float(value[0]), "full_batch_sq_norm": float(full @ full),
                **stats,
            }  # fmt: skip
    return {
        "gradients": pd.DataFrame(rows),
        "noise": pd.DataFrame([noise]),
        "noise_seeds": pd.DataFrame(seed_rows),
    }


def cell_lr(lr: float, lr_rule: str, batch_size: int, b_ref: int) -> float:
    """The learning rate of a cell under its rule (module docstring)."""
    if lr_rule == "linear":
        return lr * batch_size / b_ref
    if lr_rule == "sqrt":
        return lr * float(np.sqrt(batch_size / b_ref))
    return lr


def terms_per_example(loss: str, n_outputs: int) -> int:
    """How many terms one example adds to a `sum` loss relative to `mean` (core.losses): the
    elementwise losses average over the outputs too, softmax-cross-entropy over the batch only."""
    return 1 if loss == "softmax-cross-entropy" else n_outputs


def member_vector(net: MLP, values: np.ndarray) -> np.ndarray:
    """A vector over `net.flat` holding values[e] at every parameter of member e (each
    parameter array is member-major, (E, ...), inside the flat vector)."""
    return np.concatenate([np.repeat(values, net.params[n][0].size) for n in net.names])


def train_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """Train one batch size x reduction under each of its lr rules, every rule x seed as one
    member of one ensemble (member r * seeds + s: rule r, seed s)."""
    task, root = str(params["task"]), int(params["root_seed"])
    B, reduction = int(params["batch_size"]), str(params["reduction"])
    rules = [str(r) for r in params["lr_rules"]]
    n_seeds, epochs = int(params["seeds"]), int(params["epochs"])
    base = float(params["lr"])
    lrs = np.array([cell_lr(base, r, B, int(params["b_ref"])) for r in rules])

    X, Y, labels = build_data(task, int(params["n_samples"]), root, **data_source(params))
    inits = [stream(root, INIT, s) for _ in rules for s in range(n_seeds)]
    net = make_net(task, X.shape[1], Y.shape[1], inits)
    warmup = float(params.get("warmup_epochs", 0.0))
    steps_per_epoch = -(-X.shape[0] // B)
    ramped = np.array([warmup > 0 and reduction == "mean" and r in RAMPED for r in rules])
    target = np.repeat(lrs, n_seeds)
    start = np.where(np.repeat(ramped, n_seeds), base, target)
    optimizer = MemberSGD(
        member_vector(net, start), member_vector(net, target), round(warmup * steps_per_epoch)
    )
    hist = fit(
        net,
        TrainData(X, Y, labels_train=labels),
        loss=str(params["loss"]),
        reduction=reduction,
        optimizer=optimizer,
        epochs=epochs,
        batch_size=B,
        rngs=[stream(root, ORDER, s) for _ in rules for s in range(n_seeds)],
    )
    scale = 1.0
    if reduction == "sum":
        scale = X.shape[0] * terms_per_example(str(params["loss"]), Y.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        loss = hist.array("train_loss") / scale  # (T, E)
    assert hist.diverged_epoch is not None
    T, E = loss.shape
    rule_of = np.repeat(np.array(rules, dtype=object), n_seeds)
    key = {
        "batch_size": B, "reduction": reduction, "lr_rule": rule_of, "lr": target,
        "warmup_epochs": np.where(np.repeat(ramped, n_seeds), warmup, 0.0),
    }  # fmt: skip
    curves = pd.DataFrame(
        {
            **{k: np.tile(v, T) if isinstance(v, np.ndarray) else v for k, v in key.items()},
            "seed": np.tile(np.tile(np.arange(n_seeds), len(rules)), T),
            "epoch": np.repeat(np.asarray(hist.epochs), E),
            "train_loss": loss.ravel(),
        }
    )
    nonfinite = hist.diverged_epoch >= 0
    final = loss[-1]
    with np.errstate(invalid="ignore"):
        grew = ~(final <= DIVERGENCE_FACTOR * loss[0])  # NaN counts as grown
    members = pd.DataFrame(
        {
            **key,
            "seed": np.tile(np.arange(n_seeds), len(rules)),
            "steps_per_epoch": steps_per_epoch,
            "initial_loss": loss[0],
            "final_loss": final,
            "nonfinite_epoch": hist.diverged_epoch,
            "diverged": nonfinite | grew,
        }
    )
    return {"training_curves": curves, "training_members": members}
