"""The training half of `nnhw batch-scaling`: one sweep cell per batch size x reduction x lr rule.

Contract: `train_cell(params, seed)` (module level, so parallel executors can pickle it) trains the
study's net with plain SGD for `params["epochs"]` epochs at one batch size, one reduction (`sum` or
`mean`) and one learning-rate rule, all `params["seeds"]` seeds at once as one ensemble
(core.train.fit on a core.mlp.MLP with one member per seed). It returns two tidy tables:
- `training_curves`: one row per seed x epoch (epoch 0 = initialisation) with the training loss
  as a per-example mean whatever the reduction (a `sum` loss divided by its number of terms), so
  curves of both reductions share one scale;
- `training_members`: one row per seed: initial and final loss, the epoch of the first non-finite
  loss (-1 if none) and `diverged` (the criterion below).

Learning-rate rules (base rate `lr`, reference batch size `b_ref`, the smallest of the sweep):
`fixed`: lr at every batch size; `linear`: lr * B / b_ref (Goyal et al. 2017). Both give the same
rate at b_ref. Note that `sum` with a fixed rate is the linear rule in disguise: the summed
gradient is B times the mean one, so lr * g_sum = (lr B) g_mean.

Divergence (documented criterion): a seed diverged when its training loss became non-finite
(core.train.fit stops there) or its final loss exceeds DIVERGENCE_FACTOR (1) times its initial
loss: training made it worse. The second case covers bounded losses, e.g. MSE on a sigmoid
output, which cannot overflow: a step far too large saturates the output and the loss stays up.

Common random numbers: every cell gives seed s the same initial parameters (stream INIT, s, shared
with the gradient study's net for s = 0) and the same data-order generator (stream ORDER, s), so
cells differ only in batch size, reduction and learning rate, and their curves can be compared
epoch by epoch. The cell's own SeedSequence is therefore not needed: the result depends on the
root seed and the cell's parameters only, whichever worker runs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from nnhw.core.optim import SGD
from nnhw.core.train import TrainData, fit
from nnhw.experiments.batch_scaling.measure import INIT, ORDER, build_data, make_net, stream

LR_RULES: tuple[str, ...] = ("fixed", "linear")
DIVERGENCE_FACTOR = 1.0


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
