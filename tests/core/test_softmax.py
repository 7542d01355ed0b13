"""The softmax family: hypothesis properties in float32 and float64, and the naive form's
documented failure."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnhw.core.softmax import log_softmax, logsumexp, softmax, softmax_naive

DTYPES = [np.float32, np.float64]
settings.register_profile("nnhw-core", max_examples=60, deadline=None)
settings.load_profile("nnhw-core")


def logits(dtype, bound: float = 1e4, max_side: int = 6):
    """(rows, K) arrays of finite logits in [-bound, bound]."""
    return hnp.arrays(
        dtype,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=max_side),
        elements=st.floats(-bound, bound, allow_nan=False, width=np.dtype(dtype).itemsize * 8),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_softmax_is_a_finite_distribution_up_to_1e4(dtype, data):
    x = data.draw(logits(dtype))
    p = softmax(x)
    eps = np.finfo(dtype).eps
    assert p.dtype == dtype and p.shape == x.shape
    assert np.all(np.isfinite(p)) and np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=(x.shape[1] + 2) * eps)
    # the largest logit keeps the largest probability (a smooth argmax)
    rows = np.arange(x.shape[0])
    assert np.all(p[rows, np.argmax(x, axis=-1)] == p.max(axis=-1))


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_softmax_is_exactly_shift_invariant_on_a_dyadic_grid(dtype, data):
    """Logits k/8 and integer shifts: x + c and x - max are exact, so the results are equal."""
    ints = data.draw(hnp.arrays(np.int64, (3, 5), elements=st.integers(-80_000, 80_000)))
    c = data.draw(st.integers(-40_000, 40_000))
    x = (ints / 8).astype(dtype)
    shifted = (x + dtype(c)).astype(dtype)
    np.testing.assert_array_equal(softmax(shifted), softmax(x))


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_softmax_is_shift_invariant_within_rounding(dtype, data):
    x = data.draw(logits(dtype, bound=1e3))
    c = dtype(data.draw(st.floats(-1e3, 1e3, width=np.dtype(dtype).itemsize * 8)))
    shifted = x + c
    # x + c is rounded: each logit moves by at most half an ulp of |x| + |c|, and a softmax
    # probability moves by at most the largest logit change (its derivative is bounded by 1).
    eps = np.finfo(dtype).eps
    moved = np.max(np.abs(shifted - c - x)) + eps * (np.abs(x).max() + abs(c))
    atol = 2 * moved + 4 * x.shape[1] * eps
    np.testing.assert_allclose(softmax(shifted), softmax(x), rtol=0, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_log_softmax_is_x_minus_logsumexp(dtype, data):
    x = data.draw(logits(dtype))
    ls = log_softmax(x)
    assert ls.dtype == dtype and np.all(np.isfinite(ls)) and np.all(ls <= 0)
    np.testing.assert_array_equal(ls, x - logsumexp(x)[:, None])
    np.testing.assert_array_equal(logsumexp(x, keepdims=True)[:, 0], logsumexp(x))
    # and it is the log of the softmax, where that probability is a normal number: x - lse is
    # rounded to an ulp of |x| + |lse|, an absolute error that exp turns into a relative one.
    eps = np.finfo(dtype).eps
    p = softmax(x)
    ok = p > 1e3 * np.finfo(dtype).tiny
    rel = 4 * eps * (np.abs(x).max() + np.abs(logsumexp(x)).max() + x.shape[1] + 1)
    assert np.all(np.abs(np.exp(ls[ok]) - p[ok]) <= rel * p[ok])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_logsumexp_matches_an_exactly_summed_reference(dtype, data):
    """Against math.log(math.fsum(exp)) where every exp is a finite float64 and the sum is > 0."""
    x = data.draw(logits(dtype, bound=700.0, max_side=8))
    eps = np.finfo(dtype).eps
    lse = logsumexp(x)
    assert lse.dtype == dtype
    for row, value in zip(x, lse):
        total = math.fsum(math.exp(float(v)) for v in row)
        if total == 0.0 or not math.isfinite(total):
            continue  # not representable in float64: nothing to compare with
        ref = math.log(total)
        m = float(np.max(row))
        # rounding of x - m (up to |x - m| eps where exp still matters), of the sum and of m + log
        tol = 8 * eps * (abs(ref) + abs(m) + 40) + 1e-300
        assert abs(float(value) - ref) <= tol, (row, value, ref)


@pytest.mark.parametrize("dtype", DTYPES)
def test_naive_softmax_overflows_and_underflows_where_documented(dtype):
    big = np.log(np.finfo(dtype).max)  # 88.72 in float32, 709.78 in float64
    over = np.array([[0.0, 1.01 * big]], dtype=dtype)
    under = np.array([[-1.2 * big - 200, -1.2 * big - 201]], dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        assert np.isnan(softmax_naive(over)).any()
        assert np.isnan(softmax_naive(under)).all()
    np.testing.assert_allclose(softmax(over)[0], [0.0, 1.0], atol=np.finfo(dtype).eps)
    expected = [1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))]
    np.testing.assert_allclose(softmax(under)[0], expected, rtol=8 * np.finfo(dtype).eps)
    small = np.array([[0.5, -1.0, 2.0]], dtype=dtype)
    np.testing.assert_allclose(softmax_naive(small), softmax(small), rtol=4 * np.finfo(dtype).eps)
