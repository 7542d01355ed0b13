"""`nnhw train`: one net, one run. Parses the options, builds experiments.train.Config (options
given > --config file > the task preset) and hands it to the runner.

Choices are checked by the Config against the core's registries, case-insensitively; the help
lists them (tests/cli/test_train.py checks the lists against the registries). Only typer and the
standard library are imported here at module level, so `nnhw --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnhw.cli.common import (
    RunOptions,
    SeedOption,
    option,
    parse_list,
    resolve_config,
    run_command,
    run_study,
)
from nnhw.cli.options import HELP_CHOICES, preset
from nnhw.core.errors import NnhwError


@run_command
def train(
    ctx: typer.Context,
    task: Annotated[
        str | None,
        option(
            "task",
            "TASK",
            f"The course's net: {HELP_CHOICES['task']}. "
            "Default: the task of --dataset, else regression (as batch-scaling; "
            "compare-activations defaults to classification).",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        option(
            "dataset", "NAME", f"Generated data: {HELP_CHOICES['dataset']}. {preset('dataset')}"
        ),
    ] = None,
    csv: Annotated[
        Path | None,
        option(
            "csv",
            "PATH",
            "A CSV file with a header row (instead of --dataset); every column but --target "
            "is a numeric input.",
        ),
    ] = None,
    target: Annotated[
        str | None,
        option(
            "target",
            "COLUMN",
            "The column of --csv to predict: numbers, or class labels (numbers or names "
            "such as cat, dog) with --task classification.",
        ),
    ] = None,
    activation: Annotated[
        str | None,
        option(
            "activation",
            "NAME",
            f"Hidden activation: {HELP_CHOICES['activation']}. {preset('activation')}",
        ),
    ] = None,
    output_activation: Annotated[
        str | None,
        option(
            "output_activation",
            "NAME",
            "Output "
            "activation (same choices). Default: the preset's; identity "
            "(logits) with softmax-cross-entropy.",
        ),
    ] = None,
    hidden: Annotated[
        str | None,
        option(
            "hidden",
            "WIDTHS",
            "Hidden layer widths: 64 for one layer, 64,64,64 for three. " + preset("hidden"),
        ),
    ] = None,
    init: Annotated[
        str | None,
        option("init", "NAME", f"Weight initialiser: {HELP_CHOICES['init']}. {preset('init')}"),
    ] = None,
    loss: Annotated[
        str | None, option("loss", "NAME", f"Loss: {HELP_CHOICES['loss']}. {preset('loss')}")
    ] = None,
    reduction: Annotated[
        str | None,
        option(
            "reduction", "HOW", f"Loss over the batch: {HELP_CHOICES['reduction']}. Default: mean."
        ),
    ] = None,
    optimizer: Annotated[
        str | None,
        option(
            "optimizer", "NAME", f"Optimiser: {HELP_CHOICES['optimizer']}. {preset('optimizer')}"
        ),
    ] = None,
    lr: Annotated[
        float | None, option("lr", "RATE", f"Learning rate (> 0). {preset('lr')}")
    ] = None,
    momentum: Annotated[
        float | None,
        option("momentum", "MU", "Momentum in [0, 1), --optimizer sgd only. Default: 0."),
    ] = None,
    epochs: Annotated[
        int | None, option("epochs", "N", f"Epochs (>= 1). {preset('epochs')}")
    ] = None,
    batch_size: Annotated[
        int | None, option("batch_size", "N", "Minibatch size (>= 1). " + preset("batch_size"))
    ] = None,
    test_fraction: Annotated[
        float | None,
        option(
            "test_fraction", "F", "Share of the data held out for testing, in (0, 1). Default: 0.2."
        ),
    ] = None,
    samples: Annotated[
        int | None,
        option("samples", "N", f"Points to generate (not with --csv). {preset('samples')}"),
    ] = None,
    noise: Annotated[
        float | None,
        option("noise", "STD", "Std of the noise added to generated data. Default: the dataset's."),
    ] = None,
    negative_slope: Annotated[
        float | None,
        option(
            "negative_slope",
            "SLOPE",
            "LeakyReLU's slope for z < 0 (leaky-relu only). Default: 0.01.",
        ),
    ] = None,
    elu_alpha: Annotated[
        float | None,
        option(
            "elu_alpha", "ALPHA", "ELU's alpha (> 0): -alpha is its floor (elu only). Default: 1."
        ),
    ] = None,
    dtype: Annotated[
        str | None,
        option(
            "dtype", "TYPE", f"Floating-point precision: {HELP_CHOICES['dtype']}. Default: float64."
        ),
    ] = None,
    seed: SeedOption = None,
    *,
    run: RunOptions,
) -> None:
    """Train one net and write its run directory: history, plots, report.

    The course's two nets are the presets: --task regression (sine data;
    Linear, ReLU, Linear, identity; MSE) and --task classification (moons;
    Linear, sigmoid, Linear, sigmoid; MSE). An option you give replaces the
    preset's value. One --seed makes three independent random streams: data,
    initial weights, batch order.

    Exit codes: 0 done (also when training diverged; a warning says at which
    epoch), 2 bad input, 130 interrupted (the epochs done are kept).

    \b
    Examples:
      nnhw train --task classification
      nnhw train --task regression --hidden 64,64,64 --activation tanh
      nnhw train --dataset spiral --loss softmax-cross-entropy
      nnhw train --csv data.csv --target price --optimizer sgd --momentum 0.9
      nnhw train --task regression --optimizer sgd --lr 1e3   # diverges
      nnhw train --config results/<run>/config.toml   # repeats a run exactly
    """
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from nnhw.experiments.train.compute import prepare
    from nnhw.experiments.train.config import COMMAND, Config

    values = {
        "task": task, "dataset": dataset, "target": target, "activation": activation,
        "output_activation": output_activation, "init": init, "loss": loss,
        "reduction": reduction, "optimizer": optimizer, "lr": lr, "momentum": momentum,
        "epochs": epochs, "batch_size": batch_size, "test_fraction": test_fraction,
        "samples": samples, "noise": noise, "negative_slope": negative_slope,
        "elu_alpha": elu_alpha, "dtype": dtype, "seed": seed,
        "csv": None if csv is None else str(csv.expanduser().resolve()),
        "hidden": None if hidden is None else parse_list(hidden, "--hidden", cast=int),
    }  # fmt: skip
    cfg = resolve_config(ctx, COMMAND, Config, values, run.config)
    if momentum is not None and cfg.optimizer != "sgd":
        raise NnhwError(f"--momentum applies to --optimizer sgd only, not {cfg.optimizer}")
    leaky = "leaky-relu" in (cfg.activation, cfg.output_activation)
    if negative_slope is not None and not leaky:
        raise NnhwError(
            f"--negative-slope applies to leaky-relu only; the net uses {cfg.activation} and "
            f"{cfg.output_activation}"
        )
    if elu_alpha is not None and "elu" not in (cfg.activation, cfg.output_activation):
        raise NnhwError(
            f"--elu-alpha applies to elu only (selu's alpha is fixed); the net uses "
            f"{cfg.activation} and {cfg.output_activation}"
        )
    prepare(cfg)  # a bad CSV or split is reported before any run directory exists
    run_study(COMMAND, cfg, run)
