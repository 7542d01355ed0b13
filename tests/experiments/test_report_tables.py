"""How a report shows a table (reporting.tables and the HTML/Markdown renderers): columns in the
view's order, sentinels and missing values as words, verdict badges, the informative rows of a
long table with a note saying which (never just the first ones), and the CSV linked."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from nnhw.experiments.reporting import html as rh
from nnhw.experiments.reporting.report import Report, Section, write_report
from nnhw.experiments.reporting.tables import (
    TableView,
    ends_per,
    evenly,
    first_per,
    present,
    where,
    worst_per,
)
from nnhw.experiments.runs.rundir import RunDir


def claims() -> pd.DataFrame:
    return pd.DataFrame({
        "section": ["1.2(a)", "1.4(f)"],
        "claim": ["A long sentence about the claim " * 3, "Another claim"],
        "numbers": ["1.0; 2.0", "3.0"],
        "verdict": ["supported", "holds only when B >= 35"],
        "id": ["zero-init", "batch-scaling"],
        "diverges_from": [-1, 32],
        "ratio": [math.nan, 0.5],
    })  # fmt: skip


def test_columns_first_hidden_and_sentinels() -> None:
    view = TableView(first=("id", "verdict"), hide=("numbers",),
                     sentinels={"diverges_from": {-1: "never"}}, badges=("verdict",))  # fmt: skip
    shown = present(claims(), view, max_rows=25)
    assert list(shown.df.columns) == ["id", "verdict", "section", "claim", "diverges_from",
                                      "ratio"]  # fmt: skip
    assert shown.texts["diverges_from"] == ["never", None]  # 32 stays a number
    assert shown.texts["ratio"] == ["-", None]  # a missing value is "-", never "nan"
    assert shown.note == "" and shown.total == 2
    html = rh.html_shown(shown)
    assert html.index(">id<") < html.index(">verdict<") < html.index(">section<")
    assert "numbers" not in html and "nan" not in html.lower().replace("nnhw", "")
    assert '<span class="badge supported">supported</span>' in html
    assert '<span class="badge partial">holds only when B &gt;= 35</span>' in html
    assert "<th class=text" in html  # the long claim wraps
    md = rh.markdown_shown(shown)
    assert "| never | - |" in md  # diverges_from, ratio of the first row
    assert "nan" not in md.lower() and "-1" not in md


def test_a_long_table_is_never_just_its_first_rows() -> None:
    df = pd.DataFrame({"scale": np.arange(100.0), "broken": [0] * 60 + [1] * 40})
    shown = present(df, None, max_rows=10)
    assert len(shown.df) == 10 and shown.df["scale"].iloc[-1] == 99  # spread, last included
    assert shown.note == "10 of 100 rows: spread evenly over the table"
    picked = present(df, TableView(rows=where(lambda d: d["broken"] > 0, "the broken ones")), 10)
    assert (picked.df["broken"] == 1).all() and picked.df["scale"].iloc[0] >= 60
    assert picked.note.startswith("10 of 100 rows: the broken ones, 10 of the 40")


def test_row_pickers() -> None:
    sweep = pd.DataFrame({
        "formula": ["naive"] * 4 + ["shifted"] * 4,
        "scale": [1, 10, 100, 1000] * 2,
        "broken": [0, 0, 1, 1, 0, 0, 0, 0],
        "error": [1.0, 5.0, np.inf, 2.0, 1.0, 9.0, 3.0, 2.0],
    })  # fmt: skip
    rows, _ = first_per(["formula"], lambda d: d["broken"] > 0, "first broken")(sweep)
    assert rows[["formula", "scale"]].values.tolist() == [["naive", 100]]
    rows, _ = worst_per(["formula"], "error", "worst")(sweep)
    assert rows["error"].tolist() == [5.0, 9.0]  # the largest finite one per group
    layers = pd.DataFrame({"act": ["relu"] * 3 + ["tanh"] * 3, "layer": [1, 2, 3] * 2})
    rows, _ = ends_per(["act"], "layer", "ends")(layers)
    assert rows["layer"].tolist() == [1, 3, 1, 3]
    rows, what = evenly(3)(pd.DataFrame({"x": range(9)}))
    assert rows["x"].tolist() == [0, 4, 8]
    rows, what = where(lambda d: d["x"] > 99, "none")(pd.DataFrame({"x": range(3)}))
    assert len(rows) == 3 and what == "every row"


def test_report_links_the_csv_and_folds(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "fake", ["fake"], {}, None)
    rd.write_table("sweep", pd.DataFrame({"scale": np.arange(60.0), "v": np.arange(60.0)}))
    report = Report("T", sections=[
        Section("Open", tables=[("sweep", "Every point.")]),
        Section("Folded", "Detail.", tables=[("sweep", "Again.")], fold=True, verdict="refuted"),
    ])  # fmt: skip
    write_report(rd, report, {"status": "completed", "command": "fake", "id": "x"})
    html = (rd.path / "report.html").read_text()
    assert 'href="tables/sweep.csv"' in html and "Data (60 rows)" in html
    assert "25 of 60 rows: spread evenly over the table." in html
    assert '<details class="fold"><summary><h2>Folded <span class="badge refuted">' in html
    assert "(1 table)" in html
    md = (rd.path / "report.md").read_text()
    assert "_25 of 60 rows: spread evenly over the table._" in md
