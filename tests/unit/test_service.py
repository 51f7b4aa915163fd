"""The use cases end to end on the memory store: the seed example, updates, conflicts, adoption."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools.errors import Conflict, InvalidInput, NotFound
from release_planner.tools.examples import migration as migration_example
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.examples import runbook as runbook_example
from release_planner.tools.migration import MigrationPathSpec
from release_planner.tools.ports import Change as StoreChange
from release_planner.tools.ports import ContextRecord, LinkRecord, ReasoningRecord, TaskRecord, new_entity_id
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.runbook import RunbookSpec
from release_planner.tools.service import ExtraLink, ReleasePlanner


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def planner(store: MemoryStore) -> ReleasePlanner:
    return ReleasePlanner(store)


def plan_seed(planner: ReleasePlanner) -> dict[str, object]:
    results = {
        "plan": planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS)),
        "rollback": planner.design_rollback(RollbackSpec.model_validate(rollback_example.ARGS)),
        "rollout": planner.plan_rollout(RolloutSpec.model_validate(rollout_example.ARGS)),
        "runbook": planner.create_runbook(RunbookSpec.model_validate(runbook_example.ARGS)),
    }
    return results


def entity_count(store: MemoryStore) -> int:
    return sum(len(store.find(t)) for t in ("task", "context", "reasoning", "relationship"))


def test_the_seed_example_plans_end_to_end_and_links_every_artifact(planner: ReleasePlanner) -> None:
    results = plan_seed(planner)
    task_ids = {r.task_id for r in results.values()}  # type: ignore[attr-defined]
    assert len(task_ids) == 1
    assert all(r.created and r.revision == 1 for r in results.values())  # type: ignore[attr-defined]

    linked = planner.link_release_entities("v2.5.0")
    assert linked.created == []  # every write already linked its artifact atomically
    assert sorted(link.relationship_type for link in linked.existing) == [
        "documents",
        "documents",
        "references",
        "references",
    ]

    view = planner.get_release_plan("2.5.0")
    assert view.missing == []
    assert view.typed is True
    assert [a.kind for a in view.artifacts] == [
        "release",
        "release_plan",
        "rollback_strategy",
        "rollout_plan",
        "runbook",
    ]
    assert view.name == plan_example.ARGS["name"]
    assert "# Rollback Strategy: v2.5.0" in view.markdown

    summary = planner.summarize_release("2.5.0")
    assert summary.summary == (
        "Release v2.5.0 (Enterprise Features) targets March 16, 2026. It includes 4 features (must have: "
        "Payment Processing (Stripe Integration) and Advanced Search (Elasticsearch); nice to have: "
        "Real-time Notifications (WebSocket) and Dark Mode UI). 2 deferred: Mobile App Redesign and API v3 "
        "(Breaking Changes). All features are behind flags. Top risk: Payment integration edge cases: "
        "refunds, disputes, failed charges (high). Rollout: 10-day feature flag rollout in 5 phases "
        "(1% → 5% → 20% → 50% → 100%), March 16 to March 25, 2026; go/no-go gates at 4 of 5 phases. "
        "Rollback: up to 1 minute for the must-have features (Payment Processing (Stripe Integration) and "
        "Advanced Search (Elasticsearch) via feature flag); confidence 0.99. Runbook: 6 deployment steps, "
        "7 smoke tests, schedule taken from the rollout plan. Every step is planned."
    )
    assert summary.facts["missing"] == []
    assert summary.warnings == []


def test_the_corrected_seed_example_raises_no_errors_and_no_cross_artifact_warnings(
    planner: ReleasePlanner,
) -> None:
    plan_seed(planner)
    codes = {w.code for w in planner.get_release_plan("2.5.0").warnings}
    assert "halt_threshold_disagrees_with_rollback" not in codes
    assert "cohorts_not_nested" not in codes
    assert "artifact_not_linked" not in codes


def test_writing_again_updates_the_same_entity_with_the_next_revision(planner: ReleasePlanner) -> None:
    first = planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    args = copy.deepcopy(plan_example.ARGS)
    args["objectives"] = [*args["objectives"], "Reduce support tickets by a quarter"]
    second = planner.create_release_plan(ReleasePlanSpec.model_validate(args))
    assert second.artifact.entity_id == first.artifact.entity_id
    assert second.task_id == first.task_id
    assert (second.revision, second.created) == (2, False)
    assert "Reduce support tickets by a quarter" in planner.release_markdown("2.5.0")


def test_a_stale_expected_revision_is_a_conflict_and_changes_nothing(
    planner: ReleasePlanner, store: MemoryStore
) -> None:
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS), expected_revision=1)
    before = planner.release_json("2.5.0")
    with pytest.raises(Conflict) as info:
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS), expected_revision=1)
    assert info.value.field == "expected_revision"
    assert "get_release_plan" in (info.value.next_step or "")
    assert planner.release_json("2.5.0") == before


def test_steps_after_the_first_need_the_release_plan(planner: ReleasePlanner) -> None:
    with pytest.raises(NotFound) as info:
        planner.design_rollback(RollbackSpec.model_validate(rollback_example.ARGS))
    assert "create_release_plan" in (info.value.next_step or "")


def test_an_invalid_plan_is_refused_whole_and_nothing_is_stored(
    planner: ReleasePlanner, store: MemoryStore
) -> None:
    args = copy.deepcopy(plan_example.ARGS)
    args["features"] = [*args["features"], copy.deepcopy(args["features"][0])]  # duplicate feature name
    with pytest.raises(InvalidInput) as info:
        planner.create_release_plan(ReleasePlanSpec.model_validate(args))
    assert "nothing was stored" in info.value.message
    assert entity_count(store) == 0


def test_reads_accept_the_v_prefix_and_refuse_a_bad_version(planner: ReleasePlanner) -> None:
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    assert planner.get_release_plan("v2.5.0").release == "2.5.0"
    with pytest.raises(InvalidInput) as info:
        planner.get_release_plan("2.5")
    assert info.value.field == "version"
    with pytest.raises(NotFound) as missing:
        planner.get_release_plan("9.9.9")
    assert "list_release_plans" in (missing.value.next_step or "")


def test_one_migration_path_per_breaking_change_updated_in_place(planner: ReleasePlanner) -> None:
    plan_args = copy.deepcopy(migration_example.PLAN_V3_ARGS)
    plan_args["breaking_changes"].append(
        plan_args["breaking_changes"][0] | {"name": "Another breaking change"}
    )
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_args))
    first = planner.design_migration_path(MigrationPathSpec.model_validate(migration_example.ARGS))
    again = planner.design_migration_path(MigrationPathSpec.model_validate(migration_example.ARGS))
    assert again.artifact.entity_id == first.artifact.entity_id and again.revision == 2
    other_args = copy.deepcopy(migration_example.ARGS)
    other_args["change"] = "Another breaking change"
    other = planner.design_migration_path(MigrationPathSpec.model_validate(other_args))
    assert other.artifact.entity_id != first.artifact.entity_id
    kinds = [a.kind for a in planner.get_release_plan("3.0.0").artifacts]
    assert kinds.count("migration_path") == 2


def test_long_markdown_is_trimmed_with_a_pointer_to_the_resource(store: MemoryStore) -> None:
    planner = ReleasePlanner(store, max_markdown_chars=400)
    result = planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    assert result.markdown_truncated
    assert "release://2.5.0" in result.markdown
    assert len(result.markdown) < 600
    assert len(planner.release_markdown("2.5.0")) > 1000  # the resource is never trimmed


def test_stored_specs_round_trip_exactly(planner: ReleasePlanner) -> None:
    plan_seed(planner)
    stored = {a["kind"]: a["spec"] for a in planner.release_json("2.5.0")["artifacts"]}
    assert ReleasePlanSpec.model_validate(stored["release_plan"]) == ReleasePlanSpec.model_validate(
        plan_example.ARGS
    )
    assert RolloutSpec.model_validate(stored["rollout_plan"]) == RolloutSpec.model_validate(
        rollout_example.ARGS
    )


def hand_written_release(store: MemoryStore, version: str = "2.4.0") -> dict[str, str]:
    """Entities as the Engram skill has agents create them by hand: no metadata, no tags."""
    ids = {k: new_entity_id() for k in ("task", "plan", "rollback", "l1", "l2")}
    store.commit(
        [
            StoreChange(ids["task"], TaskRecord(title=f"Ship v{version}", description="hand made")),
            StoreChange(
                ids["plan"],
                ContextRecord(
                    title=f"Release Plan: v{version} - Search", content="## Release Information\n\nby hand"
                ),
            ),
            StoreChange(
                ids["rollback"],
                ReasoningRecord(
                    title=f"Rollback Strategy: v{version}",
                    task_id=ids["task"],
                    conclusion="## Rollback Decision Criteria\n\nby hand",
                    confidence=0.9,
                ),
            ),
            StoreChange(ids["l1"], LinkRecord(ids["task"], "task", ids["plan"], "context", "references")),
            StoreChange(
                ids["l2"], LinkRecord(ids["task"], "task", ids["rollback"], "reasoning", "documents")
            ),
        ]
    )
    return ids


def test_hand_written_releases_are_listed_shown_untyped_and_adopted_by_a_write(
    planner: ReleasePlanner, store: MemoryStore
) -> None:
    ids = hand_written_release(store)
    page = planner.list_release_plans()
    assert [(r.release, r.typed) for r in page.releases] == [("2.4.0", False)]
    view = planner.get_release_plan("2.4.0")
    assert view.task_id == ids["task"] and not view.typed
    assert "(untyped" in view.markdown and "by hand" in view.markdown

    args = copy.deepcopy(rollback_example.ARGS)
    args["version"] = "2.4.0"
    result = planner.design_rollback(RollbackSpec.model_validate(args))
    assert result.artifact.entity_id == ids["rollback"]  # same entity, now typed
    assert result.created is False
    assert "adopted_untyped" in {w.code for w in result.warnings}
    rollback = next(a for a in planner.get_release_plan("2.4.0").artifacts if a.kind == "rollback_strategy")
    assert rollback.typed


def test_list_release_plans_pages_newest_version_first(planner: ReleasePlanner) -> None:
    for minor in range(1, 6):
        args = copy.deepcopy(plan_example.ARGS)
        args["version"] = f"2.{minor}.0"
        args["features"] = [f for f in args["features"] if f["batch"] != "deferred"]
        planner.create_release_plan(ReleasePlanSpec.model_validate(args))
    first = planner.list_release_plans(limit=2)
    assert [r.release for r in first.releases] == ["2.5.0", "2.4.0"] and first.total == 5
    second = planner.list_release_plans(limit=2, cursor=first.next_cursor)
    third = planner.list_release_plans(limit=2, cursor=second.next_cursor)
    assert [r.release for r in second.releases + third.releases] == ["2.3.0", "2.2.0", "2.1.0"]
    assert third.next_cursor is None
    with pytest.raises(InvalidInput):
        planner.list_release_plans(cursor="not-a-cursor")
    with pytest.raises(InvalidInput):
        planner.list_release_plans(limit=0)


def test_extra_links_are_created_once_and_refused_when_the_target_is_missing(
    planner: ReleasePlanner, store: MemoryStore
) -> None:
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    adr = new_entity_id()
    store.commit([StoreChange(adr, ContextRecord(title="ADR 7: Stripe", content="decided"))])
    first = planner.link_release_entities("2.5.0", [ExtraLink(target_id=adr, target_type="context")])
    assert [link.target_id for link in first.created] == [adr]
    again = planner.link_release_entities("2.5.0", [ExtraLink(target_id=adr, target_type="context")])
    assert again.created == []
    with pytest.raises(NotFound) as info:
        planner.link_release_entities("2.5.0", [ExtraLink(target_id=new_entity_id(), target_type="context")])
    assert info.value.field == "links[0].target_id"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(times=st.integers(min_value=1, max_value=4))
def test_linking_many_times_equals_linking_once(times: int) -> None:
    store = MemoryStore()
    planner = ReleasePlanner(store)
    plan_seed(planner)
    for _ in range(times):
        planner.link_release_entities("2.5.0")
    links = store.links_from(planner.get_release_plan("2.5.0").task_id)
    targets = sorted((link.record.target_id, link.record.relationship_type) for link in links)  # type: ignore[union-attr]
    assert len(targets) == len(set(targets)) == 4


def test_a_later_rollout_refreshes_the_stored_runbook_in_the_same_commit(
    planner: ReleasePlanner, store: MemoryStore
) -> None:
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    runbook = planner.create_runbook(RunbookSpec.model_validate(runbook_example.ARGS))
    stored = store.get("context", runbook.artifact.entity_id)
    assert stored is not None and "not planned yet" in stored.record.content  # type: ignore[union-attr]

    rollout = planner.plan_rollout(RolloutSpec.model_validate(rollout_example.ARGS))

    stored = store.get("context", runbook.artifact.entity_id)
    assert stored is not None and stored.revision == 2
    assert "not planned yet" not in stored.record.content  # type: ignore[union-attr]
    assert "Monday" in stored.record.content  # type: ignore[union-attr]  # the schedule, by weekday
    assert [w.code for w in rollout.warnings if w.code == "dependent_refreshed"] == ["dependent_refreshed"]
    # Nothing else changed, so a second identical write refreshes nothing.
    again = planner.plan_rollout(RolloutSpec.model_validate(rollout_example.ARGS))
    assert "dependent_refreshed" not in {w.code for w in again.warnings}
