"""One way to write a number for a reader, used by every finding, headline and table in nnhw.

`number(value, digits=3)`:
- missing (None) or NaN: "n/a"; infinite: "inf" or "-inf";
- a whole number below a million: its digits ("12", "1000"), never "1e+03";
- from 1000 up to a million: fixed point, one decimal at 4 digits or more ("12345.7"), none
  below ("12346");
- magnitudes below 1e-3 or from 1e6 up: e-notation with `digits` significant digits
  ("1.23e-05", "4.57e+08");
- anything else: `digits` significant digits ("0.0523", "12.3").
"""

from __future__ import annotations

import math
from typing import Any


def number(value: Any, digits: int = 3) -> str:
    """`value` to `digits` significant digits as people read it (module docstring)."""
    if value is None:
        return "n/a"
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # a NumPy scalar
    x = float(value)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    a = abs(x)
    if 1e3 <= a < 1e6:
        return f"{x:.{1 if digits >= 4 else 0}f}"
    if a < 1e-3 or a >= 1e6:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"
