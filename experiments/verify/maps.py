"""Linear and affine maps of the plane, measured (homework 1.4(e)), and the factorisation of a
trained layer's weight matrix (SVD).

- linear_maps(seed, seeds): per seed, a random instance of each map of `MAPS` on R^2 -- rotation
  by a random angle, reflection across a random line, scaling by random factors, shear by a
  random factor, projection onto a random line, the composition of two random linear maps, and
  translation by a random vector -- checked on PAIRS random pairs of vectors u, v and scalars a,
  b: the superposition residual |T(a u + b v) - a T(u) - b T(v)| relative to |a T(u)| + |b T(v)|
  (0 up to rounding, about 1e-16, for a linear map), |T(0)|, and the same residual for
  x -> T(x) - T(0) (`affine_residual`: a map is affine when that part is linear). Plus the
  properties that name the map: det, |M^T M - I| (orthogonal: rotation, reflection), |M^2 - M|
  (idempotent: projection), where M is the matrix whose columns are T(e1), T(e2) - T(0).
- layer_svd(model, layer): for each member of a trained MLP, W = U S V^T of weight layer
  `layer`: the reconstruction error |W - U S V^T| / |W|, how far U and V are from orthogonal
  (|U^T U - I|, |V^T V - I|: rotations, or reflections where det = -1), det(U) det(V), and the
  singular values' spread (largest over smallest): a layer is a rotation, an axis scaling and
  another rotation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from nnhw.core.mlp import MLP
from nnhw.experiments.verify.measure import child

Array = np.ndarray
PAIRS = 64
MAPS = (
    "rotation", "reflection", "scaling", "shear", "projection", "composition", "translation"
)  # fmt: skip
LINEAR_MAPS = MAPS[:-1]


def _maps(rng: np.random.Generator) -> dict[str, Callable[[Array], Array]]:
    """One random instance of each map; x: (..., 2)."""
    theta, phi = rng.uniform(0, 2 * np.pi, 2)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    n = np.array([np.cos(phi), np.sin(phi)])  # a unit vector: the line's direction
    reflect = 2 * np.outer(n, n) - np.eye(2)
    scale = np.diag(rng.uniform(0.2, 3.0, 2))
    shear = np.array([[1.0, rng.uniform(-2, 2)], [0.0, 1.0]])
    project = np.outer(n, n)
    a, b = rng.standard_normal((2, 2, 2))
    t = rng.standard_normal(2)
    linear = {"rotation": rot, "reflection": reflect, "scaling": scale, "shear": shear,
              "projection": project}  # fmt: skip
    out: dict[str, Callable[[Array], Array]] = {
        k: (lambda x, m=m: x @ m.T) for k, m in linear.items()
    }
    out["composition"] = lambda x: (x @ b.T) @ a.T  # T = A o B, applied one after the other
    out["translation"] = lambda x: x + t
    return out


def _residual(T: Callable[[Array], Array], u: Array, v: Array, a: Array, b: Array) -> float:
    lhs = T(a * u + b * v)
    rhs = a * T(u) + b * T(v)
    scale = np.linalg.norm(a * T(u), axis=-1) + np.linalg.norm(b * T(v), axis=-1)
    return float(np.max(np.linalg.norm(lhs - rhs, axis=-1) / np.maximum(scale, 1e-300)))


def linear_maps(seed: np.random.SeedSequence, seeds: int) -> pd.DataFrame:
    """One row per seed x map (module docstring)."""
    rows = []
    for i in range(seeds):
        rng = np.random.default_rng(child(seed, i))
        u, v = rng.standard_normal((2, PAIRS, 2))
        a, b = rng.standard_normal((2, PAIRS, 1))
        for name, T in _maps(rng).items():
            zero = T(np.zeros(2))
            part = lambda x, T=T, zero=zero: T(x) - zero  # noqa: E731 (the map's linear part)
            M = part(np.eye(2)).T  # columns: images of e1, e2
            rows.append({
                "seed": i, "map": name, "superposition_residual": _residual(T, u, v, a, b),
                "zero_image": float(np.linalg.norm(zero)),
                "affine_residual": _residual(part, u, v, a, b), "det": float(np.linalg.det(M)),
                "orthogonal_error": float(np.max(np.abs(M.T @ M - np.eye(2)))),
                "idempotent_error": float(np.max(np.abs(M @ M - M))),
            })  # fmt: skip
    return pd.DataFrame(rows)


def layer_svd(model: MLP, layer: int) -> pd.DataFrame:
    """One row per member: the SVD of its weight layer `layer` (module docstring)."""
    rows = []
    for e, W in enumerate(model.params[f"W{layer}"]):
        U, S, Vt = np.linalg.svd(W)
        k = len(S)
        rebuilt = U[:, :k] @ np.diag(S) @ Vt[:k, :]
        rows.append({
            "seed": e, "layer": layer, "shape": f"{W.shape[0]}x{W.shape[1]}",
            "reconstruction_error": float(np.linalg.norm(W - rebuilt) / np.linalg.norm(W)),
            "u_orthogonal_error": float(np.max(np.abs(U.T @ U - np.eye(len(U))))),
            "v_orthogonal_error": float(np.max(np.abs(Vt @ Vt.T - np.eye(len(Vt))))),
            "det_u_det_v": float(np.linalg.det(U) * np.linalg.det(Vt)),
            "singular_spread": float(S.max() / S.min()) if S.min() > 0 else float("inf"),
        })  # fmt: skip
    return pd.DataFrame(rows)
