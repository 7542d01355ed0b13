"""`nnhw verify`: every claim of the course's two-layer-net theory, measured, in one report.

Contract (in runs.context): `compute(config, ctx) -> tables`. It runs
- the core measurements of `verify.measure` (derivatives, training loop, zero init, linear
  collapse, activation ranges, dead units, activation cost), one table each, and
- three sub-studies (`verify.substudies`) at a reduced size (`--thorough`: their full default
  size): vanishing-gradients, softmax-stability and batch-scaling, whose tables are kept under
  the names `<command>.<table>` (e.g. tables/vanishing-gradients.summary.csv).
`verify.findings` turns the tables into one verdict per claim: the `claims` table, written with
the others. Figures and report are drawn from the tables alone. Ctrl-C raises `Interrupted` with
the tables measured so far.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from nnhw.experiments.runs import studies
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.verify import measure as vc
from nnhw.experiments.verify.config import Config
from nnhw.experiments.verify.findings import claims_table_from
from nnhw.experiments.verify.substudies import SUBSTUDIES, sub_config

Tables = dict[str, pd.DataFrame]


def _core_tables(config: Config) -> dict[str, Callable[[], pd.DataFrame]]:
    seeds = dict(zip(
        ("gradient_checks", "training_curves", "symmetry", "linear_collapse",
         "activation_ranges", "dead_units", "activation_cost"),
        np.random.SeedSequence(config.seed).spawn(7),
    ))  # fmt: skip
    e, n = config.epochs, config.samples
    return {
        "gradient_checks": lambda: vc.gradient_checks(seeds["gradient_checks"]),
        "training_curves": lambda: vc.training_curves(seeds["training_curves"], e, n),
        "symmetry": lambda: vc.symmetry(seeds["symmetry"], e, n),
        "linear_collapse": lambda: vc.linear_collapse(seeds["linear_collapse"], 10 * e, n),
        "activation_ranges": lambda: vc.activation_ranges(seeds["activation_ranges"], e, n),
        "dead_units": lambda: vc.dead_units(seeds["dead_units"], e, n),
        "activation_cost": lambda: vc.activation_cost(
            seeds["activation_cost"], repeats=400 if config.thorough else 100
        ),
    }


def compute(config: Config, ctx: RunContext) -> Tables:
    tables: Tables = {}
    jobs = _core_tables(config)
    tracker = ctx.progress("claims", len(jobs) + len(SUBSTUDIES))
    try:
        for name, job in jobs.items():
            tables[name] = job()
            tracker.advance()
        for command in SUBSTUDIES:
            sub_ctx = RunContext(progress=ctx.progress)
            sub = studies.load(command).compute(sub_config(command, config), sub_ctx)
            tables.update({f"{command}.{k}": v for k, v in sub.items()})
            tracker.advance()
    except KeyboardInterrupt:
        raise Interrupted(tables) from None
    finally:
        tracker.close()
    tables["claims"] = claims_table_from(tables, config)
    return tables
