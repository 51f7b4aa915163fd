"""Alpha spending across the looks of a phased rollout (group-sequential testing)."""

from __future__ import annotations

import math
import numbers
from typing import Literal

from .normal import _NORMAL, _alpha, _choice, _number, _whole

SpendingMethod = Literal["obrien_fleming", "pocock", "bonferroni"]

_SPENDING_METHODS: tuple[str, ...] = ("obrien_fleming", "pocock", "bonferroni")


def spending_function(method: SpendingMethod, fraction: float, alpha: float = 0.05) -> float:
    """Cumulative alpha a group-sequential design may have spent once ``fraction`` of its information
    (exposures so far / exposures planned) is in.

    Testing every phase at the full alpha inflates false positives (about 14% with five looks at
    0.05); a spending function rations alpha across the looks instead (Lan & DeMets 1983):

    * ``obrien_fleming``: α(t) = 2 − 2Φ(z_{1−α/2}/√t). Spends almost nothing early, so the final look
      keeps nearly the full alpha. The same expression serves one- and two-sided designs, with
      ``alpha`` the design's total (one-sided 0.025 or two-sided 0.05), as in gsDesign's ``sfLDOF``; it
      equals ``alpha`` at t = 1 either way. The other one-sided reading,
      1 − Φ(z_{1−α}/√t) (half the two-sided function at level 2α), spends more alpha early; not used.
    * ``pocock``: α(t) = α·ln(1 + (e − 1)t). Spends evenly, for stopping early on large harms.
    * ``bonferroni``: α(t) = α·t, which with equally spaced looks is α/K per look.
    """
    t = _number("fraction", fraction)
    if not 0 <= t <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {t:g}")
    return _spend(_choice("method", method, _SPENDING_METHODS), t, _alpha(alpha))


def _spend(method: str, t: float, alpha: float) -> float:
    if t == 0:
        return 0.0
    if method == "obrien_fleming":
        # 2 − 2Φ(c) = erfc(c/√2), computed without cancellation for the tiny early spends.
        return math.erfc(_NORMAL.inv_cdf(1 - alpha / 2) / math.sqrt(2 * t))
    if method == "pocock":
        return alpha * math.log1p((math.e - 1) * t)
    return alpha * t


def alpha_spent(method: SpendingMethod, looks: int, alpha: float = 0.05) -> list[float]:
    """Cumulative alpha spent at each of ``looks`` equally spaced looks; the last entry is ``alpha``."""
    k = _whole("looks", looks, minimum=1)
    name = _choice("method", method, _SPENDING_METHODS)
    a = _alpha(alpha)
    spent = [_spend(name, i / k, a) for i in range(1, k)]
    # The final look spends whatever is left, exactly, so rounding never gives away or loses alpha.
    return [*spent, a]


def alpha_at_look(method: SpendingMethod, looks: int, look: int, alpha: float = 0.05) -> float:
    """Nominal level for look ``look`` (1-based) of ``looks``: the alpha that look's spend adds.

    Testing each look at its increment is conservative: by Bonferroni's inequality the family-wise
    error is at most the sum of the increments, ``alpha``. Exact group-sequential boundaries would
    allow slightly more, because the looks share data, but need a multivariate normal integral.
    """
    k = _whole("looks", looks, minimum=1)
    if isinstance(look, bool) or not isinstance(look, numbers.Integral) or not 1 <= int(look) <= k:
        raise ValueError(f"look must be a whole number from 1 to looks ({k}), got {look!r}")
    spent = alpha_spent(method, k, alpha)
    i = int(look)
    return spent[i - 1] - (spent[i - 2] if i > 1 else 0.0)


def confidence_sequence_z(n: float, alpha: float = 0.05, tuning: float = 5000) -> float:
    """The multiplier of a standard error that makes an interval valid at every look (anytime-valid).

    An asymptotic confidence sequence (Waudby-Smith et al.; the tuning N* = 5000 is GrowthBook's
    default) has half-width s·√(2(nρ²+1)·ln(√(nρ²+1)/α)/(nρ)²) around the mean of n observations with
    standard deviation s, where ρ² = (−2 ln α + ln(−2 ln α + 1)) / N*. Written per standard error
    (s/√n), that is √(2(nρ²+1)·ln(√(nρ²+1)/α)/(nρ²)): always above the fixed-horizon z, which is the
    price of peeking at every phase without spending alpha look by look.
    """
    a = _alpha(alpha)
    size = _number("n", n)
    if size <= 0:
        raise ValueError(f"n must be > 0, got {n}")
    width = _number("tuning", tuning)
    if width <= 0:
        raise ValueError(f"tuning must be > 0, got {tuning}")
    rho2 = (-2 * math.log(a) + math.log(-2 * math.log(a) + 1)) / width
    grown = size * rho2 + 1
    return math.sqrt(2 * grown * math.log(math.sqrt(grown) / a) / (size * rho2))
