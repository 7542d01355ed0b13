"""Report, headline and the runner's hooks (`metrics`, `check`) of `nnhw verify`, from its tables
alone (the verdicts are `verify.findings`').

The report opens with the claims table (claim, homework section, what was measured, the numbers,
the verdict, and the file that shows it), then one section per claim with the figures and tables
that show it (`EVIDENCE`, captioned by `CAPTIONS`); `verify.figures` saves only the sub-studies'
figures named there. `check` is the `--strict` hook: the claims whose verdict's category differs
from the expected one make the run exit 1; `metrics` counts the verdicts for `--json`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from nnhw.experiments.reporting.report import Finding, Report, Section
from nnhw.experiments.reporting.tables import TableView
from nnhw.experiments.verify.config import Config
from nnhw.experiments.verify.findings import claims_table_from, strict_failures

Tables = dict[str, pd.DataFrame]

# claim id -> (figures, tables) shown in its section
EVIDENCE: dict[str, tuple[list[str], list[str]]] = {
    "derivatives-regression": ([], ["gradient_checks"]),
    "derivatives-classification": ([], []),
    "training-loop": (["training_curves"], []),
    "zero-init": ([], ["symmetry"]),
    "linear-collapse": ([], ["linear_collapse"]),
    "sigmoid-range": (["activation_ranges"], ["activation_ranges"]),
    "sigmoid-mean": ([], []),
    "relu-dead": (["dead_units"], ["dead_units"]),
    "leaky-no-dead": ([], []),
    "relu-cheap": (["activation_cost"], ["activation_cost"]),
    "leaky-cost": ([], []),
    "sigmoid-vanishes": (["vanishing-gradients.signal_by_layer"], []),
    "tanh-vanishes": (["vanishing-gradients.fitted_vs_predicted"], ["vanishing-gradients.summary"]),
    "softmax-argmax": (["softmax-stability.temperature"], []),
    "softmax-breaks": (["softmax-stability.error_vs_scale"], ["softmax-stability.thresholds"]),
    "batch-scaling": (["batch-scaling.gradient_norm"], ["batch-scaling.slopes"]),
}


# captions of the evidence shown in the claims' sections (a bare file name said nothing)
CAPTIONS: dict[str, str] = {
    "gradient_checks": "Worst relative error of each parameter's hand-written gradient against "
    "central finite differences and PyTorch autograd, per net and loss.",
    "training_curves": "Training and test loss per epoch of the two course presets (log scale).",
    "symmetry": "Largest distance between two hidden units' incoming weights, before and after "
    "training, from zero and from random initialisation.",
    "linear_collapse": "Relative distance of the Linear-identity-Linear net from its composed "
    "affine map (algebraic) and from least squares (trained), with test R².",
    "activation_ranges": "Smallest, largest and mean output of sigmoid and tanh, over z in "
    "[-50, 50] and in the trained net's hidden layer.",
    "dead_units": "Fraction of dead hidden units before and after training, every hidden bias "
    "shifted by -3 at initialisation.",
    "activation_cost": "Median forward plus backward time of each activation on the same array.",
    "vanishing-gradients.signal_by_layer": "Back-propagated signal per hidden layer at "
    "initialisation, per activation and initialisation (vanishing-gradients sub-study).",
    "vanishing-gradients.fitted_vs_predicted": "Every fitted per-layer factor against the one "
    "variance propagation predicts (vanishing-gradients sub-study).",
    "vanishing-gradients.summary": "Fitted and predicted per-layer factors, first/last ratios.",
    "softmax-stability.temperature": "Softmax of one row of logits as the temperature falls, and "
    "its distance to the one-hot argmax (softmax-stability sub-study).",
    "softmax-stability.error_vs_scale": "Error against the exact softmax in ulps, per case, "
    "precision and formula; x marks broken outputs (softmax-stability sub-study).",
    "softmax-stability.thresholds": "First failing scale of each formula by bisection, beside "
    "log(finfo.max) and log(smallest subnormal / 2).",
    "batch-scaling.gradient_norm": "Minibatch gradient norm against the batch size, summed and "
    "mean loss, with the noise model and B_simple (batch-scaling sub-study).",
    "batch-scaling.slopes": "Log-log slopes of the gradient norm against B per range.",
}


# The claims table as the page shows it: the claim and its verdict first, then how sure it is;
# what was measured and the numbers are each claim's own (folded) section below, and the CSV's.
CLAIMS_VIEW = TableView(
    first=("id", "verdict", "claim", "section", "seeds", "agree", "deciding", "value", "ci_low",
           "ci_high", "cutoff", "expected"),
    hide=("category", "measured", "numbers"),
    sentinels={"expected": {None: "none (machine-dependent)"}, "seeds": {0: "-"},
               "agree": {0: "-"}},
    badges=("verdict",),
)  # fmt: skip


def _sentence(measured: str, numbers: str) -> str:
    """A finding from a claim's row: its numbers when they are a sentence already, else what
    was measured followed by them ('Worst relative error ...: finite differences 1.2e-10; ...')."""
    numbers = numbers.strip()
    if numbers[:1].isupper() and len(numbers.split()) >= 12:  # "LeakyReLU 153 us vs ..." is not
        return numbers if numbers.endswith(".") else numbers + "."
    text = f"{measured[:1].upper()}{measured[1:]}: {numbers}"
    return text if text.endswith(".") else text + "."


def report(tables: Tables, config: Any) -> Report:
    c = claims_table_from(tables, config)
    findings = [
        Finding(_sentence(r.measured, r.numbers), r.verdict, f"{r.section} {r.claim}")
        for r in c.itertuples()
    ]
    sections = [Section(
        "Claims", "Each claim of the course's homework answers, what nnhw measured, and the "
        "verdict. The expected column is the verdict the theory (as corrected here) predicts; "
        "nnhw verify --strict fails when they differ. The sub-studies' full tables are in "
        "tables/<study>.<table>.csv.",
        tables=[("claims", "One row per claim: its verdict, the homework section, how many seeds "
                 "agree and the number that decides it, and the verdict the theory expects; what "
                 "was measured and the numbers are in the claim's section below.")],
        views={"claims": CLAIMS_VIEW},
    )]  # fmt: skip
    for r in c.itertuples():
        figs, tabs = EVIDENCE.get(r.id, ([], []))
        result = r.numbers.strip().rstrip(".")
        sections.append(Section(
            f"{r.section} — {r.claim}",
            f"Measured: {r.measured}. Result: {result}. Verdict: {r.verdict}.",
            tables=[(t, CAPTIONS.get(t, t)) for t in tabs],
            figures=[(f, CAPTIONS.get(f, f)) for f in figs],
            fold=True,
            verdict=r.verdict,
        ))  # fmt: skip
    mode = "full-size" if config.thorough else "reduced-size (use --thorough for full size)"
    return Report(
        "The course's theory, claim by claim",
        f"{len(c)} claims of the course's answers (sections 1.2 to 1.4) tested with "
        f"{mode} measurements: {headline(tables)}.",
        findings,
        sections,
    )


def headline(tables: Tables) -> str:
    c = tables.get("claims")
    if c is None or c.empty:
        return "no claims judged"
    counts = c["category"].value_counts()
    parts = [f"{int(counts.get(k, 0))} {k}" for k in ("supported", "refuted", "holds only when")]
    return ", ".join(parts)


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
