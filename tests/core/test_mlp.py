"""What MLP.backward hands back: fresh copies by default, the live gradient views on request."""

from __future__ import annotations

import numpy as np

from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP


def _model_and_batches() -> tuple[MLP, list[tuple[np.ndarray, np.ndarray]]]:
    model = MLP([3, 8, 2], "tanh", "identity", [np.random.default_rng(s) for s in range(2)])
    rng = np.random.default_rng(1)
    batches = [(rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 2))) for _ in range(2)]
    return model, batches


def _backward(model: MLP, x: np.ndarray, y: np.ndarray, **kwargs) -> dict[str, np.ndarray]:
    return model.backward(get_loss("mse")(model.forward(x), y, "mean")[1], **kwargs)


def test_gradients_returned_by_default_survive_the_next_backward() -> None:
    model, ((x1, y1), (x2, y2)) = _model_and_batches()
    first = _backward(model, x1, y1)
    kept = {name: g.copy() for name, g in first.items()}
    second = _backward(model, x2, y2)
    for name in model.names:
        assert not np.shares_memory(first[name], model.grad_flat), name
        np.testing.assert_array_equal(first[name], kept[name])  # untouched by the second call
        assert not np.array_equal(first[name], second[name]), name  # which did compute anew
        np.testing.assert_array_equal(second[name], model.grads[name])


def test_copy_false_returns_the_views_the_optimiser_reads() -> None:
    """The documented opt-in of a training step: the gradients are `grads`, views of
    `grad_flat`, and the next backward overwrites them."""
    model, ((x1, y1), (x2, y2)) = _model_and_batches()
    views = _backward(model, x1, y1, copy=False)
    assert views is model.grads
    assert all(np.shares_memory(views[name], model.grad_flat) for name in model.names)
    before = model.grad_flat.copy()
    _backward(model, x2, y2, copy=False)
    assert not np.array_equal(model.grad_flat, before)


def test_copies_and_views_hold_the_same_numbers() -> None:
    model, ((x, y), _) = _model_and_batches()
    copies = _backward(model, x, y)
    views = _backward(model, x, y, copy=False)
    for name in model.names:
        np.testing.assert_array_equal(copies[name], views[name])
