"""evaluate_gate: every figure checked against scipy/statsmodels, every decision path, and bad input."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools import stats
from release_planner.tools.errors import InvalidInput
from release_planner.tools.evaluating import Observation
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.service import ReleasePlanner

NOW = datetime(2026, 3, 20, 14, 0, tzinfo=UTC)
GATED = "Early Adopters"  # phase 3 of the seed: non-inferiority on conversion_rate, margin 1 pp, 20%


def planner(**rollout_changes: Any) -> ReleasePlanner:
    args = copy.deepcopy(rollout_example.ARGS)
    args.update(rollout_changes)
    p = ReleasePlanner(MemoryStore(), clock=lambda: NOW)
    p.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    p.design_rollback(RollbackSpec.model_validate(rollback_example.ARGS))
    p.plan_rollout(RolloutSpec.model_validate(args))
    return p


def rates(metric: str, c: tuple[int, int], t: tuple[int, int]) -> Observation:
    return Observation.model_validate(
        {
            "metric": metric,
            "control": {"exposures": c[0], "events": c[1]},
            "treatment": {"exposures": t[0], "events": t[1]},
        }
    )


def test_a_harmless_change_with_enough_data_is_a_go_with_figures_statsmodels_agrees_with() -> None:
    result = planner().evaluate_gate("2.5.0", GATED, [rates("conversion_rate", (8000, 160), (2000, 41))])

    assert (result.decision, result.phase_number, result.look, result.looks) == ("go", 3, 1, 1)
    # A one-sided 95% bound is one end of the two-sided 90% Wald interval.
    low, high = confint_proportions_2indep(41, 2000, 160, 8000, method="wald", compare="diff", alpha=0.10)
    assert result.effect is not None
    assert result.effect.ci_low == pytest.approx(low, rel=0.005)
    assert result.effect.ci_high == pytest.approx(high, rel=0.005)
    assert result.effect.estimate == pytest.approx(41 / 2000 - 160 / 8000, rel=1e-9)
    # The split is 80/20 (everyone not in the 20% phase is control): scipy's chi-square agrees.
    assert result.srm_p_value == pytest.approx(sps.chisquare([8000, 2000], [8000, 2000]).pvalue, rel=0.005)


def test_a_sample_ratio_mismatch_holds_whatever_the_metric_says() -> None:
    result = planner().evaluate_gate("2.5.0", GATED, [rates("conversion_rate", (8000, 160), (2600, 52))])

    expected = sps.chisquare([8000, 2600], [10600 * 0.8, 10600 * 0.2]).pvalue
    assert result.srm_p_value == pytest.approx(expected, rel=0.005) and expected < 0.001
    assert result.decision == "hold"
    assert any("sample ratio mismatch" in r for r in result.reasons)


def test_harm_past_the_margin_is_a_rollback() -> None:
    # conversion drops from 5% to 2%: three points of harm against a margin of one.
    result = planner().evaluate_gate("2.5.0", GATED, [rates("conversion_rate", (8000, 400), (2000, 40))])
    assert result.decision == "rollback"
    assert "exceeds the margin of 1 pp" in result.reasons[0]


def test_too_little_data_holds_and_says_how_many_more_and_when_at_the_phase_traffic() -> None:
    result = planner(daily_exposures=10_000).evaluate_gate(
        "2.5.0", GATED, [rates("conversion_rate", (400, 8), (100, 2))]
    )

    assert result.decision == "hold"
    assert result.required_sample_per_arm is not None and result.more_per_arm is not None
    assert result.more_per_arm == result.required_sample_per_arm - 400
    # 20% of 10,000 a day is 2,000 exposed a day; the exposed arm still needs (1,515 - 100).
    hours = -(-(1515 - 100) // (2000 / 24))
    assert result.reached_at == datetime.fromtimestamp(NOW.timestamp() + hours * 3600, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_a_crossed_halt_threshold_is_a_rollback_even_when_the_gate_metric_is_fine() -> None:
    result = planner().evaluate_gate(
        "2.5.0",
        GATED,
        [rates("conversion_rate", (8000, 160), (2000, 41)), rates("error-rate", (8000, 80), (2000, 140))],
    )
    assert result.decision == "rollback"
    halt = [m for m in result.metrics if m.role == "halt"]
    assert [m.metric for m in halt] == ["error-rate"] and "error_rate > 5%" in halt[0].reasons[0]


def test_a_missed_phase_target_holds() -> None:
    result = planner().evaluate_gate(
        "2.5.0",
        GATED,
        [rates("conversion_rate", (8000, 160), (2000, 41)), rates("error_rate", (8000, 80), (2000, 50))],
    )
    assert result.decision == "hold"
    assert [m.role for m in result.metrics] == ["gate", "target"]


@pytest.mark.parametrize(
    ("phase", "observations", "field", "words"),
    [
        (2, [rates("conversion_rate", (100, 1), (10, 0))], "phase", "has no gate"),
        ("Gamma", [rates("conversion_rate", (100, 1), (10, 0))], "phase", "no phase 'Gamma'"),
        (GATED, [rates("conversion_rate", (0, 0), (10, 0))], "observations[0].control", "no exposures"),
        (
            GATED,
            [rates("conversion_rate", (100, 101), (10, 0))],
            "observations[0].control.events",
            "101 events",
        ),
        (GATED, [rates("signups", (100, 1), (10, 0))], "observations[0].metric", "not a metric"),
        (GATED, [rates("error_rate", (100, 1), (10, 0))], "observations", "gate's metric"),
    ],
)
def test_bad_observations_are_refused_naming_the_field(
    phase: Any, observations: list[Observation], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        planner().evaluate_gate("2.5.0", phase, observations)
    assert info.value.field == field and words in info.value.describe()


def test_mixed_measures_in_one_observation_are_refused() -> None:
    mixed = Observation.model_validate(
        {
            "metric": "conversion_rate",
            "control": {"exposures": 100, "events": 2},
            "treatment": {"n": 100, "mean": 1.0, "sd": 0.5},
        }
    )
    with pytest.raises(InvalidInput, match="same kind of measure"):
        planner().evaluate_gate("2.5.0", GATED, [mixed])


def test_repeated_looks_spend_alpha_as_the_plan_says() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    for i in (2, 3):  # the same gate at 20% and 50%: two looks at conversion
        args["phases"][i]["gate"] = copy.deepcopy(rollout_example.ARGS["phases"][2]["gate"])
        args["phases"][i]["min_sample"] = None
    p = planner(phases=args["phases"], alpha_spending="obrien_fleming")
    first = p.evaluate_gate("2.5.0", 3, [rates("conversion_rate", (8000, 160), (2000, 41))])
    second = p.evaluate_gate("2.5.0", 4, [rates("conversion_rate", (5000, 100), (5000, 103))])
    # Lan-DeMets O'Brien-Fleming at t = 1/2 and 1, one-sided 0.05 (z_{1-a/2} with a = 2 x 0.05 / 2).
    z = sps.norm.ppf(1 - 0.05 / 2)
    spent_half = 2 - 2 * sps.norm.cdf(z / 0.5**0.5)
    assert (first.look, first.looks, second.look) == (1, 2, 2)
    assert first.alpha == pytest.approx(spent_half, rel=0.005)
    assert second.alpha == pytest.approx(0.05 - spent_half, rel=0.005)


def means(
    metric: str, c: tuple[int, float, float], t: tuple[int, float, float], unit: str | None
) -> Observation:
    return Observation.model_validate(
        {
            "metric": metric,
            "control": {"n": c[0], "mean": c[1], "sd": c[2]},
            "treatment": {"n": t[0], "mean": t[1], "sd": t[2]},
            **({"unit": unit} if unit else {}),
        }
    )


def test_a_mean_is_compared_with_a_threshold_after_converting_its_unit() -> None:
    gate_ok = rates("conversion_rate", (8000, 160), (2000, 41))
    calm = planner().evaluate_gate(
        "2.5.0", GATED, [gate_ok, means("latency_p99", (8000, 350, 80), (2000, 360, 80), "ms")]
    )
    slow = planner().evaluate_gate(
        "2.5.0", GATED, [gate_ok, means("latency_p99", (8000, 1.9, 0.1), (2000, 2.4, 0.1), "seconds")]
    )
    assert calm.decision == "go"  # 360 ms is well under the 2 s halt
    assert slow.decision == "rollback" and "latency_p99 is 2.4" in slow.reasons[-1]


def test_a_mean_without_its_unit_is_refused_where_the_threshold_has_one() -> None:
    gate_ok = rates("conversion_rate", (8000, 160), (2000, 41))
    with pytest.raises(InvalidInput) as info:
        planner().evaluate_gate(
            "2.5.0", GATED, [gate_ok, means("latency_p99", (8000, 350, 80), (2000, 360, 80), None)]
        )
    assert info.value.field == "observations[1].unit"


def test_a_rate_against_a_percent_halt_is_compared_in_percent() -> None:
    # db_pool_utilization > 90 percent halts: 1,950 of 2,000 is 97.5 percent
    result = planner().evaluate_gate(
        "2.5.0",
        GATED,
        [
            rates("conversion_rate", (8000, 160), (2000, 41)),
            rates("db_pool_utilization", (8000, 5600), (2000, 1950)),
        ],
    )
    assert result.decision == "rollback"


def sequential_planner() -> ReleasePlanner:
    args = copy.deepcopy(rollout_example.ARGS)
    for i in (1, 2, 3):
        args["phases"][i]["gate"] = {
            "type": "sequential",
            "metric": "conversion_rate",
            "mde": 1,
            "baseline_rate": 2,
        }
        args["phases"][i]["min_sample"] = None
    return planner(phases=args["phases"])


def test_a_sequential_gate_reads_its_interval_as_a_confidence_sequence_at_every_look() -> None:
    observed = [rates("conversion_rate", (8000, 160), (2000, 41))]
    result = sequential_planner().evaluate_gate("2.5.0", 3, observed, look=7)

    n = 2 / (1 / 8000 + 1 / 2000)
    se = (0.02 * 0.98 / 8000 + 0.0205 * 0.9795 / 2000) ** 0.5
    rho2 = (-2 * math.log(0.05) + math.log(-2 * math.log(0.05) + 1)) / 5000
    z = math.sqrt(2 * (n * rho2 + 1) * math.log(math.sqrt(n * rho2 + 1) / 0.05) / (n * rho2))
    assert result.effect is not None and (result.look, result.looks, result.alpha) == (7, 7, 0.05)
    assert result.effect.ci_high - result.effect.estimate == pytest.approx(z * se, rel=0.005)
    assert z > sps.norm.ppf(0.975)  # wider than the fixed-horizon interval: the price of peeking


def test_the_confidence_sequence_keeps_its_error_rate_over_repeated_looks() -> None:
    rng = np.random.default_rng(7)
    looks = np.array([1_000, 5_000, 20_000])
    z = np.array([stats.confidence_sequence_z(n, 0.05) for n in looks])
    fixed = sps.norm.ppf(0.975)
    crossed_cs = crossed_fixed = 0
    for _ in range(2_000):
        walk = np.cumsum(rng.standard_normal(looks[-1]))[looks - 1] / np.sqrt(looks)
        crossed_cs += bool(np.any(np.abs(walk) > z))
        crossed_fixed += bool(np.any(np.abs(walk) > fixed))
    assert crossed_cs / 2_000 <= 0.05 < crossed_fixed / 2_000


def test_a_look_past_the_plans_looks_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        planner().evaluate_gate("2.5.0", GATED, [rates("conversion_rate", (8000, 160), (2000, 41))], look=2)
    assert info.value.field == "look" and info.value.valid == "1 to 1"
