"""The sub-studies `nnhw verify` runs, the settings it runs them with, and where their tables go.

`SUBSTUDIES`: vanishing-gradients, softmax-stability and batch-scaling, run by `compute` through
the study registry (`runs.studies`) at a reduced size (`--thorough`: their full default size),
with `sub_config`. Their tables are kept among verify's under the names `<command>.<table>`
(e.g. tables/vanishing-gradients.summary.csv); `substudy_tables` gives one sub-study's tables
back under their own names, which is what its findings and figures read. `substudy_command` is
the `nnhw <command> ...` line that reruns a sub-study with the settings verify used.

The reduced vanishing-gradients run is sized for its verdicts: 6 nets per case at width 64 and
depths 4 and 12 give a per-layer signal factor whose 95% CI stays clear of the 0.8 cut-off at
every seed tried (tanh with Xavier sits at about 0.88 at depth 12, ReLU with Xavier at 0.71;
at width 32, depth 8 and 3 nets tanh/Xavier's interval crossed 0.8 at some seeds). One epoch of
its short training run is enough: verify's claims read the flow at initialisation, and its own
training measurements (verify.training) cover what happens during training.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pandas as pd

from nnhw.experiments.runs import studies
from nnhw.experiments.verify.config import Config

Tables = dict[str, pd.DataFrame]
SUBSTUDIES = ("vanishing-gradients", "softmax-stability", "batch-scaling")


def sub_config(command: str, config: Config) -> Any:
    """The settings verify runs sub-study `command` with."""
    mod = studies.load(command)
    if config.thorough:
        return mod.Config(seed=config.seed)
    quick: dict[str, dict[str, Any]] = {
        "vanishing-gradients": {
            "depths": (4, 12), "width": 64, "activations": ("relu", "tanh", "sigmoid"),
            "seeds": 6, "batches": 2, "epochs": 1, "widths": (1, 2, 4), "samples": 256,
        },
        "softmax-stability": {"points": 15, "rows": 4, "classes": 8},
        "batch-scaling": {
            "samples": 128, "minibatches": 200, "pretrain_epochs": 5, "train_epochs": 8,
            "seeds": 5,
        },
    }  # fmt: skip
    return mod.Config(seed=config.seed, **quick[command])


def substudy_command(command: str, config: Config) -> str:
    """`nnhw <command> --option value ... --seed N`: the settings of sub_config that differ
    from the study's defaults (lists comma-separated)."""
    sub = sub_config(command, config)
    default = studies.load(command).Config()
    parts = [f"nnhw {command}"]
    for f in fields(sub):
        value = getattr(sub, f.name)
        if f.name == "seed" or value == getattr(default, f.name):
            continue
        text = ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
        parts.append(f"--{f.name.replace('_', '-')} {text}")
    return " ".join([*parts, f"--seed {sub.seed}"])


def substudy_tables(tables: Tables, command: str) -> Tables:
    """The tables of sub-study `command` under their own names (`summary`, not
    `vanishing-gradients.summary`); empty when the run has none of them."""
    prefix = f"{command}."
    return {k[len(prefix) :]: v for k, v in tables.items() if k.startswith(prefix)}
