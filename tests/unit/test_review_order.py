"""The whole-release review reports the same cross-artifact finding whatever the order of writes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools import review
from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.registry import KINDS
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.results import Notice
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.service import ReleasePlanner

CODE = "halt_threshold_disagrees_with_rollback"


def disagreeing_rollout() -> RolloutSpec:
    args = copy.deepcopy(rollout_example.ARGS)
    args["halt_threshold"][0]["threshold"] = 3  # the rollback's trigger fires at error_rate > 5 percent
    return RolloutSpec.model_validate(args)


def found(notices: list[Notice]) -> list[tuple[str, str, str | None]]:
    return [(n.code, n.message, n.field) for n in notices if n.code == CODE]


@pytest.mark.parametrize(
    "rollout_first", [True, False], ids=["rollout then rollback", "rollback then rollout"]
)
def test_a_halt_threshold_against_the_triggers_is_reported_by_both_writes_and_the_read(
    rollout_first: bool,
) -> None:
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    rollback = RollbackSpec.model_validate(rollback_example.ARGS)
    writes = [disagreeing_rollout(), rollback] if rollout_first else [rollback, disagreeing_rollout()]

    first, second = (planner.write(spec) for spec in writes)

    assert found(first.warnings) == []  # the other half of the pair is not stored yet
    [finding] = found(second.warnings)
    assert finding[2] == "halt_threshold[0]"
    assert "error_rate > 3%" in finding[1] and "error_rate > 5%" in finding[1]
    assert found(planner.get_release_plan("2.5.0").warnings) == [finding]
    assert found(planner.summarize_release("2.5.0").warnings) == [finding]


def test_both_orders_store_the_same_finding() -> None:
    def run(rollout_first: bool) -> list[tuple[str, str, str | None]]:
        planner = ReleasePlanner(MemoryStore())
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
        rollback = RollbackSpec.model_validate(rollback_example.ARGS)
        for spec in [disagreeing_rollout(), rollback] if rollout_first else [rollback, disagreeing_rollout()]:
            planner.write(spec)
        return found(planner.get_release_plan("2.5.0").warnings)

    assert run(True) == run(False) != []


def test_every_rule_names_a_known_code_kind_and_fix_once() -> None:
    kinds = {k.name for k in KINDS}
    codes = [rule.code for rule in review.RULES]
    assert len(codes) == len(set(codes))
    for rule in review.RULES:
        assert rule.points_at in rule.reads <= kinds, rule.code
        assert len(rule.reads) >= 2, f"{rule.code} reads one artifact: it belongs in that spec's check"
        assert rule.fix


def test_a_rule_error_blocks_only_the_artifact_it_points_at() -> None:
    finding = review.ReviewFinding(
        finding=review.Finding(
            code="x", severity="error", message="m", field="phases", kind="migration_path"
        ),
        involves=frozenset({"migration_path:db", "release_plan"}),
    )
    [own] = review.for_artifact([finding], "migration_path:db")
    [other] = review.for_artifact([finding], "release_plan")
    assert (own.severity, other.severity) == ("error", "warning")
    assert review.for_artifact([finding], "migration_path:other") == []


def _ctx(**slots: Any) -> ReleaseContext:
    return ReleaseContext(version="2.5.0", **slots)


def test_the_review_of_a_release_with_one_artifact_finds_nothing_across_artifacts() -> None:
    for spec in (disagreeing_rollout(), RollbackSpec.model_validate(rollback_example.ARGS)):
        kind = next(k for k in KINDS if isinstance(spec, k.spec))
        assert review.review(_ctx().with_spec(kind, spec)) == []
