"""The default `nnhw compare-activations` study written as a plain loop of PyTorch trainings.

Same data (moons, 1000 points, 20 % test, standardised, from nnhw's data stream for root seed 0),
same net (2 -> 64 -> 1, sigmoid output, MSE), same training (Adam, lr 0.01, batch 32, 100 epochs,
5 seeds per activation: relu, leaky-relu, tanh, sigmoid) and the same per-epoch evaluation as
core.train.evaluate: full-batch training loss and accuracy with the full-batch gradient's
per-layer norms, back-propagated signal norms, dead and saturated fractions and activation
statistics, then test loss and accuracy. It writes no files and draws no plots: nnhw's command
does both on top. The benchmark runs it as a subprocess, like `nnhw compare-activations`.

    .venv/bin/python tests/benchmarks/torch_compare_activations.py [--epochs N] [--seeds N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402, N812

from nnhw.core.data import make_dataset  # noqa: E402
from nnhw.experiments.data.prepare import output_count, split_and_standardise  # noqa: E402

Tensor = torch.Tensor
# name: (module, f'(z) from z and a, max f', can saturate)
ACTIVATIONS: dict[
    str, tuple[Callable[[], nn.Module], Callable[[Tensor, Tensor], Tensor], float]
] = {
    "relu": (nn.ReLU, lambda z, a: (z > 0).double(), 1.0),
    "leaky-relu": (lambda: nn.LeakyReLU(0.01), lambda z, a: torch.where(z > 0, 1.0, 0.01), 1.0),
    "tanh": (nn.Tanh, lambda z, a: 1 - a * a, 1.0),
    "sigmoid": (nn.Sigmoid, lambda z, a: a * (1 - a), 0.25),
}


def evaluate(model: nn.Sequential, name: str, data: tuple[Tensor, ...]) -> list[float]:
    X, Y, labels, X_test, Y_test, labels_test = data
    _, derivative, max_derivative = ACTIVATIONS[name]
    model.zero_grad()
    z1 = model[0](X)
    a1 = model[1](z1)
    z2 = model[2](a1)
    z1.retain_grad()
    z2.retain_grad()
    y_hat = model[3](z2)
    loss = F.mse_loss(y_hat, Y)
    loss.backward()
    with torch.no_grad():
        d = derivative(z1, a1)
        test_hat = model(X_test)
        out = [
            loss.detach(),
            ((y_hat[:, 0] > 0.5) == labels).double().mean(),
            model[0].weight.grad.norm(),
            model[2].weight.grad.norm(),
            z1.grad.norm(),
            z2.grad.norm(),
            (d == 0).all(dim=0).double().mean(),
            (d < 0.05 * max_derivative).double().mean(),
            a1.mean(),
            a1.std(unbiased=False),
            a1.min(),
            a1.max(),
            F.mse_loss(test_hat, Y_test),
            ((test_hat[:, 0] > 0.5) == labels_test).double().mean(),
        ]
    return [float(v) for v in out]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="compare-activations as a PyTorch loop")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(np.random.SeedSequence([0, 0xDA7A]))
    ds = make_dataset("moons", 1000, rng)
    d = split_and_standardise(ds, 0.2, rng, output_count(ds)).data
    assert d.X_test is not None and d.Y_test is not None
    assert d.labels_train is not None and d.labels_test is not None
    data = tuple(
        torch.from_numpy(np.asarray(a))
        for a in (d.X_train, d.Y_train, d.labels_train, d.X_test, d.Y_test, d.labels_test)
    )
    X, Y, n = data[0], data[1], d.X_train.shape[0]
    for name, (make_act, _, _) in ACTIVATIONS.items():
        final = []
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            layers = [nn.Linear(X.shape[1], 64), make_act(), nn.Linear(64, 1), nn.Sigmoid()]
            model = nn.Sequential(*layers).double()
            opt = torch.optim.Adam(model.parameters(), lr=0.01)
            gen = torch.Generator().manual_seed(seed)
            history = [evaluate(model, name, data)]
            for _ in range(args.epochs):
                perm = torch.randperm(n, generator=gen)
                for start in range(0, n, 32):
                    idx = perm[start : start + 32]
                    opt.zero_grad()
                    F.mse_loss(model(X[idx]), Y[idx]).backward()
                    opt.step()
                history.append(evaluate(model, name, data))
            final.append(history[-1][-1])
        print(f"{name}: mean final test accuracy {np.mean(final):.3f} over {args.seeds} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
