"""The sub-studies `nnhw verify` runs, the settings it runs them with, and where their tables go.

`SUBSTUDIES`: vanishing-gradients, softmax-stability and batch-scaling, run by `compute` through
the study registry (`runs.studies`) at a reduced size (`--thorough`: their full default size),
with `sub_config`. Their tables are kept among verify's under the names `<command>.<table>`
(e.g. tables/vanishing-gradients.summary.csv); `substudy_tables` gives one sub-study's tables
back under their own names, which is what its findings and figures read.
"""

from __future__ import annotations

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


def substudy_tables(tables: Tables, command: str) -> Tables:
    """The tables of sub-study `command` under their own names (`summary`, not
    `vanishing-gradients.summary`); empty when the run has none of them."""
    prefix = f"{command}."
    return {k[len(prefix) :]: v for k, v in tables.items() if k.startswith(prefix)}
