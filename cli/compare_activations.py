"""`nnhw compare-activations`: the activation study across seeds. Parses the options, builds
experiments.compare_activations.Config (options given > --config file > the task preset) and
hands it to the runner, with the sweep options (--workers, --dask, --resume, --keep-going).

Only typer and the standard library are imported here at module level, so `nnhw --help` stays
fast; choices are checked by the Config against the core's registries, case-insensitively.
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
    run_study,
    sweep_command,
)
from nnhw.cli.options import HELP_CHOICES, preset


@sweep_command
def compare_activations(
    ctx: typer.Context,
    task: Annotated[
        str | None,
        option(
            "task",
            "TASK",
            f"The course's net: {HELP_CHOICES['task']}. "
            "Default: the task of --dataset, else classification (unlike train and "
            "batch-scaling, whose default is regression).",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        option("dataset", "NAME", f"Data: {HELP_CHOICES['dataset']}. {preset('dataset')}"),
    ] = None,
    csv: Annotated[
        Path | None,
        option(
            "csv",
            "PATH",
            "A CSV file with a header row (instead of --dataset): every column but --target is "
            "an input; all its rows are used.",
        ),
    ] = None,
    target: Annotated[
        str | None,
        option(
            "target",
            "COLUMN",
            "The column of --csv to predict: class labels (numbers or names such as cat, dog) "
            "for classification, numbers for --task regression.",
        ),
    ] = None,
    activations: Annotated[
        str | None,
        option(
            "activations",
            "LIST",
            f"Hidden activations to compare, comma-separated: {HELP_CHOICES['activation']}; "
            "or all (every one but identity). Default: relu,leaky-relu,tanh,sigmoid.",
        ),
    ] = None,
    seeds: Annotated[
        int | None, option("seeds", "N", "Seeds (independent nets) per activation. Default: 5.")
    ] = None,
    hidden: Annotated[
        str | None,
        option(
            "hidden",
            "WIDTHS",
            f"Hidden layer widths: 64, or 64,64,64,64 for depth 4. {preset('hidden')}",
        ),
    ] = None,
    depths: Annotated[
        str | None,
        option(
            "depths",
            "LIST",
            "Also sweep depth: comma-separated numbers of hidden layers, e.g. 1,2,4,8, each of "
            "--hidden's single width (one cell per activation and depth). Default: the one "
            "net of --hidden.",
        ),
    ] = None,
    epochs: Annotated[
        int | None, option("epochs", "N", f"Epochs (>= 1). {preset('epochs')}")
    ] = None,
    lr: Annotated[
        float | None, option("lr", "RATE", f"Learning rate (> 0). {preset('lr')}")
    ] = None,
    optimizer: Annotated[
        str | None,
        option(
            "optimizer", "NAME", f"Optimiser: {HELP_CHOICES['optimizer']}. {preset('optimizer')}"
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        option(
            "batch-size",
            "N",
            f"Minibatch size (>= 1, at most the training rows). {preset('batch_size')}",
        ),
    ] = None,
    init: Annotated[
        str | None,
        option("init", "NAME", f"Weight initialiser: {HELP_CHOICES['init']}. {preset('init')}"),
    ] = None,
    samples: Annotated[
        int | None, option("samples", "N", f"Points to generate (>= 10). {preset('samples')}")
    ] = None,
    target_loss: Annotated[
        float | None,
        option(
            "target-loss",
            "LOSS",
            "Training loss whose first epoch is reported (epochs to target). Default: 0.05.",
        ),
    ] = None,
    include_identity: Annotated[
        bool,
        typer.Option(
            "--include-identity",
            help="Add the identity (linear) baseline and compare it with least squares.",
        ),
    ] = False,
    negative_slope: Annotated[
        float | None,
        option("negative-slope", "SLOPE", "LeakyReLU's slope for z < 0, in [0, 1). Default: 0.01."),
    ] = None,
    elu_alpha: Annotated[
        float | None,
        option("elu-alpha", "ALPHA", "ELU's alpha (> 0): -alpha is its floor. Default: 1."),
    ] = None,
    bias_shift: Annotated[
        float | None,
        option(
            "bias-shift",
            "B",
            "Add B to every hidden bias at initialisation (e.g. -3 kills ReLU units). Default: 0.",
        ),
    ] = None,
    timing_repeats: Annotated[
        int | None,
        option("timing-repeats", "N", "Repeats of each timing measurement. Default: 15."),
    ] = None,
    seed: SeedOption = None,
    *,
    run: RunOptions,
) -> None:
    """Train the same net with each hidden activation over several seeds and compare.

    One sweep cell per activation (and per depth with --depths); all seeds of a
    cell train as one ensemble. Measured: losses, test accuracy or R^2, epochs
    to a target loss, per-layer gradient norms and the first-to-last ratio, dead
    and saturated units, the range of the hidden outputs, forward+backward time
    (as a ratio to ReLU), and with --include-identity the linear net against
    least squares.
    With --depths, epochs to target and the gradient ratio against depth, and
    whether ReLU's lead over sigmoid grows in deeper nets. The report says which
    of the course's claims the numbers support.

    Exit codes: 0 done, 1 a sweep cell failed, 2 bad input, 130 interrupted
    (finished cells are kept: continue with --resume RUN_DIR).

    \b
    Examples:
      nnhw compare-activations
      nnhw compare-activations --task regression --include-identity
      nnhw compare-activations --hidden 64,64,64,64 --activations relu,sigmoid
      nnhw compare-activations --bias-shift -3 --activations relu,leaky-relu
      nnhw compare-activations --depths 1,2,4,8 --workers 2
      nnhw compare-activations --activations all --workers 2
      nnhw compare-activations --seeds 20 --workers 2
      nnhw compare-activations --resume results/<run>   # after Ctrl-C
    """
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from nnhw.experiments.compare_activations.cells import with_data_checked
    from nnhw.experiments.compare_activations.config import COMMAND, Config

    values = {
        "task": task,
        "dataset": dataset,
        "csv": None if csv is None else str(csv.expanduser().resolve()),
        "target": target,
        "seeds": seeds,
        "epochs": epochs,
        "lr": lr,
        "optimizer": optimizer,
        "batch_size": batch_size,
        "init": init,
        "samples": samples,
        "target_loss": target_loss,
        "include_identity": include_identity,
        "negative_slope": negative_slope,
        "elu_alpha": elu_alpha,
        "bias_shift": bias_shift,
        "timing_repeats": timing_repeats,
        "seed": seed,
        "activations": None if activations is None else parse_list(activations, "--activations"),
        "hidden": None if hidden is None else parse_list(hidden, "--hidden", cast=int),
        "depths": None if depths is None else parse_list(depths, "--depths", cast=int),
    }
    cfg = resolve_config(ctx, COMMAND, Config, values, run.config)
    # a bad CSV or a batch larger than its training rows is reported before any run directory
    cfg = with_data_checked(cfg, batch_given=batch_size is not None)
    run_study(COMMAND, cfg, run)
