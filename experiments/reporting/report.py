"""Reports: what a study says about its run, written as report.md and one self-contained
report.html.

Contract:
- A study's `report(tables, config)` returns a `Report`: a title, a one-paragraph summary,
  `findings` (each a sentence with its numbers, computed from the tables; `verdict` is
  "supported", "refuted" or "holds only when ..." where the finding tests a claim of the course,
  `claim` the claim itself) and `sections` that name tables and figures of the run directory by
  name (tables/<name>.csv, plots/<name>.png) with a caption each. A section's `views` say how a
  table is shown (reporting.tables.TableView: columns first, sentinels, which rows of a long
  table); `fold=True` folds a section of detail into a closed <details> in the HTML.
- `write_report(rd, report, info=None)` renders both files from the run directory's saved files
  (run.json, config.toml, tables/*.csv, plots/*.png), so rebuilding from the same directory gives
  the same bytes. `info` overrides run.json (the runner passes the final status before it writes
  run.json). Order: header with status and key facts, a notice for runs that did not complete
  (naming what is missing), findings, the sections, then what was run (settings, command,
  versions).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nnhw.experiments.reporting import html as rh
from nnhw.experiments.reporting.escape import (
    md_code_block,
    md_inline,
    md_text,
    shell_join,
    terminal,
)
from nnhw.experiments.reporting.tables import TableView, present
from nnhw.experiments.runs.rundir import RunDir, run_status
from nnhw.experiments.runs.sweep import finished_cells

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Finding:
    text: str
    verdict: str | None = None
    claim: str | None = None


@dataclass(frozen=True)
class Section:
    title: str
    text: str = ""
    tables: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    views: dict[str, TableView] = field(default_factory=dict)
    fold: bool = False
    verdict: str | None = None  # shown as a badge beside the title (a folded claim's verdict)


@dataclass(frozen=True)
class Report:
    title: str
    summary: str = ""
    findings: list[Finding] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """Title, summary and findings as HTML (how Jupyter shows a report; the full page with
        tables and figures is the report.html of a saved run)."""
        items = "".join(
            f"<li>{rh.esc(f.text)}"
            + (f' <span class="{rh.verdict_class(f.verdict)}"><b>{rh.esc(f.verdict)}</b></span>'
               if f.verdict else "")
            + "</li>"
            for f in self.findings
        )  # fmt: skip
        return f"<h2>{rh.esc(self.title)}</h2>{rh.paragraphs(self.summary)}<ul>{items}</ul>"


@dataclass
class _Run:
    """Everything about the run that the report shows besides the study's own content."""

    info: dict[str, Any]
    cells_done: int
    settings: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    missing_tables: list[str]
    missing_figures: list[str]
    table_files: dict[str, str] = field(default_factory=dict)  # name -> tables/<name>.csv[.bz2]

    @property
    def missing(self) -> list[str]:
        return [f"table {n}" for n in self.missing_tables] + [
            f"figure {n}" for n in self.missing_figures
        ]

    @property
    def status(self) -> str:
        return str(self.info.get("status", "broken"))

    def command_line(self) -> str:
        """The command as a shell reads it back, with no control character (escape.shell_join)."""
        argv = self.info.get("argv") or []
        return "nnhw " + shell_join(argv) if argv else "(unknown)"

    def table_file(self, name: str) -> str:
        return self.table_files.get(name, f"tables/{name}.csv")

    def facts(self) -> list[tuple[str, str]]:
        info = self.info
        versions = info.get("versions") or {}
        duration = info.get("duration_s")
        return [
            ("Status", self.status),
            ("Run", str(info.get("id", ""))),
            ("Started", str(info.get("started") or "").replace("T", " ")),
            ("Duration", _duration(duration)),
            ("Seed", "-" if info.get("seed") is None else str(info.get("seed"))),
            ("Versions", ", ".join(f"{k} {v}" for k, v in versions.items()) or "-"),
        ]

    def notice(self, quote: Callable[[str], str] = str) -> str | None:
        """Why the run's content is incomplete, and what is missing; None when complete.
        `quote` is applied to the text taken from run.json (escape.md_inline for Markdown)."""
        parts = []
        if self.status == "interrupted":
            parts.append("This run was interrupted before it finished; the tables and figures "
                         "hold only what finished before the interruption.")  # fmt: skip
        elif self.status == "failed":
            error = self.info.get("error")
            parts.append("This run failed" + (f": {quote(str(error))}." if error else "."))
        elif self.status == "diverged":
            parts.append("Training diverged (a non-finite loss); see the findings.")
        elif self.status == "running":
            parts.append("This run has not finished yet.")
        if self.status in ("interrupted", "failed") and self.cells_done:
            command = quote(str(self.info.get("command", "<command>")))
            parts.append(
                f"{self.cells_done} finished sweep cell(s) are saved in cells/; "
                f"`nnhw {command} --resume <this run directory>` completes the run."
            )
        failed = self.info.get("failed_cells")
        if failed:
            n = len(failed) if isinstance(failed, list) else failed
            parts.append(f"{n} sweep cell(s) failed; their results are missing.")
        if self.missing:
            parts.append("Missing: " + ", ".join(map(quote, self.missing)) + ".")
        return " ".join(parts) if parts else None


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "-"
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, sec = divmod(round(seconds), 60)
    return f"{minutes} min {sec:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _gather(rd: RunDir, report: Report, info: dict[str, Any] | None) -> _Run:
    if info is None:
        info = rd.run_json()
        info["status"] = run_status(rd.path)
    command = str(info.get("command", ""))
    settings = rd.settings(command)  # NnhwError (one line) when config.toml is of the wrong shape
    tables = rd.read_tables()
    wanted_tables = [n for s in report.sections for n, _ in s.tables]
    wanted_figures = [n for s in report.sections for n, _ in s.figures]
    return _Run(
        info=info,
        cells_done=finished_cells(rd),
        settings=dict(settings),
        tables=tables,
        missing_tables=[n for n in dict.fromkeys(wanted_tables) if n not in tables],
        missing_figures=[n for n in dict.fromkeys(wanted_figures) if not rd.has_figure(n)],
        table_files={n: rd.table_file(n) or f"tables/{n}.csv" for n in tables},
    )


def _settings_rows(settings: dict[str, Any]) -> list[tuple[str, str]]:
    def show(v: Any) -> str:
        if isinstance(v, list):
            return ", ".join(rh.format_value(x) for x in v)
        return rh.format_value(v)

    return [(k, show(v)) for k, v in settings.items()]


def render_markdown(report: Report, run: _Run) -> str:
    # Text from the run folder (run.json, config.toml, table contents that findings quote) is
    # escaped: md_inline for values, md_text for prose (no raw HTML, no control characters).
    line, inline = _one_line, md_inline
    out = [f"# {line(report.title)}", ""]
    if report.summary:
        out += [md_text(report.summary.strip()), ""]
    out += [" · ".join(f"**{k}:** {inline(v)}" for k, v in run.facts()), ""]
    notice = run.notice(quote=inline)
    if notice:
        out += [f"> **Note:** {line(notice)}", ""]
    out += ["## Findings", ""]
    for f in report.findings or [Finding("No findings could be computed from this run's data.")]:
        badge = f"**[{inline(f.verdict)}]** " if f.verdict else ""
        claim = f" _(Claim: {line(f.claim)})_" if f.claim else ""
        out.append(f"- {badge}{line(f.text)}{claim}")
    out.append("")
    t_no = f_no = 0
    for section in report.sections:
        out += [f"## {line(section.title)}", ""]
        if section.text:
            out += [md_text(section.text.strip()), ""]
        for name, caption in section.tables:
            if name in run.tables:
                t_no += 1
                out += [f"**Table {t_no}.** {line(caption)} ({_file_link(run.table_file(name))})",
                        ""]  # fmt: skip
                shown = present(run.tables[name], section.views.get(name), rh.MAX_ROWS)
                out += [rh.markdown_shown(shown), ""]
            else:
                out += [f"_Table {inline(name)} is missing from this run._", ""]
        for name, caption in section.figures:
            if name in run.missing_figures:
                out += [f"_Figure {inline(name)} is missing from this run._", ""]
                continue
            f_no += 1
            out += [f"![{inline(caption)}](plots/{inline(name)}.png)", "", f"**Figure {f_no}.** "
                    f"{line(caption)} (vector: `plots/{name}.svg`)", ""]  # fmt: skip
    out += ["## What was run", "", md_code_block(run.command_line()), ""]
    if run.table_files:  # every table, the large ones (not shown above) included
        files = sorted(run.table_files.values())
        out += ["Data: " + " · ".join(_file_link(f) for f in files), ""]
    out += ["| setting | value |", "| --- | --- |"]
    out += [f"| {rh.md_cell(terminal(k))} | {rh.md_cell(terminal(v))} |"
            for k, v in _settings_rows(run.settings)]  # fmt: skip
    return "\n".join(out).rstrip() + "\n"


def _data_links(run: _Run) -> str:
    """Every table file of the run, linked (large tables are .csv.bz2 and have no Markdown
    copy; the report may show only their first rows, or not show them at all)."""
    links = [f'<a href="{rh.esc(f)}">{rh.esc(f)}</a>' for f in sorted(run.table_files.values())]
    return f'<p class="muted">Data: {" · ".join(links)}</p>' if links else ""


def _file_link(path: str) -> str:
    """A link to a file of the run folder; a name with anything but letters, digits and
    `_.-/` (a crafted table file) is shown as escaped text, not linked."""
    if re.fullmatch(r"[A-Za-z0-9_./-]+", path):
        return f"[`{path}`]({path})"
    return md_inline(path)


def _one_line(text: str) -> str:
    """Prose that must stay on one line of report.md (a list item, a heading)."""
    return " ".join(md_text(text).split())


def _html_section(rd: RunDir, section: Section, run: _Run, t_no: int, f_no: int
                  ) -> tuple[str, int, int]:  # fmt: skip
    """One section as HTML and the table and figure numbers it ends at. A table shows the rows
    its view picks, says which, and links its CSV; a figure sits in a box of its own (it scrolls
    sideways on a phone rather than shrinking its text away); a folded section is a closed
    <details> whose summary is its title and what it holds."""
    e = rh.esc
    body = [rh.paragraphs(section.text)]
    n_tables = n_figures = 0
    for name, caption in section.tables:
        if name not in run.tables:
            body.append(f'<p class="muted">Table {e(name)} is missing from this run.</p>')
            continue
        t_no += 1
        n_tables += 1
        shown = present(run.tables[name], section.views.get(name), rh.MAX_ROWS)
        note = f" {e(shown.note[:1].upper() + shown.note[1:])}." if shown.note else ""
        if note and not caption.rstrip().endswith("."):
            note = "." + note  # the caption's own sentence ends before the note's
        body.append(
            f"<figure>{rh.html_shown(shown)}<figcaption><b>Table {t_no}.</b> {e(caption)}{note}"
            f' <span class="src">Data ({shown.total} rows): <a href="{e(run.table_file(name))}">'
            f"{e(run.table_file(name))}</a></span></figcaption></figure>"
        )
    for name, caption in section.figures:
        if name in run.missing_figures:
            body.append(f'<p class="muted">Figure {e(name)} is missing from this run.</p>')
            continue
        f_no += 1
        n_figures += 1
        png = rd.read_figure(name)  # a regular file in the run folder, within a size limit
        body.append(
            f'<figure><div class="fig">{rh.img_tag(png, caption)}</div><figcaption>'
            f'<b>Figure {f_no}.</b> {e(caption)} <span class="src">Vector: '
            f'<a href="plots/{e(name)}.svg">plots/{e(name)}.svg</a></span>'
            "</figcaption></figure>"
        )
    title = e(section.title)
    if section.verdict:
        kind = rh.verdict_class(section.verdict)
        title += f' <span class="badge {kind}">{e(section.verdict)}</span>'
    if not section.fold:
        return f"<section><h2>{title}</h2>{''.join(body)}</section>", t_no, f_no
    holds = [f"{n} {w}{'s' if n != 1 else ''}" for n, w in ((n_figures, "figure"),
                                                             (n_tables, "table")) if n]  # fmt: skip
    more = f' <span class="muted">({", ".join(holds)})</span>' if holds else ""
    return (
        f'<section><details class="fold"><summary><h2>{title}</h2>{more}</summary>'
        f"{''.join(body)}</details></section>",
        t_no,
        f_no,
    )


def render_html(rd: RunDir, report: Report, run: _Run) -> str:
    e = rh.esc
    status = run.status
    facts = "".join(
        f"<div><dt>{e(k)}</dt><dd>"
        + (f'<span class="badge {e(v)}">{e(v)}</span>' if k == "Status" else e(v))
        + "</dd></div>"
        for k, v in run.facts()
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)} — nnhw {e(run.info.get('command', ''))}</title>",
        f"<style>{rh.CSS}</style></head><body><main>",
        f'<header><p class="eyebrow">nnhw {e(run.info.get("command", ""))}</p>',
        f"<h1>{e(report.title)}</h1>",
        f'<div class="summary">{rh.paragraphs(report.summary)}</div>' if report.summary else "",
        f'<dl class="facts">{facts}</dl></header>',
    ]
    notice = run.notice()
    if notice:
        kind = " failed" if status in ("failed", "broken") else ""
        parts.append(f'<div class="notice{kind}" role="note">{e(notice)}</div>')
    parts.append('<section id="findings"><h2>Findings</h2><ol class="findings">')
    for f in report.findings or [Finding("No findings could be computed from this run's data.")]:
        badge = ""
        if f.verdict:
            badge = f'<span class="badge {rh.verdict_class(f.verdict)}">{e(f.verdict)}</span> '
        claim = f'<p class="claim">Claim: {e(f.claim)}</p>' if f.claim else ""
        parts.append(f"<li>{claim}<p>{badge}{e(f.text)}</p></li>")
    parts.append("</ol></section>")
    t_no = f_no = 0
    for section in report.sections:
        html, t_no, f_no = _html_section(rd, section, run, t_no, f_no)
        parts.append(html)
    rows = "".join(
        f"<tr><th scope=row>{e(k)}</th><td>{e(v)}</td></tr>"
        for k, v in _settings_rows(run.settings)
    )
    parts += [
        '<section id="run"><h2>What was run</h2><h3>Command</h3>',
        f"<pre>{e(run.command_line())}</pre>",
        _data_links(run),
        f"<details class=more><summary>Settings ({len(run.settings)})</summary>"
        f"<p class=muted>From <code>config.toml</code>; "
        f"<code>nnhw {e(run.info.get('command', ''))} --config config.toml</code> repeats the run."
        f"</p><div class=table-wrap><table><tbody>{rows}</tbody></table></div></details></section>",
        f"<footer>Run {e(run.info.get('id', ''))} · written by nnhw "
        f"{e((run.info.get('versions') or {}).get('nnhw', ''))}</footer>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def write_report(rd: RunDir, report: Report, info: dict[str, Any] | None = None) -> None:
    """report.md and report.html in the run directory (see the module docstring)."""
    run = _gather(rd, report, info)
    rd.write_text("report.md", render_markdown(report, run))
    rd.write_text("report.html", render_html(rd, report, run))
