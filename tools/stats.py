"""Statistics behind phased-rollout gates (release-domain §4): sample sizes, detectable effects, alpha
spending across looks, the sample-ratio-mismatch test and effect intervals.

The planner runs these at request time, so the module uses only the standard library
(``statistics.NormalDist`` and ``math``); scipy and statsmodels are used only by the tests, which check
every figure against them and against published worked examples.

Conventions, because a wrong unit silently changes a sample size by orders of magnitude:

* Proportions are fractions: 0.031 is a 3.1% conversion rate, and an effect or margin of 0.01 is one
  percentage point. A gate margin written in percentage points (``Gate.margin = 1.0``) must be divided
  by 100 before it is passed here.
* Differences are treatment minus control. ``ratio`` is treatment size / control size, and every
  sample size is the size of the control arm (the treatment arm needs ``ratio`` times as many).
* ``sides`` is 2 for a two-sided test at level ``alpha`` and 1 for a one-sided test. Non-inferiority
  tests are always one-sided, as the gate's ``alpha`` is.
* All figures use the normal approximation (z, not t). That is accurate at the thousands of exposures
  a rollout gate needs and understates n by only about z²/4 per arm when n is a few dozen.

Every function is pure and raises ``ValueError`` naming the bad parameter and its valid range.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

__all__ = [
    "SRM_P_THRESHOLD",
    "Effect",
    "SpendingMethod",
    "alpha_at_look",
    "alpha_spent",
    "chi2_sf",
    "days_to_reach",
    "difference_of_means",
    "difference_of_proportions",
    "exposures_still_needed",
    "information_fraction",
    "minimum_detectable_effect_means",
    "minimum_detectable_effect_proportions",
    "sample_size_means",
    "sample_size_non_inferiority_means",
    "sample_size_non_inferiority_proportions",
    "sample_size_proportions",
    "spending_function",
    "srm_test",
]

SpendingMethod = Literal["obrien_fleming", "pocock", "bonferroni"]
Direction = Literal["increase", "decrease"]

# An SRM check runs on every gate, so it uses a strict level: a false alarm blocks a healthy rollout
# (release-domain §4: flag at p < 0.001, i.e. chi-square(1) > 10.83).
SRM_P_THRESHOLD = 0.001

_NORMAL = NormalDist()
_SPENDING_METHODS: tuple[str, ...] = ("obrien_fleming", "pocock", "bonferroni")
_DIRECTIONS: tuple[str, ...] = ("increase", "decrease")
# Relative tolerance for the expected shares of an SRM test: shares typed as 0.01/0.99 or computed as
# 1/3 each must pass, a slip such as 0.5/0.6 must not.
_SHARE_SUM_TOLERANCE = 1e-6
# Float noise in a sample size such as 63.00000000000001 must not cost a whole extra user.
_CEIL_SLACK = 1e-12
_GAMMA_EPS = 1e-16
_GAMMA_MAX_ITERATIONS = 100_000
_LENTZ_TINY = 1e-300


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


# ---- alpha spending across looks ----------------------------------------------------------------


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


# ---- sample-ratio mismatch ----------------------------------------------------------------------


def _gamma_p_series(a: float, x: float, log_prefactor: float) -> float:
    """Regularised lower incomplete gamma P(a, x) by its power series; converges fast for x < a + 1."""
    term = 1.0 / a
    total = term
    denominator = a
    for _ in range(_GAMMA_MAX_ITERATIONS):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _GAMMA_EPS:
            break
    return total * math.exp(log_prefactor)


def _gamma_q_continued_fraction(a: float, x: float, log_prefactor: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) by Legendre's continued fraction (modified Lentz).

    Used for x >= a + 1, where it keeps full relative precision even when Q is far below 1e-16,
    which 1 − P could not.
    """
    b = x + 1 - a
    c = 1 / _LENTZ_TINY
    d = 1 / b
    fraction = d
    for i in range(1, _GAMMA_MAX_ITERATIONS):
        numerator = -i * (i - a)
        b += 2
        d = numerator * d + b
        if abs(d) < _LENTZ_TINY:
            d = _LENTZ_TINY
        c = b + numerator / c
        if abs(c) < _LENTZ_TINY:
            c = _LENTZ_TINY
        d = 1 / d
        step = d * c
        fraction *= step
        if abs(step - 1) < _GAMMA_EPS:
            break
    return fraction * math.exp(log_prefactor)


def chi2_sf(statistic: float, df: int) -> float:
    """P(χ²_df ≥ statistic): the regularised upper incomplete gamma Q(df/2, statistic/2)."""
    x = _number("statistic", statistic)
    if x < 0:
        raise ValueError(f"statistic must be >= 0, got {x:g}")
    k = _whole("df", df, minimum=1)
    if x == 0:
        return 1.0
    a, half = k / 2, x / 2
    # Work with log(x^a e^-x / Γ(a)) so large df or statistics neither overflow nor underflow early.
    log_prefactor = a * math.log(half) - half - math.lgamma(a)
    if half < a + 1:
        return max(0.0, 1.0 - _gamma_p_series(a, half, log_prefactor))
    return _gamma_q_continued_fraction(a, half, log_prefactor)


def srm_test(observed: Sequence[int], expected_shares: Sequence[float]) -> tuple[float, float]:
    """Sample-ratio-mismatch test: (Pearson χ², p-value) of the observed arm sizes against the split
    the rollout intended, with k − 1 degrees of freedom.

    A mismatch means assignment or logging is broken, so no effect estimate from the phase can be
    trusted; flag it when p < :data:`SRM_P_THRESHOLD`. ``expected_shares`` are the intended shares
    (e.g. [0.01, 0.99] for a 1% canary against the rest) and must add up to 1.
    """
    if isinstance(observed, str | bytes) or not isinstance(observed, Sequence):
        raise ValueError(f"observed must be a sequence of arm counts, got {observed!r}")
    if isinstance(expected_shares, str | bytes) or not isinstance(expected_shares, Sequence):
        raise ValueError(f"expected_shares must be a sequence of shares, got {expected_shares!r}")
    if len(observed) < 2:
        raise ValueError(f"observed must have at least 2 arms, got {len(observed)}")
    if len(expected_shares) != len(observed):
        raise ValueError(
            f"expected_shares must have one share per arm ({len(observed)}), got {len(expected_shares)}"
        )
    counts = [_whole(f"observed[{i}]", count, minimum=0) for i, count in enumerate(observed)]
    shares = [_positive(f"expected_shares[{i}]", share) for i, share in enumerate(expected_shares)]
    share_sum = math.fsum(shares)
    if abs(share_sum - 1) > _SHARE_SUM_TOLERANCE:
        raise ValueError(f"expected_shares must add up to 1, e.g. [0.01, 0.99], got a sum of {share_sum:g}")
    total = sum(counts)
    if total == 0:
        raise ValueError("observed must contain at least one exposure, got all zeros")
    statistic = math.fsum(
        (count - total * share / share_sum) ** 2 / (total * share / share_sum)
        for count, share in zip(counts, shares, strict=True)
    )
    return statistic, chi2_sf(statistic, len(counts) - 1)


# ---- effect estimates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """Treatment-minus-control effect with its confidence interval, absolute and relative.

    With ``sides=2`` the bounds form a two-sided (1 − α) interval. With ``sides=1`` each bound is a
    one-sided (1 − α) bound (together, the 1 − 2α interval); a non-inferiority gate reads the bound
    on the harmful side. ``relative`` is treatment/control − 1; it and its bounds are ``None`` when
    undefined (a zero or non-positive control value, or a zero arm for the bounds).
    """

    estimate: float
    ci_low: float
    ci_high: float
    standard_error: float
    relative: float | None
    relative_ci_low: float | None
    relative_ci_high: float | None
    alpha: float
    sides: int


def _log_ratio_bounds(ratio: float, se_log: float, z: float) -> tuple[float, float]:
    return math.exp(math.log(ratio) - z * se_log) - 1, math.exp(math.log(ratio) + z * se_log) - 1


def difference_of_proportions(
    control_exposures: int,
    control_events: int,
    treatment_exposures: int,
    treatment_events: int,
    *,
    alpha: float = 0.05,
    sides: int = 2,
) -> Effect:
    """Difference and lift of two rates with Wald intervals.

    Absolute: Δ = p̂_T − p̂_C ± z·√(p̂_T q̂_T/n_T + p̂_C q̂_C/n_C), the unpooled standard error the
    non-inferiority gate uses (release-domain §4; statsmodels ``confint_proportions_2indep``
    method='wald'). Relative: delta method on the log of the rate ratio,
    se(log R) = √((1 − p̂_T)/x_T + (1 − p̂_C)/x_C), exponentiated, so the lift interval is asymmetric
    and never crosses −100% (statsmodels compare='ratio', method='log'); chosen over Fieller because it
    always gives a finite interval. Wald intervals are poor with a handful of events; gates require a
    minimum sample first.
    """
    n_c = _whole("control_exposures", control_exposures, minimum=1)
    n_t = _whole("treatment_exposures", treatment_exposures, minimum=1)
    x_c = _whole("control_events", control_events, minimum=0)
    x_t = _whole("treatment_events", treatment_events, minimum=0)
    if x_c > n_c:
        raise ValueError(f"control_events must be at most control_exposures ({n_c}), got {x_c}")
    if x_t > n_t:
        raise ValueError(f"treatment_events must be at most treatment_exposures ({n_t}), got {x_t}")
    a = _alpha(alpha)
    s = _sides(sides)
    z = _z_alpha(a, s)
    p_c, p_t = x_c / n_c, x_t / n_t
    estimate = p_t - p_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    relative = relative_low = relative_high = None
    if x_c > 0:
        relative = p_t / p_c - 1
        if x_t > 0:
            se_log = math.sqrt((1 - p_t) / x_t + (1 - p_c) / x_c)
            relative_low, relative_high = _log_ratio_bounds(p_t / p_c, se_log, z)
    return Effect(
        estimate, estimate - z * se, estimate + z * se, se, relative, relative_low, relative_high, a, s
    )


def difference_of_means(
    n_c: int,
    mean_c: float,
    sd_c: float,
    n_t: int,
    mean_t: float,
    sd_t: float,
    *,
    alpha: float = 0.05,
    sides: int = 2,
) -> Effect:
    """Difference and lift of two means from per-arm summaries (sd with ddof=1).

    Absolute: Welch's unequal-variance standard error √(s_T²/n_T + s_C²/n_C) with a normal quantile,
    as statsmodels ``CompareMeans.zconfint_diff(usevar='unequal')``; at rollout sample sizes the
    Welch t quantile is indistinguishable. Relative: delta method on log(mean_T/mean_C),
    se = √(s_T²/(n_T·mean_T²) + s_C²/(n_C·mean_C²)), defined only when both means are positive
    (latency, revenue), which is where a lift is meaningful.
    """
    count_c = _whole("n_c", n_c, minimum=2)
    count_t = _whole("n_t", n_t, minimum=2)
    m_c = _number("mean_c", mean_c)
    m_t = _number("mean_t", mean_t)
    s_c = _number("sd_c", sd_c)
    s_t = _number("sd_t", sd_t)
    if s_c < 0:
        raise ValueError(f"sd_c must be >= 0, got {s_c:g}")
    if s_t < 0:
        raise ValueError(f"sd_t must be >= 0, got {s_t:g}")
    a = _alpha(alpha)
    s = _sides(sides)
    z = _z_alpha(a, s)
    estimate = m_t - m_c
    se = math.sqrt(s_t**2 / count_t + s_c**2 / count_c)
    relative = relative_low = relative_high = None
    if m_c > 0:
        relative = m_t / m_c - 1
        if m_t > 0:
            se_log = math.sqrt(s_t**2 / (count_t * m_t**2) + s_c**2 / (count_c * m_c**2))
            relative_low, relative_high = _log_ratio_bounds(m_t / m_c, se_log, z)
    return Effect(
        estimate, estimate - z * se, estimate + z * se, se, relative, relative_low, relative_high, a, s
    )


# ---- time to sample -----------------------------------------------------------------------------


def days_to_reach(n_per_arm: int, *, daily_exposures: float, traffic_share: float, arms: int = 2) -> float:
    """Days until each arm has ``n_per_arm`` exposures: n·arms / (daily_exposures·traffic_share).

    ``traffic_share`` is the fraction of all daily exposures in the test (0.05 for a 5% phase),
    split equally across ``arms``. For an unequal split, such as a 5% canary compared with the other
    95%, the small arm is the bottleneck: pass arms=1 and that arm's share. This is what tells the
    planner that a 1% phase cannot reach its sample within its duration.
    """
    n = _whole("n_per_arm", n_per_arm, minimum=0)
    daily = _positive("daily_exposures", daily_exposures)
    share = _number("traffic_share", traffic_share)
    if not 0 < share <= 1:
        raise ValueError(f"traffic_share must be in (0, 1], got {share:g}")
    k = _whole("arms", arms, minimum=1)
    return n * k / (daily * share)


def exposures_still_needed(n_per_arm: int, current_per_arm: int) -> int:
    """Exposures each arm still needs to reach ``n_per_arm`` (0 once reached); feed to days_to_reach."""
    needed = _whole("n_per_arm", n_per_arm, minimum=1)
    current = _whole("current_per_arm", current_per_arm, minimum=0)
    return max(0, needed - current)


def information_fraction(current_per_arm: int, n_per_arm: int) -> float:
    """Share of the planned sample seen so far, capped at 1: the ``fraction`` of spending_function."""
    current = _whole("current_per_arm", current_per_arm, minimum=0)
    needed = _whole("n_per_arm", n_per_arm, minimum=1)
    return min(1.0, current / needed)
