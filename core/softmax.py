"""The softmax family, along the last axis, in the dtype of the input.

- `softmax_naive`: exp(x) / sum(exp(x)), unstable on purpose: exp overflows to inf for x above
  log(finfo.max) (about 88.72 in float32) and inf/inf gives NaN; when every logit is far below
  zero every exp underflows to 0 and 0/0 gives NaN. It is here to be measured, never used.
- `softmax`: the max-shifted form exp(x - m) / sum(exp(x - m)), m = max(x). The largest shifted
  logit is 0, so exp never overflows and the denominator is at least 1 (no 0/0).
- `logsumexp`: m + log(sum(exp(x - m))), same shift.
- `log_softmax`: x - logsumexp(x), stable for the same reason; use it for cross-entropy.

Rows containing +-inf or NaN are not special-cased. None of these functions changes numpy's error
state: callers that overflow on purpose wrap the call in `np.errstate`.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def softmax_naive(x: Array) -> Array:
    """exp(x) / sum(exp(x)) along the last axis; overflows and underflows (see module doc)."""
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def softmax(x: Array) -> Array:
    """Max-shifted softmax along the last axis. x: (..., K) -> (..., K), rows sum to 1."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def logsumexp(x: Array, keepdims: bool = False) -> Array:
    """log(sum(exp(x))) along the last axis, computed as m + log(sum(exp(x - m)))."""
    m = x.max(axis=-1, keepdims=True)
    out = m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True))
    return out if keepdims else out[..., 0]


def log_softmax(x: Array) -> Array:
    """x - logsumexp(x) along the last axis."""
    return x - logsumexp(x, keepdims=True)
