"""Treatment-minus-control effects of rates and means with absolute and relative confidence intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .normal import _alpha, _number, _sides, _whole, _z_alpha


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
