"""`nnhw verify`: every claim of the course's theory, tested, in one report. Parses the options,
builds experiments.verify.config.Config (options given > --config file > defaults) and hands it
to the runner. Only typer and the standard library are imported at module level.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nnhw.cli.common import RunOptions, SeedOption, resolve_config, run_command, run_study


@run_command
def verify(
    ctx: typer.Context,
    thorough: Annotated[
        bool | None,
        typer.Option(
            "--thorough/--quick",
            help="Run the sub-studies at their full default size (about twice as long) instead of "
            "a reduced size.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict/--no-strict",
            help="Exit 1 when a verdict differs from the expected one (for CI).",
            show_default=False,
        ),
    ] = None,
    seed: SeedOption = None,
    *,
    run: RunOptions,
) -> None:
    """Test every claim of the course's two-layer-net theory and write one report.

    Claim by claim (homework sections 1.2 to 1.4): the derivatives of both course nets
    against finite differences and PyTorch autograd (when installed); the training loop;
    zero initialisation; vanishing gradients with sigmoid, tanh and ReLU; softmax as a
    smooth argmax and where it overflows; two linear layers being one; ReLU, LeakyReLU,
    tanh and sigmoid's pros and cons; how the gradient grows with the batch size. Each
    claim gets its numbers and a verdict: supported, refuted, or holds only when ...

    Exit codes: 0 done, 1 with --strict when a verdict differs from the expected one,
    2 bad input, 130 interrupted.

    \b
    Examples:
      nnhw verify
      nnhw verify --thorough --seed 3
      nnhw verify --strict --quiet --json
    """
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from nnhw.experiments.verify.config import COMMAND, Config

    values = {"thorough": thorough, "strict": strict, "seed": seed}
    cfg = resolve_config(ctx, COMMAND, Config, values, run.config)
    run_study(COMMAND, cfg, run)
