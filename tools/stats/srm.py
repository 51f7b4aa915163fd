"""The sample-ratio-mismatch test and the chi-square survival function it needs."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .normal import _number, _positive, _whole

# An SRM check runs on every gate, so it uses a strict level: a false alarm blocks a healthy rollout
# (release-domain §4: flag at p < 0.001, i.e. chi-square(1) > 10.83).
SRM_P_THRESHOLD = 0.001

# Relative tolerance for the expected shares of an SRM test: shares typed as 0.01/0.99 or computed as
# 1/3 each must pass, a slip such as 0.5/0.6 must not.
_SHARE_SUM_TOLERANCE = 1e-6
_GAMMA_EPS = 1e-16
_GAMMA_MAX_ITERATIONS = 100_000
_LENTZ_TINY = 1e-300


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
