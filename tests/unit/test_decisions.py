"""Running the plan: gate decisions move the release, in order, and the status says where it stands."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools.decision import DecisionSpec
from release_planner.tools.errors import InvalidInput
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.service import ReleasePlanner

START = datetime(2026, 3, 16, 14, 0, tzinfo=UTC)  # the seed rollout starts 10:00 in New York


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def planned(clock: Clock | None = None) -> tuple[ReleasePlanner, MemoryStore]:
    store = MemoryStore()
    planner = ReleasePlanner(store, clock=clock)
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    planner.design_rollback(RollbackSpec.model_validate(rollback_example.ARGS))
    planner.plan_rollout(RolloutSpec.model_validate(rollout_example.ARGS))
    return planner, store


def decide(phase: int | str, decision: str = "go", hours: float = 24, **extra: Any) -> DecisionSpec:
    args: dict[str, Any] = {
        "version": "2.5.0",
        "phase": phase,
        "decision": decision,
        "decided_by": "Dana Lee (release manager)",
        "decided_at": (START + timedelta(hours=hours)).isoformat(),
        "reasons": ["error rate flat, no support tickets"],
        **extra,
    }
    return DecisionSpec.model_validate(args)


def task_of(planner: ReleasePlanner) -> Any:
    view = planner.get_release_plan("2.5.0")
    return planner.store.get("task", view.task_id).record  # type: ignore[union-attr]


def test_a_go_at_every_gate_takes_the_release_from_todo_through_inprogress_to_done() -> None:
    planner, _ = planned()
    assert task_of(planner).status == "todo"

    first = planner.record_decision(decide(1, hours=24))
    assert task_of(planner).status == "inprogress"
    assert first.computed == {"phase_number": 1, "phases_passed": 1, "release_ended": None}
    for n, hours in [(2, 72), (3, 170), ("Majority Rollout", 220)]:
        planner.record_decision(decide(n, hours=hours))
    assert task_of(planner).status == "inprogress"

    planner.record_decision(decide("full rollout", hours=240))

    task = task_of(planner)
    assert (task.status, task.end_time) == ("done", "2026-03-26T14:00:00Z")
    assert "said go at the last gate" in (task.outcome or "")
    status = planner.get_release_status("2.5.0")
    assert (status.status, status.current_phase, status.next_gate) == ("done", None, None)
    assert [p.state for p in status.phases] == ["passed"] * 5
    assert [d.phase_number for d in status.decisions] == [1, 2, 3, 4, 5]


def test_a_rollback_cancels_the_release_naming_the_procedure_and_nothing_may_follow() -> None:
    planner, _ = planned()
    planner.record_decision(decide(1, hours=24))
    planner.record_decision(decide(2, "rollback", hours=50, rollback_procedure="feature-flag"))

    task = task_of(planner)
    assert task.status == "cancelled"
    assert "feature-flag procedure" in (task.outcome or "") and "Beta Users" in (task.outcome or "")
    status = planner.get_release_status("2.5.0")
    assert [p.state for p in status.phases] == ["passed", "rolled_back", "upcoming", "upcoming", "upcoming"]
    with pytest.raises(InvalidInput) as info:
        planner.record_decision(decide(3, hours=60))
    assert "decision_out_of_order" in info.value.message and "already ended (cancelled)" in info.value.message


def test_a_hold_keeps_the_phase_under_way_and_a_later_go_passes_it() -> None:
    planner, _ = planned()
    planner.record_decision(decide(1, "hold", hours=24))
    assert planner.get_release_status("2.5.0").current_phase == "Internal Dogfooding"
    planner.record_decision(decide(1, hours=30))
    status = planner.get_release_status("2.5.0")
    assert (status.current_phase, status.current_phase_number) == ("Beta Users", 2)


@pytest.mark.parametrize(
    ("decisions", "code", "words"),
    [
        ([decide(2)], "decision_out_of_order", "phase 1 has not passed yet"),
        ([decide(1), decide(1, hours=30)], "decision_out_of_order", "phase 1 already passed"),
        ([decide("Gamma")], "decision_for_unknown_phase", "1 'Internal Dogfooding'"),
        ([decide(9)], "decision_for_unknown_phase", "no phase 9"),
        ([decide(1, "rollback", rollback_procedure="database")], "unknown_rollback_procedure", "application"),
        ([decide(1, "rollback")], "rollback_without_procedure", "rollback_procedure"),
        ([decide(1, reasons=[])], "decision_without_evidence", "evaluate_gate"),
    ],
)
def test_a_decision_that_does_not_fit_is_refused_and_stores_nothing(
    decisions: list[DecisionSpec], code: str, words: str
) -> None:
    planner, _ = planned()
    *before, last = decisions
    for d in before:
        planner.record_decision(d)
    revision = task_of(planner)
    with pytest.raises(InvalidInput) as info:
        planner.record_decision(last)
    assert code in info.value.message and words in info.value.message
    assert task_of(planner) == revision
    assert len(planner.get_release_status("2.5.0").decisions) == len(before)


def test_a_decision_before_any_rollout_is_refused() -> None:
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    with pytest.raises(InvalidInput) as info:
        planner.record_decision(decide(1))
    assert "call plan_rollout first" in info.value.message


def test_phase_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        decide(0)


def test_the_status_names_a_phase_that_is_late_against_the_timeline() -> None:
    clock = Clock(START + timedelta(hours=100))
    planner, _ = planned(clock)
    planner.record_decision(decide(1, hours=24))

    status = planner.get_release_status("2.5.0")

    assert (status.current_phase, status.next_gate_due) == ("Beta Users", "2026-03-19T10:00:00-04:00")
    assert status.overdue == [
        "phase 2 (Beta Users) was due to end at 2026-03-19T10:00:00-04:00 (28 h late) and its gate "
        "has not said go"
    ]
    assert "Late:" in status.summary and status.next_steps[0].startswith("evaluate_gate for phase 2")


def test_a_rollout_not_started_on_time_is_late_and_one_started_early_is_not() -> None:
    early, _ = planned(Clock(START - timedelta(hours=1)))
    assert early.get_release_status("2.5.0").overdue == []
    late, _ = planned(Clock(START + timedelta(hours=2)))
    assert late.get_release_status("2.5.0").overdue[0].startswith("the rollout was due to start")


def test_the_release_markdown_and_summary_say_where_the_rollout_stands() -> None:
    planner, _ = planned()
    planner.record_decision(decide(1, hours=24))
    line = "Rolling out: phase 2 of 5 (Beta Users) under way, 1 passed (1 decision(s) recorded)."
    assert line in planner.release_markdown("2.5.0")
    assert line in planner.summarize_release("2.5.0").summary


def test_a_decision_reads_back_equal_and_renders_its_evidence_in_words() -> None:
    planner, _ = planned()
    written = planner.record_decision(decide(1, hours=24))
    assert (
        "**Decision:** GO" in written.markdown
        and "phase 1 of 5, Internal Dogfooding (1%)" in written.markdown
    )
    spec = decide(1, hours=24)
    assert DecisionSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_a_decision_without_a_time_is_stamped_with_the_time_of_the_call() -> None:
    args = copy.deepcopy(decide(1).model_dump(mode="json"))
    del args["decided_at"]
    before = datetime.now(UTC)
    spec = DecisionSpec.model_validate(args)
    assert spec.decided_at is not None and before <= spec.decided_at <= datetime.now(UTC)


def test_decisions_at_the_same_instant_read_back_in_the_order_they_were_accepted() -> None:
    planner, _ = planned()
    planner.record_decision(decide(1, hours=20))
    planner.record_decision(decide(2, hours=20))
    assert [n.code for n in planner.get_release_plan("2.5.0").warnings] == []
    assert planner.get_release_status("2.5.0").current_phase_number == 3


def test_a_hold_and_a_go_in_the_same_second_are_two_decisions() -> None:
    planner, _ = planned()
    first = planner.record_decision(decide(1, "hold", hours=20))
    second = planner.record_decision(decide(1, "go", hours=20))
    assert (first.created, second.created) == (True, True)
    assert [d.decision for d in planner.get_release_status("2.5.0").decisions] == ["hold", "go"]


def test_a_decision_dated_in_the_future_is_refused() -> None:
    late = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    with pytest.raises(ValueError, match="in the future"):
        DecisionSpec.model_validate({**decide(1).model_dump(mode="json"), "decided_at": late})


def test_a_rollout_rewritten_under_recorded_decisions_moves_the_release_in_the_same_commit() -> None:
    planner, _ = planned()
    for n, hours in [(1, 24), (2, 72), (3, 170), (4, 220)]:
        planner.record_decision(decide(n, hours=hours))
    assert task_of(planner).status == "inprogress"
    shorter = copy.deepcopy(rollout_example.ARGS)
    shorter["phases"] = shorter["phases"][:4]
    shorter["phases"][3]["percent"] = 100
    shorter["phases"][3]["duration_hours"] = None

    planner.plan_rollout(RolloutSpec.model_validate(shorter))

    task = task_of(planner)
    assert (task.status, task.end_time) == ("done", "2026-03-25T18:00:00Z")
