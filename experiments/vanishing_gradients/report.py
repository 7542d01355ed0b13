"""The report, headline and JSON metrics of `nnhw vanishing-gradients`, computed from its tables
alone (the findings the report leads with are in vanishing_gradients.findings).
"""

from __future__ import annotations

from typing import Any

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Report, Section
from nnhw.experiments.reporting.tables import TableView, where
from nnhw.experiments.vanishing_gradients.findings import Tables, deepest_cases, findings

THEORY_TEXT = """\
Variance propagation (Glorot & Bengio 2010; He et al. 2015), pre-activations taken as Gaussian
N(0, q_l): forward, q_{l+1} = n Var(W) E[f(z_l)^2] + Var(b); backward, Var(dz_l) =
n Var(W) E[f'(z_l)^2] Var(dz_{l+1}). So the norm of the back-propagated signal changes by
sqrt(n Var(W) E[f'(z)^2]) per layer towards the input: about 1/4 for sigmoid with Xavier
(n Var(W) = 1, f' <= 1/4), exactly 1 for ReLU with He (n Var(W) = 2, E[f'^2] = 1/2), and
sqrt(1/2) for ReLU with Xavier, whose activations also lose half their variance per layer. The
expectations are computed for any activation by Gaussian quadrature (composite Gauss-Legendre on
each half-line, split at the kinks at 0; within 2e-11 of 25-digit integration), evaluated layer
by layer at the predicted q_l; the fitted factor is the geometric mean of consecutive layer
ratios over the hidden layers, and the predicted factor the same mean of the predicted ratios.
Deep in the net q_l settles at a fixed point q* = n Var(W) E[f(z)^2] + Var(b) (Poole et al. 2016),
or collapses to 0, or grows without bound; chi* = n Var(W) E[f'(z)^2] at q* is the gradient
variance's per-layer factor there, and the initialisation with chi* = 1 is critical (Schoenholz
et al. 2017): n Var(W) = 2 for ReLU (He), 1 for tanh (LeCun, or Xavier on square layers)."""

DATA_TEXT = """\
tables/layers.csv: one row per activation x init x depth x layer x seed at initialisation
(weight_grad_norm, signal_norm, preact_std, act_std; RMS over batches). tables/training.csv: the
same gradient norms and the loss per epoch of the short training run. tables/theory.csv: the
predicted per-layer values; fixed_points.csv, critical.csv, factor_curve.csv: the mean-field
theory. tables/selfnorm.csv: the mean and variance of every hidden layer's activations per net of
the self-normalisation check; selfnorm_theory.csv its predictions. Inputs are standardised
Gaussian vectors of the net's width with a linear teacher as target (MSE); every hidden layer is
a square map."""


# 144 rows: the page shows the deepest depth's weight-gradient and activation rows (the
# signal's are the table above); every row is in the CSV
SUMMARY_VIEW = TableView(
    first=("activation", "init", "depth", "quantity"),
    rows=where(lambda d: (d["depth"] == d["depth"].max()) & (d["quantity"] != "signal"),
               "the weight gradient and activation std at the deepest depth"),
)  # fmt: skip


def report(tables: Tables, config: Any) -> Report:
    """The report: findings first, then theory, flow at initialisation, training, dead ReLU."""
    sections = [
        Section("Theory", THEORY_TEXT),
        Section(
            "Gradient flow at initialisation",
            "Fitted against predicted per-layer factors; the vanishes column holds the signal's "
            "factor at each case's deepest depth.",
            tables=[
                (
                    "vanishing",
                    "Back-propagated signal per activation and init at the deepest "
                    "depth: fitted and predicted factor, first/last ratio.",
                ),
            ],
            figures=[
                (
                    "signal_by_layer",
                    "Norm of the back-propagated signal dL/dz against the "
                    "hidden layer; solid measured, dashed theory.",
                ),
                ("fitted_vs_predicted", "Every fitted per-layer factor against its prediction."),
            ],
        ),
        Section(
            "Weight gradients and activations, every depth",
            "The other two quantities variance propagation predicts, layer by layer.",
            tables=[("summary", "Every fitted and predicted factor and first/last ratio.")],
            figures=[
                (
                    "weight_grad_by_layer",
                    "Norm of the weight gradient dL/dW against the "
                    "hidden layer; solid measured, dashed theory (per-example approximation).",
                ),
                (
                    "act_std_by_layer",
                    "Std of the activations against the hidden layer; "
                    "solid measured, dashed theory.",
                ),
            ],
            views={"summary": SUMMARY_VIEW},
            fold=True,
        ),
        Section(
            "During training",
            "Weight-gradient norms per layer over the short SGD run.",
            figures=[
                (
                    "training_heatmap",
                    "log10 weight-gradient norm, layer x epoch, at the deepest depth.",
                )
            ],
        ),
        Section(
            "Mean-field theory for any activation: fixed points and critical initialisation",
            "Where the pre-activations' variance goes from the first layer on, the gradient's "
            "per-layer factor there, and the weight variance that makes it 1.",
            tables=[
                (
                    "critical",
                    "Per activation: the critical n Var(W) (zero biases; empty where none), where "
                    "the variance goes there, and the initialisers that give it.",
                ),
                (
                    "fixed_points",
                    "Per activation and init: sigma_w2 = n Var(W), sigma_b2 = Var(b), the fixed "
                    "point q_star (0: collapses; inf: diverges), chi_star and factor_star = "
                    "sqrt(chi_star), the activations' mean and variance there.",
                ),
            ],
            figures=[
                (
                    "factor_curve",
                    "The signal's per-layer factor at the fixed point against n Var(W), one line "
                    "per activation (1 = critical); the inits studied as vertical lines, with the "
                    "measured (filled) and predicted (open) factors at the deepest depth.",
                )
            ],
        ),
        Section(
            "Self-normalisation: SELU against ELU, ReLU and tanh",
            "Klambauer et al. 2017: with LeCun-normal weights SELU's activations keep mean 0 "
            "and variance 1 through deep nets. Mean and variance of every hidden layer's "
            "activations over inputs and units, per net, against the theory.",
            tables=[
                (
                    "selfnorm_summary",
                    "At the deepest layer: the mean (95% CI over seeds) and the geometric-mean "
                    "variance (95% CI), the worst |mean| and variance factor over the layers, the "
                    "theory and its fixed point, and the cut-off test (outcome, seeds within).",
                )
            ],
            figures=[
                (
                    "selfnorm",
                    "Mean and variance of a_l against the layer: median over seeds with the "
                    "interquartile band, theory dashed, targets dotted.",
                )
            ],
        ),
        Section(
            "Dead ReLU in narrow nets",
            tables=[("dead_relu", "Fraction of inputs whose output is identically zero.")],
            figures=[
                (
                    "dead_relu",
                    "Dead fraction against depth (error bars: 2 standard "
                    "errors) with the formula as lines.",
                )
            ],
        ),
        Section("Data", DATA_TEXT),
    ]
    return Report(
        title="Vanishing gradients: depth, activation and initialisation against theory",
        summary=headline(tables),
        findings=findings(tables, config),
        sections=sections,
    )


def headline(tables: Tables) -> str:
    """One line: the smallest and largest fitted signal factor at the deepest depth."""
    cases = deepest_cases(tables)
    if cases.empty:
        return "no depth >= 2 measured: no per-layer factor"
    lo = cases.loc[cases["fitted_factor"].idxmin()]
    hi = cases.loc[cases["fitted_factor"].idxmax()]
    return (
        f"signal factor per layer at depth {int(cases['depth'].max())}: "
        f"{number(lo['fitted_factor'])} ({lo['activation']}/{lo['init']}, theory "
        f"{number(lo['predicted_factor'])}) to {number(hi['fitted_factor'])} ({hi['activation']}/"
        f"{hi['init']}, theory {number(hi['predicted_factor'])})"
    )


def metrics(tables: Tables) -> dict[str, Any]:
    """Numbers for --json and the terminal summary: per activation/init the signal's fitted and
    predicted factor at the deepest depth, and the dead-ReLU study's largest |z|."""
    out: dict[str, Any] = {}
    cases = deepest_cases(tables)
    if len(cases):
        out["depth"] = int(cases["depth"].max())
    for r in cases.itertuples():
        out[f"{r.activation}/{r.init} signal factor"] = float(r.fitted_factor)
        out[f"{r.activation}/{r.init} predicted"] = float(r.predicted_factor)
    d = tables.get("dead_relu")
    if d is not None and len(d):
        out["dead-relu max |z|"] = float(d["z_score"].abs().max())
    return out
