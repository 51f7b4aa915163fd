"""The safety net between the rollout and the rollback (issue 9, class C), in both write orders.

A halt with no rollback trigger, a trigger the rollout does not halt on, a trigger that cannot fire
inside the phase it guards, a rollout with no halt at all, phases whose go/no-go call has no owner
or metric, and phases that expose nobody new; each caught, and the sound seed release left alone.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools.base import Finding, ReleaseContext
from release_planner.tools.errors import InvalidInput, NotFound
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.examples.rollout import cond
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.results import Notice
from release_planner.tools.review import check_artifact, review
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.service import ReleasePlanner

NET_CODES = {
    "no_halt_threshold",
    "halt_without_rollback_trigger",
    "rollback_trigger_not_halted",
    "halt_threshold_disagrees_with_rollback",
    "trigger_window_exceeds_phase",
    "phase_without_decision_owner",
    "phase_without_go_metric",
    "ungated_step_to_full_rollout",
    "phase_adds_no_exposure",
}


def rollout_args(**changes: Any) -> dict[str, Any]:
    args = copy.deepcopy(rollout_example.ARGS)
    args.update(changes)
    return args


def rollout(args: dict[str, Any] | None = None) -> RolloutSpec:
    return RolloutSpec.model_validate(args if args is not None else rollout_example.ARGS)


def rollback(triggers: list[dict[str, Any]] | None = None) -> RollbackSpec:
    args = copy.deepcopy(rollback_example.ARGS)
    if triggers is not None:
        args["automatic_triggers"] = triggers
    return RollbackSpec.model_validate(args)


def plan() -> ReleasePlanSpec:
    return ReleasePlanSpec.model_validate(plan_example.ARGS)


def release(**slots: Any) -> ReleaseContext:
    return ReleaseContext(version="2.5.0", plan=plan(), **slots)


def found(findings: list[Finding], codes: set[str] = NET_CODES) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.severity, f.field) for f in findings if f.code in codes]


def reviewed(ctx: ReleaseContext) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (r.finding.code, r.finding.severity, r.finding.field, r.finding.kind)
        for r in review(ctx)
        if r.finding.code in NET_CODES
    ]


def without(items: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(c) for c in items if c["metric"] != metric]


# ---- the sound seed --------------------------------------------------------------------------------


def test_the_seed_rollout_and_rollback_form_a_whole_net():
    ctx = release(rollout=rollout(), rollback=rollback())
    assert reviewed(ctx) == []
    assert found(check_artifact(rollout(), ctx)) == []
    assert found(check_artifact(rollback(), ctx)) == []


# ---- a rollout with no halt threshold ------------------------------------------------------------


def test_a_rollout_without_any_halt_threshold_is_warned_on_its_own():
    plan_ = rollout(rollout_args(halt_threshold=[]))
    [finding] = [f for f in plan_.check(ReleaseContext(version="2.5.0")) if f.code == "no_halt_threshold"]
    assert (finding.severity, finding.field) == ("warning", "halt_threshold")
    assert "nothing stops it" in finding.message


def test_without_halts_every_rollback_trigger_is_named_as_one_to_copy():
    ctx = release(rollout=rollout(rollout_args(halt_threshold=[])), rollback=rollback())
    assert [f for c, _, f, _ in reviewed(ctx) if c == "rollback_trigger_not_halted"] == [
        f"automatic_triggers[{i}]" for i in range(4)
    ]


# ---- halts and triggers in pairs -------------------------------------------------------------------


def test_a_halt_with_no_rollback_trigger_is_reported_on_the_rollout():
    triggers = without(rollback_example.ARGS["automatic_triggers"], "db_pool_utilization")
    ctx = release(rollout=rollout(), rollback=rollback(triggers))
    assert reviewed(ctx) == [
        ("halt_without_rollback_trigger", "warning", "halt_threshold[3]", "rollout_plan"),
    ]
    [finding] = [r.finding for r in review(ctx) if r.finding.code == "halt_without_rollback_trigger"]
    assert "db_pool_utilization > 90% for 5 min" in finding.message
    assert "automatic_triggers" in finding.message


def test_a_rollback_trigger_the_rollout_does_not_halt_on_is_reported_on_the_rollback():
    halts = without(rollout_example.ARGS["halt_threshold"], "latency_p99")
    ctx = release(rollout=rollout(rollout_args(halt_threshold=halts)), rollback=rollback())
    assert reviewed(ctx) == [
        ("rollback_trigger_not_halted", "warning", "automatic_triggers[1]", "rollback_strategy"),
    ]


def test_metric_names_match_whatever_the_case_separators_or_unit_suffix_and_units_are_converted():
    halts = [
        cond("ErrorRate", ">", 0.05, "ratio", 5),
        cond("latency-p99", ">", 2000, "ms", 10),
        cond("Payment Failure Rate", ">", 2, "percent", 5),
        cond("db_pool_utilization_pct", ">", 90, "percent", 5),
    ]
    ctx = release(rollout=rollout(rollout_args(halt_threshold=halts)), rollback=rollback())
    assert reviewed(ctx) == []


def test_a_near_miss_metric_name_is_unmatched_and_the_closest_name_suggested():
    halts = copy.deepcopy(rollout_example.ARGS["halt_threshold"])
    halts[3]["metric"] = "db_pool_utilisation"
    ctx = release(rollout=rollout(rollout_args(halt_threshold=halts)), rollback=rollback())
    assert [c for c, *_ in reviewed(ctx)] == ["halt_without_rollback_trigger", "rollback_trigger_not_halted"]
    messages = [r.finding.message for r in review(ctx) if r.finding.code in NET_CODES]
    assert "did you mean 'db_pool_utilization'" in messages[0]
    assert "did you mean 'db_pool_utilisation'" in messages[1]


def test_a_matched_pair_with_another_threshold_disagrees_instead_of_being_unmatched():
    halts = copy.deepcopy(rollout_example.ARGS["halt_threshold"])
    halts[1] = cond("latency_p99", ">", 1500, "ms", 10)  # the trigger fires at 2 seconds
    ctx = release(rollout=rollout(rollout_args(halt_threshold=halts)), rollback=rollback())
    assert reviewed(ctx) == [
        ("halt_threshold_disagrees_with_rollback", "warning", "halt_threshold[1]", "rollout_plan"),
    ]


def codes_of(notices: list[Notice]) -> list[tuple[str, str | None]]:
    return [(n.code, n.field) for n in notices if n.code in NET_CODES]


@pytest.mark.parametrize(
    "rollout_first", [True, False], ids=["rollout then rollback", "rollback then rollout"]
)
def test_an_unmatched_halt_and_trigger_are_reported_by_whichever_write_comes_second(rollout_first: bool):
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(plan())
    halts = without(rollout_example.ARGS["halt_threshold"], "latency_p99")
    triggers = without(rollback_example.ARGS["automatic_triggers"], "db_pool_utilization")
    specs = [rollout(rollout_args(halt_threshold=halts)), rollback(triggers)]
    first, second = (planner.write(s) for s in (specs if rollout_first else specs[::-1]))

    expected = [
        ("halt_without_rollback_trigger", "halt_threshold[2]"),
        ("rollback_trigger_not_halted", "automatic_triggers[1]"),
    ]
    assert codes_of(first.warnings) == []  # the other half is not stored yet
    assert codes_of(second.warnings) == expected
    assert codes_of(planner.get_release_plan("2.5.0").warnings) == expected
    # what a write reports reads the same from the other write order
    second_messages = sorted(n.message for n in second.warnings if n.code in NET_CODES)
    read_messages = sorted(
        n.message for n in planner.get_release_plan("2.5.0").warnings if n.code in NET_CODES
    )
    assert second_messages == read_messages


# ---- trigger windows against phases ----------------------------------------------------------------


def test_a_trigger_window_longer_than_a_phase_cannot_fire_before_the_phase_moves_on():
    triggers = copy.deepcopy(rollback_example.ARGS["automatic_triggers"])
    triggers[0]["window_minutes"] = 25 * 60  # phase 1, the shortest, lasts 24 hours
    halts = copy.deepcopy(rollout_example.ARGS["halt_threshold"])
    halts[0]["window_minutes"] = 25 * 60
    ctx = release(rollout=rollout(rollout_args(halt_threshold=halts)), rollback=rollback(triggers))
    assert reviewed(ctx) == [
        (
            "trigger_window_exceeds_phase",
            "warning",
            "automatic_triggers[0].window_minutes",
            "rollback_strategy",
        )
    ]
    [finding] = [r.finding for r in review(ctx) if r.finding.code == "trigger_window_exceeds_phase"]
    assert "phase 1 'Internal Dogfooding'" in finding.message and "24 hours" in finding.message
    assert "at most 1440" in finding.message


def test_a_trigger_window_is_not_held_against_the_open_ended_last_phase():
    phases = copy.deepcopy(rollout_example.ARGS["phases"])
    ctx = release(rollout=rollout(rollout_args(phases=[phases[-1]])), rollback=rollback())
    assert [c for c, *_ in reviewed(ctx) if c == "trigger_window_exceeds_phase"] == []


# ---- go/no-go calls --------------------------------------------------------------------------------


def with_phase(index: int, **changes: Any) -> RolloutSpec:
    args = rollout_args()
    args["phases"][index].update(changes)
    return rollout(args)


def own(plan_: RolloutSpec) -> list[tuple[str, str, str | None]]:
    return found(plan_.check(ReleaseContext(version="2.5.0")))


def test_a_phase_whose_call_has_no_owner_is_warned():
    assert own(with_phase(1, decision_owner=None)) == [
        ("phase_without_decision_owner", "warning", "phases[1].decision_owner")
    ]


def test_a_phase_decided_on_prose_alone_is_warned_and_told_to_add_a_metric():
    [finding] = [
        f
        for f in with_phase(1, metric_targets=[]).check(ReleaseContext(version="2.5.0"))
        if f.code in NET_CODES
    ]
    assert (finding.code, finding.field) == ("phase_without_go_metric", "phases[1].metric_targets")
    assert "only prose rules" in finding.message


def test_a_gate_alone_is_a_metric_to_decide_on():
    gate = {"type": "non_inferiority", "metric": "conversion_rate", "margin": 1.0, "alpha": 0.05}
    assert own(with_phase(2, metric_targets=[], gate=gate)) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"decision_owner": None}, "phases[3].decision_owner"),
        ({"metric_targets": []}, "phases[3].metric_targets"),
        ({"decision_owner": None, "metric_targets": []}, "phases[3].decision_owner"),
    ],
)
def test_the_step_to_100_percent_without_an_owner_or_a_metric_is_an_error(changes, field):
    plan_ = with_phase(3, **changes)
    assert own(plan_) == [("ungated_step_to_full_rollout", "error", field)]


def test_an_ungated_step_to_100_percent_is_refused_and_nothing_is_stored():
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(plan())
    with pytest.raises(InvalidInput, match="ungated_step_to_full_rollout"):
        planner.write(with_phase(3, decision_owner=None))
    with pytest.raises(NotFound):
        planner.release_timeline("2.5.0")


def test_the_last_phase_and_a_single_100_percent_phase_need_no_call():
    assert own(rollout()) == []
    last = copy.deepcopy(rollout_example.ARGS["phases"][-1])
    assert own(rollout(rollout_args(phases=[last]))) == []


# ---- phases that add no exposure -------------------------------------------------------------------


def test_a_phase_at_the_same_percent_and_audience_adds_no_exposure():
    args = rollout_args()
    repeat = copy.deepcopy(args["phases"][1])
    repeat["name"] = "Beta Users, second look"
    args["phases"].insert(2, repeat)
    assert own(rollout(args)) == [("phase_adds_no_exposure", "warning", "phases[2].percent")]


def test_the_same_percent_with_a_new_segment_adds_exposure():
    args = rollout_args()
    wider = copy.deepcopy(args["phases"][1])
    wider["name"] = "Beta Users and partners"
    wider["targeting"]["segments"].append("partner=true")
    args["phases"].insert(2, wider)
    assert own(rollout(args)) == []


def test_untargeted_phases_at_one_percent_count_as_the_same_audience_only_when_described_alike():
    def phases(first: str, second: str) -> list[dict[str, Any]]:
        return [
            {"name": "A", "audience": first, "percent": 10, "duration_hours": 24, "decision_owner": "Al",
             "metric_targets": [cond("error_rate", "<", 1)]},
            {"name": "B", "audience": second, "percent": 10, "duration_hours": 24, "decision_owner": "Al",
             "metric_targets": [cond("error_rate", "<", 1)]},
            {"name": "C", "audience": "everyone", "percent": 100},
        ]  # fmt: skip

    same = rollout(rollout_args(phases=phases("EU users", "EU-users")))
    other = rollout(rollout_args(phases=phases("EU users", "US users")))
    assert own(same) == [("phase_adds_no_exposure", "warning", "phases[1].percent")]
    assert own(other) == []


def test_a_second_phase_at_100_percent_adds_nobody_whatever_its_targeting():
    args = rollout_args()
    last = copy.deepcopy(args["phases"][-1])
    args["phases"][-1]["duration_hours"] = 48
    args["phases"][-1]["decision_owner"] = "Alice Chen"
    last.update(name="Flags removed", targeting=None, audience="Everyone, flags deleted")
    args["phases"].append(last)
    assert own(rollout(args)) == [("phase_adds_no_exposure", "warning", "phases[5].percent")]


# ---- halt thresholds against the phase targets, after conversion -----------------------------------


def test_a_phase_target_in_another_unit_and_spelling_is_still_compared_with_the_halt():
    targets = [cond("ErrorRate", "<", 0.06, "ratio", 60)]  # 6% is healthy here, but halts at 5%
    findings = [
        (f.code, f.field) for f in with_phase(1, metric_targets=targets).check(ReleaseContext("2.5.0"))
    ]
    assert findings == [("metric_target_looser_than_halt", "phases[1].metric_targets[0]")]
    tight = [cond("ErrorRate", "<", 0.01, "ratio", 60)]
    assert with_phase(1, metric_targets=tight).check(ReleaseContext("2.5.0")) == []
