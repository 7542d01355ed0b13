"""A tiny study module for testing the run directory, runner, reports, `nnhw report` and
`nnhw runs` without the real studies. Tests point `experiments.studies.STUDIES["fake"]` here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnhw.core.errors import NnhwError
from nnhw.experiments.reporting.plotting import color_for, new_figure
from nnhw.experiments.reporting.report import Finding, Report, Section
from nnhw.experiments.runs.context import Interrupted, RunContext

COMMAND = "fake"
INTERRUPT_AFTER = -1  # tests set it: Ctrl-C after this many activations (-1: never)
CALLS: list[dict] = []  # what compute saw, for tests


@dataclass(frozen=True)
class Config:
    activations: tuple[str, ...] = ("relu", "tanh")
    epochs: int = 5
    seed: int = 0
    label: str = "<script>alert(1)</script>"
    diverge: bool = False
    fail: str = ""  # "input": NnhwError in compute, "bug": RuntimeError in compute

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise NnhwError(f"--epochs must be >= 1, got {self.epochs}")


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    CALLS.append({"resume": ctx.resume, "rundir": ctx.rundir})
    if config.fail == "input":
        raise NnhwError("--csv: data.csv does not exist")
    if config.fail == "bug":
        raise RuntimeError("a bug in the study")
    rng = np.random.default_rng(config.seed)
    rows, curves = [], []
    tracker = ctx.progress("activations", len(config.activations))
    for i, act in enumerate(config.activations):
        if i == INTERRUPT_AFTER:
            raise Interrupted({"curve": pd.DataFrame(curves)})
        loss = np.exp(-np.arange(config.epochs) * (i + 1) * 0.7) + rng.uniform(0, 1e-3)
        curves += [{"activation": act, "epoch": e, "loss": float(v)} for e, v in enumerate(loss)]
        rows.append({"activation": act, config.label: float(loss[-1]), "diverged": config.diverge})
        tracker.advance()
    tracker.close()
    return {"summary": pd.DataFrame(rows), "curve": pd.DataFrame(curves)}


def status(tables: dict[str, pd.DataFrame]) -> str:
    return "diverged" if bool(tables["summary"]["diverged"].any()) else "completed"


def figures(tables: dict[str, pd.DataFrame], config: Config) -> dict:
    fig, ax = new_figure()
    for act, df in tables["curve"].groupby("activation", sort=False):
        ax.plot(df["epoch"], df["loss"], color=color_for(str(act)), label=str(act))
    ax.set(xlabel="epoch", ylabel="loss (MSE)", yscale="log", title=config.label)
    ax.legend()
    return {"loss": fig}


def report(tables: dict[str, pd.DataFrame], config: Config) -> Report:
    s = tables["summary"]
    best = s.loc[s[config.label].idxmin()]
    return Report(
        title="Fake study",
        summary=f"A tiny fake study on dataset {config.label}.",
        findings=[
            Finding(
                f"{best['activation']} reaches the lowest loss, {best[config.label]:.3g}.",
                verdict="supported",
                claim="Some activation is best.",
            ),
            Finding("Losses fall every epoch.", verdict="holds only when the lr is small"),
            Finding("Nothing is refuted here.", verdict="refuted"),
        ],
        sections=[
            Section(
                "Losses",
                text="Loss per epoch.\n\nSecond paragraph <b>not bold</b>.",
                tables=[("summary", f"Final loss per activation ({config.label})")],
                figures=[("loss", "Loss against epoch, log scale")],
            ),
            Section("Curves", tables=[("curve", "Loss per epoch, tidy")]),
        ],
    )


def headline(tables: dict[str, pd.DataFrame]) -> str:
    s = tables["summary"]
    return f"lowest final loss {s.iloc[:, 1].min():.3g}"
