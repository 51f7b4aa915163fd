"""Validation and normal quantiles shared by the gate statistics.

Every check raises ``ValueError`` naming the bad parameter and its valid range; see the package
docstring for the units each figure uses.
"""

from __future__ import annotations

import math
import numbers
from statistics import NormalDist

_NORMAL = NormalDist()
# Float noise in a sample size such as 63.00000000000001 must not cost a whole extra user.
_CEIL_SLACK = 1e-12


# ---- validation ---------------------------------------------------------------------------------


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _whole(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _in_open(name: str, value: object, low: float, high: float) -> float:
    number = _number(name, value)
    if not low < number < high:
        raise ValueError(f"{name} must be in ({low:g}, {high:g}), got {number:g}")
    return number


def _positive(name: str, value: object) -> float:
    number = _number(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be > 0, got {number:g}")
    return number


def _alpha(alpha: object) -> float:
    return _in_open("alpha", alpha, 0.0, 0.5)


def _power(power: object) -> float:
    number = _number("power", power)
    # Below 0.5 the power quantile turns negative and the closed forms stop meaning anything.
    if not 0.5 <= number < 1:
        raise ValueError(f"power must be in [0.5, 1), got {number:g}")
    return number


def _sides(sides: object) -> int:
    if isinstance(sides, bool) or sides not in (1, 2):
        raise ValueError(f"sides must be 1 (one-sided) or 2 (two-sided), got {sides!r}")
    return 1 if sides == 1 else 2


def _choice(name: str, value: object, options: tuple[str, ...]) -> str:
    if value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return str(value)


def _z_alpha(alpha: float, sides: int) -> float:
    return _NORMAL.inv_cdf(1 - alpha / sides)


def _z_power(power: float) -> float:
    return _NORMAL.inv_cdf(power)


def _ceil(n: float) -> int:
    return max(1, math.ceil(n - _CEIL_SLACK * max(1.0, n)))
