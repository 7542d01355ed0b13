"""The sweep cells of `nnhw batch-scaling` (module level, so the sweep's process and Dask
executors can pickle them); the study is described in experiments.batch_scaling.compute.

- `gradient_cell(params, seed)`: one phase ("init" or "trained"; config.PHASES) of the gradient
  measurement (experiments.batch_scaling.measure): the course's preset net and data for the task,
  pretrained for `params["pretrain_epochs"]` epochs in the "trained" phase. It returns the tables
  `gradients` (per reduction x batch size: mean and spread of |g_B| and |g_B|^2) and `noise`
  (|G|^2, tr(Sigma), B_simple from the per-example gradients). Minibatches of phase p and batch
  size B come from stream(seed, SAMPLING, p, B), so they do not depend on the other sizes.
- `train_cell(params, seed)`: one batch size x reduction x lr rule of the training study: the
  study's net trained with plain SGD for `params["epochs"]` epochs at one batch size, one
  reduction (`sum` or `mean`) and one learning-rate rule, all `params["seeds"]` seeds at once as
  one ensemble (core.train.fit on a core.mlp.MLP with one member per seed). It returns two tidy
  tables:
  - `training_curves`: one row per seed x epoch (epoch 0 = initialisation) with the training loss
    as a per-example mean whatever the reduction (a `sum` loss divided by its number of terms),
    so curves of both reductions share one scale;
  - `training_members`: one row per seed: initial and final loss, the epoch of the first
    non-finite loss (-1 if none) and `diverged` (the criterion below).

Learning-rate rules (base rate `lr`, reference batch size `b_ref`, the smallest of the sweep):
`fixed`: lr at every batch size; `linear`: lr * B / b_ref (Goyal et al. 2017). Both give the same
rate at b_ref. Note that `sum` with a fixed rate is the linear rule in disguise: the summed
gradient is B times the mean one, so lr * g_sum = (lr B) g_mean.

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
from nnhw.core.optim import SGD
from nnhw.core.train import TrainData, fit
from nnhw.experiments.batch_scaling.config import PHASES
from nnhw.experiments.batch_scaling.measure import (
    INIT,
    ORDER,
    SAMPLING,
    build_data,
    build_problem,
    make_net,
    minibatch_gradients,
    minibatch_sq_norms,
    noise_statistics,
    per_example_gradients,
    pretrain,
    stream,
)

LR_RULES: tuple[str, ...] = ("fixed", "linear")
DIVERGENCE_FACTOR = 1.0  # a seed diverged when its final loss exceeds this times its initial loss


def gradient_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """Measure one phase: every batch size, both reductions, and the per-example statistics."""
    root, phase = int(params["root_seed"]), str(params["phase"])
    prob = build_problem(str(params["task"]), int(params["n_samples"]), root)
    if phase == "trained":
        prob = pretrain(prob, int(params["pretrain_epochs"]), root)
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
    G_examples = per_example_gradients(prob.net, prob.X, prob.Y, prob.loss)
    full = minibatch_gradients(prob.net, prob.X, prob.Y, prob.loss, np.arange(prob.n_samples)[None],
                               "mean")[0]  # fmt: skip
    value, _ = get_loss(prob.loss)(prob.net.forward(prob.X), prob.Y, "mean")
    noise = {
        "phase": phase, "n_samples": prob.n_samples, "n_params": G_examples.shape[1],
        "train_loss": float(value[0]), "full_batch_sq_norm": float(full @ full),
        **noise_statistics(G_examples),
    }  # fmt: skip
    return {"gradients": pd.DataFrame(rows), "noise": pd.DataFrame([noise])}


def cell_lr(lr: float, lr_rule: str, batch_size: int, b_ref: int) -> float:
    """The learning rate of a cell under its rule."""
    return lr * batch_size / b_ref if lr_rule == "linear" else lr


def terms_per_example(loss: str, n_outputs: int) -> int:
    """How many terms one example adds to a `sum` loss relative to `mean` (core.losses): the
    elementwise losses average over the outputs too, softmax-cross-entropy over the batch only."""
    return 1 if loss == "softmax-cross-entropy" else n_outputs


def train_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """Train one batch size x reduction x lr rule, all seeds as one ensemble."""
    task, root = str(params["task"]), int(params["root_seed"])
    B, reduction, rule = int(params["batch_size"]), str(params["reduction"]), str(params["lr_rule"])
    n_seeds, epochs = int(params["seeds"]), int(params["epochs"])
    lr = cell_lr(float(params["lr"]), rule, B, int(params["b_ref"]))

    X, Y, labels = build_data(task, int(params["n_samples"]), root)
    net = make_net(task, X.shape[1], Y.shape[1], [stream(root, INIT, s) for s in range(n_seeds)])
    hist = fit(
        net,
        TrainData(X, Y, labels_train=labels),
        loss=str(params["loss"]),
        reduction=reduction,
        optimizer=SGD(lr),
        epochs=epochs,
        batch_size=B,
        rngs=[stream(root, ORDER, s) for s in range(n_seeds)],
    )
    scale = 1.0
    if reduction == "sum":
        scale = X.shape[0] * terms_per_example(str(params["loss"]), Y.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        loss = hist.array("train_loss") / scale  # (T, E)

    key = {"batch_size": B, "reduction": reduction, "lr_rule": rule, "lr": lr}
    T = loss.shape[0]
    curves = pd.DataFrame(
        {
            **key,
            "seed": np.tile(np.arange(n_seeds), T),
            "epoch": np.repeat(np.asarray(hist.epochs), n_seeds),
            "train_loss": loss.ravel(),
        }
    )
    assert hist.diverged_epoch is not None
    nonfinite = hist.diverged_epoch >= 0
    final = loss[-1]
    with np.errstate(invalid="ignore"):
        grew = final > DIVERGENCE_FACTOR * loss[0]
    members = pd.DataFrame(
        {
            **key,
            "seed": np.arange(n_seeds),
            "steps_per_epoch": -(-X.shape[0] // B),
            "initial_loss": loss[0],
            "final_loss": final,
            "nonfinite_epoch": hist.diverged_epoch,
            "diverged": nonfinite | grew,
        }
    )
    return {"training_curves": curves, "training_members": members}
