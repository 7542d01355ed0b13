"""`nnhw verify`: every claim of the course's two-layer-net theory, measured, in one report.

Contract (in runs.context): `compute(config, ctx) -> tables`. It runs
- the measurements of verify's own modules (`MEASUREMENTS`, each over `config.seeds` nets or
  draws): the course's formulas as written against autograd (verify.course), the training
  measurements (verify.training), zero init, linear collapse and activation ranges
  (verify.measure), softmax in exact arithmetic and the 1.4(b) wording (verify.softmax_checks),
  linear maps (verify.maps) and the activations' cost (verify.timing); and
- three sub-studies (`verify.substudies`) at a reduced size (`--thorough`: their full default
  size): vanishing-gradients, softmax-stability and batch-scaling, whose tables are kept under
  the names `<command>.<table>` (e.g. tables/vanishing-gradients.summary.csv).
`verify.findings` turns the tables into one verdict per claim: the `claims` table, written with
the others. Figures and report are drawn from the tables alone. Ctrl-C raises `Interrupted` with
the tables measured so far.

Random streams: measurement `name` draws from SeedSequence(seed, spawn_key=(crc32(name),)), so
adding, dropping or reordering one leaves the others' numbers unchanged. The order of
`MEASUREMENTS` is the order they run in: those that need PyTorch (when installed: autograd for
the course's formulas, .grad accumulation, the cost timings) come last, and its import (seconds)
starts in a background thread when compute begins.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pandas as pd

from nnhw.experiments import timing as shared_timing
from nnhw.experiments.runs import studies
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.verify import maps, softmax_checks, timing, training
from nnhw.experiments.verify import measure as vm
from nnhw.experiments.verify.config import Config
from nnhw.experiments.verify.course import course_tables
from nnhw.experiments.verify.findings import claims_table_from
from nnhw.experiments.verify.substudies import SUBSTUDIES, sub_config

Tables = dict[str, pd.DataFrame]
Job = Callable[[np.random.SeedSequence, Config], Tables]


def _epochs(c: Config, part: int = 2) -> int:
    return max(1, c.epochs // part)


# name -> job(seed, config) -> tables, in the order they run.
MEASUREMENTS: dict[str, Job] = {
    "symmetry": lambda s, c: {"symmetry": vm.symmetry(s, c.seeds, _epochs(c, 4), c.samples)},
    "linear_collapse": lambda s, c: {
        "linear_collapse": vm.linear_collapse(s, c.seeds, 5 * c.epochs, c.samples)
    },
    "activation_ranges": lambda s, c: {
        "activation_ranges": vm.activation_ranges(s, c.seeds, _epochs(c, 4), c.samples)
    },
    "saturated_output": lambda s, c: {
        "saturated_output": training.saturated_output(s, c.seeds, _epochs(c, 4), c.samples),
        "sigmoid_factors": training.sigmoid_factors(),
    },
    "deep_nets": lambda s, c: training.deep_nets(s, c.seeds, c.epochs * 3 // 8, c.samples),
    "nonlinear": lambda s, c: {"nonlinear": training.nonlinear(s, c.seeds, c.epochs, c.samples)},
    "relu_dying": lambda s, c: {
        "relu_dying": training.relu_dying(
            s, max(training.DYING_SEEDS, c.seeds), _epochs(c, 3), c.samples
        )
    },
    "centring": lambda s, c: {"centring": training.centring(s, c.seeds, _epochs(c), c.samples)},
    "softmax": lambda s, c: {
        "argmax_table": softmax_checks.argmax_table(s, c.seeds),
        "wording_table": softmax_checks.wording_table(s, c.seeds),
    },
    "linear_maps": lambda s, c: {"linear_maps": maps.linear_maps(s, c.seeds)},
    "zero_grad": lambda s, c: {
        "zero_grad": training.zero_grad(s, c.seeds, _epochs(c), c.samples),
        "accumulation": training.accumulation(s, c.seeds),
    },
    "course": lambda s, c: course_tables(s, c.seeds),
    "cost": lambda s, c: timing.cost_tables(s, rounds=4 * timing.ROUNDS if c.thorough
                                            else timing.ROUNDS),
}  # fmt: skip


def measure(config: Config, name: str) -> Tables:
    """The tables of one measurement of MEASUREMENTS, with its own random stream."""
    key = zlib.crc32(name.encode())
    return MEASUREMENTS[name](np.random.SeedSequence(config.seed, spawn_key=(key,)), config)


def compute(config: Config, ctx: RunContext) -> Tables:
    tables: Tables = {}
    shared_timing.start_torch_import()  # overlaps the NumPy measurements that come first
    # One unit per measurement (the claims are judged from them afterwards, at once).
    tracker = ctx.progress("measurements", len(MEASUREMENTS) + len(SUBSTUDIES))
    try:
        for name in MEASUREMENTS:
            tables.update(measure(config, name))
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
    bar = ctx.progress("claims", None)  # the verdicts, from the tables above
    try:
        tables["claims"] = claims_table_from(tables, config)
    finally:
        bar.close()
    return tables
