"""Sample sizes and minimum detectable effects for rates and means, superiority and non-inferiority.

Every size is the control arm's; the treatment arm needs ``ratio`` times as many (package docstring).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

from .normal import (
    _alpha,
    _ceil,
    _choice,
    _in_open,
    _number,
    _positive,
    _power,
    _sides,
    _whole,
    _z_alpha,
    _z_power,
)

Direction = Literal["increase", "decrease"]

_DIRECTIONS: tuple[str, ...] = ("increase", "decrease")


# ---- sample sizes -------------------------------------------------------------------------------


def _n_two_proportions(p_c: float, p_t: float, z_a: float, z_b: float, ratio: float) -> float:
    """Unrounded control-arm n of the pooled two-proportion z-test.

    Under H0 the test standardises with the pooled rate, so the critical value is scaled by the
    pooled standard deviation; under H1 the statistic's spread is the unpooled one at the true rates.
    """
    pooled = (p_c + ratio * p_t) / (1 + ratio)
    sd_null = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    sd_alt = math.sqrt(p_c * (1 - p_c) + p_t * (1 - p_t) / ratio)
    return ((z_a * sd_null + z_b * sd_alt) / (p_t - p_c)) ** 2


def sample_size_proportions(
    baseline: float,
    mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    sides: int = 2,
    ratio: float = 1.0,
) -> int:
    """Control-arm exposures needed to detect a change of ``mde`` in a rate with the given power.

    This is the pooled two-proportion z-test that release-domain §4 prescribes (Fleiss; R's
    ``power.prop.test``; statsmodels ``samplesize_proportions_2indep_onetail``):

        n_C = [z_{1−α/s}·√(p̄q̄(1+1/r)) + z_{1−β}·√(p_C q_C + p_T q_T / r)]² / (p_T − p_C)²

    with p_T = baseline + mde, r = ratio and p̄ = (p_C + r·p_T)/(1+r). For a two-sided test the
    far rejection tail is ignored; it would add about 1e-6 to the power at α = 0.05 and 80% power.
    Not the arcsine (Cohen's h) approximation of ``NormalIndPower``, which gives slightly different n.

    ``mde`` is signed (−0.005 plans for a half-point drop), because a rate's variance, and so n,
    depends on which way it moves. The result is rounded up, so the planned power is reached.
    """
    p_c = _in_open("baseline", baseline, 0.0, 1.0)
    change = _number("mde", mde)
    p_t = p_c + change
    if change == 0 or not 0 < p_t < 1:
        raise ValueError(
            f"mde must be non-zero and keep baseline + mde inside (0, 1), got mde={change:g} "
            f"with baseline={p_c:g}"
        )
    z_a = _z_alpha(_alpha(alpha), _sides(sides))
    z_b = _z_power(_power(power))
    return _ceil(_n_two_proportions(p_c, p_t, z_a, z_b, _positive("ratio", ratio)))


def _harm(true_difference: float, higher_is_better: bool) -> float:
    return -true_difference if higher_is_better else true_difference


def _non_inferiority_slack(margin: float, true_difference: float, higher_is_better: bool) -> float:
    """How far the assumed true harm sits below the margin; the test's signal, so it must be > 0."""
    harm = _harm(true_difference, higher_is_better)
    if harm >= margin:
        worse = "lower" if higher_is_better else "higher"
        raise ValueError(
            f"true_difference must be less harmful than the margin: a treatment {abs(true_difference):g} "
            f"{worse} than control cannot be shown to be within margin={margin:g}; "
            f"use a true_difference whose harm is below {margin:g}"
        )
    return margin - harm


def sample_size_non_inferiority_proportions(
    baseline: float,
    margin: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    true_difference: float = 0.0,
    higher_is_better: bool = True,
    ratio: float = 1.0,
) -> int:
    """Control-arm exposures for a one-sided test that the treatment is no worse than ``margin``.

    This is the go test for harm metrics: "no significant difference" is not evidence of safety, but
    an upper confidence bound of the harm below a pre-registered margin is (release-domain §4). The
    gate passes when (m − Δ_bad)/SE_u > z_{1−α}, so the sample size uses the unpooled variance at the
    assumed true rates under both hypotheses (Blackwelder; Chow, Shao & Wang §4.2):

        n_C = (z_{1−α} + z_{1−β})² · (p_C q_C + p_T q_T / r) / (m − harm)²

    where p_T = baseline + true_difference, and harm = −true_difference when higher values are
    better (conversion) or +true_difference when lower values are better (error rate).
    """
    p_c = _in_open("baseline", baseline, 0.0, 1.0)
    m = _in_open("margin", margin, 0.0, 1.0)
    difference = _number("true_difference", true_difference)
    p_t = p_c + difference
    if not 0 < p_t < 1:
        raise ValueError(
            f"true_difference must keep baseline + true_difference inside (0, 1), got {difference:g} "
            f"with baseline={p_c:g}"
        )
    slack = _non_inferiority_slack(m, difference, bool(higher_is_better))
    r = _positive("ratio", ratio)
    z_sum = _z_alpha(_alpha(alpha), 1) + _z_power(_power(power))
    variance = p_c * (1 - p_c) + p_t * (1 - p_t) / r
    return _ceil(z_sum**2 * variance / slack**2)


def sample_size_means(
    sd: float,
    delta: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    sides: int = 2,
    ratio: float = 1.0,
) -> int:
    """Control-arm n to detect a shift of ``delta`` in a mean with per-unit standard deviation ``sd``.

    Two-sample z-test with a common sd: n_C = (z_{1−α/s} + z_{1−β})² σ² (1 + 1/r) / δ², the formula
    behind Lehr's 16σ²/δ² rule of thumb. Rounded up.
    """
    sigma = _positive("sd", sd)
    shift = _number("delta", delta)
    if shift == 0:
        raise ValueError("delta must be non-zero, got 0")
    r = _positive("ratio", ratio)
    z_sum = _z_alpha(_alpha(alpha), _sides(sides)) + _z_power(_power(power))
    return _ceil(z_sum**2 * sigma**2 * (1 + 1 / r) / shift**2)


def sample_size_non_inferiority_means(
    sd: float,
    margin: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    true_difference: float = 0.0,
    higher_is_better: bool = True,
    ratio: float = 1.0,
) -> int:
    """Control-arm n for a one-sided test that a mean is no worse than ``margin`` (e.g. latency in ms).

    n_C = (z_{1−α} + z_{1−β})² σ² (1 + 1/r) / (m − harm)², harm as in
    :func:`sample_size_non_inferiority_proportions` (Chow, Shao & Wang §3.2).
    """
    sigma = _positive("sd", sd)
    m = _positive("margin", margin)
    slack = _non_inferiority_slack(m, _number("true_difference", true_difference), bool(higher_is_better))
    r = _positive("ratio", ratio)
    z_sum = _z_alpha(_alpha(alpha), 1) + _z_power(_power(power))
    return _ceil(z_sum**2 * sigma**2 * (1 + 1 / r) / slack**2)


# ---- minimum detectable effects -----------------------------------------------------------------


def _bisect(f: Callable[[float], float], low: float, high: float) -> float:
    """Root of a decreasing ``f`` in [low, high]; bisection, because n(effect) has no closed inverse."""
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if f(middle) > 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def minimum_detectable_effect_proportions(
    baseline: float,
    n_per_arm: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    sides: int = 2,
    ratio: float = 1.0,
    direction: Direction = "increase",
) -> float:
    """Smallest change of a rate, |p_T − p_C|, that ``n_per_arm`` control exposures detect.

    The exact inverse of :func:`sample_size_proportions` before rounding, solved by bisection: the
    required n falls monotonically as the effect grows, and rates are asymmetric, so an increase
    and a decrease of the same size need different n, hence ``direction``. ``n_per_arm`` is the
    control arm; the treatment arm has ``ratio`` times as many.

    Raises ``ValueError`` when even moving the rate all the way to 0 or 1 would need more exposures:
    the phase then cannot conclude anything, which the planner must say rather than report a number.
    """
    p_c = _in_open("baseline", baseline, 0.0, 1.0)
    n = _whole("n_per_arm", n_per_arm, minimum=1)
    z_a = _z_alpha(_alpha(alpha), _sides(sides))
    z_b = _z_power(_power(power))
    r = _positive("ratio", ratio)
    sign = 1.0 if _choice("direction", direction, _DIRECTIONS) == "increase" else -1.0
    room = 1 - p_c if sign > 0 else p_c

    def excess(effect: float) -> float:
        return _n_two_proportions(p_c, p_c + sign * effect, z_a, z_b, r) - n

    needed_at_extreme = _n_two_proportions(p_c, p_c + sign * room, z_a, z_b, r)
    if needed_at_extreme > n:
        raise ValueError(
            f"n_per_arm={n} is too small to detect any {direction} from baseline {p_c:g} at this alpha "
            f"and power; it needs at least {math.ceil(needed_at_extreme)}"
        )
    return _bisect(excess, 0.0, room)


def minimum_detectable_effect_means(
    sd: float,
    n_per_arm: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    sides: int = 2,
    ratio: float = 1.0,
) -> float:
    """Smallest shift of a mean that ``n_per_arm`` control units detect: (z_{1−α/s}+z_{1−β})·σ·√((1+1/r)/n).

    The closed-form inverse of :func:`sample_size_means` (the variance does not depend on the shift).
    """
    sigma = _positive("sd", sd)
    n = _whole("n_per_arm", n_per_arm, minimum=1)
    r = _positive("ratio", ratio)
    z_sum = _z_alpha(_alpha(alpha), _sides(sides)) + _z_power(_power(power))
    return z_sum * sigma * math.sqrt((1 + 1 / r) / n)
