"""experiments.validate: the shared config checks return normalised values and raise one line
naming the CLI option and what was received."""

from __future__ import annotations

import math

import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import validate as v


def test_option_name() -> None:
    assert v.option_name("batch_size") == "--batch-size"
    assert v.option_name("lr") == "--lr"


def test_good_values_are_normalised() -> None:
    assert v.check_int(3, "epochs", 1) == 3
    assert v.check_int(10_000, "points", 2, 10_000) == 10_000
    assert v.check_float(2, "lr", above=0) == 2.0 and isinstance(v.check_float(2, "lr"), float)
    assert v.check_float(0, "momentum", at_least=0, below=1) == 0.0
    assert v.check_choice("ReLU", "activation", ("relu", "tanh")) == "relu"
    names = v.check_names(["TANH", "relu"], "activations", ("relu", "tanh"), "activation")
    assert names == ("tanh", "relu")
    assert v.check_positive_ints([4, 2], "depths", "depth") == (4, 2)
    assert v.check_positive_ints((8, 8), "hidden", "layer width", distinct=False) == (8, 8)
    assert v.check_bool(False, "strict") is False


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: v.check_int(0, "batch_size", 1), "--batch-size must be an integer >= 1, got 0"),
        (lambda: v.check_int(True, "seeds", 1), "--seeds must be an integer >= 1, got True"),
        (lambda: v.check_int(2.0, "seeds", 1), "--seeds must be an integer >= 1, got 2.0"),
        (lambda: v.check_int(1, "points", 2, 9), "--points must be an integer from 2 to 9, got 1"),
        (lambda: v.check_float(-3, "lr", above=0), "--lr must be > 0, got -3"),
        (lambda: v.check_float(math.nan, "lr"), "--lr must be a finite number, got nan"),
        (lambda: v.check_float("fast", "lr"), "--lr must be a finite number, got 'fast'"),
        (lambda: v.check_float(-0.1, "noise", at_least=0), "--noise must be >= 0, got -0.1"),
        (
            lambda: v.check_float(1.0, "test_fraction", above=0, below=1),
            r"--test-fraction must be in (0, 1), got 1.0",
        ),
        (
            lambda: v.check_float(1, "momentum", at_least=0, below=1),
            "--momentum must be in [0, 1), got 1",
        ),
        (lambda: v.check_float(2.0, "x", below=1), "--x must be < 1, got 2.0"),
        (
            lambda: v.check_choice("adamw", "optimizer", ("sgd", "adam")),
            "--optimizer must be one of sgd, adam, got 'adamw'",
        ),
        (
            lambda: v.check_names((), "dtypes", ("float32", "float64"), "dtype"),
            "--dtypes must have at least one dtype (float32, float64), got ()",
        ),
        (
            lambda: v.check_names("relu", "activations", ("relu",), "activation"),
            "--activations must be a list of activations, got 'relu'",
        ),
        (
            lambda: v.check_names(("relu", "RELU"), "activations", ("relu",), "activation"),
            "--activations: each activation once, got relu, relu",
        ),
        (
            lambda: v.check_positive_ints((2, 0), "depths", "depth"),
            "--depths: every depth must be an integer >= 1, got 0",
        ),
        (
            lambda: v.check_positive_ints((2, 2), "widths", "width"),
            "--widths: each width once, got 2, 2",
        ),
        (lambda: v.check_bool(1, "strict"), "--strict must be true or false, got 1"),
    ],
)
def test_bad_values_raise_one_line_naming_the_option(call, message: str) -> None:
    with pytest.raises(NnhwError) as info:
        call()
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
