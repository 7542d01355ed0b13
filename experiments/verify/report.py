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

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Finding, Report, Section
from nnhw.experiments.reporting.tables import TableView
from nnhw.experiments.verify.claims import CATEGORIES
from nnhw.experiments.verify.config import Config
from nnhw.experiments.verify.findings import claims_table_from, strict_failures

Tables = dict[str, pd.DataFrame]

# claim id -> (figures, tables) shown in its section
EVIDENCE: dict[str, tuple[list[str], list[str]]] = {
    "training-steps": (["zero_grad"], []),
    "zero-init": ([], ["symmetry"]),
    "forward-pass": ([], ["course_forward"]),
    "chain-rule-regression": ([], ["course_gradients"]),
    "jacobians-regression": ([], ["course_jacobians"]),
    "sigmoid-mse": (["saturated_output"], ["sigmoid_factors"]),
    "chain-rule-classification": ([], []),
    "jacobians-classification": ([], []),
    "relu-trains-deeper": (["deep_nets"], []),
    "sigmoid-vanishes": (["vanishing-gradients.signal_by_layer"], ["vanishing-gradients.summary"]),
    "softmax-argmax": (["argmax_table"], ["argmax_table"]),
    "softmax-underflow": ([], ["wording_table", "softmax-stability.thresholds"]),
    "linear-collapse": ([], ["linear_collapse"]),
    "nonlinearity-needed": ([], ["nonlinear"]),
    "relu-dead": (["relu_dying"], []),
    "leaky-no-dead": ([], []),
    "sigmoid-range": (["activation_ranges"], []),
    "sigmoid-mean": (["centring"], []),
    "tanh-vanishes": ([], []),
    "relu-cheap": (["activation_timing"], ["activation_timing"]),
    "leaky-cost": ([], []),
    "linear-maps": ([], ["linear_maps"]),
    "translation-affine": ([], []),
    "composition": ([], []),
    "layer-svd": ([], ["layer_svd"]),
    "learning-rate": (["batch-scaling.lr_rules"], ["batch-scaling.training_breaks"]),
    "batch-scaling": (["batch-scaling.gradient_norm"], ["batch-scaling.slopes"]),
}


# captions of the evidence shown in the claims' sections (a bare file name said nothing)
CAPTIONS: dict[str, str] = {
    "zero_grad": "Training loss of the regression preset per epoch with the gradients zeroed "
    "before each backward and with them accumulated (median over seeds, interquartile band).",
    "symmetry": "Largest distance between two hidden units' incoming weights, before and after "
    "training, from zero and from random initialisation, per seed.",
    "course_forward": "The answer's z1, z2, z3, y_hat against autograd's, per seed and net.",
    "course_gradients": "Each bullet of the backward pass evaluated literally (and corrected): "
    "the factors' shapes, whether they conform, and the error against autograd, per seed.",
    "course_jacobians": "The answer's Jacobian elements against autograd's: error, largest "
    "off-diagonal entry, the shape written and the true one, per seed.",
    "saturated_output": "Training accuracy per epoch from an output saturated on the wrong side, "
    "with MSE and with BCE (median over seeds, interquartile band).",
    "sigmoid_factors": "sigma'(z) and dl/dz3 for a target of 1 under MSE and BCE.",
    "deep_nets": "The homework's classifier with four hidden layers, f = ReLU against f = "
    "sigmoid: loss, first/last signal ratio and saturated sigmoid units per epoch.",
    "vanishing-gradients.signal_by_layer": "Back-propagated signal per hidden layer at "
    "initialisation, per activation and initialisation (vanishing-gradients sub-study).",
    "vanishing-gradients.summary": "Fitted and predicted per-layer factors, first/last ratios.",
    "argmax_table": "Per seed and temperature: exact argmax agreement, distance to the one-hot "
    "argmax and its bound, the smooth max's gap and its bound, and float rounding apart (the "
    "figure: the distance, median over seeds, against T).",
    "wording_table": "Per seed and dtype: where the naive softmax breaks, where zeros start and "
    "whether they are correctly rounded, and the cross-entropy of a label on a zero.",
    "softmax-stability.thresholds": "First failing scale of each formula by bisection, beside "
    "log(finfo.max) and log(smallest subnormal / 2) (softmax-stability sub-study).",
    "linear_collapse": "Relative distance of the Linear-identity-Linear net from its composed "
    "affine map (algebraic) and from least squares (trained), with test R², per seed.",
    "nonlinear": "Test R² on the sine with identity and with ReLU hidden units, per seed, beside "
    "least squares.",
    "relu_dying": "Dead hidden units before and after training at the preset's rate, a higher "
    "rate and after a forced bias shift (median over seeds, bars min to max).",
    "activation_ranges": "Smallest, largest and mean output of sigmoid and tanh, over z in "
    "[-50, 50] and in the trained nets' hidden layers.",
    "centring": "Training loss per epoch with sigmoid, sigmoid - 1/2 and tanh hidden units "
    "(median over seeds, interquartile band).",
    "activation_timing": "Forward plus backward time of each activation over ReLU's, median "
    "of interleaved rounds with its 95% CI, per library.",
    "linear_maps": "Superposition residuals and the properties of each map, per seed.",
    "layer_svd": "The SVD of each trained 32 x 32 layer: residual, orthogonality, det, spread.",
    "batch-scaling.lr_rules": "Training loss against the batch size under a fixed rate, the linear "
    "and the square-root rule, beside the small batch's curve (batch-scaling sub-study).",
    "batch-scaling.training_breaks": "Per rule: the batch size up to which its loss curve stays "
    "close to the small batch's, against the noise-scale prediction.",
    "batch-scaling.gradient_norm": "Minibatch gradient norm against the batch size, summed and "
    "mean loss, with the noise model and B_simple (batch-scaling sub-study).",
    "batch-scaling.slopes": "Log-log slopes of the gradient norm against B per range.",
}


# The claims table as the page shows it: the claim and its verdict first, then how sure it is;
# what was measured and the numbers are each claim's own (folded) section below, and the CSV's.
# The verdict's category is the badge (a whole "holds only when ..." verdict as a badge made
# every row eight lines tall); the full verdict follows as wrapped text. What was measured, the
# numbers, the theory, the command and the moved cut-off are each claim's own (folded) section
# below, and the CSV's: as columns they made every row as tall as its longest sentence.
CLAIMS_VIEW = TableView(
    first=("id", "category", "claim", "verdict", "section", "seeds", "agree", "deciding", "value",
           "ci_low", "ci_high", "cutoff", "expected"),
    hide=("measured", "numbers", "theory", "command", "cutoff_moved"),
    sentinels={"expected": {None: "none (machine-dependent)"}, "seeds": {0: "-"},
               "agree": {0: "-"}},
    badges=("category",),
    max_rows=60,
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
        "verdict: supported (the measurements agree with the claim as the homework's question "
        "means it), refuted (they contradict it), holds only when ... (true under the measured "
        "condition only), inconclusive (the evidence does not decide: a confidence interval "
        "contains the cut-off). Each verdict is computed over several seeds: the seeds column "
        "counts them, agree how many reach the verdict on their own, and the deciding number "
        "comes with its 95% confidence interval and its cut-off; each claim's section says "
        "whether moving the cut-off by 25% would change the verdict, shows the theory with its "
        "numbers, and gives the command that reproduces the evidence. The expected column is the "
        "verdict the theory (as corrected here) predicts; nnhw verify --strict fails when they "
        "differ. The sub-studies' full tables are in tables/<study>.<table>.csv.",
        tables=[("claims", "One row per claim: its verdict, the homework section, how many seeds "
                 "agree and the number that decides it, and the verdict the theory expects; what "
                 "was measured and the numbers are in the claim's section below.")],
        views={"claims": CLAIMS_VIEW},
        fold=True,  # the findings above say each claim, its verdict and its numbers already
    )]  # fmt: skip
    for r in c.itertuples():
        figs, tabs = EVIDENCE.get(r.id, ([], []))
        result = r.numbers.strip().rstrip(".")
        sections.append(Section(
            f"{r.section} — {r.claim}",
            f"Measured: {r.measured}. Result: {result}. Verdict: {r.verdict}."
            + (f" Theory: {r.theory}." if r.theory else "")
            + (f" How sure: {uncertainty(r)}." if r.seeds else "")
            + (f" Reproduce: {r.command}." if r.command else ""),
            tables=[(t, CAPTIONS.get(t, t)) for t in tabs],
            figures=[(f, CAPTIONS.get(f, f)) for f in figs],
            fold=True,
            verdict=r.category,  # the badge beside the folded title; the text has the verdict
        ))  # fmt: skip
    mode = "full-size" if config.thorough else "reduced-size (use --thorough for full size)"
    return Report(
        "The course's theory, claim by claim",
        f"{len(c)} claims of the course's answers (sections 1.2 to 1.4) tested with "
        f"{mode} measurements: {headline(tables)}.",
        findings,
        sections,
    )


def uncertainty(r: Any) -> str:
    """'5 of 5 seeds agree; final loss ... 34.2 (95% CI [19.6, 59.8]), cut-off > 2x, unchanged
    at 1.75 and 2.25' from a claims-table row."""
    text = f"{int(r.agree)} of {int(r.seeds)} seeds agree"
    if r.deciding:
        text += f"; {r.deciding} {number(r.value)}"
        if pd.notna(r.ci_low) and pd.notna(r.ci_high):
            kind = "interval" if "sign-test interval" in r.deciding else "95% CI"
            text += f" ({kind} [{number(r.ci_low)}, {number(r.ci_high)}])"
    if r.cutoff:
        text += f"; cut-off {r.cutoff}"
    if r.cutoff_moved:
        text += f", moved by 25%: {r.cutoff_moved}"
    return text


def headline(tables: Tables) -> str:
    c = tables.get("claims")
    if c is None or c.empty:
        return "no claims judged"
    counts = c["category"].value_counts()
    parts = [f"{int(counts.get(k, 0))} {k}" for k in CATEGORIES if counts.get(k, 0) or k in
             ("supported", "refuted", "holds only when")]  # fmt: skip
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
