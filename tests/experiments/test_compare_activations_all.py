"""compare-activations with every activation (`--activations all`): the config expands it, ELU's
alpha reaches ELU's cells only and changes them, a tiny run of all eleven gives finite summaries,
timing rows, figures and the findings for the newer activations (saturation per kind, cost against
ReLU), which quote the tables and follow them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nnhw.core.activations import NONLINEAR_ACTIVATIONS
from nnhw.core.errors import NnhwError
from nnhw.experiments.compare_activations import compute
from nnhw.experiments.compare_activations import findings as cf
from nnhw.experiments.compare_activations.cells import activation_cell
from nnhw.experiments.compare_activations.config import Config
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.plotting import close_figure
from nnhw.experiments.runs.context import RunContext
from nnhw.experiments.runs.studies import load

TINY = {"seeds": 2, "epochs": 2, "samples": 60, "timing_repeats": 6, "hidden": (8,)}
ca = load("compare-activations")


@pytest.fixture(scope="module")
def every() -> tuple[Config, dict[str, pd.DataFrame]]:
    config = Config(activations="all", **TINY)
    return config, ca.compute(config, RunContext())


def test_all_means_every_non_linear_activation() -> None:
    assert Config(activations="all").activations == NONLINEAR_ACTIVATIONS
    assert Config(activations=("All",), include_identity=True).activations == (
        *NONLINEAR_ACTIVATIONS, "identity"
    )  # fmt: skip
    with pytest.raises(NnhwError, match="--elu-alpha applies to elu only"):
        Config(activations=("relu", "selu"), elu_alpha=0.5)
    with pytest.raises(NnhwError, match="--elu-alpha"):
        Config(activations=("elu",), elu_alpha=0.0)


def test_elu_alpha_reaches_elu_cells_only_and_changes_them() -> None:
    config = Config(activations=("relu", "elu"), elu_alpha=0.3, **TINY)
    cells = compute.cells(config)
    assert [c.get("elu_alpha") for c in cells] == [None, 0.3]
    default = compute.cells(Config(activations=("relu", "elu"), **TINY))
    assert default[0] == cells[0]  # relu's cell (and so its stored result) is untouched
    seed = np.random.SeedSequence(0)
    a = activation_cell(cells[1], seed)["history"]
    b = activation_cell(default[1], seed)["history"]
    assert not np.array_equal(a["train_loss"], b["train_loss"])


def test_a_run_of_every_activation(every) -> None:
    config, t = every
    s = t["summary"]
    assert list(s["activation"]) == list(NONLINEAR_ACTIVATIONS)
    assert np.all(np.isfinite(s[["final_train_loss", "grad_ratio_init", "time_ratio"]]))
    saturates = s.set_index("activation")["saturated_fraction"]
    assert saturates[["relu", "leaky-relu"]].isna().all()  # n/a: they cannot saturate
    assert saturates.drop(["relu", "leaky-relu"]).notna().all()
    timing = t["timing"]
    numpy_rows = timing[(timing["scope"] == "activation") & (timing["library"] == "numpy")]
    assert set(numpy_rows["activation"]) == set(NONLINEAR_ACTIVATIONS)
    figures = ca.figures(t, config)
    assert figures
    for fig in figures.values():
        close_figure(fig)


def test_newer_findings_quote_the_tables_and_follow_them(every) -> None:
    _, t = every
    s = t["summary"]
    sat = cf.saturation_finding(s)
    assert sat is not None and "n/a for relu, leaky-relu" in sat.text
    gelu = float(s.set_index("activation").loc["gelu", "saturated_fraction"])
    assert f"gelu {number(100 * gelu)}% (left tail)" in sat.text
    assert "tanh" in sat.text and "(either tail)" in sat.text
    cost = cf.newer_cost_finding(s, t["timing"])
    assert cost is not None and cost.verdict is None
    row = t["timing"][(t["timing"]["activation"] == "mish") & (t["timing"]["scope"] == "activation")
                      & (t["timing"]["library"] == "numpy")].iloc[0]  # fmt: skip
    assert f"mish NumPy {number(row['ratio'])}x" in cost.text
    texts = [f.text for f in cf.findings(t)]
    assert sat.text in texts and cost.text in texts
    # the course's four alone: neither finding (their reports stay as they were)
    course = s[s["activation"].isin(["relu", "leaky-relu", "tanh", "sigmoid"])]
    assert cf.saturation_finding(course) is None
    assert cf.newer_cost_finding(course, t["timing"]) is None
    # the numbers move: the finding follows
    s2 = s.copy()
    s2.loc[s2["activation"] == "gelu", "saturated_fraction"] = 0.5
    assert "gelu 50% (left tail)" in cf.saturation_finding(s2).text  # type: ignore[union-attr]
