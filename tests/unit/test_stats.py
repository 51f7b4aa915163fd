"""The gate statistics (tools/stats/) against scipy, statsmodels and published worked examples.

The package itself must use only the standard library, so every figure here is recomputed with the
reference libraries (test extras) and must agree within 0.5% relative, most far tighter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower, normal_power_het, normal_sample_size_one_tail
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    samplesize_proportions_2indep_onetail,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from release_planner.tools import stats

REL = 0.005

BASELINES = (0.001, 0.01, 0.03, 0.1, 0.25, 0.5, 0.8, 0.95)
RELATIVE_CHANGES = (-0.5, -0.1, -0.02, 0.02, 0.1, 0.5)
SETTINGS = [
    (alpha, power, sides, ratio)
    for alpha in (0.01, 0.05, 0.1)
    for power in (0.5, 0.8, 0.9, 0.99)
    for sides in (1, 2)
    for ratio in (0.25, 1.0, 3.0)
]


def close(actual: float, expected: float, rel: float = REL) -> bool:
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=0.0)


def is_ceiling_of(n: int, exact: float) -> bool:
    """``n`` is the exact sample size rounded up, allowing float noise at an integer boundary."""
    return exact - 1e-6 <= n < exact + 1 + 1e-6


def z_alpha(alpha: float, sides: int) -> float:
    return float(sps.norm.isf(alpha / sides))


def z_power(power: float) -> float:
    return float(sps.norm.ppf(power))


def changes_for(baseline: float) -> list[float]:
    return [baseline * c for c in RELATIVE_CHANGES if 0 < baseline * (1 + c) < 1]


def alternative(sides: int) -> str:
    return "two-sided" if sides == 2 else "larger"


# ---- sample size: superiority on a rate ---------------------------------------------------------


@pytest.mark.parametrize("baseline", BASELINES)
def test_sample_size_for_proportions_is_the_statsmodels_pooled_sample_size_rounded_up(
    baseline: float,
) -> None:
    for alpha, power, sides, ratio in SETTINGS:
        for mde in changes_for(baseline):
            # statsmodels' first arm is ours control (p1 = prop2 + diff), its ratio nobs2/nobs1 is ours.
            exact = samplesize_proportions_2indep_onetail(
                diff=-mde,
                prop2=baseline + mde,
                power=power,
                ratio=ratio,
                alpha=alpha,
                alternative=alternative(sides),
            )
            n = stats.sample_size_proportions(
                baseline, mde, alpha=alpha, power=power, sides=sides, ratio=ratio
            )
            assert is_ceiling_of(n, exact), (baseline, mde, alpha, power, sides, ratio, n, exact)


@pytest.mark.parametrize("baseline", BASELINES)
@pytest.mark.parametrize("sides", [1, 2])
def test_sample_size_for_proportions_matches_the_direct_fleiss_formula_with_scipy_quantiles(
    baseline: float, sides: int
) -> None:
    for mde in changes_for(baseline):
        p_t = baseline + mde
        pooled = (baseline + p_t) / 2
        numerator = z_alpha(0.05, sides) * math.sqrt(2 * pooled * (1 - pooled)) + z_power(0.8) * math.sqrt(
            baseline * (1 - baseline) + p_t * (1 - p_t)
        )
        exact = (numerator / mde) ** 2
        assert is_ceiling_of(stats.sample_size_proportions(baseline, mde, sides=sides), exact)


@pytest.mark.parametrize("baseline", [0.02, 0.1, 0.4, 0.7])
@pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0])
def test_the_rounded_proportion_sample_size_is_the_smallest_that_reaches_the_power_in_statsmodels(
    baseline: float, ratio: float
) -> None:
    for mde in changes_for(baseline):
        for power in (0.8, 0.9):
            n = stats.sample_size_proportions(baseline, mde, power=power, sides=1, ratio=ratio)
            tail = "smaller" if mde > 0 else "larger"

            def achieved(nobs: int, mde: float = mde, tail: str = tail) -> float:
                result = normal_power_het(
                    -mde,
                    nobs,
                    0.05,
                    std_null=math.sqrt(pooled_var(baseline, mde, ratio)),
                    std_alternative=math.sqrt(
                        baseline * (1 - baseline) + (baseline + mde) * (1 - baseline - mde) / ratio
                    ),
                    alternative=tail,
                )
                return float(result)

            assert achieved(n) >= power - 1e-9
            if n > 1:
                assert achieved(n - 1) < power


def pooled_var(baseline: float, mde: float, ratio: float) -> float:
    pooled = (baseline + ratio * (baseline + mde)) / (1 + ratio)
    return pooled * (1 - pooled) * (1 + 1 / ratio)


def test_sample_size_for_proportions_reproduces_the_r_power_prop_test_documentation_example() -> None:
    # R's ?power.prop.test: power.prop.test(p1 = .50, p2 = .75, power = .90) gives n = 76.7 per group.
    n = stats.sample_size_proportions(0.5, 0.25, power=0.9)
    assert n == 77
    assert close(n, 76.7)


def test_a_decrease_of_a_rate_needs_a_different_sample_than_an_increase_of_the_same_size() -> None:
    up = stats.sample_size_proportions(0.1, 0.02)
    down = stats.sample_size_proportions(0.1, -0.02)
    assert down < up


def test_one_percent_phases_need_far_more_than_a_small_canary_provides() -> None:
    # A 3% conversion rate and a 5% relative lift need tens of thousands per arm.
    assert stats.sample_size_proportions(0.03, 0.0015) > 200_000


# ---- sample size: non-inferiority on a rate -----------------------------------------------------


@pytest.mark.parametrize("baseline", [0.005, 0.02, 0.1, 0.3, 0.6, 0.9])
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_non_inferiority_sample_size_for_proportions_matches_statsmodels_one_tail_with_unpooled_variance(
    baseline: float, higher_is_better: bool
) -> None:
    for margin_share in (0.05, 0.1, 0.3):
        margin = baseline * margin_share
        for true_share in (-0.5, 0.0, 0.5):
            true_difference = margin * true_share
            p_t = baseline + true_difference
            if not 0 < p_t < 1:
                continue
            harm = -true_difference if higher_is_better else true_difference
            for alpha, power, _, ratio in SETTINGS[::5]:
                sd = math.sqrt(baseline * (1 - baseline) + p_t * (1 - p_t) / ratio)
                exact = normal_sample_size_one_tail(
                    margin - harm, power, alpha, std_null=sd, std_alternative=sd
                )
                direct = (z_alpha(alpha, 1) + z_power(power)) ** 2 * sd**2 / (margin - harm) ** 2
                n = stats.sample_size_non_inferiority_proportions(
                    baseline,
                    margin,
                    alpha=alpha,
                    power=power,
                    true_difference=true_difference,
                    higher_is_better=higher_is_better,
                    ratio=ratio,
                )
                assert is_ceiling_of(n, exact)
                assert is_ceiling_of(n, direct)


def test_non_inferiority_direction_follows_higher_is_better() -> None:
    # Treatment truly 0.2 points better on conversion leaves more room below a 1-point margin,
    # but the same +0.2 points on an error rate is harm that eats into it.
    better = stats.sample_size_non_inferiority_proportions(0.1, 0.01, true_difference=0.002)
    worse = stats.sample_size_non_inferiority_proportions(
        0.1, 0.01, true_difference=0.002, higher_is_better=False
    )
    assert better < worse


def test_non_inferiority_cannot_be_planned_when_the_true_harm_reaches_the_margin() -> None:
    with pytest.raises(ValueError, match="true_difference must be less harmful than the margin"):
        stats.sample_size_non_inferiority_proportions(0.1, 0.01, true_difference=-0.01)


# ---- sample size: means -------------------------------------------------------------------------

MEAN_CASES = [
    (sd, delta, alpha, power, sides, ratio)
    for sd, delta in ((1.0, 0.1), (1.0, -0.5), (40.0, 3.0), (250.0, 10.0))
    for alpha in (0.01, 0.05)
    for power in (0.8, 0.9)
    for sides in (1, 2)
    for ratio in (0.5, 1.0, 2.0)
]


@pytest.mark.parametrize(("sd", "delta", "alpha", "power", "sides", "ratio"), MEAN_CASES[::2])
def test_sample_size_for_means_matches_statsmodels_normal_ind_power(
    sd: float, delta: float, alpha: float, power: float, sides: int, ratio: float
) -> None:
    solved = NormalIndPower().solve_power(
        effect_size=abs(delta) / sd,
        nobs1=None,
        alpha=alpha,
        power=power,
        ratio=ratio,
        alternative=alternative(sides),
    )
    direct = (z_alpha(alpha, sides) + z_power(power)) ** 2 * sd**2 * (1 + 1 / ratio) / delta**2
    n = stats.sample_size_means(sd, delta, alpha=alpha, power=power, sides=sides, ratio=ratio)
    assert is_ceiling_of(n, direct)
    # statsmodels also counts the far tail of a two-sided test, worth far less than one unit here.
    assert is_ceiling_of(n, float(solved)) or close(n, float(solved))


def test_sample_size_for_means_reproduces_the_textbook_parallel_design_example() -> None:
    # Two-sample parallel design, sigma = 0.10, delta = 0.05, alpha = 0.05 two-sided, 80% power:
    # 2(z_.975 + z_.8)^2 sigma^2 / delta^2 = 62.8, so 63 per group (Chow, Shao & Wang, ch. 3).
    assert stats.sample_size_means(0.10, 0.05) == 63


def test_sample_size_for_means_is_close_to_lehrs_rule_of_thumb() -> None:
    # Lehr: n = 16 sigma^2 / delta^2 per group at two-sided 5% and 80% power; the rule rounds 15.7 up.
    assert math.isclose(stats.sample_size_means(1.0, 0.05), 16 / 0.05**2, rel_tol=0.02)


@pytest.mark.parametrize("higher_is_better", [True, False])
@pytest.mark.parametrize(
    ("sd", "margin", "true_difference"), [(1.0, 0.2, 0.0), (40.0, 5.0, 1.0), (0.3, 0.05, -0.01)]
)
@pytest.mark.parametrize("ratio", [0.5, 1.0, 3.0])
def test_non_inferiority_sample_size_for_means_matches_statsmodels_one_sided_power(
    sd: float, margin: float, true_difference: float, higher_is_better: bool, ratio: float
) -> None:
    harm = -true_difference if higher_is_better else true_difference
    solved = NormalIndPower().solve_power(
        effect_size=(margin - harm) / sd,
        nobs1=None,
        alpha=0.025,
        power=0.9,
        ratio=ratio,
        alternative="larger",
    )
    n = stats.sample_size_non_inferiority_means(
        sd,
        margin,
        alpha=0.025,
        power=0.9,
        true_difference=true_difference,
        higher_is_better=higher_is_better,
        ratio=ratio,
    )
    assert is_ceiling_of(n, float(solved))


def test_non_inferiority_sample_size_for_means_reproduces_the_textbook_example() -> None:
    # sigma = 0.10, margin 0.05, no true difference, one-sided alpha 0.05, 80% power:
    # 2(z_.95 + z_.8)^2 sigma^2 / margin^2 = 49.5, so 50 per group (Chow, Shao & Wang, ch. 3).
    assert stats.sample_size_non_inferiority_means(0.10, 0.05) == 50


# ---- minimum detectable effects -----------------------------------------------------------------


@pytest.mark.parametrize("baseline", [0.002, 0.03, 0.2, 0.5, 0.85])
@pytest.mark.parametrize("direction", ["increase", "decrease"])
def test_minimum_detectable_proportion_effect_gives_the_target_power_in_statsmodels(
    baseline: float, direction: str
) -> None:
    sign = 1 if direction == "increase" else -1
    for alpha, power, _, ratio in SETTINGS[::3]:
        for n in (2_000, 50_000, 3_000_000):
            try:
                mde = stats.minimum_detectable_effect_proportions(
                    baseline, n, alpha=alpha, power=power, sides=1, ratio=ratio, direction=direction
                )
            except ValueError:
                continue
            p_t = baseline + sign * mde
            achieved = normal_power_het(
                baseline - p_t,
                n,
                alpha,
                std_null=math.sqrt(pooled_var(baseline, sign * mde, ratio)),
                std_alternative=math.sqrt(baseline * (1 - baseline) + p_t * (1 - p_t) / ratio),
                alternative="smaller" if sign > 0 else "larger",
            )
            assert close(float(achieved), power, rel=1e-6)
            exact = samplesize_proportions_2indep_onetail(
                diff=-sign * mde, prop2=p_t, power=power, ratio=ratio, alpha=alpha, alternative="larger"
            )
            assert close(float(exact), n, rel=1e-6)


def test_minimum_detectable_proportion_effect_round_trips_through_the_sample_size() -> None:
    for baseline in (0.01, 0.1, 0.5):
        for n in (1_000, 20_000, 400_000):
            mde = stats.minimum_detectable_effect_proportions(baseline, n)
            assert stats.sample_size_proportions(baseline, mde) in (n, n + 1)


def test_a_sample_too_small_for_any_detectable_effect_is_refused_naming_n_per_arm() -> None:
    with pytest.raises(ValueError, match=r"n_per_arm=2 is too small .* needs at least"):
        stats.minimum_detectable_effect_proportions(0.999, 2, alpha=0.01, power=0.99)


@pytest.mark.parametrize(("alpha", "power", "sides", "ratio"), SETTINGS[::4])
def test_minimum_detectable_mean_effect_matches_statsmodels_normal_ind_power(
    alpha: float, power: float, sides: int, ratio: float
) -> None:
    for sd, n in ((1.0, 100), (35.0, 12_000), (0.2, 1_000_000)):
        solved = NormalIndPower().solve_power(
            effect_size=None, nobs1=n, alpha=alpha, power=power, ratio=ratio, alternative=alternative(sides)
        )
        direct = (z_alpha(alpha, sides) + z_power(power)) * sd * math.sqrt((1 + 1 / ratio) / n)
        mde = stats.minimum_detectable_effect_means(sd, n, alpha=alpha, power=power, sides=sides, ratio=ratio)
        assert close(mde, direct, rel=1e-9)
        # solve_power's root finder stops within about 0.05% for tiny effects; its power function
        # at our answer is the sharper check. Two-sided, statsmodels adds the far rejection tail,
        # which we ignore: up to 0.1% of power at alpha = 0.1 and power = 0.5.
        assert close(mde, float(solved) * sd)
        achieved = NormalIndPower().power(mde / sd, n, alpha, ratio, alternative(sides))
        assert close(float(achieved), power, rel=1e-9 if sides == 1 else REL)


# ---- alpha spending -----------------------------------------------------------------------------


def obf_reference(t: float, alpha: float) -> float:
    return float(2 * sps.norm.sf(sps.norm.isf(alpha / 2) / math.sqrt(t)))


def pocock_reference(t: float, alpha: float) -> float:
    return float(alpha * np.log(1 + (np.e - 1) * t))


@pytest.mark.parametrize("looks", [1, 2, 3, 4, 5, 8, 12])
@pytest.mark.parametrize("alpha", [0.01, 0.025, 0.05, 0.1])
def test_cumulative_alpha_spent_matches_the_lan_demets_formulas_computed_with_scipy(
    looks: int, alpha: float
) -> None:
    fractions = [k / looks for k in range(1, looks + 1)]
    references: dict[stats.SpendingMethod, Callable[[float, float], float]] = {
        "obrien_fleming": obf_reference,
        "pocock": pocock_reference,
        "bonferroni": lambda t, a: a * t,
    }
    for method, reference in references.items():
        spent = stats.alpha_spent(method, looks, alpha)
        assert len(spent) == looks
        for got, t in zip(spent, fractions, strict=True):
            assert close(got, reference(t, alpha), rel=1e-9), (method, looks, t)
        increments = [stats.alpha_at_look(method, looks, k, alpha) for k in range(1, looks + 1)]
        assert all(i > 0 for i in increments)
        assert math.isclose(math.fsum(increments), alpha, rel_tol=1e-12)


def test_obrien_fleming_spending_at_half_information_is_the_published_lan_demets_value() -> None:
    # Lan & DeMets (1983): the O'Brien-Fleming-type function spends about 0.0056 of a two-sided 0.05
    # by half the information, and Pocock-type about 0.031.
    assert close(stats.spending_function("obrien_fleming", 0.5, 0.05), 0.0056)
    assert close(stats.spending_function("pocock", 0.5, 0.05), 0.0310, rel=0.01)


def test_obrien_fleming_spends_tiny_amounts_early_without_losing_precision() -> None:
    got = stats.spending_function("obrien_fleming", 0.01, 0.05)
    assert got > 0
    assert close(got, obf_reference(0.01, 0.05), rel=1e-9)


def test_bonferroni_gives_each_look_an_equal_share() -> None:
    assert [stats.alpha_at_look("bonferroni", 4, k, 0.05) for k in range(1, 5)] == pytest.approx([0.0125] * 4)


@pytest.mark.parametrize("method", ["obrien_fleming", "pocock", "bonferroni"])
@pytest.mark.parametrize("looks", [2, 3, 4])
def test_testing_each_look_at_its_increment_keeps_the_family_wise_error_within_alpha(
    method: stats.SpendingMethod, looks: int
) -> None:
    # Under H0 the z statistics at information t_i and t_j have correlation sqrt(t_i / t_j).
    alpha = 0.025
    t = np.arange(1, looks + 1) / looks
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    bounds = [sps.norm.isf(stats.alpha_at_look(method, looks, k, alpha)) for k in range(1, looks + 1)]
    no_crossing = sps.multivariate_normal(mean=np.zeros(looks), cov=cov).cdf(bounds)
    family_wise = 1 - float(no_crossing)
    assert family_wise <= alpha + 1e-4
    assert family_wise > 0.5 * alpha


# ---- sample-ratio mismatch ----------------------------------------------------------------------


def srm_cases() -> list[tuple[list[int], list[float]]]:
    rng = np.random.default_rng(20240601)
    cases: list[tuple[list[int], list[float]]] = [
        ([5_000, 5_000], [0.5, 0.5]),
        ([50_000, 50_700], [0.5, 0.5]),
        ([1_000, 99_000], [0.01, 0.99]),
        ([1_300, 98_700], [0.01, 0.99]),
        ([500_000, 520_000], [0.5, 0.5]),  # p about 1e-87
        ([1, 0, 0], [1 / 3, 1 / 3, 1 / 3]),
        ([3, 0, 7, 2], [0.25, 0.25, 0.25, 0.25]),
    ]
    for _ in range(120):
        arms = int(rng.integers(2, 9))
        shares = rng.dirichlet(np.ones(arms))
        total = int(rng.integers(50, 2_000_000))
        skew = rng.dirichlet(np.ones(arms)) * rng.choice([0.0, 0.001, 0.01, 0.05])
        probabilities = (shares + skew) / (1 + skew.sum())
        observed = rng.multinomial(total, probabilities)
        cases.append(([int(o) for o in observed], [float(s) for s in shares]))
    return cases


SRM_CASES = srm_cases()


@pytest.mark.parametrize("batch", range(8))
def test_srm_statistic_and_p_value_match_scipy_chisquare(batch: int) -> None:
    for observed, shares in SRM_CASES[batch::8]:
        total = sum(observed)
        expected = scipy_chisquare(observed, [s * total for s in shares])
        statistic, p = stats.srm_test(observed, shares)
        assert close(statistic, float(expected.statistic), rel=1e-9), observed
        assert_p_close(p, float(expected.pvalue))


def scipy_chisquare(observed: list[int], expected: list[float]) -> Any:
    # scipy insists the expected counts sum to the observed total to 1e-8; shares may be off by 1e-16.
    scale = sum(observed) / math.fsum(expected)
    return sps.chisquare(observed, [e * scale for e in expected])


def assert_p_close(p: float, reference: float) -> None:
    if reference > 1e-300:
        assert close(p, reference), (p, reference)
    else:
        assert p < 1e-290


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 7, 10, 15, 30, 60, 150, 400])
def test_chi2_survival_function_matches_scipy_from_the_bulk_to_far_tails(df: int) -> None:
    for x in (*np.geomspace(1e-4, 5_000, 80), df - 1e-9, df + 1, df + 2, float(df) * 3):
        if x <= 0:
            continue
        assert_p_close(stats.chi2_sf(float(x), df), float(sps.chi2.sf(x, df)))


def test_chi2_survival_function_reaches_p_values_near_1e_minus_12_accurately() -> None:
    for df in (1, 2, 5, 20):
        x = float(sps.chi2.isf(1e-12, df))
        assert close(stats.chi2_sf(x, df), 1e-12, rel=1e-6)


@pytest.mark.parametrize(
    ("df", "critical", "p"),
    [
        (1, 3.841, 0.05),
        (1, 6.635, 0.01),
        (1, 10.828, 0.001),
        (2, 5.991, 0.05),
        (2, 13.816, 0.001),
        (3, 7.815, 0.05),
        (4, 9.488, 0.05),
        (5, 20.515, 0.001),
        (10, 18.307, 0.05),
        (10, 29.588, 0.001),
    ],
)
def test_chi2_survival_function_reproduces_the_published_critical_value_table(
    df: int, critical: float, p: float
) -> None:
    assert close(stats.chi2_sf(critical, df), p)


def test_a_one_percent_canary_that_got_1_3_percent_is_flagged_as_srm() -> None:
    _, p = stats.srm_test([1_300, 98_700], [0.01, 0.99])
    assert p < stats.SRM_P_THRESHOLD


def test_a_balanced_split_is_not_flagged_as_srm() -> None:
    statistic, p = stats.srm_test([10_000, 10_000], [0.5, 0.5])
    assert statistic == 0
    assert p == 1


# ---- effect estimates ---------------------------------------------------------------------------

PROPORTION_COUNTS = [
    (1_000, 100, 1_000, 120),
    (70, 42, 80, 64),
    (50_000, 1_500, 48_000, 1_560),
    (200_000, 400, 5_000, 14),
    (10, 3, 10, 9),
    (3_000, 2_900, 3_100, 2_950),
]


@pytest.mark.parametrize(("n_c", "x_c", "n_t", "x_t"), PROPORTION_COUNTS)
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
@pytest.mark.parametrize("sides", [1, 2])
def test_difference_of_proportions_matches_statsmodels_wald_and_log_ratio_intervals(
    n_c: int, x_c: int, n_t: int, x_t: int, alpha: float, sides: int
) -> None:
    # A one-sided bound at alpha is an end of the two-sided interval at 2 alpha.
    level = alpha * (3 - sides)
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=level)
    ratio_low, ratio_high = confint_proportions_2indep(
        x_t, n_t, x_c, n_c, method="log", compare="ratio", alpha=level
    )
    effect = stats.difference_of_proportions(n_c, x_c, n_t, x_t, alpha=alpha, sides=sides)
    p_c, p_t = x_c / n_c, x_t / n_t
    assert close(effect.estimate, p_t - p_c, rel=1e-12)
    assert close(effect.standard_error, math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c), rel=1e-12)
    assert close(effect.ci_low, float(low))
    assert close(effect.ci_high, float(high))
    assert effect.relative is not None
    assert effect.relative_ci_low is not None
    assert effect.relative_ci_high is not None
    assert close(effect.relative, p_t / p_c - 1, rel=1e-9)
    assert close(effect.relative_ci_low + 1, float(ratio_low))
    assert close(effect.relative_ci_high + 1, float(ratio_high))
    assert (effect.alpha, effect.sides) == (alpha, sides)


@pytest.mark.parametrize(
    ("treatment", "control", "published"),
    [((56, 70), (48, 80), (0.0575, 0.3425)), ((9, 10), (3, 10), (0.2605, 0.9395))],
)
def test_difference_of_proportions_reproduces_newcombes_simple_asymptotic_intervals(
    treatment: tuple[int, int], control: tuple[int, int], published: tuple[float, float]
) -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, method 1 on his examples (a) and (b).
    effect = stats.difference_of_proportions(control[1], control[0], treatment[1], treatment[0])
    assert close(effect.ci_low, published[0])
    assert close(effect.ci_high, published[1])


def test_a_control_arm_without_events_has_no_relative_lift() -> None:
    effect = stats.difference_of_proportions(1_000, 0, 1_000, 3)
    assert effect.relative is None
    assert effect.relative_ci_low is None
    assert effect.relative_ci_high is None


def test_a_treatment_arm_without_events_has_a_lift_of_minus_100_percent_but_no_lift_interval() -> None:
    effect = stats.difference_of_proportions(1_000, 5, 1_000, 0)
    assert effect.relative == -1
    assert effect.relative_ci_low is None


def test_the_one_sided_upper_bound_decides_non_inferiority_as_release_domain_describes() -> None:
    # Error rate 1.0% vs 1.1% on 100k each: harm 0.1 point, one-sided 95% upper bound below a 0.3 margin.
    effect = stats.difference_of_proportions(100_000, 1_000, 100_000, 1_100, alpha=0.05, sides=1)
    z = (0.003 - effect.estimate) / effect.standard_error
    assert effect.ci_high < 0.003
    assert z > z_alpha(0.05, 1)


MEAN_SAMPLES = [(40, 55, 100.0, 12.0, 1.5), (200, 180, 3.2, 0.8, 0.1), (5_000, 4_800, 250.0, 90.0, -4.0)]


@pytest.mark.parametrize(("n_c", "n_t", "mean", "sd", "shift"), MEAN_SAMPLES)
@pytest.mark.parametrize("alpha", [0.01, 0.05])
@pytest.mark.parametrize("sides", [1, 2])
def test_difference_of_means_matches_statsmodels_compare_means_with_unequal_variances(
    n_c: int, n_t: int, mean: float, sd: float, shift: float, alpha: float, sides: int
) -> None:
    rng = np.random.default_rng(n_c + n_t)
    control = rng.normal(mean, sd, n_c)
    treatment = rng.normal(mean + shift, sd * 1.3, n_t)
    compare = CompareMeans(DescrStatsW(treatment), DescrStatsW(control))
    low, high = compare.zconfint_diff(alpha=alpha * (3 - sides), usevar="unequal")
    m_c, s_c = float(control.mean()), float(control.std(ddof=1))
    m_t, s_t = float(treatment.mean()), float(treatment.std(ddof=1))
    effect = stats.difference_of_means(n_c, m_c, s_c, n_t, m_t, s_t, alpha=alpha, sides=sides)
    assert close(effect.standard_error, float(compare.std_meandiff_separatevar), rel=1e-9)
    assert close(effect.ci_low, float(low), rel=1e-9)
    assert close(effect.ci_high, float(high), rel=1e-9)
    se_log = math.sqrt(s_t**2 / (n_t * m_t**2) + s_c**2 / (n_c * m_c**2))
    z = z_alpha(alpha, sides)
    assert effect.relative_ci_low is not None
    assert effect.relative_ci_high is not None
    assert close(effect.relative_ci_low + 1, m_t / m_c * math.exp(-z * se_log), rel=1e-9)
    assert close(effect.relative_ci_high + 1, m_t / m_c * math.exp(z * se_log), rel=1e-9)


def test_a_lift_of_a_non_positive_mean_is_not_reported() -> None:
    effect = stats.difference_of_means(100, -2.0, 1.0, 100, -1.5, 1.0)
    assert effect.relative is None
    assert effect.relative_ci_low is None


def test_effects_are_immutable() -> None:
    effect = stats.difference_of_proportions(100, 10, 100, 12)
    with pytest.raises(AttributeError):
        effect.estimate = 0.5  # type: ignore[misc]


# ---- time to sample -----------------------------------------------------------------------------


def test_days_to_reach_splits_the_phase_traffic_across_arms() -> None:
    assert stats.days_to_reach(10_000, daily_exposures=100_000, traffic_share=0.1) == pytest.approx(2.0)
    assert stats.days_to_reach(10_000, daily_exposures=100_000, traffic_share=0.01, arms=1) == pytest.approx(
        10.0
    )


def test_a_one_percent_phase_takes_weeks_to_reach_a_typical_conversion_sample() -> None:
    n = stats.sample_size_proportions(0.03, 0.003)
    assert stats.days_to_reach(n, daily_exposures=50_000, traffic_share=0.01, arms=1) > 14


def test_exposures_still_needed_and_information_fraction_follow_the_current_sample() -> None:
    assert stats.exposures_still_needed(5_000, 1_200) == 3_800
    assert stats.exposures_still_needed(5_000, 7_000) == 0
    assert stats.information_fraction(1_250, 5_000) == 0.25
    assert stats.information_fraction(7_000, 5_000) == 1.0


# ---- input validation ---------------------------------------------------------------------------

INVALID: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], str]] = [
    (stats.sample_size_proportions, (0.1, 0.01), {"alpha": 0.7}, r"alpha must be in \(0, 0.5\), got 0.7"),
    (stats.sample_size_proportions, (0.1, 0.01), {"alpha": 0}, r"alpha must be in \(0, 0.5\), got 0"),
    (stats.sample_size_proportions, (1.2, 0.01), {}, r"baseline must be in \(0, 1\), got 1.2"),
    (stats.sample_size_proportions, (0.0, 0.01), {}, r"baseline must be in \(0, 1\), got 0"),
    (stats.sample_size_proportions, (0.1, 0.95), {}, r"mde must be non-zero and keep baseline \+ mde inside"),
    (stats.sample_size_proportions, (0.1, 0.0), {}, r"mde must be non-zero"),
    (stats.sample_size_proportions, (0.1, 0.01), {"power": 0.3}, r"power must be in \[0.5, 1\), got 0.3"),
    (stats.sample_size_proportions, (0.1, 0.01), {"sides": 3}, r"sides must be 1 \(one-sided\) or 2"),
    (stats.sample_size_proportions, (0.1, 0.01), {"ratio": 0}, r"ratio must be > 0, got 0"),
    (stats.sample_size_proportions, (math.nan, 0.01), {}, r"baseline must be a finite number, got nan"),
    (stats.sample_size_proportions, ("0.1", 0.01), {}, r"baseline must be a finite number, got '0.1'"),
    (stats.sample_size_non_inferiority_proportions, (0.1, -0.01), {}, r"margin must be in \(0, 1\)"),
    (stats.sample_size_means, (0.0, 1.0), {}, r"sd must be > 0, got 0"),
    (stats.sample_size_means, (1.0, 0.0), {}, r"delta must be non-zero"),
    (stats.sample_size_non_inferiority_means, (1.0, -2.0), {}, r"margin must be > 0, got -2"),
    (
        stats.minimum_detectable_effect_proportions,
        (0.1, 0),
        {},
        r"n_per_arm must be a whole number >= 1, got 0",
    ),
    (
        stats.minimum_detectable_effect_proportions,
        (0.1, 100),
        {"direction": "up"},
        r"direction must be one of",
    ),
    (
        stats.minimum_detectable_effect_means,
        (1.0, 10.5),
        {},
        r"n_per_arm must be a whole number >= 1, got 10.5",
    ),
    (
        stats.alpha_spent,
        ("linear", 3, 0.05),
        {},
        r"method must be one of 'obrien_fleming', 'pocock', 'bonferroni'",
    ),
    (stats.alpha_spent, ("pocock", 0, 0.05), {}, r"looks must be a whole number >= 1, got 0"),
    (
        stats.alpha_at_look,
        ("pocock", 3, 4, 0.05),
        {},
        r"look must be a whole number from 1 to looks \(3\), got 4",
    ),
    (stats.spending_function, ("pocock", 1.5, 0.05), {}, r"fraction must be in \[0, 1\], got 1.5"),
    (stats.srm_test, ([10], [1.0]), {}, r"observed must have at least 2 arms, got 1"),
    (
        stats.srm_test,
        ([10, 20], [0.5, 0.3, 0.2]),
        {},
        r"expected_shares must have one share per arm \(2\), got 3",
    ),
    (stats.srm_test, ([10, -1], [0.5, 0.5]), {}, r"observed\[1\] must be a whole number >= 0, got -1"),
    (stats.srm_test, ([10, 20], [0.5, 0.6]), {}, r"expected_shares must add up to 1, .* got a sum of 1.1"),
    (stats.srm_test, ([10, 20], [1.0, 0.0]), {}, r"expected_shares\[1\] must be > 0, got 0"),
    (stats.srm_test, ([0, 0], [0.5, 0.5]), {}, r"observed must contain at least one exposure"),
    (stats.chi2_sf, (-1.0, 2), {}, r"statistic must be >= 0, got -1"),
    (stats.chi2_sf, (1.0, 0), {}, r"df must be a whole number >= 1, got 0"),
    (
        stats.difference_of_proportions,
        (0, 0, 100, 10),
        {},
        r"control_exposures must be a whole number >= 1, got 0",
    ),
    (
        stats.difference_of_proportions,
        (100, 10, 0, 0),
        {},
        r"treatment_exposures must be a whole number >= 1",
    ),
    (
        stats.difference_of_proportions,
        (100, 120, 100, 10),
        {},
        r"control_events must be at most control_exposures",
    ),
    (
        stats.difference_of_proportions,
        (100, 10, 100, 101),
        {},
        r"treatment_events must be at most treatment_exp",
    ),
    (stats.difference_of_proportions, (100, -1, 100, 10), {}, r"control_events must be a whole number >= 0"),
    (stats.difference_of_proportions, (100, 10, 100, 10), {"alpha": 0.5}, r"alpha must be in \(0, 0.5\)"),
    (stats.difference_of_means, (1, 1.0, 1.0, 10, 1.0, 1.0), {}, r"n_c must be a whole number >= 2, got 1"),
    (stats.difference_of_means, (10, 1.0, -1.0, 10, 1.0, 1.0), {}, r"sd_c must be >= 0, got -1"),
    (
        stats.days_to_reach,
        (1_000,),
        {"daily_exposures": 0, "traffic_share": 0.1},
        r"daily_exposures must be > 0",
    ),
    (
        stats.days_to_reach,
        (1_000,),
        {"daily_exposures": 10, "traffic_share": 5},
        r"traffic_share must be in \(0, 1\]",
    ),
    (
        stats.days_to_reach,
        (1_000,),
        {"daily_exposures": 10, "traffic_share": 0.5, "arms": 0},
        r"arms must be a whole",
    ),
    (stats.exposures_still_needed, (100, -5), {}, r"current_per_arm must be a whole number >= 0, got -5"),
]


@pytest.mark.parametrize(
    ("function", "args", "kwargs", "message"),
    INVALID,
    ids=[f"{f.__name__}-{m[:30]}" for f, _, _, m in INVALID],
)
def test_bad_input_raises_a_value_error_naming_the_parameter_and_its_valid_range(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        function(*args, **kwargs)


def test_booleans_are_not_accepted_as_counts() -> None:
    with pytest.raises(ValueError, match="control_events must be a whole number"):
        stats.difference_of_proportions(100, True, 100, 10)
