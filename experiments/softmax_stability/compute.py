"""`nnhw softmax-stability`: where each softmax formula overflows or underflows, per precision,
measured against an exact (mpmath) reference, in the manner of Blanchard, Higham & Higham (2021),
"Accurately computing the log-sum-exp and softmax functions".

Tables (`compute`; the measurements themselves are in softmax_stability.measure, the thresholds
in softmax_stability.theory):
- `sweep`: one row per case x dtype x formula x scale (log-spaced from --scale-min to
  --scale-max): `representable` (all logits finite in the dtype; the metrics are NaN otherwise)
  and the metrics of `measure.METRICS`.
- `thresholds`: one row per case x dtype x formula: the first failing scale by bisection, the
  quantity the theory bounds at that scale (`critical_value`), the theory from np.finfo, the
  tolerance (bisection width + the dtype's spacing there, since logits are rounded to the dtype)
  and whether measurement and theory agree (`matches_theory`: the naive form fails where the
  theory says when that lies in the range; every other formula is expected never to fail).
- `cross_entropy`: one row per case x dtype x scale x method: the mean cross-entropy of the same
  logits and fixed labels computed as log of the naive softmax, log of the max-shifted softmax,
  and log-softmax, against the exact value (always all three methods, whatever --formulas says):
  abs_error, and rel_error where the exact mean loss is a normal float64 (NaN otherwise; inf when
  the computed loss is not finite).
- `temperature` (when the temperature case runs): the exact softmax of one row of logits z/T
  against T = 1/scale, one row per temperature x class.

The first three come from a sweep (experiments.runs.sweep) over case x dtype cells (`cells`
here; each cell is softmax_stability.cells.cell), so --workers, --dask and --resume apply;
`temperature` is computed in this process after the sweep. `thresholds_table(config)` is the
thresholds table without the sweep machinery.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.runs.configfile import config_to_dict
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.sweep import combine, grid, run_sweep
from nnhw.experiments.softmax_stability import measure as sm
from nnhw.experiments.softmax_stability.cells import cell, threshold_rows
from nnhw.experiments.softmax_stability.config import Config


def thresholds_table(config: Config) -> pd.DataFrame:
    """First failing scale per case x dtype x formula (bisection), beside the theory."""
    return pd.DataFrame(
        [row for c in config.cases for d in config.dtypes for row in threshold_rows(config, c, d)]
    )


def cells(config: Config) -> list[dict[str, Any]]:
    """The sweep's cells: case x dtype (case slowest), each carrying every setting it needs."""
    common = {k: v for k, v in config_to_dict(config).items() if k not in ("cases", "dtypes")}
    return [{**at, **common} for at in grid({"case": config.cases, "dtype": config.dtypes})]


def temperature_table(config: Config) -> pd.DataFrame:
    """Exact softmax (float64) of the temperature case's first row at T = 1/scale, per class."""
    base = sm.draw_base("temperature", config.rows, config.classes, config.seed)
    z = base.z[:1]
    rows = []
    for scale in config.scales.tolist():
        x = sm.case_logits(
            "temperature", sm.Base(z, base.hot[:1], base.labels[:1]), scale, "float64"
        )
        assert x is not None
        p = sm.exact_reference(x).p_hi[0]
        top = int(np.argmax(z[0]))
        for k in range(config.classes):
            rows.append(
                {
                    "temperature": 1.0 / scale,
                    "class": k,
                    "logit": float(z[0, k]),
                    "probability": float(p[k]),
                    "is_argmax": k == top,
                }
            )
    return pd.DataFrame(rows)


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """All tables of the study (see the module docstring): a sweep over case x dtype cells."""
    try:
        results = run_sweep(cell, cells(config), ctx, config.seed, name="softmax")
    except KeyboardInterrupt:
        raise Interrupted({}) from None  # finished cells are on disk for --resume
    combined = combine(results)
    tables = {
        name: combined[name].drop(columns="cell")
        for name in ("sweep", "thresholds", "cross_entropy")
        if name in combined
    }
    if "temperature" in config.cases:
        tables["temperature"] = temperature_table(config)
    return tables
