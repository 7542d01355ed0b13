"""The course's own checks (homework 1.2 and 1.3), as assertions against torch.nn.Sequential,
and one tiny net worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

from nnhw.core.gradcheck import relative_error
from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer

torch.set_num_threads(1)


def _sequential(model: MLP, modules: list[torch.nn.Module]) -> torch.nn.Sequential:
    """torch.nn.Sequential of `modules` with our member 0's parameters copied into its Linears."""
    net = torch.nn.Sequential(*modules).double()
    linears = [m for m in modules if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for l, lin in enumerate(linears, start=1):
            lin.weight.copy_(torch.from_numpy(model.params[f"W{l}"][0].copy()))
            lin.bias.copy_(torch.from_numpy(model.params[f"b{l}"][0].copy()))
    return net


def _compare(model: MLP, net, x, y, loss: str, torch_loss) -> None:
    value, d = get_loss(loss)(model.forward(x), y, "mean")
    grads = model.backward(d)
    out = net(torch.from_numpy(x))
    t_value = torch_loss(out, torch.from_numpy(y))
    t_value.backward()
    np.testing.assert_allclose(model.acts[-1][0], out.detach().numpy(), rtol=1e-13, atol=1e-15)
    assert value[0] == pytest.approx(t_value.item(), rel=1e-13)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for l, lin in enumerate(linears, start=1):
        assert relative_error(grads[f"W{l}"][0], lin.weight.grad.numpy()) <= 1e-10
        assert relative_error(grads[f"b{l}"][0], lin.bias.grad.numpy()) <= 1e-10


def test_regression_net_2_20_relu_5_identity_mse_batch_10():
    rng = np.random.default_rng(0)
    model = MLP([2, 20, 5], "relu", "identity", [np.random.default_rng(1)])
    x, y = rng.normal(size=(10, 2)), rng.normal(size=(10, 5))
    L = torch.nn.Linear
    net = _sequential(model, [L(2, 20), torch.nn.ReLU(), L(20, 5)])
    _compare(model, net, x, y, "mse", F.mse_loss)


def test_classification_net_10_50_sigmoid_5_sigmoid_bce_batch_10():
    rng = np.random.default_rng(2)
    model = MLP([10, 50, 5], "sigmoid", "sigmoid", [np.random.default_rng(3)])
    x = rng.normal(size=(10, 10))
    y = rng.integers(0, 2, size=(10, 5)).astype(np.float64)
    L = torch.nn.Linear
    net = _sequential(model, [L(10, 50), torch.nn.Sigmoid(), L(50, 5), torch.nn.Sigmoid()])
    _compare(model, net, x, y, "bce", torch.nn.BCELoss())


def test_relu_output_net_2_20_relu_22_relu_mse():
    rng = np.random.default_rng(4)
    model = MLP([2, 20, 22], "relu", "relu", [np.random.default_rng(5)])
    x, y = rng.normal(size=(10, 2)), rng.normal(size=(10, 22))
    L = torch.nn.Linear
    net = _sequential(model, [L(2, 20), torch.nn.ReLU(), L(20, 22), torch.nn.ReLU()])
    _compare(model, net, x, y, "mse", F.mse_loss)


def test_tiny_net_worked_by_hand():
    """2 inputs, 2 hidden ReLU units, 1 identity output, MSE (mean), batch 2, one SGD step.

    Every number below is a short binary fraction, so the float64 results are exact.
    """
    model = MLP([2, 2, 1], "relu", "identity", [np.random.default_rng(0)])
    model.params["W1"][0] = [[1.0, -1.0], [0.5, 1.0]]
    model.params["b1"][0] = [0.0, -1.0]
    model.params["W2"][0] = [[2.0, -1.0]]
    model.params["b2"][0] = [0.5]
    x = np.array([[1.0, 2.0], [-1.0, 0.0]])
    y = np.array([[1.0], [0.5]])

    # Forward. Example 1, x = (1, 2):  z1 = W1 x + b1 = (1 - 2 + 0, 0.5 + 2 - 1) = (-1, 1.5)
    #   a1 = relu(z1) = (0, 1.5);  y_hat = W2 a1 + b2 = 2*0 - 1*1.5 + 0.5 = -1.
    # Example 2, x = (-1, 0):  z1 = (-1 - 0 + 0, -0.5 + 0 - 1) = (-1, -1.5);  a1 = (0, 0);
    #   y_hat = 0 + 0.5 = 0.5, exactly its target.
    y_hat = model.forward(x)
    np.testing.assert_array_equal(model.zs[0][0], [[-1.0, 1.5], [-1.0, -1.5]])
    np.testing.assert_array_equal(model.acts[1][0], [[0.0, 1.5], [0.0, 0.0]])
    np.testing.assert_array_equal(y_hat[0], [[-1.0], [0.5]])

    # Loss: mean over N = 2 examples and k = 1 output: ((-1 - 1)^2 + 0^2) / 2 = 2.
    # dL/dy_hat = 2 (y_hat - y) / 2 = (-2, 0); identity output, so dz2 = (-2, 0).
    value, d = get_loss("mse")(y_hat, y, "mean")
    assert value[0] == 2.0
    np.testing.assert_array_equal(d[0], [[-2.0], [0.0]])

    grads = model.backward(d)
    # dW2 = sum_n dz2_n a1_n^T = -2 * (0, 1.5) + 0 = (0, -3);  db2 = -2 + 0 = -2.
    np.testing.assert_array_equal(grads["W2"][0], [[0.0, -3.0]])
    np.testing.assert_array_equal(grads["b2"][0], [-2.0])
    # Example 1: da1 = dz2 W2 = -2 * (2, -1) = (-4, 2); relu'(z1) = (0, 1) (z1 = (-1, 1.5)),
    #   so dz1 = (0, 2). Example 2: dz2 = 0, so dz1 = (0, 0) (and its units are off anyway).
    np.testing.assert_array_equal(model.deltas[0][0], [[0.0, 2.0], [0.0, 0.0]])
    # dW1 = sum_n dz1_n x_n^T = (0, 2)^T (1, 2) = [[0, 0], [2, 4]];  db1 = (0, 2).
    np.testing.assert_array_equal(grads["W1"][0], [[0.0, 0.0], [2.0, 4.0]])
    np.testing.assert_array_equal(grads["b1"][0], [0.0, 2.0])

    # One SGD step, lr = 0.5: theta <- theta - 0.5 dtheta.
    make_optimizer("sgd", lr=0.5).step(model)
    np.testing.assert_array_equal(model.params["W1"][0], [[1.0, -1.0], [-0.5, -1.0]])
    np.testing.assert_array_equal(model.params["b1"][0], [0.0, -2.0])
    np.testing.assert_array_equal(model.params["W2"][0], [[2.0, 0.5]])
    np.testing.assert_array_equal(model.params["b2"][0], [1.5])
