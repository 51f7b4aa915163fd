"""Gate decisions in a real git workspace: one commit per decision, and blobs engram reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.validate import validate_repository
from release_planner.tools.decision import DecisionSpec
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.ports import Change, TaskRecord
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.service import ReleasePlanner


class Recording:
    """A store that remembers the changes of each commit call."""

    def __init__(self, store: GitRefsStore) -> None:
        self._store = store
        self.commits: list[list[Change]] = []

    def commit(self, changes: Any) -> Any:
        self.commits.append(list(changes))
        return self._store.commit(changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def decide(phase: int, verdict: str, hour: int, **extra: Any) -> DecisionSpec:
    return DecisionSpec.model_validate(
        {
            "version": "2.5.0",
            "phase": phase,
            "decision": verdict,
            "decided_by": "Dana Lee",
            "decided_at": f"2026-03-{17 + phase:02d}T{hour:02d}:00:00Z",
            "reasons": ["dashboards green"],
            **extra,
        }
    )


def test_each_decision_and_the_task_move_it_causes_land_in_one_commit_that_engram_reads(
    tmp_path: Path,
) -> None:
    with GitRefsStore(tmp_path) as git_store:
        store = Recording(git_store)
        planner = ReleasePlanner(store)  # type: ignore[arg-type]
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
        planner.design_rollback(RollbackSpec.model_validate(rollback_example.ARGS))
        planner.plan_rollout(RolloutSpec.model_validate(rollout_example.ARGS))
        task_id = planner.get_release_plan("2.5.0").task_id
        store.commits.clear()

        for phase in range(1, 6):
            planner.record_decision(decide(phase, "go", 15))

        moved = [
            [c.record.status for c in commit if isinstance(c.record, TaskRecord)] for commit in store.commits
        ]
        assert moved == [["inprogress"], [], [], [], ["done"]]
        assert all(sum(c.id == task_id for c in commit) <= 1 for commit in store.commits)
        task = git_store.get("task", task_id)
        assert task is not None and isinstance(task.record, TaskRecord)
        assert (task.record.status, task.record.end_time) == ("done", "2026-03-22T15:00:00Z")
    assert validate_repository(tmp_path) == []


def test_a_cancelled_release_is_valid_engram_too(tmp_path: Path) -> None:
    with GitRefsStore(tmp_path) as store:
        planner = ReleasePlanner(store)
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
        planner.design_rollback(RollbackSpec.model_validate(rollback_example.ARGS))
        planner.plan_rollout(RolloutSpec.model_validate(rollout_example.ARGS))
        planner.record_decision(decide(1, "rollback", 9, rollback_procedure="application"))
        view = planner.get_release_plan("2.5.0")
        assert view.status == "cancelled"
    assert validate_repository(tmp_path) == []
