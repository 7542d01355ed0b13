"""`nnhw batch-scaling`: how the gradient scales with the batch size. Parses the options, builds
experiments.batch_scaling.config.Config (options given > --config file > defaults) and hands it to
the runner. Only typer and the standard library are imported at module level.
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


@sweep_command
def batch_scaling(
    ctx: typer.Context,
    task: Annotated[
        str | None,
        option(
            "task",
            "TASK",
            "The course's preset net and data: regression, classification. Default: regression.",
        ),
    ] = None,
    csv: Annotated[
        Path | None,
        option(
            "csv",
            "PATH",
            "A CSV file with a header row instead of the preset's data: every column but "
            "--target is an input (inputs and a regression target are standardised).",
        ),
    ] = None,
    target: Annotated[
        str | None,
        option(
            "target",
            "COLUMN",
            "The column of --csv to predict: numbers for regression, class labels (numbers or "
            "names such as cat, dog) for --task classification.",
        ),
    ] = None,
    samples: Annotated[
        int | None,
        option(
            "samples",
            "N",
            "Size N of the data set (>= 4): points generated, or rows drawn from --csv. "
            "Default: 256; with --csv, every row.",
        ),
    ] = None,
    batch_sizes: Annotated[
        str | None,
        option(
            "batch_sizes",
            "LIST",
            "Batch sizes, e.g. 1,8,64 (each 1..N, at least 3). Default: 1, 2, 4, ... up to N.",
        ),
    ] = None,
    minibatches: Annotated[
        int | None,
        option("minibatches", "M", "Sampled minibatches per batch size (>= 10). Default: 500."),
    ] = None,
    pretrain_epochs: Annotated[
        int | None,
        option(
            "pretrain_epochs",
            "N",
            "Epochs of training (preset optimiser) before the 'trained' "
            "gradient measurement; 0 measures at initialisation only. Default: 20.",
        ),
    ] = None,
    train_epochs: Annotated[
        int | None,
        option(
            "train_epochs", "N", "Epochs of the SGD training study per batch size. Default: 20."
        ),
    ] = None,
    lr: Annotated[
        float | None,
        option(
            "lr",
            "RATE",
            "SGD learning rate: fixed, or at the smallest batch size for the "
            "linear rule (> 0). Default: 0.01.",
        ),
    ] = None,
    seeds: Annotated[
        int | None, option("seeds", "N", "Seeds per training cell, one ensemble. Default: 5.")
    ] = None,
    regime_factor: Annotated[
        float | None,
        option(
            "regime_factor",
            "F",
            "Slope ranges: B <= B_simple/F and B >= F*B_simple (> 1). Default: 4.",
        ),
    ] = None,
    curve_factor: Annotated[
        float | None,
        option(
            "curve_factor",
            "F",
            "A loss curve is close to the reference when within this "
            "typical factor (> 1). Default: 1.5.",
        ),
    ] = None,
    warmup_epochs: Annotated[
        float | None,
        option(
            "warmup_epochs",
            "EPOCHS",
            "Gradual warm-up of the linear and square-root rules: their rate rises from "
            "--lr to its target over this many epochs (>= 0, Goyal et al. 2017). Default: 0.",
        ),
    ] = None,
    seed: SeedOption = None,
    *,
    run: RunOptions,
) -> None:
    """How the gradient scales with the batch size, and what it means for training.

    For the course's preset net and data set, at initialisation and after a short
    training: the gradient of many sampled minibatches per batch size B with sum and
    mean reduction; log-log slopes of its norm against B; the noise model
    E|g_B|^2 = |G|^2 + tr(Sigma)/B (N-B)/(N-1) fitted; the noise scale B_simple =
    tr(Sigma)/|G|^2 from per-example gradients (with a 95% CI over seeds and data
    resamples) and from the fit. Then SGD at every B with the mean loss and a fixed,
    a linearly scaled (lr x B/B_min) and a square-root scaled learning rate, and with
    the summed loss at a fixed rate: up to which B each keeps the small-batch loss
    curve, against the gradient-noise-scale prediction (McCandlish et al. 2018).

    Exit codes: 0 done, 1 a sweep cell failed, 2 bad input, 130 interrupted
    (resume with --resume RUN_DIR).

    \b
    Examples:
      nnhw batch-scaling
      nnhw batch-scaling --task classification --lr 0.05
      nnhw batch-scaling --warmup-epochs 2
      nnhw batch-scaling --samples 1024 --batch-sizes 1,4,16,64,256,1024 --workers 2
      nnhw batch-scaling --config results/<run>/config.toml   # repeats a run exactly
    """
    # here, not at the top: `nnhw --help` imports every command module and should load no study
    import numpy as np

    from nnhw.experiments.batch_scaling.config import COMMAND, Config
    from nnhw.experiments.data.prepare import sampled_table

    values = {
        "task": task, "samples": samples, "minibatches": minibatches, "target": target,
        "csv": None if csv is None else str(csv.expanduser().resolve()),
        "pretrain_epochs": pretrain_epochs, "train_epochs": train_epochs, "lr": lr,
        "seeds": seeds, "regime_factor": regime_factor, "curve_factor": curve_factor,
        "warmup_epochs": warmup_epochs, "seed": seed,
        "batch_sizes": None if batch_sizes is None
        else parse_list(batch_sizes, "--batch-sizes", cast=int),
    }  # fmt: skip
    cfg = resolve_config(ctx, COMMAND, Config, values, run.config)
    if cfg.csv is not None:  # a bad CSV or --samples beyond its rows, before any run directory
        sampled_table(cfg.csv, str(cfg.target), cfg.task, cfg.samples, np.random.default_rng(0))
    run_study(COMMAND, cfg, run)
