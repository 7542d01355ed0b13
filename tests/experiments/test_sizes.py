"""runs.validate's size check and each study's `estimate`: settings the machine cannot hold are
refused at once with one line naming the option and the estimate; the defaults pass; the
estimates grow with what makes a run big."""

from __future__ import annotations

import numpy as np
import pytest

from nnhw.core.data import make_dataset
from nnhw.core.errors import NnhwError
from nnhw.experiments.data.prepare import GENERATED_SHAPES, output_count
from nnhw.experiments.runs import studies
from nnhw.experiments.runs import validate as v

COMMANDS = list(studies.STUDIES)


def _config(command: str, **settings: object):
    return studies.load(command).Config(**settings)


def _estimate(command: str, workers: int = 1, **settings: object) -> v.Estimate:
    module = studies.load(command).module("config")
    return module.estimate(_config(command, **settings), workers)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_study_estimates_and_its_defaults_pass(command: str) -> None:
    est = v.check_size(command, _config(command))
    assert est is not None
    assert 0 < est.memory < v.memory_limit() and 0 < est.seconds < v.time_limit()


@pytest.mark.parametrize(
    ("command", "settings", "option", "what"),
    [
        ("compare-activations", {"samples": 10**8}, "--samples 100000000", "of memory"),
        ("compare-activations", {"hidden": (100000, 100000)}, "--hidden 100000,100000", "memory"),
        ("compare-activations", {"depths": (2000,)}, "--depths 2000", "of memory"),
        ("compare-activations", {"seeds": 100000}, "--seeds 100000", "of memory"),
        ("vanishing-gradients", {"depths": (2000,)}, "--depths 2000", "of computing"),
        ("vanishing-gradients", {"seeds": 100000}, "--seeds 100000", "of memory"),
        ("batch-scaling", {"samples": 10**8}, "--samples 100000000", "of memory"),
        ("softmax-stability", {"rows": 10000, "classes": 10000}, "--rows 10000", "of memory"),
        ("softmax-stability", {"points": 10000, "rows": 1000}, "--", "of computing"),
        ("train", {"epochs": 10**7}, "--epochs 10000000", "of computing"),
    ],
)
def test_oversized_settings_are_refused_naming_the_option(
    command: str, settings: dict, option: str, what: str
) -> None:
    with pytest.raises(NnhwError) as info:
        v.check_size(command, _config(command, **settings))
    message = str(info.value)
    assert message.startswith(option) and what in message and "\n" not in message
    assert f"this {command} run would" in message and "(estimate)" in message


def test_the_limit_follows_the_machines_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Half of the memory: 20 seeds fit a large machine, not one of 100 MB."""
    cfg = _config("compare-activations", seeds=20)
    assert v.check_size("compare-activations", cfg) is not None
    monkeypatch.setattr(v, "machine_memory", lambda: 100e6)
    assert v.memory_limit() == 50e6
    with pytest.raises(NnhwError, match=r"^--seeds 20: .* more than the 50 MB nnhw may use on this "
                       r"machine \(50% of its 100 MB\)"):  # fmt: skip
        v.check_size("compare-activations", cfg)


def test_workers_multiply_the_memory_and_can_be_the_culprit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = _estimate("compare-activations", 1, seeds=20)
    four = _estimate("compare-activations", 4, seeds=20)
    assert four.memory > 2 * one.memory and four.seconds == one.seconds
    limit = (one.memory + four.memory) / 2  # one worker fits, four do not
    monkeypatch.setattr(v, "memory_limit", lambda: limit)
    cfg = _config("compare-activations")
    assert v.check_size("compare-activations", cfg, workers=1) is not None
    if _estimate("compare-activations", 4).memory > limit:
        with pytest.raises(NnhwError, match=r"^--workers 4: "):
            v.check_size("compare-activations", cfg, workers=4)


def test_time_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config("compare-activations")
    monkeypatch.setenv(v.MAX_MINUTES_VARIABLE, "0.001")
    with pytest.raises(NnhwError) as info:
        v.check_size("compare-activations", cfg)
    assert info.value.args[0].startswith("the settings: this compare-activations run would take")
    assert "more than the limit of 0 s" in str(info.value) and "NNHW_MAX_MINUTES" in str(info.value)
    monkeypatch.setenv(v.MAX_MINUTES_VARIABLE, "100000")
    assert v.check_size("vanishing-gradients", _config("vanishing-gradients", depths=(2000,)))
    monkeypatch.setenv(v.MAX_MINUTES_VARIABLE, "soon")
    with pytest.raises(NnhwError, match="NNHW_MAX_MINUTES must be a number of minutes > 0, got"):
        v.time_limit()


@pytest.mark.parametrize(
    ("command", "field", "small", "large"),
    [
        ("compare-activations", "seeds", 2, 8),
        ("compare-activations", "samples", 200, 2000),
        ("compare-activations", "epochs", 10, 40),
        ("compare-activations", "hidden", (16,), (256,)),
        ("vanishing-gradients", "depths", (2,), (2, 32)),
        ("vanishing-gradients", "seeds", 2, 20),
        ("batch-scaling", "samples", 64, 512),
        ("batch-scaling", "minibatches", 50, 500),
        ("softmax-stability", "rows", 4, 64),
        ("train", "samples", 100, 5000),
        ("train", "epochs", 10, 500),
    ],
)
def test_estimates_grow_with_the_settings(command, field, small, large) -> None:
    a, b = _estimate(command, **{field: small}), _estimate(command, **{field: large})
    assert b.seconds > a.seconds and b.memory >= a.memory


def test_net_cost_model() -> None:
    """Three multiply-adds per weight and example; a step is never free."""
    assert v.net_params((2, 64, 1)) == 2 * 64 + 64 + 64 + 1
    one = v.net_pass((10, 10), 1, 1000)
    two = v.net_pass((10, 10), 2, 1000)
    assert two.memory == 2 * one.memory and two.seconds > one.seconds
    fit = v.training((2, 64, 1), 5, 800, 32, 100, 200)
    assert fit.seconds > 100 * 25 * v.STEP_SECONDS
    assert fit.memory >= 4 * 8 * 5 * v.net_params((2, 64, 1))


def test_generated_shapes_match_the_datasets() -> None:
    for name, (inputs, outputs) in GENERATED_SHAPES.items():
        ds = make_dataset(name, 30, np.random.default_rng(0))
        assert (ds.X.shape[1], output_count(ds)) == (inputs, outputs), name


def test_estimates_use_the_studies_own_sizes() -> None:
    """The constants the estimates copy from the studies (no import: the cells import the
    configs) are still the studies' own."""
    from nnhw.experiments.batch_scaling import cells as bs_cells
    from nnhw.experiments.batch_scaling import config as bs_config
    from nnhw.experiments.compare_activations import cells as ca_cells
    from nnhw.experiments.compare_activations import config as ca_config
    from nnhw.experiments.train import compute as train_compute
    from nnhw.experiments.train import config as train_config

    assert ca_config.GRID_ROWS == ca_cells.GRID_POINTS**2
    assert train_config.GRID_ROWS == train_compute.GRID_POINTS**2
    assert len(bs_cells.LR_RULES) == bs_config.LR_RULE_COUNT
    assert bs_config.BOOTSTRAP_RESAMPLES == bs_cells.BOOTSTRAP_REPLICATES


def test_formats() -> None:
    assert v.format_bytes(1.06e12) == "1.06 TB" and v.format_bytes(512) == "512 B"
    assert v.format_seconds(40) == "40 s" and v.format_seconds(31 * 60) == "31 min"
    assert v.format_seconds(23 * 3600) == "23 h" and v.format_seconds(3.2 * 86400) == "3.2 days"
