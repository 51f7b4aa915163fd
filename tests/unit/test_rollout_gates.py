"""The rollout's gates, computed: sample sizes per arm, looks and alpha spending, and whether a phase's
traffic reaches the sample, each figure checked against statsmodels or scipy (within 0.5%) and
against published worked examples; then the findings they give, caught and left alone."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower, normal_sample_size_one_tail
from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples.rollout import ARGS
from release_planner.tools.review import check_artifact
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.rollout.gates import figures

EMPTY = ReleaseContext(version="2.5.0")
REL = 0.005


def plan(phase_changes: dict[int, dict[str, Any]] | None = None, **changes: Any) -> RolloutSpec:
    args = copy.deepcopy(ARGS)
    args.update(changes)
    for index, update in (phase_changes or {}).items():
        args["phases"][index].update(update)
    return RolloutSpec.model_validate(args)


def gated(gate: dict[str, Any], *, index: int = 2, **phase: Any) -> RolloutSpec:
    """The corrected example with ``gate`` on phase ``index`` instead of its own on phase 2."""
    return plan({2: {"gate": None}, index: {"gate": gate, **phase}})


def only_figures(spec: RolloutSpec) -> Any:
    [fig] = figures(spec)
    return fig


def codes(spec: RolloutSpec) -> list[tuple[str, str, str | None]]:
    return [(f.severity, f.code, f.field) for f in check_artifact(spec, EMPTY)]


def ceiling_of(n: int, exact: float) -> bool:
    return exact - 1e-6 <= n < exact + 1 + 1e-6 and math.isclose(n, exact, rel_tol=REL)


# ---- sample sizes, against statsmodels ------------------------------------------------------------


@pytest.mark.parametrize("baseline", [0.5, 2.0, 10.0, 30.0])
@pytest.mark.parametrize(
    ("percent", "control_percent"), [(1, None), (5, None), (20, None), (50, None), (5, 5)]
)
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_a_rate_non_inferiority_gate_needs_the_statsmodels_one_tail_sample_for_its_arms(
    baseline: float, percent: float, control_percent: float | None, higher_is_better: bool
) -> None:
    for margin_points, alpha, power in ((0.1, 0.05, 0.8), (0.5, 0.025, 0.9), (1.0, 0.01, 0.8)):
        gate = {
            "type": "non_inferiority",
            "metric": "error_rate",
            "margin": margin_points,
            "alpha": alpha,
            "power": power,
            "baseline_rate": baseline,
            "higher_is_better": higher_is_better,
        }
        if control_percent is not None:
            gate["control_percent"] = control_percent
        fig = only_figures(gated(gate, percent=percent))
        share = percent / 100
        control = (control_percent or 100 - percent) / 100
        ratio = share / control
        p, m = baseline / 100, margin_points / 100  # the gate's percent and points, as fractions
        sd = math.sqrt(p * (1 - p) * (1 + 1 / ratio))
        exact = normal_sample_size_one_tail(m, power, alpha, std_null=sd, std_alternative=sd)
        assert ceiling_of(fig.needed_control, exact)
        assert ceiling_of(fig.needed_exposed, fig.needed_control * ratio)
        assert (fig.sides, fig.alpha) == (1, alpha)


@pytest.mark.parametrize("percent", [5, 20, 50])
@pytest.mark.parametrize(("baseline", "mde", "higher_is_better"), [(3.0, 0.3, True), (10.0, 1.0, False)])
def test_a_rate_superiority_gate_needs_the_statsmodels_pooled_two_sided_sample(
    percent: float, baseline: float, mde: float, higher_is_better: bool
) -> None:
    gate = {
        "type": "superiority",
        "metric": "conversion_rate",
        "mde": mde,
        "baseline_rate": baseline,
        "higher_is_better": higher_is_better,
    }
    fig = only_figures(gated(gate, index=1 if percent == 5 else 2 if percent == 20 else 3))
    ratio = (percent / 100) / (1 - percent / 100)
    p_c = baseline / 100
    p_t = p_c + (mde if higher_is_better else -mde) / 100
    # statsmodels' first arm is our control: p1 = prop2 + diff, its ratio nobs2/nobs1 is ours.
    exact = samplesize_proportions_2indep_onetail(
        diff=p_c - p_t, prop2=p_t, power=0.8, ratio=ratio, alpha=0.05, alternative="two-sided"
    )
    assert ceiling_of(fig.needed_control, float(exact))
    assert fig.sides == 2


@pytest.mark.parametrize(
    ("kind", "margin", "mde"), [("non_inferiority", 20.0, None), ("superiority", None, 15.0)]
)
def test_a_mean_gate_needs_the_statsmodels_normal_sample(
    kind: str, margin: float | None, mde: float | None
) -> None:
    gate: dict[str, Any] = {
        "type": kind,
        "metric": "latency_ms",
        "baseline_sd": 180.0,
        "higher_is_better": False,
    }
    gate.update({"margin": margin} if margin else {"mde": mde})
    fig = only_figures(gated(gate))  # 20% exposed against the other 80%
    effect = margin or mde
    assert effect is not None
    # statsmodels solves for nobs1 (our control arm) with nobs2 = ratio * nobs1 (our exposed arm).
    solved = NormalIndPower().solve_power(
        effect_size=effect / 180.0,
        nobs1=None,
        alpha=0.05,
        power=0.8,
        ratio=0.25,
        alternative="larger" if margin else "two-sided",
    )
    # A two-sided solve also counts the far tail, worth far less than one unit here.
    assert ceiling_of(fig.needed_control, float(solved)) or math.isclose(
        fig.needed_control, float(solved), rel_tol=REL
    )
    assert ceiling_of(fig.needed_exposed, fig.needed_control * 0.25)


def test_the_r_power_prop_test_documentation_example_as_a_gate() -> None:
    # R's ?power.prop.test: power.prop.test(p1 = .50, p2 = .75, power = .90) gives n = 76.7 per group.
    # A 50% phase against the other 50% is that design: equal arms.
    gate = {"type": "superiority", "metric": "conversion_rate", "mde": 25, "baseline_rate": 50, "power": 0.9}
    fig = only_figures(gated(gate, index=3))
    assert (fig.needed_control, fig.needed_exposed) == (77, 77)
    assert math.isclose(fig.needed_control, 76.7, rel_tol=REL)
    assert fig.needs() == "needs 77 per arm"


def test_the_textbook_non_inferiority_example_for_means_as_a_gate() -> None:
    # Chow, Shao & Wang ch. 3: sigma 0.10, margin 0.05, one-sided alpha 0.05, 80% power: 49.5, so 50.
    gate = {"type": "non_inferiority", "metric": "score", "margin": 0.05, "baseline_sd": 0.10}
    fig = only_figures(gated(gate, index=3))
    assert fig.needed_control == fig.needed_exposed == 50
    assert math.isclose(fig.needed_control, 49.5, rel_tol=0.011)  # the published figure, rounded up


def test_margins_in_points_are_divided_by_100_before_they_reach_the_statistics() -> None:
    fig = only_figures(plan())  # 2% conversion, 1-point margin, 20% against 80%
    sd = math.sqrt(0.02 * 0.98 * (1 + 1 / 0.25))
    exact = normal_sample_size_one_tail(0.01, 0.8, 0.05, std_null=sd, std_alternative=sd)
    assert ceiling_of(fig.needed_control, exact)
    assert (fig.needed_control, fig.needed_exposed) == (6059, 1515)


# ---- looks and alpha spending ---------------------------------------------------------------------


def two_looks(**changes: Any) -> RolloutSpec:
    second = {"type": "non_inferiority", "metric": "conversion_rate", "margin": 1.0, "baseline_rate": 2.0}
    return plan({3: {"gate": second, "min_sample": 3000, "expected_users": 5000}}, **changes)


def obf_cumulative(t: float, alpha: float) -> float:
    return float(2 - 2 * sps.norm.cdf(sps.norm.isf(alpha / 2) / math.sqrt(t)))


@pytest.mark.parametrize("method", ["obrien_fleming", "pocock", "bonferroni"])
def test_with_alpha_spending_each_look_is_sized_at_its_share_of_alpha(method: str) -> None:
    spec = two_looks(alpha_spending=method)
    first, second = figures(spec)
    references = {
        "obrien_fleming": obf_cumulative(0.5, 0.05),
        "pocock": 0.05 * math.log(1 + (math.e - 1) * 0.5),
        "bonferroni": 0.025,
    }
    assert math.isclose(first.alpha, references[method], rel_tol=1e-9)
    assert math.isclose(first.alpha + second.alpha, 0.05, rel_tol=1e-12)
    assert (first.look.look, first.look.looks, second.look.look) == (1, 2, 2)
    sd = math.sqrt(0.02 * 0.98 * (1 + 1 / 0.25))
    exact = normal_sample_size_one_tail(0.01, 0.8, first.alpha, std_null=sd, std_alternative=sd)
    assert ceiling_of(first.needed_control, exact)


def test_obrien_fleming_spends_the_published_lan_demets_0_0056_at_the_first_of_two_looks() -> None:
    first, _ = figures(two_looks(alpha_spending="obrien_fleming"))
    assert math.isclose(first.alpha, 0.0056, rel_tol=REL)
    assert "O'Brien-Fleming spending: α = 0.005575 at this look, 0.05 in all" in first.look.describe(
        "conversion_rate"
    )


def test_spending_alpha_clears_the_repeated_look_warning_and_the_markdown_shows_each_look() -> None:
    spec = two_looks(alpha_spending="obrien_fleming")
    assert "unsafe_ab_gate" not in [c for _, c, _ in codes(spec)]
    text = spec.render(EMPTY)
    assert "**Gate look:** look 1 of 2 at conversion_rate, O'Brien-Fleming spending" in text
    computed = spec.computed(EMPTY)["gates"]
    assert [(g["look"], g["looks"], g["alpha_spending"]) for g in computed] == [
        (1, 2, "obrien_fleming"),
        (2, 2, "obrien_fleming"),
    ]


def test_repeated_uncorrected_looks_are_flagged_with_the_spending_that_would_fix_them() -> None:
    [finding] = [f for f in check_artifact(two_looks(), EMPTY) if f.code == "unsafe_ab_gate"]
    assert finding.field == "phases[3].gate"
    assert "alpha_spending" in finding.message and "bonferroni (0.025 each)" in finding.message
    assert f"{obf_cumulative(0.5, 0.05):.4g}" in finding.message


def test_a_metric_looked_at_once_keeps_its_alpha_whatever_the_spending() -> None:
    [fig] = figures(plan(alpha_spending="pocock"))
    assert fig.alpha == 0.05 and fig.look.looks == 1


# ---- does the phase reach it ----------------------------------------------------------------------

BIG = {"type": "non_inferiority", "metric": "conversion_rate", "margin": 0.2, "baseline_rate": 3.0}


def daily_plan(gate: dict[str, Any], daily: int, **phase: Any) -> RolloutSpec:
    return plan(
        {2: {"gate": None}, 1: {"gate": gate, "expected_users": None, **phase}}, daily_exposures=daily
    )


def test_a_phase_too_short_for_its_sample_is_flagged_with_hours_and_share_that_reach_it() -> None:
    spec = daily_plan(BIG, 200_000)  # Beta Users: 5% for 48 h
    fig = only_figures(spec)
    assert fig.exposed == 200_000 * 5 // 100 * 2 == 20_000
    assert fig.reached is False
    # The hours: the exposed arm at 5% of 200,000/day, by scipy-free arithmetic.
    assert fig.hours_needed == math.ceil(fig.needed_exposed / (200_000 * 0.05 / 24))

    # The share: the smallest whole percent whose own sample the 48 h reach, checked with statsmodels.
    def need(percent: int) -> float:
        ratio = percent / (100 - percent)
        sd = math.sqrt(0.03 * 0.97 * (1 + 1 / ratio))
        return normal_sample_size_one_tail(0.002, 0.8, 0.05, std_null=sd, std_alternative=sd) * ratio

    have = lambda percent: 200_000 * percent / 100 * 2  # noqa: E731
    assert have(fig.percent_needed) >= need(fig.percent_needed) * (1 - REL)
    assert have(fig.percent_needed - 1) < need(fig.percent_needed - 1)
    [finding] = [f for f in check_artifact(spec, EMPTY) if f.code == "gate_sample_unreachable"]
    assert finding.field == "phases[1].duration_hours"
    assert f"needs {fig.needed_exposed:,} exposed" in finding.message
    assert "at 5% of 200,000/day the phase's 48 h give 20,000 exposed: too few" in finding.message
    assert f"extend it to {fig.hours_needed} h or raise its share to {fig.percent_needed}%" in finding.message


def test_a_phase_with_enough_traffic_is_left_alone_and_shows_its_figures() -> None:
    spec = daily_plan(BIG, 2_000_000)
    fig = only_figures(spec)
    assert fig.reached is True and fig.hours_needed is None
    assert codes(spec) == []
    assert f"**Gate sample:** needs {fig.needed_exposed:,} exposed" in spec.render(EMPTY)


def test_a_declared_min_sample_below_the_computed_one_is_flagged_and_one_above_is_not() -> None:
    low = plan({2: {"min_sample": 1000}})
    assert codes(low) == [("warning", "min_sample_below_computed", "phases[2].min_sample")]
    assert "raise min_sample to at least 1,515" in check_artifact(low, EMPTY)[0].message
    assert codes(plan({2: {"min_sample": 1515}})) == []


def test_a_gate_whose_inputs_compute_the_sample_needs_no_declared_min_sample() -> None:
    assert codes(plan({2: {"min_sample": None}})) == []


def test_a_gate_at_100_percent_has_no_control_arm_but_a_holdout_gives_it_one() -> None:
    gate = {"type": "non_inferiority", "metric": "conversion_rate", "margin": 1.0, "baseline_rate": 2.0}
    at_full = plan({4: {"gate": gate, "duration_hours": 48}})
    assert ("warning", "gate_without_control_arm", "phases[4].gate") in codes(at_full)
    held = plan({3: {"percent": 95, "gate": {**gate, "control_percent": 5}, "expected_users": 95_000}})
    assert "gate_without_control_arm" not in [c for _, c, _ in codes(held)]


def test_gate_inputs_out_of_range_are_named_rather_than_ignored() -> None:
    gate = {"type": "superiority", "metric": "conversion_rate", "mde": 2.0, "baseline_rate": 99.5}
    assert ("warning", "gate_inputs_invalid", "phases[2].gate") in codes(gated(gate))
    ok = {**gate, "baseline_rate": 50.0}
    assert "gate_inputs_invalid" not in [c for _, c, _ in codes(gated(ok, min_sample=10_000))]


def test_a_sequential_gate_reports_the_fixed_horizon_sample_as_a_floor() -> None:
    gate = {"type": "sequential", "metric": "conversion_rate", "margin": 1.0, "baseline_rate": 2.0}
    fig = only_figures(gated(gate))
    assert fig.look is None and fig.sides == 1
    assert fig.summary(gated(gate)).startswith("needs at least 1,515 exposed")


def test_without_traffic_the_sample_is_shown_and_nothing_is_flagged() -> None:
    spec = plan({2: {"expected_users": None}})
    fig = only_figures(spec)
    assert fig.reached is None
    assert "give expected_users or daily_exposures" in fig.summary(spec)
    assert codes(spec) == []


def test_a_gate_missing_its_baseline_says_what_to_add() -> None:
    gate = {"type": "superiority", "metric": "conversion_rate", "alpha": 0.05}
    spec = gated(gate)
    assert only_figures(spec).summary(spec) == (
        "sample not computed: give the gate baseline_rate (a rate, in percent) or baseline_sd (a mean)"
    )


def test_baseline_rate_and_baseline_sd_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        gated({"type": "superiority", "metric": "m", "mde": 1, "baseline_rate": 3, "baseline_sd": 1})


# ---- any inputs -------------------------------------------------------------------------------------

positive = st.floats(min_value=1e-6, max_value=1e12, allow_nan=False, allow_infinity=False)
gate_inputs = st.fixed_dictionaries(
    {"type": st.sampled_from(["non_inferiority", "superiority", "sequential"]), "metric": st.just("m")},
    optional={
        "margin": positive,
        "mde": positive,
        "alpha": st.floats(min_value=1e-9, max_value=0.49),
        "power": st.floats(min_value=0.5, max_value=0.999999),
        "baseline_rate": st.floats(min_value=1e-6, max_value=99.999999),
        "baseline_sd": st.floats(min_value=1e-9, max_value=1e300),
        "higher_is_better": st.booleans(),
        "control_percent": st.floats(min_value=1e-6, max_value=99.999999),
    },
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    gate=gate_inputs,
    index=st.integers(min_value=0, max_value=4),
    daily=st.one_of(st.none(), st.integers(min_value=1, max_value=10**12)),
    spending=st.sampled_from([None, "obrien_fleming", "pocock", "bonferroni"]),
)
def test_any_gate_inputs_give_figures_findings_and_markdown_without_crashing(
    gate: dict[str, Any], index: int, daily: int | None, spending: str | None
) -> None:
    try:
        spec = plan({index: {"gate": gate}}, daily_exposures=daily, alpha_spending=spending)
    except ValueError:
        assume(False)
        raise
    for fig in figures(spec):
        if fig.needed_exposed is not None:
            assert fig.needed_exposed >= 1 and fig.needed_control >= 1
        fig.summary(spec)
    check_artifact(spec, EMPTY)
    spec.render(EMPTY)
    assert RolloutSpec.model_validate(spec.model_dump(mode="json")).computed(EMPTY) == spec.computed(EMPTY)
