"""Weight initialisers: a registry keyed by name.

Contract: `init_weight(name, rng, fan_out, fan_in, dtype, scale)` returns a (fan_out, fan_in)
matrix (PyTorch's Linear layout) drawn from `rng`; `init_bias(name, rng, fan_out, fan_in, dtype)`
returns the bias. Biases are zero except for `standard`, which draws them from U(+-1/sqrt(fan_in))
as torch.nn.Linear does.

- zero: all zeros (every hidden unit stays identical: the symmetry problem).
- normal: N(0, scale^2), scale default 0.1.      - uniform: U(+-scale), scale default 0.1.
- standard: U(+-1/sqrt(fan_in)) (Glorot & Bengio's "standard" init; PyTorch's Linear default).
- xavier-uniform: U(+-sqrt(6/(fan_in+fan_out))).  - xavier-normal: N(0, 2/(fan_in+fan_out)).
- he-uniform: U(+-sqrt(6/fan_in)).                 - he-normal: N(0, 2/fan_in).
- lecun-normal: N(0, 1/fan_in) (LeCun et al. 1998; the init SELU's self-normalisation assumes,
  Klambauer et al. 2017).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnhw.core.errors import NnhwError

Array = np.ndarray
_Sampler = Callable[[np.random.Generator, int, int, float | None], Array]

DEFAULT_SCALE = 0.1


def _uniform(rng: np.random.Generator, n_out: int, n_in: int, limit: float) -> Array:
    return rng.uniform(-limit, limit, size=(n_out, n_in))


def _normal(rng: np.random.Generator, n_out: int, n_in: int, std: float) -> Array:
    return rng.normal(0.0, std, size=(n_out, n_in))


_SAMPLERS: dict[str, _Sampler] = {
    "zero": lambda rng, o, i, s: np.zeros((o, i)),
    "normal": lambda rng, o, i, s: _normal(rng, o, i, DEFAULT_SCALE if s is None else s),
    "uniform": lambda rng, o, i, s: _uniform(rng, o, i, DEFAULT_SCALE if s is None else s),
    "standard": lambda rng, o, i, s: _uniform(rng, o, i, 1 / np.sqrt(i)),
    "xavier-uniform": lambda rng, o, i, s: _uniform(rng, o, i, np.sqrt(6 / (i + o))),
    "xavier-normal": lambda rng, o, i, s: _normal(rng, o, i, np.sqrt(2 / (i + o))),
    "he-uniform": lambda rng, o, i, s: _uniform(rng, o, i, np.sqrt(6 / i)),
    "he-normal": lambda rng, o, i, s: _normal(rng, o, i, np.sqrt(2 / i)),
    "lecun-normal": lambda rng, o, i, s: _normal(rng, o, i, np.sqrt(1 / i)),
}
INIT_NAMES: tuple[str, ...] = tuple(_SAMPLERS)


def check_init(name: str) -> str:
    """`name` lower-cased, or NnhwError if it is not an initialiser."""
    key = name.lower()
    if key not in _SAMPLERS:
        raise NnhwError(f"unknown init {name!r}; choose one of {', '.join(INIT_NAMES)}")
    return key


def init_weight(
    name: str,
    rng: np.random.Generator,
    fan_out: int,
    fan_in: int,
    dtype: np.dtype | type = np.float64,
    scale: float | None = None,
) -> Array:
    """A (fan_out, fan_in) weight matrix; drawn in float64, then cast (same values per seed)."""
    return _SAMPLERS[check_init(name)](rng, fan_out, fan_in, scale).astype(dtype)


def init_bias(
    name: str,
    rng: np.random.Generator,
    fan_out: int,
    fan_in: int,
    dtype: np.dtype | type = np.float64,
) -> Array:
    """A (fan_out,) bias: U(+-1/sqrt(fan_in)) for `standard`, zero otherwise."""
    if check_init(name) == "standard":
        return rng.uniform(-1 / np.sqrt(fan_in), 1 / np.sqrt(fan_in), size=fan_out).astype(dtype)
    return np.zeros(fan_out, dtype=dtype)
