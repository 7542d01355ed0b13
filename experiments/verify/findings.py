"""Every claim of the course, judged from `nnhw verify`'s tables: the claims list, the claims
table and the `--strict` check.

Contract: `all_claims(tables, config)` judges every claim whose tables are present (an
interrupted run lacks some) and returns them in the homework's order; nothing here or in the
judges computes a measurement, so a report rebuilt from the saved CSVs reaches the same verdicts,
and perturbing a table changes a verdict (tests do this). `claims_table_from(tables, config)` is
the `claims` table that `compute` writes and the report is drawn from; `strict_failures(tables)`
the claims whose verdict's category differs from the expected one (`nnhw verify --strict`).

The judges (each `(tables, command) -> Claim`, see verify.claims for the record):
- verify.findings_course: 1.2(b), 1.2(c), 1.2(d) and 1.3(a)'s formulas, evaluated as written;
- verify.findings_training: 1.2(a), 1.3(a) (sigmoid with MSE), 1.3(b) (training a deeper net),
  1.4(c) and 1.4(d)'s dead units, range and mean;
- verify.findings_math: 1.4(a), 1.4(b) and 1.4(e);
- here, from the vanishing-gradients sub-study: 1.3(b) and 1.4(d)'s vanishing gradients
  (per-seed fitted signal factors with their CI against fits.VANISHING_FACTOR, per init, and the
  layers it takes the signal to fall to 1%);
- verify.learning_rate (1.4(f), from the batch-scaling sub-study: the learning rate as the
  homework asks it, and the answer read as a statement about the gradient's size);
- verify.timing (the cost claims of 1.4(d), from repeated interleaved timings).

Expected verdicts follow the theory as corrected here: the course's formulas hold once
transposed; 1.3(b)'s vanishing holds only under He (with the standard init ReLU's signal shrinks
too: factor sqrt(1/3 x 1/2) = 0.41); tanh vanishes only under the standard init; 1.4(b)'s zeros
hurt only under a log; 1.4(f)'s expected verdicts are verify.learning_rate's.
Timing claims have no expected verdict (machines differ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.vanishing_gradients import findings as vf
from nnhw.experiments.verify import learning_rate, timing
from nnhw.experiments.verify.claims import HOLDS_ONLY, Claim
from nnhw.experiments.verify.config import COMMAND, Config
from nnhw.experiments.verify.findings_course import COURSE_CLAIMS
from nnhw.experiments.verify.findings_math import MATH_CLAIMS
from nnhw.experiments.verify.findings_training import TRAINING_CLAIMS, signal_theory
from nnhw.experiments.verify.substudies import sub_config, substudy_command, substudy_tables

Tables = dict[str, pd.DataFrame]
Judge = Callable[[Tables, str], Claim]
# The claims table's columns, in order: the Claim fields, then the verdict's category.
COLUMNS = [f.name for f in fields(Claim)] + ["category"]
# The homework's order of sections, for the claims table.
SECTION_ORDER = ("1.2(a)", "1.2(b)", "1.2(c)", "1.2(d)", "1.3(a)", "1.3(b)", "1.4(a)", "1.4(b)",
                 "1.4(c)", "1.4(d)", "1.4(e)", "1.4(f)")  # fmt: skip


def verify_command(config: Any) -> str:
    """The command that regenerates verify's own tables."""
    return f"nnhw {COMMAND} --seed {config.seed}" + (" --thorough" if config.thorough else "")


def _sub(tables: Tables, command: str) -> Tables:
    sub = substudy_tables(tables, command)
    if not sub:
        raise KeyError(command)
    return sub


def _case_text(row: pd.Series) -> str:
    to1 = number(row["layers_to_1pct"])
    return (
        f"{row['init']} {number(row['factor'])} [{number(row['factor_low'])}, "
        f"{number(row['factor_high'])}] (theory {number(row['predicted'])}; 1% after {to1} "
        "layers)"
    )


def _vanishing(
    cid: str, section: str, text: str, vanishing: tuple[str, ...], flowing: tuple[str, ...],
    config: Any,
) -> Judge:  # fmt: skip
    def judge(tables: Tables, command: str) -> Claim:
        cfg = sub_config("vanishing-gradients", config)
        decisions = vf.case_decisions(_sub(tables, "vanishing-gradients"))
        verdict, _, _ = vf.claim_from_decisions(decisions, vanishing, flowing)
        moved = [vf.claim_from_decisions(decisions, vanishing, flowing, col)[0]
                 for col in ("moved_low", "moved_high")]  # fmt: skip
        acts = (*vanishing, *flowing)
        d = decisions[decisions["activation"].isin(acts)]
        parts = [f"{a}: " + ", ".join(_case_text(r) for _, r in d[d["activation"] == a].iterrows())
                 for a in acts]  # fmt: skip
        depth = int(d["depth"].max())
        numbers = (
            f"Per-layer factor of the back-propagated signal at depth {depth}, width "
            f"{cfg.width}, geometric mean over {int(d['seeds'].min())} seeds [95% CI] — "
            + "; ".join(parts)
            + f". A signal counts as vanishing when the whole CI lies below "
            f"{vf.VANISHING_FACTOR} (it then falls to 1% within "
            f"{number(vf.layers_to_one_percent(vf.VANISHING_FACTOR))} layers), as flowing when "
            "above, undecided otherwise."
        )
        near = d.loc[(np.log(d["factor"]) - np.log(vf.VANISHING_FACTOR)).abs().idxmin()]
        lo, hi = 0.75 * vf.VANISHING_FACTOR, 1.25 * vf.VANISHING_FACTOR
        same = all(m == verdict for m in moved)
        theory = "; ".join(signal_theory(a, "xavier-normal", depth, cfg.width, cfg.width)
                           for a in acts) + " (Xavier, n Var(W) = 1)"  # fmt: skip
        return Claim(
            cid, section, text,
            "per-seed fitted per-layer factor of the back-propagated signal at the deepest "
            "depth, per initialisation, with its 95% CI and the layers it takes to fall to 1%",
            numbers, verdict, HOLDS_ONLY, "tables/vanishing-gradients.summary.csv",
            theory=theory, command=substudy_command("vanishing-gradients", config),
            seeds=int(d["seeds"].min()), agree=int(d["agree"].min()),
            deciding=f"per-layer signal factor, nearest the cut-off: {near['activation']}/"
            f"{near['init']}",
            value=float(near["factor"]), ci_low=float(near["factor_low"]),
            ci_high=float(near["factor_high"]), cutoff=f"< {vf.VANISHING_FACTOR} vanishes",
            cutoff_moved=f"unchanged at {number(lo)} and {number(hi)}" if same else
            f"at {number(lo)}: {moved[0]}; at {number(hi)}: {moved[1]}",
        )  # fmt: skip

    return judge


def _listed(judges: list[Judge]) -> Callable[[Tables, str], list[Claim]]:
    def run(tables: Tables, command: str) -> list[Claim]:
        out = []
        for judge in judges:
            try:
                out.append(judge(tables, command))
            except KeyError:
                continue
        return out

    return run


def _costs(tables: Tables, command: str) -> list[Claim]:
    return timing.cost_claims(tables) if timing.TABLE in tables else []


def _learning_rate(tables: Tables, config: Any) -> list[Claim]:
    try:
        return learning_rate.learning_rate_claims(tables, config)
    except KeyError:  # the batch-scaling sub-study's tables are not there
        return []


def all_claims(tables: Tables, config: Config) -> list[Claim]:
    """Every claim whose tables are present, in the homework's order of sections."""
    command = verify_command(config)
    sub = _listed([
        _vanishing("sigmoid-vanishes", "1.3(b)",
                   "Sigmoid's gradient vanishes in deeper nets; ReLU's does not",
                   ("sigmoid",), ("relu",), config),
        _vanishing("tanh-vanishes", "1.4(d)", "Tanh suffers from a vanishing gradient",
                   ("tanh",), (), config),
    ])  # fmt: skip
    claims = (
        _listed(TRAINING_CLAIMS)(tables, command)
        + _listed(COURSE_CLAIMS)(tables, command)
        + _listed(MATH_CLAIMS)(tables, command)
        + sub(tables, command)
        + _learning_rate(tables, config)
        + _costs(tables, command)
    )
    rank = {s: i for i, s in enumerate(SECTION_ORDER)}
    return sorted(claims, key=lambda c: rank.get(c.section, len(rank)))


def claims_table(claims: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([asdict(c) | {"category": c.category()} for c in claims], columns=COLUMNS)


def claims_table_from(tables: Tables, config: Config) -> pd.DataFrame:
    """The claims table as the saved tables give it (what a rebuilt report shows)."""
    return claims_table(all_claims(tables, config))


def strict_failures(tables: Tables) -> list[str]:
    """Claims whose verdict category differs from the expected one."""
    c = tables["claims"]
    bad = c[c["expected"].notna() & (c["category"] != c["expected"])]
    return [f"{r.id}: {r.verdict} (expected {r.expected})" for r in bad.itertuples()]
