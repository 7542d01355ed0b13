"""The benchmark's results: rows, the targets of issues 2, 10 and 16 checked on them, and the tables
written as Markdown and CSV."""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One contender of one workload. steps = 0 for whole-command timings (no per-step time)."""

    workload: str
    contender: str
    nets: int
    steps: int
    rounds: int
    median_s: float
    min_s: float
    per_net_step_us: float
    vs_reference: float
    reference: str

    @property
    def value(self) -> float:
        """What ratios compare: time per net and step, or the whole run's median."""
        return self.per_net_step_us if self.steps else self.median_s


@dataclass(frozen=True)
class Target:
    """measured = value(num) / value(den), or value(num) itself (seconds) when den is None; met
    when <= bound (at_most) or >= bound."""

    issue: int
    what: str
    num: tuple[str, str]  # (workload, contender)
    den: tuple[str, str] | None
    bound: float
    at_most: bool = True


def _small(issue: int, bound: float) -> list[Target]:
    return [
        Target(
            issue, f"{w}: nnhw step <= {bound}x the NumPy limit", (w, "nnhw"), (w, "numpy"), bound
        )
        for w in ("small-relu", "small-sigmoid")
    ]


TARGETS: list[Target] = [
    *_small(10, 1.2),
    *[
        Target(10, f"{w}: >= {k}x faster than {c}", (w, c), (w, "nnhw"), k, at_most=False)
        for w in ("small-relu", "small-sigmoid")
        for c, k in (("pytorch", 4.0), ("scikit-learn", 3.5))
    ],
    *[
        Target(10, f"{w}: nnhw step <= 1.1x the NumPy limit", (w, "nnhw"), (w, "numpy"), 1.1)
        for w in ("large-float32", "large-float64")
    ],
    *[
        Target(10, f"large-float32: faster than {c}", ("large-float32", c),
               ("large-float32", "nnhw"), 1.0, at_most=False)
        for c in ("pytorch", "jax (jit+scan)")
    ],
    Target(10, "ensemble of 20 <= 0.4x the time of 20 separate runs",
           ("ensemble-20", "nnhw ensemble E=20"), ("ensemble-20", "nnhw x20 separate"), 0.4),
    Target(10, "ensemble of 100, per net and step, no slower than compiled JAX on one net",
           ("ensemble-100", "nnhw ensemble E=100"), ("ensemble-100", "jax (jit+scan)"), 1.0),
    Target(10, "compare-activations, 12 cells (--depths 1,2,4): 2 workers >= 1.6x faster than 1",
           ("compare-activations-12-cells", "nnhw, 1 worker"),
           ("compare-activations-12-cells", "nnhw, 2 workers"), 1.6, at_most=False),
    Target(10, "compare-activations (default, whole command): faster than the PyTorch loop",
           ("compare-activations", "pytorch loop"), ("compare-activations", "nnhw, 1 worker"),
           1.0, at_most=False),
    Target(10, "`nnhw --help` <= 1.5x `python -c 'import numpy, typer'`",
           ("startup", "nnhw --help"), ("startup", "python -c 'import numpy, typer'"), 1.5),
    *_small(2, 1.25),
    Target(2, "ensemble of 20 <= 0.4x per member of a single net",
           ("ensemble-20", "nnhw ensemble E=20"), ("ensemble-20", "nnhw x20 separate"), 0.4),
    Target(16, "default `nnhw verify`, figures and report included: about 30 s (<= 33 s) wall",
           ("verify", "nnhw verify"), None, 33.0),
]  # fmt: skip


def check_targets(rows: list[Row]) -> list[dict[str, object]]:
    """One record per target: measured ratio and verdict (met / missed / not measured)."""
    by_key = {(r.workload, r.contender): r.value for r in rows}
    out: list[dict[str, object]] = []
    for t in TARGETS:
        num = by_key.get(t.num)
        den = 1.0 if t.den is None else by_key.get(t.den)  # None: an absolute bound (seconds)
        ratio = num / den if num is not None and den else math.nan
        if math.isnan(ratio):
            verdict = "not measured"
        else:
            verdict = "met" if (ratio <= t.bound if t.at_most else ratio >= t.bound) else "missed"
        bound = f"{'<=' if t.at_most else '>='} {t.bound:g}" + (" s" if t.den is None else "")
        out.append({"issue": t.issue, "target": t.what, "measured": ratio, "bound": bound,
                    "verdict": verdict})  # fmt: skip
    return out


def _fmt(x: float, digits: int = 3) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"


def render(rows: list[Row], env: dict[str, str], quick: bool) -> str:
    """The Markdown report: environment, one table of all timings, the targets."""
    lines = ["# nnhw benchmark", ""]
    if quick:
        lines += [
            "**Quick smoke run** (shortened trainings, 2 rounds): not the reference numbers.",
            "",
        ]
    lines += [f"- {k}: {v}" for k, v in env.items()] + [""]
    lines += [
        "Median over interleaved rounds; per net-step = median / (steps x nets); x ref = per "
        "net-step time over the reference contender's (whole-run time where steps = 0).",
        "",
        "| workload | contender | nets | steps/net | median run (s) | per net-step (us) | x ref |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        per = _fmt(r.per_net_step_us) if r.steps else "-"
        lines.append(
            f"| {r.workload} | {r.contender} | {r.nets} | {r.steps} | {_fmt(r.median_s, 4)} "
            f"| {per} | {_fmt(r.vs_reference)} ({r.reference}) |"
        )
    lines += ["", "## Targets (issues 2, 10 and 16)", "", "| issue | target | measured | bound | |",
              "|---:|---|---:|---|---|"]  # fmt: skip
    for t in check_targets(rows):
        unit = " s" if str(t["bound"]).endswith(" s") else "x"
        measured = _fmt(t["measured"]) + unit if not math.isnan(t["measured"]) else "-"  # type: ignore[arg-type]
        lines.append(
            f"| {t['issue']} | {t['target']} | {measured} | {t['bound']} | {t['verdict']} |"
        )
    return "\n".join(lines) + "\n"


def write_results(rows: list[Row], markdown: str, out: Path, quick: bool) -> list[Path]:
    """results/bench-<date>[-quick].{md,csv} and the targets as bench-<date>[-quick]-targets.csv."""
    out.mkdir(parents=True, exist_ok=True)
    stem = "bench-" + datetime.now().strftime("%Y%m%d-%H%M%S") + ("-quick" if quick else "")
    md, table, targets = out / f"{stem}.md", out / f"{stem}.csv", out / f"{stem}-targets.csv"
    md.write_text(markdown)
    with table.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, [f.name for f in fields(Row)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
    checked = check_targets(rows)
    with targets.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, list(checked[0]))
        writer.writeheader()
        writer.writerows(checked)
    return [md, table, targets]
