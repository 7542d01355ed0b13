"""`nnhw verify`: every claim of the course's two-layer-net theory, measured, in one report.

The study module (contract in experiments/context.py). `compute` runs
- the core measurements of `experiments.verify_core` (derivatives, training loop, zero init,
  linear collapse, activation ranges, dead units, activation cost), and
- three sub-studies at a reduced size (`--thorough`: their full default size):
  vanishing-gradients, softmax-stability and batch-scaling, whose tables are kept under the
  names `<command>.<table>` (e.g. tables/vanishing-gradients.summary.csv).
`experiments.claims` turns the tables into one verdict per claim (CORE_CLAIMS there, the
sub-studies' claims below, reusing each study's own finding so the two reports never disagree).
The `claims` table is written with the others; the report is drawn from the tables alone.

`--strict` makes the command exit 1 when a verdict's category differs from the expected one
(`strict_failures`), for use in CI; timing claims have no expected verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.validate import check_bool, check_int
from nnhw.experiments.verify import claims as cl
from nnhw.experiments.verify import measure as vc
from nnhw.experiments.verify.report import figures, headline, report

COMMAND = "verify"
Tables = dict[str, pd.DataFrame]
SUBSTUDIES = ("vanishing-gradients", "softmax-stability", "batch-scaling")

__all__ = ["COMMAND", "Config", "check", "compute", "figures", "headline", "metrics", "report"]


@dataclass(frozen=True)
class Config:
    """thorough: the sub-studies at their full default size (minutes instead of seconds);
    strict: exit 1 when a verdict differs from the expected one; seed: the root seed."""

    thorough: bool = False
    strict: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        check_bool(self.thorough, "thorough")
        check_bool(self.strict, "strict")
        check_int(self.seed, "seed", 0)

    @property
    def epochs(self) -> int:
        return 100 if self.thorough else 40

    @property
    def samples(self) -> int:
        return 1000 if self.thorough else 500


def sub_config(command: str, config: Config) -> Any:
    """The settings verify runs sub-study `command` with."""
    from nnhw.experiments.runs import studies

    mod = studies.load(command)
    if config.thorough:
        return mod.Config(seed=config.seed)
    quick: dict[str, dict[str, Any]] = {
        "vanishing-gradients": {
            "depths": (1, 2, 4, 8), "width": 32, "activations": ("relu", "tanh", "sigmoid"),
            "seeds": 3, "batches": 2, "epochs": 3, "widths": (1, 2, 4), "samples": 512,
        },
        "softmax-stability": {"points": 15, "rows": 4, "classes": 8},
        "batch-scaling": {
            "samples": 128, "minibatches": 200, "pretrain_epochs": 5, "train_epochs": 8,
            "seeds": 2,
        },
    }  # fmt: skip
    return mod.Config(seed=config.seed, **quick[command])


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
    from nnhw.experiments.runs import studies

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


def substudy_tables(tables: Tables, command: str) -> Tables:
    prefix = f"{command}."
    return {k[len(prefix) :]: v for k, v in tables.items() if k.startswith(prefix)}


def all_claims(tables: Tables, config: Config) -> list[cl.Claim]:
    """Every claim whose tables are present (an interrupted run lacks some)."""
    from nnhw.experiments.verify.substudies import substudy_claims

    out = []
    for fn in [*cl.CORE_CLAIMS, *substudy_claims(config)]:
        try:
            out.append(fn(tables))
        except KeyError:
            continue
    return out


def claims_table_from(tables: Tables, config: Config) -> pd.DataFrame:
    """The claims table as the saved tables give it (what a rebuilt report shows)."""
    return cl.claims_table(all_claims(tables, config))


def strict_failures(tables: Tables) -> list[str]:
    """Claims whose verdict category differs from the expected one."""
    c = tables["claims"]
    bad = c[c["expected"].notna() & (c["category"] != c["expected"])]
    return [f"{r.id}: {r.verdict} (expected {r.expected})" for r in bad.itertuples()]


def check(tables: Tables, config: Config) -> str:
    """With --strict: the claims whose verdict differs from the expected one (runner hook)."""
    if not config.strict:
        return ""
    failures = strict_failures(tables)
    return (
        f"--strict: {len(failures)} verdict(s) differ: " + "; ".join(failures) if failures else ""
    )


def metrics(tables: Tables) -> dict[str, Any]:
    c = tables.get("claims", pd.DataFrame(columns=["category", "id"]))
    counts = c["category"].value_counts().to_dict()
    return {"claims": len(c), **{str(k): int(v) for k, v in counts.items()},
            "strict_failures": len(strict_failures(tables)) if len(c) else 0}  # fmt: skip
