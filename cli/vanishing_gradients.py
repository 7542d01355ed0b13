"""`nnhw vanishing-gradients`: gradient flow against depth, activation and initialisation. Parses
the options, builds experiments.vanishing_gradients.config.Config (options given > --config
file > defaults) and hands it to the runner. Only typer and the standard library are imported at
module level.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nnhw.cli.common import (
    RunOptions,
    SeedOption,
    option,
    parse_list,
    resolve_config,
    run_study,
    sweep_command,
)
from nnhw.cli.options import HELP_CHOICES as ALL_CHOICES

# The choices as the help shows them; each must equal its registry (tested): every activation,
# and every initialiser but zero (experiments.vanishing_gradients.config.STUDY_INITS).
HELP_CHOICES = {
    "activation": ALL_CHOICES["activation"],
    "init": ALL_CHOICES["init"].removeprefix("zero, "),
}


@sweep_command
def vanishing_gradients(
    ctx: typer.Context,
    depths: Annotated[
        str | None,
        option(
            "depths", "LIST", "Numbers of hidden layers, e.g. 1,4,16 (>= 1). Default: 1,2,4,8,16."
        ),
    ] = None,
    width: Annotated[
        int | None, option("width", "N", "Units per hidden layer (= input dimension). Default: 64.")
    ] = None,
    activations: Annotated[
        str | None,
        option(
            "activations",
            "LIST",
            f"Hidden activations: {HELP_CHOICES['activation']}; or all (every one but "
            "identity). Default: relu,leaky-relu,tanh,sigmoid.",
        ),
    ] = None,
    inits: Annotated[
        str | None,
        option(
            "inits",
            "LIST",
            f"Initialisers: {HELP_CHOICES['init']}. Default: standard,xavier-normal,he-normal.",
        ),
    ] = None,
    seeds: Annotated[
        int | None, option("seeds", "N", "Nets per cell, trained as one ensemble. Default: 5.")
    ] = None,
    batch_size: Annotated[
        int | None, option("batch_size", "N", "Examples per batch. Default: 32.")
    ] = None,
    batches: Annotated[
        int | None,
        option(
            "batches", "N", "Batches averaged at initialisation (= the training set). Default: 4."
        ),
    ] = None,
    epochs: Annotated[
        int | None, option("epochs", "N", "Epochs of the short SGD run (>= 1). Default: 5.")
    ] = None,
    lr: Annotated[
        float | None, option("lr", "RATE", "SGD learning rate (> 0). Default: 0.01.")
    ] = None,
    widths: Annotated[
        str | None,
        option("widths", "LIST", "Widths of the dead-ReLU study, e.g. 1,2,4,8. Default: 1,2,4,8."),
    ] = None,
    samples: Annotated[
        int | None,
        option("samples", "N", "Random nets (one input each) per dead-ReLU width. Default: 2000."),
    ] = None,
    selfnorm_depth: Annotated[
        int | None,
        option(
            "selfnorm_depth",
            "N",
            "Depth of the self-normalisation check (SELU, ELU, ReLU, tanh with LeCun-normal "
            "weights: do mean 0 and variance 1 survive?). Default: 32.",
        ),
    ] = None,
    seed: SeedOption = None,
    *,
    run: RunOptions,
) -> None:
    """Gradient flow against depth, activation and initialisation, held against theory.

    For every activation x init x depth, an ensemble of random MLPs (width units per
    hidden layer, standardised Gaussian inputs, a linear teacher, MSE): per layer at
    initialisation the norm of the weight gradient and of the back-propagated signal
    dL/dz and the std of the activations, then the same gradient norms during a short
    SGD run. Beside them, the per-layer factor variance propagation predicts,
    sqrt(n Var(W) E(f'(z)^2)) for the signal (about 1/4 for sigmoid with Xavier, 1 for
    ReLU with He), and the fitted factor (geometric mean of consecutive layer ratios).
    The theory is computed for any activation by Gaussian quadrature: its fixed point
    per init, and the critical init whose factor is 1 at the fixed point. A
    self-normalisation check: SELU, ELU, ReLU and tanh with LeCun-normal weights to
    --selfnorm-depth layers, mean and variance per layer against (0, 1) and the theory.
    Then dead ReLU in narrow nets: the fraction of inputs whose output is identically 0,
    against 1 - (1 - 2^-width)^depth.

    Exit codes: 0 done, 1 a sweep cell failed, 2 bad input, 130 interrupted
    (resume with --resume RUN_DIR).

    \b
    Examples:
      nnhw vanishing-gradients
      nnhw vanishing-gradients --activations sigmoid,relu --inits xavier-normal,he-normal
      nnhw vanishing-gradients --activations gelu,silu,elu,selu,softplus,mish
      nnhw vanishing-gradients --depths 2,8,32 --width 128 --seeds 10 --workers 2
      nnhw vanishing-gradients --config results/<run>/config.toml   # repeats a run exactly
    """
    # imported here, not at the top: the config pulls in NumPy, which `nnhw --help` never needs
    from nnhw.experiments.vanishing_gradients.config import COMMAND, Config

    def ints(value: str | None, option: str) -> tuple[int, ...] | None:
        return None if value is None else parse_list(value, option, cast=int)

    def names(value: str | None, option: str) -> tuple[str, ...] | None:
        return None if value is None else parse_list(value, option)

    values = {
        "depths": ints(depths, "--depths"),
        "width": width,
        "activations": names(activations, "--activations"),
        "inits": names(inits, "--inits"),
        "seeds": seeds,
        "batch_size": batch_size,
        "batches": batches,
        "epochs": epochs,
        "lr": lr,
        "widths": ints(widths, "--widths"),
        "samples": samples,
        "selfnorm_depth": selfnorm_depth,
        "seed": seed,
    }
    cfg = resolve_config(ctx, COMMAND, Config, values, run.config)
    run_study(COMMAND, cfg, run)
