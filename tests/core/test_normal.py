"""core.normal: the polynomial's coefficients re-derived with mpmath, Phi and phi against mpmath's
ncdf and npdf to a few ulp over the whole range (tails included), and no floating-point warning
for any input (huge, infinite, subnormal)."""

from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np

from nnhw.core import normal


def tail_coefficients(k: float, degree: int, nodes: int = 40) -> list[float]:
    """Monomial coefficients of G(u) = Phi(-x) e^(x^2/2) (x + k), x = k (1 + u)/(1 - u): its
    Chebyshev interpolant at `nodes` points of the first kind, truncated at `degree`, converted
    to powers of u, all at 50 digits (core/normal.py's docstring)."""
    with mp.workdps(50):
        K = mp.mpf(k)

        def G(u: mp.mpf) -> mp.mpf:
            if u == 1:
                return 1 / mp.sqrt(2 * mp.pi)
            x = K * (1 + u) / (1 - u)
            return mp.erfc(x / mp.sqrt(2)) / 2 * mp.exp(x * x / 2) * (x + K)

        theta = [mp.pi * (j + mp.mpf(1) / 2) / nodes for j in range(nodes)]
        values = [G(mp.cos(t)) for t in theta]
        cheb = [
            (2 if n else 1) * mp.fsum(v * mp.cos(n * t) for v, t in zip(values, theta)) / nodes
            for n in range(degree + 1)
        ]
        # T_0 = 1, T_1 = u, T_{n+1} = 2 u T_n - T_{n-1}, as coefficient lists in powers of u
        T = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
        while len(T) <= degree:
            hi, lo = T[-1], T[-2]
            T.append(
                [
                    2 * (hi[i - 1] if i else 0) - (lo[i] if i < len(lo) else 0)
                    for i in range(len(hi) + 1)
                ]
            )
        mono = [
            mp.fsum(cheb[n] * T[n][i] for n in range(degree + 1) if i < len(T[n]))
            for i in range(degree + 1)
        ]
        return [float(m) for m in mono]


def test_coefficients_are_the_truncated_chebyshev_interpolant() -> None:
    assert tail_coefficients(normal._K, len(normal._TAIL) - 1) == list(normal._TAIL)


def _points() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate(
        [np.linspace(-38.4, 38.4, 3841), rng.normal(0, 2, 1000), [0.0, -0.0, 1e-300, -5e-324]]
    )


def test_cdf_and_pdf_are_within_a_few_ulp_of_mpmath() -> None:
    """Phi within 6 ulp (measured: 4 at most, 0.3 on average), phi within 4 ulp, wherever the
    true value is a normal float64 (Phi(-38.4) = 1e-323 is subnormal: absolute there)."""
    z = _points()
    cdf, pdf = normal.cdf_and_pdf(z)
    assert cdf.dtype == pdf.dtype == np.float64
    np.testing.assert_array_equal(normal.pdf(z), pdf)
    with mp.workdps(40):
        ref_cdf = np.array([float(mp.ncdf(mp.mpf(float(v)))) for v in z])
        ref_pdf = np.array([float(mp.npdf(mp.mpf(float(v)))) for v in z])
    tiny = np.finfo(np.float64).tiny
    for got, ref, ulps in ((cdf, ref_cdf, 6), (pdf, ref_pdf, 4)):
        normal_range = ref >= tiny
        err = np.abs(got - ref)
        assert np.all(err[normal_range] <= ulps * np.spacing(ref[normal_range]))
        assert np.all(err[~normal_range] <= tiny)


def test_no_warning_for_any_input() -> None:
    z = np.array([-np.inf, -1e308, -1e4, -40.0, 0.0, 40.0, 1e4, 1e308, np.inf, 5e-324])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        cdf, pdf = normal.cdf_and_pdf(z)
    np.testing.assert_array_equal(cdf, [0, 0, 0, 0, 0.5, 1, 1, 1, 1, 0.5])
    np.testing.assert_array_equal(pdf[[0, 1, 2, 6, 7, 8]], 0.0)
    assert pdf[4] == 1 / np.sqrt(2 * np.pi)


def test_float32_input_gives_float64() -> None:
    z = np.linspace(-5, 5, 11, dtype=np.float32)
    cdf, _ = normal.cdf_and_pdf(z)
    assert cdf.dtype == np.float64
    np.testing.assert_allclose(cdf, normal.cdf_and_pdf(z.astype(np.float64))[0], rtol=0)
