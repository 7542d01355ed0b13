"""TOML configs: round trip, unknown keys and wrong types named with file and key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs.configfile import (
    config_from_mapping,
    config_to_dict,
    dump_config_toml,
    read_config_file,
)


@dataclass(frozen=True)
class Cfg:
    lr: float = 0.1
    epochs: int = 10
    activation: str = "relu"
    hidden: tuple[int, ...] = (64,)
    names: tuple[str, ...] = ("a", "b")
    quiet: bool = False
    csv: Path | None = None
    target: str | None = None


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_round_trip(tmp_path: Path) -> None:
    cfg = Cfg(lr=1e-3, epochs=3, hidden=(8, 8, 8), csv=Path("d.csv"))
    text = dump_config_toml("train", config_to_dict(cfg))
    assert tomllib.loads(text) == {"train": {"lr": 1e-3, "epochs": 3, "activation": "relu",
        "hidden": [8, 8, 8], "names": ["a", "b"], "quiet": False, "csv": "d.csv"}}  # fmt: skip
    assert "target" not in text  # None is left out and comes back as the default
    mapping = read_config_file(write(tmp_path, text), "train")
    assert config_from_mapping(Cfg, mapping, "c.toml [train]") == cfg


def test_int_for_float_is_fine_and_lists_become_tuples() -> None:
    cfg = config_from_mapping(Cfg, {"lr": 1, "hidden": [2, 3]}, "x")
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.hidden == (2, 3)


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({"lrr": 0.1}, "c.toml: unknown key 'lrr'"),
        ({"epochs": "ten"}, "c.toml: epochs must be an integer, got 'ten'"),
        ({"epochs": 1.5}, "c.toml: epochs must be an integer, got 1.5"),
        ({"epochs": True}, "c.toml: epochs must be an integer, got True"),
        ({"lr": "fast"}, "c.toml: lr must be a number, got 'fast'"),
        ({"hidden": [1, "x"]}, r"c.toml: hidden must be a list of integers, got \[1, 'x'\]"),
        ({"hidden": 64}, "c.toml: hidden must be a list of integers, got 64"),
        ({"quiet": 1}, "c.toml: quiet must be true or false, got 1"),
        ({"csv": 3}, "c.toml: csv must be a path, got 3"),
    ],
)
def test_bad_mapping(mapping: dict, match: str) -> None:
    with pytest.raises(NnhwError, match=match):
        config_from_mapping(Cfg, mapping, "c.toml")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(NnhwError, match=r"--config: .*missing.toml does not exist"):
        read_config_file(tmp_path / "missing.toml", "train")
    with pytest.raises(NnhwError, match="is not valid TOML"):
        read_config_file(write(tmp_path, "[train\nlr=1"), "train")
    with pytest.raises(NnhwError, match=r"has no \[train\] table \(it has \[verify\]\)"):
        read_config_file(write(tmp_path, "[verify]\nx=1\n"), "train")
    with pytest.raises(NnhwError, match="unknown key 'extra'"):
        read_config_file(write(tmp_path, "extra=1\n[train]\nlr=1\n"), "train")
    with pytest.raises(NnhwError, match="is a directory"):
        read_config_file(tmp_path, "train")
