"""Go-criteria in words: 'no significant difference' as a pass is caught in any wording, a stated
non-inferiority or equivalence test never is, and significance tested at a fixed level in several
phases is caught as repeated looks."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples.rollout import ARGS, SEED_AS_WRITTEN
from release_planner.tools.review import check_artifact
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.rollout.gate_wording import (
    every_phase,
    passes_on_no_difference,
    significance_look,
    states_margin,
)

EMPTY = ReleaseContext(version="2.5.0")

NO_DIFFERENCE_AS_SAFE = [
    "No statistically significant increase in errors",
    "Checkout conversion not significantly worse",
    "Conversion not significantly worse than control",
    "p > 0.05 for error rate",
    "p-value ≥ .05 on conversion",
    "p value above 0.1 for error rate",
    "Difference not significant",
    "The difference in error rate is not statistically significant",
    "No detectable regression in p99 latency",
    "No regression detected in p99 latency",
    "Metrics flat",
    "KPIs at parity",
    "Conversion at parity with control",
    "Conversion statistically indistinguishable from control",
    "No significant difference in conversion",
    "No statistical difference in key metrics (or improvement)",
    "Positive or neutral A/B results",
    "Go unless error rate increases significantly",
    "The A/B test fails to reach significance",
    "Conversion lift didn't reach significance",
    "Non-significant change in latency",
    "Difference is insignificant",
    "No stat-sig drop in checkout",
    "Error rate unchanged vs baseline",
    "No drop in conversion vs control",
    "No metric regressions",
    "No worse than control",
    "A/B test inconclusive",
    "Error rate in line with the control group",
    "No statistically significant increase in error rate at the 5% level",
    "No significant difference at α = 5%",
    "No significant drop in conversion (95% confidence)",
    "Customer-facing metrics show no regression",
    "Mann-Whitney test shows no significant difference in latency",
]

SOUND_OR_NOT_STATISTICAL = [
    # properly stated non-inferiority and equivalence tests
    "Upper bound of the 95% CI of the error-rate increase below 0.5 pp",
    "Non-inferior within a margin of 1%",
    "Conversion non-inferior: the upper bound of the drop is below 1 percentage point",
    "Not significantly worse by more than 0.5 pp",
    "TOST with ±0.5 pp equivalence bounds passes",
    "Equivalence test: the 90% CI of the difference lies within ±0.5 pp",
    "One-sided lower bound of the conversion difference above -0.3 pp",
    # data-quality preconditions pass on 'no mismatch' by design
    "No SRM (p > 0.001)",
    "No sample ratio mismatch: chi-square p > 0.001",
    # plain operational criteria
    "No critical bugs",
    "No user complaints",
    "Positive or neutral beta feedback",
    "Feature parity with the old search confirmed",
    "Infrastructure stable, costs in budget, no user complaints",
    "All metrics green, no critical bugs, positive feedback",
    "Fewer than 3 critical bugs (all fixed), metrics within target",
    "Metrics within target and no payment issues",
    "No significant bugs, metrics within target",
    "No critical bugs, statistically significant lift in conversion",
    "No bugs with significant user impact",
    "Support tickets at or below baseline",
    "p99 latency below 200 ms",
    "No increase in support tickets",
    "No changes to access control",
    "Zero critical bugs reported by employees",
    "No data loss in the metrics pipeline",
    "No significant incidents",
    "Error rate below 0.5%",
    "Latency p95 within 10% of baseline",
    "Conversion up significantly (p < 0.05)",
    "No increase in 5xx rate beyond 0.1 pp over baseline",
    "No sustained increase in p99 latency over baseline (>10%)",
    "Latency p99 no worse than baseline + 50 ms",
    "Error rate no more than 0.1 pp above control",
    "No anomalies detected by Kayenta",
    "No statistically significant degradation in guardrail metrics (one-sided 95% upper bound below 0.2 pp)",
]


def with_phase(index: int, **changes: Any) -> RolloutSpec:
    args = copy.deepcopy(ARGS)
    args["phases"][index].update(changes)
    return RolloutSpec.model_validate(args)


def codes(spec: RolloutSpec) -> list[tuple[str, str, str | None]]:
    return [(f.severity, f.code, f.field) for f in check_artifact(spec, EMPTY)]


# ---- no difference taken as safe -----------------------------------------------------------------


@pytest.mark.parametrize("rule", NO_DIFFERENCE_AS_SAFE)
def test_a_go_rule_passing_on_no_significant_difference_is_unsafe_in_any_wording(rule: str) -> None:
    assert codes(with_phase(1, go_rules=[rule])) == [("warning", "unsafe_ab_gate", "phases[1].go_rules")]


@pytest.mark.parametrize("rule", SOUND_OR_NOT_STATISTICAL)
def test_a_stated_margin_or_a_plain_operational_rule_is_left_alone(rule: str) -> None:
    assert check_artifact(with_phase(1, go_rules=[rule]), EMPTY) == []


def test_the_message_quotes_the_rule_and_names_the_non_inferiority_fix() -> None:
    [finding] = check_artifact(with_phase(1, go_rules=["Metrics flat"]), EMPTY)
    assert "'Metrics flat'" in finding.message
    assert "non_inferiority with a margin" in finding.message and "upper bound" in finding.message


def test_success_criteria_are_read_as_go_criteria_too() -> None:
    spec = with_phase(1, success_criteria=["No significant drop in conversion versus control"])
    assert codes(spec) == [("warning", "unsafe_ab_gate", "phases[1].success_criteria")]


def test_a_non_inferiority_gate_with_a_margin_decides_the_phase_so_its_wording_is_not_flagged() -> None:
    # The corrected example's 20% phase: a non_inferiority gate with a 1-point margin.
    assert check_artifact(with_phase(2, go_rules=["Conversion not significantly worse"]), EMPTY) == []


def test_neutral_results_next_to_a_superiority_gate_are_unsafe() -> None:
    gate = {"type": "superiority", "metric": "engagement_rate", "alpha": 0.05}
    spec = with_phase(1, gate=gate, min_sample=500, go_rules=["Engagement neutral or better"])
    assert codes(spec) == [("warning", "unsafe_ab_gate", "phases[1].go_rules")]


def test_a_sequential_gate_without_a_margin_does_not_make_no_difference_safe() -> None:
    gate = {"type": "sequential", "metric": "conversion_rate", "alpha": 0.05}
    spec = with_phase(1, gate=gate, min_sample=500, go_rules=["No significant difference in conversion"])
    assert codes(spec) == [("warning", "unsafe_ab_gate", "phases[1].go_rules")]
    with_margin = {**gate, "margin": 1.0}
    safe = with_phase(
        1, gate=with_margin, min_sample=500, go_rules=["No significant difference in conversion"]
    )
    assert check_artifact(safe, EMPTY) == []


def test_the_seed_skills_neutral_ab_rule_is_still_the_one_wording_finding_of_the_seed() -> None:
    spec = RolloutSpec.model_validate(SEED_AS_WRITTEN)
    assert [f.field for f in check_artifact(spec, EMPTY) if f.code == "unsafe_ab_gate"] == [
        "phases[2].go_rules"
    ]


def test_the_classifier_normalises_unicode_signs_and_contractions() -> None:
    assert passes_on_no_difference("p ≥ 0.05")
    assert passes_on_no_difference("conversion doesn’t differ significantly")
    assert states_margin("non‑inferior within 0.5 pp")
    assert not passes_on_no_difference("p99 ≥ 0.5 s halts the rollout")


# ---- repeated looks written in words ----------------------------------------------------------------


def test_significance_at_every_phase_is_repeated_looks() -> None:
    spec = with_phase(0, go_rules=["Conversion lift significant at p < 0.05 at every phase"])
    [finding] = check_artifact(spec, EMPTY)
    assert (finding.code, finding.field) == ("unsafe_ab_gate", "phases[0].go_rules")
    assert "4 looks" in finding.message and "alpha_spending" in finding.message


def test_significance_tested_in_two_phases_at_005_each_is_repeated_looks() -> None:
    args = copy.deepcopy(ARGS)
    args["phases"][0]["go_rules"] = ["Conversion up, p < 0.05"]
    args["phases"][1]["go_rules"] = ["Conversion up, statistically significant"]
    assert codes(RolloutSpec.model_validate(args)) == [("warning", "unsafe_ab_gate", "phases[1].go_rules")]


def test_significance_split_across_phases_or_corrected_or_tested_once_is_fine() -> None:
    split = copy.deepcopy(ARGS)
    split["phases"][0]["go_rules"] = ["Conversion up, p < 0.025"]
    split["phases"][1]["go_rules"] = ["Conversion up, p < 0.025"]
    assert check_artifact(RolloutSpec.model_validate(split), EMPTY) == []
    corrected = copy.deepcopy(ARGS)
    corrected["phases"][0]["go_rules"] = ["Conversion up, p < 0.05 with O'Brien-Fleming alpha spending"]
    corrected["phases"][1]["go_rules"] = ["Conversion up, p < 0.05 with O'Brien-Fleming alpha spending"]
    assert check_artifact(RolloutSpec.model_validate(corrected), EMPTY) == []
    once = with_phase(0, go_rules=["Conversion up, p < 0.05"])
    assert check_artifact(once, EMPTY) == []


def test_the_level_of_a_significance_look_is_read_from_the_text() -> None:
    assert significance_look("p < 0.01 for conversion") == 0.01
    assert significance_look("statistically significant lift") == 0.05
    assert significance_look("significant at p<5%") == 0.05
    assert significance_look("no significant drop") is None
    assert significance_look("sequential test, p < 0.05") is None
    assert every_phase("p<0.05 at each stage") and not every_phase("p<0.05")
