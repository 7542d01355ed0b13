"""`nnhw batch-scaling` at the command line: a tiny run, its config file reproducing it, and bad
input exiting 2 with one line."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.runfiles import table_paths

TINY = ["--samples", "16", "--minibatches", "10", "--pretrain-epochs", "2", "--train-epochs",
        "2", "--seeds", "2", "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny run shared by the tests below (invoke is function-scoped, so call main here)."""
    from nnhw.cli.main import main

    out = tmp_path_factory.mktemp("bs")
    with pytest.raises(SystemExit) as exc:
        main(["batch-scaling", *TINY, "--warmup-epochs", "1", "--out", str(out)])
    assert exc.value.code == 0
    (run,) = out.iterdir()
    return run


def test_tiny_run_exits_0_and_writes_the_run_directory(invoke: Invoke, tmp_path: Path) -> None:
    code, out, err = invoke("batch-scaling", *TINY, "--batch-sizes", "1,4,16", "--json",
                            "--out", tmp_path)  # fmt: skip
    assert code == 0, err
    payload = json.loads(out)
    assert payload["status"] == "completed"
    run = Path(payload["run_dir"])
    for name in ("gradients", "noise", "fits", "slopes", "training", "training_breaks"):
        assert (run / "tables" / f"{name}.csv").is_file(), name
    for name in ("gradient_norm", "sq_norm", "lr_rules", "training_loss", "training_final"):
        assert (run / "plots" / f"{name}.png").is_file(), name
    assert "B_simple" in (run / "report.md").read_text()
    assert "b_simple_direct" in payload["metrics"]
    settings = tomllib.loads((run / "config.toml").read_text())["batch-scaling"]
    assert settings["batch_sizes"] == [1, 4, 16]


def test_config_file_reproduces_the_run(invoke: Invoke, tiny_run: Path, tmp_path: Path) -> None:
    code, _, err = invoke("batch-scaling", "--config", tiny_run / "config.toml", "--quiet",
                          "--out", tmp_path)  # fmt: skip
    assert code == 0, err
    (again,) = tmp_path.iterdir()
    for table in table_paths(tiny_run):  # plain and compressed
        assert (again / "tables" / table.name).read_bytes() == table.read_bytes(), table.name


def test_resume_with_other_settings_is_refused(invoke: Invoke, tiny_run: Path) -> None:
    code, _, err = invoke("batch-scaling", *TINY, "--lr", "0.5", "--resume", tiny_run)
    assert code == 2
    assert "--resume" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--batch-sizes", "0,2,4"], "--batch-sizes"),
        (["--batch-sizes", "1,2,64"], "larger than --samples 16"),
        (["--batch-sizes", "1,x,4"], "--batch-sizes"),
        (["--task", "nope"], "--task"),
        (["--minibatches", "2"], "--minibatches"),
        (["--lr", "0"], "--lr"),
        (["--seeds", "0"], "--seeds"),
        (["--warmup-epochs", "-1"], "--warmup-epochs"),
        (["--warmup-epochs", "3"], "--warmup-epochs: 3 is longer than the training"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    invoke: Invoke, tmp_path: Path, args: list[str], needle: str
) -> None:
    code, _, err = invoke("batch-scaling", *TINY, *args, "--out", tmp_path)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())  # no run directory left behind


def test_warmup_ramps_the_scaled_rules(tiny_run: Path) -> None:
    run = tiny_run  # run with --warmup-epochs 1
    assert tomllib.loads((run / "config.toml").read_text())["batch-scaling"]["warmup_epochs"] == 1
    t = (run / "tables" / "training.csv").read_text().splitlines()
    header = t[0].split(",")
    rule, warm = header.index("lr_rule"), header.index("warmup_epochs")
    rows = [line.split(",") for line in t[1:]]
    assert {r[warm] for r in rows if r[rule] in ("linear", "sqrt")} == {"1.0"}
    assert {r[warm] for r in rows if r[rule] == "fixed"} == {"0.0"}
    assert "warm up over 1 epoch (" in (run / "report.md").read_text()


def test_help_lists_the_options(invoke: Invoke) -> None:
    code, out, err = invoke("batch-scaling", "--help")
    assert code == 0, err
    for option in ("--task", "--batch-sizes", "--samples", "--minibatches", "--train-epochs",
                   "--lr", "--seeds", "--warmup-epochs", "--workers", "--dask", "--resume",
                   "--fail-fast",
                   "--out", "--seed", "--config", "--quiet", "--json"):  # fmt: skip
        assert option in out, option
