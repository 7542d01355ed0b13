"""`nnhw softmax-stability`: softmax overflow and underflow across precisions, against an exact
reference. Parses the options, builds experiments.softmax_stability.config.Config (options
given > --config file > defaults) and hands it to the runner. Only typer and the standard library
are imported at module level.
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


@sweep_command
def softmax_stability(
    ctx: typer.Context,
    dtypes: Annotated[
        str | None,
        option("dtypes", "LIST", "Precisions: float16, float32, float64. Default: all three."),
    ] = None,
    formulas: Annotated[
        str | None,
        option(
            "formulas",
            "LIST",
            "Formulas: naive (exp(x)/sum exp(x)), max-shifted (exp(x - max x)/sum), "
            "exp-logsumexp (exp(x - logsumexp x)), log-softmax (x - logsumexp x, compared in "
            "log space). Default: all four.",
        ),
    ] = None,
    cases: Annotated[
        str | None,
        option(
            "cases",
            "LIST",
            "Inputs at scale s: random (z*s), outlier (one logit = s), shifted-down "
            "(z - max z - s), temperature (z/T, T = 1/s). Default: all four.",
        ),
    ] = None,
    scale_min: Annotated[
        float | None, option("scale_min", "S", "Smallest scale (> 0). Default: 0.01.")
    ] = None,
    scale_max: Annotated[
        float | None, option("scale_max", "S", "Largest scale (> --scale-min). Default: 1e5.")
    ] = None,
    points: Annotated[
        int | None, option("points", "N", "Log-spaced scales in the sweep (>= 2). Default: 29.")
    ] = None,
    classes: Annotated[
        int | None, option("classes", "K", "Logits per row (>= 2). Default: 10.")
    ] = None,
    rows: Annotated[
        int | None,
        option("rows", "N", "Rows of logits per point (>= 1; each costs mpmath time). Default: 8."),
    ] = None,
    seed: SeedOption = None,
    *,
    run: RunOptions,
) -> None:
    """Softmax overflow and underflow across precisions, against an exact reference.

    Each formula in each precision, on four kinds of logits swept over a
    log-spaced scale, against softmax computed exactly with mpmath: NaN, inf
    and zero fractions, row sums, argmax agreement, errors in ulps. Where each
    formula first breaks, by bisection, beside log(finfo.max) and
    log(smallest subnormal / 2); cross-entropy computed naively and with
    log-softmax; softmax as the temperature goes to 0. After Blanchard,
    Higham & Higham (2021).

    Exit codes: 0 done, 1 a sweep cell failed, 2 bad input, 130 interrupted
    (resume with --resume RUN_DIR).

    \b
    Examples:
      nnhw softmax-stability
      nnhw softmax-stability --dtypes float32 --cases outlier --points 57
      nnhw softmax-stability --formulas naive,max-shifted --rows 32
      nnhw softmax-stability --config results/<run>/config.toml
    """
    # imported here, not at the top: the study's modules import NumPy and mpmath, which
    # `nnhw --help` never needs
    from nnhw.experiments.softmax_stability import measure as sm
    from nnhw.experiments.softmax_stability.config import COMMAND, Config

    def names(value: str | None, option: str, choices: tuple[str, ...]) -> tuple[str, ...] | None:
        return None if value is None else parse_list(value, option, choices=choices)

    values = {
        "dtypes": names(dtypes, "--dtypes", sm.DTYPES),
        "formulas": names(formulas, "--formulas", sm.FORMULAS),
        "cases": names(cases, "--cases", sm.CASES),
        "scale_min": scale_min,
        "scale_max": scale_max,
        "points": points,
        "classes": classes,
        "rows": rows,
        "seed": seed,
    }
    cfg = resolve_config(ctx, COMMAND, Config, values, run.config)
    run_study(COMMAND, cfg, run)
