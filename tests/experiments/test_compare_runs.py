"""runs.catalog.compare: runs side by side, the settings that differ marked, and the summary rows
of a --depths run aligned with a plain run's by their key columns (activation, depth)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nnhw.experiments.runs import catalog, studies


def _run(name: str, settings: dict, summary: pd.DataFrame) -> catalog.LoadedRun:
    info = {"command": "compare-activations", "started": "2026-11-29T10:00:00", "headline": "h"}
    return catalog.LoadedRun(
        path=Path("/nonexistent") / name,
        info=info,
        status="completed",
        settings=settings,
        study=studies.load("compare-activations"),
        config=None,
        tables={"summary": summary},
    )


def _summary(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "activation": [r[0] for r in rows],
            "seeds": 5,
            "depth": [r[1] for r in rows],
            "test_accuracy": [r[2] for r in rows],
        }
    )


def test_depth_run_aligns_with_a_plain_run_and_differing_settings_are_marked() -> None:
    plain = _run(
        "20261129-100000-compare-activations",
        {"hidden": [64], "epochs": 100, "seeds": 5},
        _summary([("relu", 1, 0.97), ("sigmoid", 1, 0.91)]),
    )
    deep = _run(
        "20261129-110000-compare-activations",
        {"hidden": [64], "depths": [1, 4], "epochs": 100, "seeds": 5},
        _summary([("relu", 1, 0.96), ("relu", 4, 0.99), ("sigmoid", 1, 0.90), ("sigmoid", 4, 0.5)]),
    )
    df = catalog.compare([plain, deep]).set_index("key")
    a, b = plain.path.name, deep.path.name
    assert list(df.columns) == ["differs", a, b]
    # the same activation at the same depth is one row, whatever the other rows of either run
    assert (
        df.loc["relu · depth 1 · test_accuracy", a],
        df.loc["relu · depth 1 · test_accuracy", b],
    ) == (
        0.97,
        0.96,
    )
    assert df.loc["sigmoid · depth 1 · test_accuracy", [a, b]].tolist() == [0.91, 0.90]
    # a row only the depth run has is empty for the plain run
    assert pd.isna(df.loc["relu · depth 4 · test_accuracy", a])
    assert df.loc["relu · depth 4 · test_accuracy", b] == 0.99
    # settings: the one that differs is marked, the equal ones are not
    assert df.loc["setting: depths", "differs"] == "yes"
    assert df.loc["setting: epochs", "differs"] == "" and df.loc["setting: hidden", "differs"] == ""
    assert df.loc["relu · depth 1 · seeds", "differs"] == ""  # measurements are not marked


def test_a_single_row_summary_stays_one_key_per_column() -> None:
    one = pd.DataFrame({"loss": [0.1], "accuracy": [0.9]})
    run = _run("20261129-120000-compare-activations", {"epochs": 3}, one)
    other = _run("20261129-130000-compare-activations", {"epochs": 3}, one.assign(loss=0.2))
    df = catalog.compare([run, other]).set_index("key")
    assert df.loc["loss"].tolist()[1:] == [0.1, 0.2]
    assert df.loc["setting: epochs", "differs"] == ""
