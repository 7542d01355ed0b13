"""The depth axis of `nnhw compare-activations` (--depths), read from its tables alone.

- `depths_of(tables)`: the depths of a run, ascending (one for a run without --depths, and for a
  run written before the depth axis: experiments.compare_activations_summary.ensure_depth).
- `at_depth(tables, depth)`: every table restricted to the rows of one depth (tables without a
  `depth` column, such as points, unchanged). The figures and findings that describe one net
  (loss curves, gradient norms per layer, unit health, ranges, timing, decision boundaries, the
  findings about dead units, ranges, cost and the linear net) use the deepest depth of the run.
- `depth_speed_finding(summary)`: epochs to the target loss, sigmoid against ReLU, at each depth,
  and how sigmoid's lag changes with depth. Verdict on the course's claim "ReLU trains faster than
  sigmoid in deeper nets" (1.3(b)) from the depths of two hidden layers or more, where ReLU is
  faster when it reached the target in more seeds, or in as many and sooner (the same rule as the
  one-depth finding, compare_activations_findings.speed_finding): "supported" when ReLU is faster
  at every such depth, "refuted" at none, "holds only when the net has at least k hidden layers"
  when it is faster from depth k on, else "holds only at depths ...". No verdict when every net
  has one hidden layer.
- `depth_gradient_finding(summary)`: the first-to-last layer gradient ratio (over training) of
  sigmoid and ReLU at each depth, and how many times ReLU's is sigmoid's (widening or narrowing
  with depth). A measurement; the verdict on vanishing gradients is the vanishing finding's, at
  the deepest depth.
"""

from __future__ import annotations

import pandas as pd

from nnhw.experiments.compare_activations.cells import with_depth

Tables = dict[str, pd.DataFrame]


def depths_of(tables: Tables) -> list[int]:
    """The depths of a run, ascending."""
    for name in ("summary", "history", "layers"):
        if name in tables and "depth" in tables[name].columns:
            return sorted(int(d) for d in tables[name]["depth"].unique())
    if "layers" in tables:
        return [int(tables["layers"]["layer"].max()) - 1]
    return []


def at_depth(tables: Tables, depth: int) -> Tables:
    """Every table restricted to `depth` (tables without a depth column unchanged)."""
    return {
        name: (df[df["depth"] == depth].reset_index(drop=True) if "depth" in df.columns else df)
        for name, df in tables.items()
    }


def ensure_depth(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """`tables` with a `depth` column in every per-activation table (module docstring): a run
    from before the depth axis had one depth, the layers' deepest hidden layer."""
    if "layers" in tables:
        depth = int(tables["layers"]["layer"].max()) - 1
    elif "summary" in tables:
        depth = int(tables["summary"]["depth"].iloc[0])
    else:
        return dict(tables)
    return {
        name: with_depth(df, depth) if "activation" in df.columns else df
        for name, df in tables.items()
    }
