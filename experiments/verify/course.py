"""The course's answers to 1.2(b)-(d) and 1.3(a), evaluated as written, against autograd.

The homework's conventions (../shared/course-theory.md): one example, column vectors x in R^n,
y_hat in R^K, m hidden units, numerator layout, the summed loss l = ||y_hat - y||^2. Here n = 3,
m = 5, K = 2, all different, so a factor in the wrong place or a missing transpose shows as
factors that do not conform (or a result of the wrong shape) instead of passing by accident as
it does with n = m = K = 1.

Numerator layout: for y = f(v), y in R^p, v in R^q, dy/dv is p x q; a scalar's derivative by a
column vector is a row (dl/dy_hat is 1 x K); by a p x q matrix it is q x p (dl/dW1 is n x m, the
transpose of W1's shape, which is the shape of the gradient an optimiser applies).

What is evaluated (`FORMULAS`): the right-hand side each bullet of 1.2(c) / 1.3(a) ends with, a
product of factors taken literally and in the written order. Each partial-derivative symbol is
replaced by its true numerator-layout Jacobian from autograd (dy_hat/dz3 is K x K, dz2/dz1 is m x
m, dy_hat/dz2 = dy_hat/dz3 W2 is K x m); each written term (W2, x, max(0, W1 x + b1) = z2) is the
column or matrix it is. Every product is either not conformable, or of the wrong shape, or
compared with autograd's numerator-layout derivative (the transpose of the gradient). Each
bullet that does not hold as written is evaluated again in a corrected form (`CORRECTED`): x and
z2 moved to the front (numerator layout: dl/dW = input times dl/dz), or z3 read where the answer
writes z2.

(d) and the Jacobian part of 1.3(a) (`jacobian_rows`): the elements the answer gives
(2(y_hat - y), 1 or sigma(z3)(1 - sigma(z3)), [z1 > 0] or sigma(z1)(1 - sigma(z1))) against
autograd's Jacobian: its diagonal, its largest off-diagonal entry, its shape (K x K, m x m
diagonal; dl/dy_hat a 1 x K row) against the shape the answer writes (a scalar; a K x 1
column). The mean loss (PyTorch's default, nnhw's training loss) is measured beside the summed
one: its dl/dy_hat is 2(y_hat - y) / K.

1.2(b) and the forward part of 1.3(a) (`forward_rows`): z1, z2, z3, y_hat from the expressions
the answer writes against autograd's forward pass.

1.3(a)'s dl/dW2 ends with "z2/dW2" (a garbled dz3/dW2); it is read as z2, Linear_2's input,
as 1.2(c) writes it.

The oracle (`oracle_pass`): PyTorch autograd in float64 when PyTorch is installed, else
nnhw's core.reference (the textbook layers, themselves tested against autograd), whose Jacobians
come from back-propagating each unit vector (row i of J = e_i^T J).

Tables (`course_tables(seed, seeds)`, one draw of parameters, x and y per seed and net):
- course_forward: seed, net, section, output (z1, z2, z3, y_hat), rel_error, oracle.
- course_gradients: seed, net, section, item (dl/dW2 ...), form (as written, corrected),
  correction, expression (the factors), shapes ('(1x2)(2x2)(5x1)'), conformable, result_shape,
  target_shape (numerator layout), gradient_layout (the product has the parameter's own shape,
  the gradient's layout, instead), rel_error (NaN unless the shapes match), holds, oracle.
- course_jacobians: seed, net, section, jacobian, course_elements, course_shape, true_shape,
  elements_rel_error, max_off_diagonal, mean_loss_ratio (on dl/dy_hat's row: the mean loss's
  dl/dy_hat over the summed loss's), oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnhw.core import reference as ref
from nnhw.core.gradcheck import relative_error
from nnhw.experiments.verify.measure import child

Array = np.ndarray
N_IN, HIDDEN, OUT = 3, 5, 2  # n, m, K: all different, all > 1
TOLERANCE = 1e-10  # relative error below which two float64 results are the same number
NETS = {
    # net: (section, f, g)
    "regression": ("1.2", "relu", "identity"),
    "classification": ("1.3", "sigmoid", "sigmoid"),
}

# The final expression of each bullet, factor by factor, as the answer writes it.
FORMULAS: dict[str, dict[str, tuple[str, ...]]] = {
    "regression": {
        "dl/dz2": ("dl/dy_hat", "dy_hat/dz2"),
        "dl/dW2": ("dl/dy_hat", "dy_hat/dz3", "z2"),
        "dl/db2": ("dl/dy_hat", "dy_hat/dz2"),  # z2 where z3 is meant
        "dl/dW1": ("dl/dy_hat", "dy_hat/dz3", "W2", "dz2/dz1", "x"),
        "dl/db1": ("dl/dy_hat", "dy_hat/dz3", "W2", "dz2/dz1"),
    },
    "classification": {
        "dl/dz3": ("dl/dy_hat", "dy_hat/dz3"),
        "dl/dW2": ("dl/dy_hat", "dy_hat/dz3", "z2"),
        "dl/db2": ("dl/dy_hat", "dy_hat/dz3"),
        "dl/dW1": ("dl/dy_hat", "dy_hat/dz3", "W2", "dz2/dz1", "x"),
        "dl/db1": ("dl/dy_hat", "dy_hat/dz3", "W2", "dz2/dz1"),
    },
}
# The corrected forms of those that fail, with what the correction is.
CORRECTED: dict[str, tuple[tuple[str, ...], str]] = {
    "dl/dW2": (("z2", "dl/dy_hat", "dy_hat/dz3"), "z2 moved to the front"),
    "dl/db2": (("dl/dy_hat", "dy_hat/dz3"), "z3 read for z2"),
    "dl/dW1": (("x", "dl/dy_hat", "dy_hat/dz3", "W2", "dz2/dz1"), "x moved to the front"),
}
# What the answer's (d) writes for each Jacobian's elements, and the shape it writes.
ELEMENTS: dict[str, dict[str, tuple[str, str]]] = {
    "regression": {
        "dl/dy_hat": ("2(y_hat - y)", "K x 1 column"),
        "dy_hat/dz3": ("1", "scalar"),
        "dz2/dz1": ("0 if z1 <= 0, 1 if z1 > 0", "scalar"),
    },
    "classification": {
        "dl/dy_hat": ("2(y_hat - y)", "K x 1 column"),
        "dy_hat/dz3": ("sigma(z3)(1 - sigma(z3))", "scalar"),
        "dz2/dz1": ("sigma(z1)(1 - sigma(z1))", "scalar"),
    },
}


@dataclass(frozen=True)
class Pass:
    """One example through the course's net, by the oracle. Shapes are the homework's: columns
    (k, 1), matrices as written. grads: the parameters' gradients (their own shapes).
    jacobians: numerator layout (dl/dy_hat is 1 x K, dy_hat/dz3 K x K, dz2/dz1 m x m).
    mean_dl_dy_hat: dl/dy_hat of the mean loss ||y_hat - y||^2 / K (1 x K)."""

    forward: dict[str, Array]
    grads: dict[str, Array]
    jacobians: dict[str, Array]
    mean_dl_dy_hat: Array
    oracle: str


def _torch_pass(params: dict[str, Array], x: Array, y: Array, f: str, g: str) -> Pass | None:
    try:
        import torch  # optional (the test extra) and slow to import: only when checking
    except ImportError:
        return None
    acts: dict[str, Callable] = {"relu": torch.relu, "sigmoid": torch.sigmoid,
                                 "identity": lambda t: t}  # fmt: skip
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    xt, yt = torch.tensor(x), torch.tensor(y)
    z1 = p["W1"] @ xt + p["b1"][:, None]
    z2 = acts[f](z1)
    z3 = p["W2"] @ z2 + p["b2"][:, None]
    y_hat = acts[g](z3)
    loss = ((y_hat - yt) ** 2).sum()
    loss.backward()
    jac = torch.autograd.functional.jacobian
    flat = lambda fn: lambda v: fn(v[:, None])[:, 0]  # noqa: E731 (column in, column out)
    jacobians = {
        "dl/dy_hat": jac(lambda v: ((v - yt[:, 0]) ** 2).sum(), y_hat.detach()[:, 0])[None, :],
        "dy_hat/dz3": jac(flat(acts[g]), z3.detach()[:, 0]),
        "dz2/dz1": jac(flat(acts[f]), z1.detach()[:, 0]),
    }
    mean = jac(lambda v: ((v - yt[:, 0]) ** 2).mean(), y_hat.detach()[:, 0])[None, :]
    fwd = {"z1": z1, "z2": z2, "z3": z3, "y_hat": y_hat}
    return Pass(
        {k: v.detach().numpy() for k, v in fwd.items()},
        {k: v.grad.numpy() for k, v in p.items() if v.grad is not None},
        {k: v.numpy() for k, v in jacobians.items()},
        mean.numpy(),
        "PyTorch autograd",
    )


def _reference_pass(params: dict[str, Array], x: Array, y: Array, f: str, g: str) -> Pass:
    """core.reference on the example as a batch of one row; Jacobians row by row."""
    out = ref.reference_forward_backward(params, x.T, y.T, f, g, "squared-error")
    fwd = {k: v.T for k, v in out.forward.items()}

    def jacobian(z: Array, activation: str) -> Array:
        _, cache = ref.activation_forward(z.T, activation)
        eye = np.eye(z.shape[0])
        return np.vstack([ref.activation_backward(eye[i : i + 1], cache) for i in range(len(eye))])

    _, d_sum = ref.squared_error_loss(out.y_hat, y.T)
    _, d_mean = ref.mse_loss(out.y_hat, y.T)
    jacobians = {
        "dl/dy_hat": d_sum,
        "dy_hat/dz3": jacobian(fwd["z3"], g),
        "dz2/dz1": jacobian(fwd["z1"], f),
    }
    return Pass(fwd, out.grads, jacobians, d_mean, "core.reference")


def oracle_pass(
    params: dict[str, Array], x: Array, y: Array, f: str, g: str, use_torch: bool = True
) -> Pass:
    """The oracle's pass: PyTorch autograd when installed (and use_torch), else core.reference."""
    found = _torch_pass(params, x, y, f, g) if use_torch else None
    return found if found is not None else _reference_pass(params, x, y, f, g)


def draw_example(rng: np.random.Generator, net: str) -> tuple[dict[str, Array], Array, Array]:
    """Parameters W1 (m, n), b1 (m,), W2 (K, m), b2 (K,) ~ N(0, 1), x (n, 1) ~ N(0, 1) and a
    target y (K, 1): N(0, 1) for regression, U(0, 1) for classification (a sigmoid's range)."""
    params = {
        "W1": rng.standard_normal((HIDDEN, N_IN)),
        "b1": rng.standard_normal(HIDDEN),
        "W2": rng.standard_normal((OUT, HIDDEN)),
        "b2": rng.standard_normal(OUT),
    }
    x = rng.standard_normal((N_IN, 1))
    y = rng.uniform(0, 1, (OUT, 1)) if net == "classification" else rng.standard_normal((OUT, 1))
    return params, x, y


def factors(p: Pass, params: dict[str, Array], x: Array) -> dict[str, Array]:
    """Every factor a formula may name, numerator layout, as 2-D arrays."""
    j = p.jacobians
    return {
        "dl/dy_hat": j["dl/dy_hat"],
        "dy_hat/dz3": j["dy_hat/dz3"],
        "dy_hat/dz2": j["dy_hat/dz3"] @ params["W2"],  # the chain's K x m Jacobian
        "dz2/dz1": j["dz2/dz1"],
        "W2": params["W2"],
        "z2": p.forward["z2"],
        "x": x,
    }


def product(names: tuple[str, ...], values: dict[str, Array]) -> tuple[Array | None, str]:
    """The product of the named factors in order, or None where two do not conform; and the
    shapes as written, e.g. '(1x2)(2x2)(5x1)'."""
    shapes = "".join(f"({values[n].shape[0]}x{values[n].shape[1]})" for n in names)
    out = values[names[0]]
    for n in names[1:]:
        if out.shape[1] != values[n].shape[0]:
            return None, shapes
        out = out @ values[n]
    return out, shapes


def _shape(a: Array | None) -> str:
    return "" if a is None else f"{a.shape[0]}x{a.shape[1]}"


def gradient_rows(net: str, seed: int, params: dict[str, Array], x: Array, p: Pass) -> list[dict]:
    """One row per bullet x form ('as written', 'corrected') of one net, one example."""
    values = factors(p, params, x)
    dz3 = p.jacobians["dl/dy_hat"] @ p.jacobians["dy_hat/dz3"]
    want = {f"dl/d{k}": (v.T if v.ndim == 2 else v[None, :]) for k, v in p.grads.items()}
    want["dl/dz3"], want["dl/dz2"] = dz3, dz3 @ params["W2"]
    rows = []
    for item, names in FORMULAS[net].items():
        forms = [("as written", names, "")]
        if item in CORRECTED and CORRECTED[item][0] != names:
            forms.append(("corrected", *CORRECTED[item]))
        for form, fnames, fix in forms:
            result, shapes = product(fnames, values)
            target = want[item]
            same_shape = result is not None and result.shape == target.shape
            err = relative_error(result, target) if same_shape else np.nan
            gradient_shape = result is not None and result.shape == target.T.shape
            rows.append({
                "seed": seed, "net": net, "section": NETS[net][0], "item": item, "form": form,
                "correction": fix, "expression": " ".join(fnames), "shapes": shapes,
                "conformable": result is not None, "result_shape": _shape(result),
                "target_shape": _shape(target), "gradient_layout": bool(gradient_shape),
                "rel_error": err, "holds": bool(same_shape and err <= TOLERANCE),
                "oracle": p.oracle,
            })  # fmt: skip
    return rows


def _course_elements(net: str, name: str, fwd: dict[str, Array], y: Array) -> Array:
    """The elements the answer's (d) gives, as a column."""
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    if name == "dl/dy_hat":
        return 2 * (fwd["y_hat"] - y)
    if name == "dy_hat/dz3":
        z3 = fwd["z3"]
        return np.ones_like(z3) if net == "regression" else sig(z3) * (1 - sig(z3))
    z1 = fwd["z1"]
    return (z1 > 0).astype(float) if net == "regression" else sig(z1) * (1 - sig(z1))


def jacobian_rows(net: str, seed: int, y: Array, p: Pass) -> list[dict]:
    """One row per Jacobian of (d) / 1.3(a): elements, off-diagonal, shapes; plus the mean
    loss's dl/dy_hat against the summed one's (on the dl/dy_hat row)."""
    rows = []
    for name, (expr, written) in ELEMENTS[net].items():
        jac = p.jacobians[name]
        course = _course_elements(net, name, p.forward, y)[:, 0]
        elements = jac[0] if name == "dl/dy_hat" else np.diag(jac)
        off = 0.0 if name == "dl/dy_hat" else float(np.max(np.abs(jac - np.diag(np.diag(jac)))))
        diagonal = name != "dl/dy_hat"
        true = f"{jac.shape[0]} x {jac.shape[1]}" + (" diagonal matrix" if diagonal else " row")
        rows.append({
            "seed": seed, "net": net, "section": NETS[net][0], "jacobian": name,
            "course_elements": expr, "course_shape": written, "true_shape": true,
            "elements_rel_error": relative_error(course, elements), "max_off_diagonal": off,
            "mean_loss_ratio": np.nan, "oracle": p.oracle,
        })  # fmt: skip
    ratio = p.mean_dl_dy_hat / p.jacobians["dl/dy_hat"]
    rows[0]["mean_loss_ratio"] = float(np.mean(ratio))
    return rows


def forward_rows(net: str, seed: int, params: dict[str, Array], x: Array, p: Pass) -> list[dict]:
    """z1, z2, z3, y_hat as the answer writes them (1.2(b); 1.3(a)) against the oracle."""
    W1, b1, W2, b2 = params["W1"], params["b1"][:, None], params["W2"], params["b2"][:, None]
    if net == "regression":
        written = {
            "z1": W1 @ x + b1,
            "z2": np.maximum(0, W1 @ x + b1),
            "z3": W2 @ np.maximum(0, W1 @ x + b1) + b2,
            "y_hat": W2 @ np.maximum(0, W1 @ x + b1) + b2,
        }
    else:
        s = 1 / (1 + np.exp(-(W1 @ x + b1)))
        written = {"z1": W1 @ x + b1, "z2": s, "z3": W2 @ s + b2,
                   "y_hat": 1 / (1 + np.exp(-(W2 @ s + b2)))}  # fmt: skip
    return [
        {"seed": seed, "net": net, "section": NETS[net][0], "output": k,
         "rel_error": relative_error(v, p.forward[k]), "oracle": p.oracle}
        for k, v in written.items()
    ]  # fmt: skip


def course_tables(
    seed: np.random.SeedSequence, seeds: int, use_torch: bool = True
) -> dict[str, pd.DataFrame]:
    """course_forward, course_gradients and course_jacobians over `seeds` draws of the example
    (parameters, x, y) for both nets."""
    rows: dict[str, list[dict]] = {"course_forward": [], "course_gradients": [],
                                   "course_jacobians": []}  # fmt: skip
    for i in range(seeds):
        for k, net in enumerate(NETS):
            ns = child(seed, i, k)
            _, f, g = NETS[net]
            params, x, y = draw_example(np.random.default_rng(ns), net)
            p = oracle_pass(params, x, y, f, g, use_torch)
            rows["course_forward"] += forward_rows(net, i, params, x, p)
            rows["course_gradients"] += gradient_rows(net, i, params, x, p)
            rows["course_jacobians"] += jacobian_rows(net, i, y, p)
    return {k: pd.DataFrame(v) for k, v in rows.items()}
