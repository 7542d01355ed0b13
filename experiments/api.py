"""The Python API: run any study from a notebook or script, get its tables, findings, figures and
report, save it as a normal run directory, and load a saved run.

    from nnhw.experiments import api

    result = api.run("compare-activations", activations=("relu", "sigmoid"), seeds=3, epochs=20)
    result.tables["summary"]          # pandas DataFrames, one per table
    result.findings                   # the findings the report leads with (text and verdict)
    result.figures["loss_curves"]     # matplotlib Figures (displayed inline in Jupyter)
    result.report                     # the report; shown as HTML in Jupyter
    path = result.save("results")     # a run directory, as the command line writes it
    again = api.load(path)            # any saved run (an id prefix under results/ works too)

Settings are the study's `Config` fields as keywords (the CLI option names with _ for -), e.g.
`api.run("vanishing-gradients", depths=(2, 4, 8), activations=("relu", "tanh"))`; an unknown or
bad setting raises NnhwError with the same message the CLI gives. `api.settings(command)` lists
a study's settings and their defaults. A run is computed in memory (no files) until `save`.

Importing this module imports neither Matplotlib nor pandas and changes no global state: figures
are drawn on first use in the shared style, inside a temporary rc context, and the notebook's
backend is left alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnhw.core.errors import NnhwError
from nnhw.experiments.reporting.html import esc, img_tag
from nnhw.experiments.runs import studies
from nnhw.experiments.runs.catalog import find_run, load_run
from nnhw.experiments.runs.context import ProgressFactory, RunContext, SweepOptions, no_progress
from nnhw.experiments.runs.runner import save_run
from nnhw.experiments.runs.validate import check_size

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from nnhw.experiments.reporting.report import Finding, Report
    from nnhw.experiments.runs.studies import Study

__all__ = ["Figures", "Result", "commands", "load", "run", "settings"]


def _command(name: str) -> str:
    command = name.replace("_", "-")
    if command not in studies.STUDIES:
        raise NnhwError(f"unknown study {name!r}; known: {', '.join(studies.STUDIES)}")
    return command


def commands() -> list[str]:
    """The studies `run` accepts (the computing commands of the CLI)."""
    return list(studies.STUDIES)


def settings(command: str) -> dict[str, Any]:
    """The settings of a study and their defaults (None: resolved from the task preset)."""
    study = studies.load(_command(command))
    return {f.name: f.default for f in dataclasses.fields(study.Config)}


class Figures(dict[str, "Figure"]):
    """A study's figures by name; in Jupyter the whole set displays as one block of images."""

    def _repr_html_(self) -> str:
        # Matplotlib only when figures are shown: importing the API imports neither it nor pandas
        from nnhw.experiments.reporting.plotting import figure_bytes, style

        parts = []
        with style():
            for name, fig in self.items():
                png, _ = figure_bytes(fig)
                parts.append(f"<figure><figcaption>{esc(name)}</figcaption>{img_tag(png, name)}")
                parts.append("</figure>")
        return "".join(parts)


@dataclass
class Result:
    """One study's results: `command`, the resolved `config`, the `tables`, and where it is
    saved (`path`, None until `save`). `findings`, `figures` and `report` are drawn from the
    tables on first use, exactly as `nnhw report` draws them."""

    command: str
    config: Any
    tables: dict[str, pd.DataFrame]
    path: Path | None = None
    _figures: Figures | None = field(default=None, repr=False, compare=False)
    _report: Report | None = field(default=None, repr=False, compare=False)

    @property
    def study(self) -> Study:
        return studies.load(self.command)

    @property
    def report(self) -> Report:
        if self._report is None:
            self._report = self.study.report(self.tables, self.config)
        return self._report

    @property
    def findings(self) -> list[Finding]:
        return list(self.report.findings)

    @property
    def headline(self) -> str:
        return str(self.study.headline(self.tables))

    @property
    def figures(self) -> Figures:
        if self._figures is None:
            # Matplotlib only when figures are drawn
            from nnhw.experiments.reporting.plotting import style

            with style():
                self._figures = Figures(self.study.figures(self.tables, self.config))
        return self._figures

    def save(self, out: str | Path = "results") -> Path:
        """Write this result as a run directory under `out` (tables, figures, report, run.json
        and a config.toml that `nnhw <command> --config` repeats); returns its path."""

        rd = save_run(self.command, self.config, self.tables, out=Path(out))
        self.path = rd.path
        return rd.path

    def _repr_html_(self) -> str:

        items = "".join(
            f"<li>{esc(f.text)}" + (f" <b>{esc(f.verdict)}</b>" if f.verdict else "") + "</li>"
            for f in self.findings
        )
        where = f"<p>Saved in <code>{esc(self.path)}</code></p>" if self.path else ""
        return (
            f"<h3>nnhw {esc(self.command)}</h3><p>{esc(self.headline)}</p><ul>{items}</ul>"
            f"<p>Tables: {esc(', '.join(self.tables))}</p>{where}" + self.figures._repr_html_()
        )


def run(
    command: str,
    *,
    workers: int = 1,
    progress: ProgressFactory = no_progress,
    **config: Any,
) -> Result:
    """Run the study `command` (e.g. "compare-activations" or "compare_activations") with its
    settings as keywords; nothing is written until `Result.save`. `workers` > 1 runs a sweep's
    cells in that many local processes (the numbers do not depend on it)."""
    name = _command(command)
    study = studies.load(name)
    known = {f.name for f in dataclasses.fields(study.Config)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise NnhwError(
            f"{name}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    cfg = study.Config(**config)
    if workers < 1:
        raise NnhwError(f"workers must be >= 1, got {workers}")
    check_size(name, cfg, workers)  # settings this machine cannot hold: refused at once
    ctx = RunContext(sweep=SweepOptions(workers=workers), progress=progress)
    tables = study.compute(cfg, ctx)
    return Result(name, cfg, dict(tables))


def load(run_dir: str | Path, out: str | Path = "results") -> Result:
    """A saved run: a run directory, or a run id (or its unique prefix) under `out`. Reading
    runs no code from the folder (tables are CSV, settings TOML)."""

    path = Path(run_dir)
    if not path.is_dir():
        path = find_run(Path(out), str(run_dir))
    loaded = load_run(path)
    return Result(str(loaded.info.get("command")), loaded.config, loaded.tables, path=loaded.path)
