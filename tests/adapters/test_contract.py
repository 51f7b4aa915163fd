"""The storage port's contract (tools/ports.py), run against every backend in conftest.BACKENDS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from release_planner.tools.errors import AmbiguousId, Conflict, InvalidInput, NotFound
from release_planner.tools.ports import (
    BUILTIN_RELATIONSHIP_TYPES,
    Change,
    ContextRecord,
    LinkRecord,
    ReasoningRecord,
    Record,
    Store,
    StoredEntity,
    TaskRecord,
    new_entity_id,
)

Require = Callable[..., None]


def plan_meta(release: str, kind: str) -> dict[str, object]:
    return {"release_planner": {"schema": 1, "kind": kind, "release": release, "spec": {"n": 1}}}


def create(store: Store, record: Record, agent: str = "planner") -> StoredEntity:
    return store.commit([Change(new_entity_id(), record, agent=agent)])[0]


def link(store: Store, source: str, target: str, **kw: object) -> StoredEntity:
    rec = LinkRecord(source, "task", target, "task", str(kw.pop("relationship_type", "depends_on")), **kw)  # type: ignore[arg-type]
    return create(store, rec)


# --- create, read, update -----------------------------------------------------------------------


def test_a_created_entity_of_each_type_reads_back_whole_at_revision_one(
    store: Store, require: Require
) -> None:
    require("ids", "metadata", "tags")
    task_id, ctx_id, rsn_id, rel_id = (new_entity_id() for _ in range(4))
    records: list[tuple[str, Record]] = [
        (
            task_id,
            TaskRecord(
                title="Release v2.5.0 - Enterprise",
                description="d",
                status="inprogress",
                priority="high",
                tags=("release",),
                metadata=plan_meta("2.5.0", "release"),
            ),
        ),
        (
            ctx_id,
            ContextRecord(
                title="Release Plan: v2.5.0 - Enterprise",
                content="## Plan",
                relevance="critical",
                tags=("release-planning",),
                metadata=plan_meta("2.5.0", "release_plan"),
            ),
        ),
        (
            rsn_id,
            ReasoningRecord(
                title="Rollback Strategy: v2.5.0",
                task_id=task_id,
                conclusion="roll back",
                confidence=0.8,
                tags=("rollback",),
                metadata=plan_meta("2.5.0", "rollback_strategy"),
            ),
        ),
        (rel_id, LinkRecord(task_id, "task", ctx_id, "context", "references", description="plan")),
    ]
    stored = store.commit([Change(i, r, agent="planner") for i, r in records])

    for (entity_id, record), entity in zip(records, stored, strict=True):
        expected = StoredEntity(
            id=entity_id,
            type=entity.type,
            agent="planner",
            created_at=entity.created_at,
            updated_at=entity.created_at,
            revision=1,
            record=record,
        )
        assert entity == expected
        assert store.get(entity.type, entity_id) == expected
    assert [e.type for e in stored] == ["task", "context", "reasoning", "relationship"]


def test_an_update_at_the_current_revision_stores_the_next_revision_and_keeps_creation_time(
    store: Store, require: Require
) -> None:
    require("cas")
    first = create(store, ContextRecord(title="Release Runbook: v2.5.0", content="v1"))
    new = ContextRecord(title="Release Runbook: v2.5.0", content="v2", relevance="medium")
    second = store.commit([Change(first.id, new, expected_revision=1)])[0]

    assert (second.revision, second.record, second.created_at) == (2, new, first.created_at)
    assert second.updated_at > first.updated_at
    assert store.get("context", first.id) == second
    third = store.commit([Change(first.id, new, expected_revision=2)])[0]
    assert third.revision == 3


def test_a_stale_expected_revision_is_a_conflict_that_names_the_current_revision_and_changes_nothing(
    store: Store, require: Require
) -> None:
    require("cas")
    task = create(store, TaskRecord(title="Release v1.0.0"))
    store.commit([Change(task.id, TaskRecord(title="Release v1.0.0", status="done"), expected_revision=1)])
    before = store.get("task", task.id)

    with pytest.raises(Conflict) as info:
        store.commit([Change(task.id, TaskRecord(title="Release v1.0.0 - lost"), expected_revision=1)])

    assert "revision 2" in info.value.message and "expected_revision=2" in (info.value.next_step or "")
    assert store.get("task", task.id) == before


def test_completing_a_task_stores_its_end_time_and_outcome_and_later_updates_keep_them(
    store: Store, require: Require
) -> None:
    require("cas", "task_end")
    task = create(store, TaskRecord(title="Release v1.0.0", status="inprogress"))
    assert (task.record.end_time, task.record.outcome) == (None, None)  # type: ignore[union-attr]
    done = TaskRecord(
        title="Release v1.0.0", status="done", end_time="2026-03-20T15:00:00Z", outcome="shipped"
    )
    stored = store.commit([Change(task.id, done, expected_revision=1)])[0]
    assert (stored.record.status, stored.record.end_time, stored.record.outcome) == (  # type: ignore[union-attr]
        "done",
        "2026-03-20T15:00:00Z",
        "shipped",
    )
    retitled = store.commit(
        [Change(task.id, TaskRecord(title="Release v1.0.0 - GA", status="done"), expected_revision=2)]
    )
    assert retitled[0].record.end_time == "2026-03-20T15:00:00Z"  # type: ignore[union-attr]
    assert store.get("task", task.id) == retitled[0]


def test_an_end_time_that_is_not_rfc3339_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput) as info:
        create(store, TaskRecord(title="Release v1.0.0", status="done", end_time="yesterday"))
    assert info.value.field is not None and info.value.field.endswith("end_time")


def test_creating_an_id_that_exists_is_a_conflict(store: Store, require: Require) -> None:
    require("cas")
    task = create(store, TaskRecord(title="Release v1.0.0"))
    with pytest.raises(Conflict) as info:
        store.commit([Change(task.id, TaskRecord(title="Release v1.0.0 again"))])
    assert info.value.field == "expected_revision"
    assert store.get("task", task.id) == task


def test_updating_an_entity_that_does_not_exist_is_a_conflict(store: Store, require: Require) -> None:
    require("cas")
    entity_id = new_entity_id()
    with pytest.raises(Conflict):
        store.commit([Change(entity_id, TaskRecord(title="ghost"), expected_revision=1)])
    assert store.get("task", entity_id) is None


def test_an_update_keeps_fields_the_record_does_not_own(store: Store, require: Require) -> None:
    require("cas", "metadata")
    ctx = create(
        store,
        ContextRecord(
            title="Release Plan: v3.0.0",
            content="a",
            metadata={"other_tool": {"x": 1}, **plan_meta("3.0.0", "release_plan")},
        ),
    )
    updated = store.commit(
        [
            Change(
                ctx.id,
                ContextRecord(
                    title="Release Plan: v3.0.0", content="b", metadata=plan_meta("3.0.0", "release_plan")
                ),
                agent="someone-else",
                expected_revision=1,
            )
        ]
    )[0]
    assert updated.record.metadata == {"other_tool": {"x": 1}, **plan_meta("3.0.0", "release_plan")}  # type: ignore[union-attr]
    assert (updated.created_at, updated.agent) == (ctx.created_at, ctx.agent)


def test_tags_and_metadata_given_on_update_replace_the_stored_ones(store: Store, require: Require) -> None:
    require("cas", "tags", "metadata")
    task = create(store, TaskRecord(title="Release v1.2.0", tags=("a", "b"), metadata={"k": {"old": 1}}))
    new = TaskRecord(title="Release v1.2.0", tags=("c",), metadata={"k": {"new": 2}})
    updated = store.commit([Change(task.id, new, expected_revision=1)])[0]
    assert updated.record == new
    untagged = store.commit([Change(task.id, replace(new, tags=()), expected_revision=2)])[0]
    assert untagged.tags == ()


# --- atomic commits -----------------------------------------------------------------------------


def test_a_commit_with_one_conflicting_change_stores_nothing(store: Store, require: Require) -> None:
    require("atomic", "cas")
    existing = create(store, TaskRecord(title="Release v2.0.0"))
    fresh = new_entity_id()
    with pytest.raises(Conflict):
        store.commit(
            [
                Change(fresh, ContextRecord(title="Release Plan: v2.0.0", content="x")),
                Change(existing.id, TaskRecord(title="clash")),
            ]
        )
    assert store.get("context", fresh) is None
    assert store.find("context") == []
    assert store.get("task", existing.id) == existing


def test_a_commit_with_one_invalid_record_stores_nothing(store: Store, require: Require) -> None:
    require("atomic")
    fresh = new_entity_id()
    with pytest.raises(InvalidInput) as info:
        store.commit(
            [
                Change(fresh, ContextRecord(title="Release Plan: v2.0.0", content="x")),
                Change(
                    new_entity_id(),
                    ReasoningRecord(
                        title="Rollback Strategy: v2.0.0", task_id=fresh, conclusion="c", confidence=1.5
                    ),
                ),
            ]
        )
    assert info.value.field == "changes[1].record.confidence"
    assert store.find("context") == [] and store.find("reasoning") == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (Change("not-a-uuid", TaskRecord(title="t")), "changes[0].id"),
        (Change("5B0C1234-0000-4000-8000-000000000000", TaskRecord(title="t")), "changes[0].id"),
        (Change(new_entity_id(), TaskRecord(title="  ")), "changes[0].record.title"),
        (Change(new_entity_id(), TaskRecord(title="t", status="in_progress")), "changes[0].record.status"),  # type: ignore[arg-type]
        (
            Change(new_entity_id(), ContextRecord(title="t", content="c", relevance="urgent")),  # type: ignore[arg-type]
            "changes[0].record.relevance",
        ),
        (
            Change(new_entity_id(), LinkRecord("a", "task", "a", "task", "depends_on")),
            "changes[0].record.target_id",
        ),
        (
            Change(new_entity_id(), TaskRecord(title="t", metadata={"x": float("nan")})),
            "changes[0].record.metadata",
        ),
        (Change(new_entity_id(), TaskRecord(title="t"), agent=""), "changes[0].agent"),
        (
            Change(new_entity_id(), TaskRecord(title="t"), expected_revision=-1),
            "changes[0].expected_revision",
        ),
    ],
)
def test_invalid_changes_are_refused_naming_the_field(store: Store, change: Change, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        store.commit([change])
    assert info.value.field == field
    assert store.find("task") == []


def test_the_same_entity_twice_in_one_commit_is_refused(store: Store) -> None:
    entity_id = new_entity_id()
    with pytest.raises(InvalidInput):
        store.commit([Change(entity_id, TaskRecord(title="a")), Change(entity_id, TaskRecord(title="b"))])


# --- queries ------------------------------------------------------------------------------------


def test_find_filters_by_release_kind_and_tag_and_lists_newest_first(store: Store, require: Require) -> None:
    require("metadata", "tags")
    plan = create(
        store,
        ContextRecord(
            title="Release Plan: v2.5.0 - A",
            content="p",
            tags=("release",),
            metadata=plan_meta("2.5.0", "release_plan"),
        ),
    )
    runbook = create(
        store,
        ContextRecord(
            title="Release Runbook: v2.5.0",
            content="r",
            tags=("release", "ops"),
            metadata=plan_meta("2.5.0", "runbook"),
        ),
    )
    other = create(
        store,
        ContextRecord(
            title="Release Plan: v2.6.0 - B",
            content="p",
            tags=("release",),
            metadata=plan_meta("2.6.0", "release_plan"),
        ),
    )

    assert store.find("context") == [other, runbook, plan]
    assert store.find("context", release="2.5.0") == [runbook, plan]
    assert store.find("context", release="v2.5.0") == [runbook, plan]
    assert store.find("context", kind="release_plan") == [other, plan]
    assert store.find("context", release="2.5.0", kind="release_plan") == [plan]
    assert store.find("context", tag="ops") == [runbook]
    assert store.find("context", release="2.5.0", tag="ops", kind="release_plan") == []
    assert store.find("context", release="9.9.9") == []
    assert store.find("task", release="2.5.0") == []


def test_a_skill_style_title_is_found_by_release_without_any_metadata(store: Store) -> None:
    plan = create(store, ContextRecord(title="Release Plan: v2.5.0 - Enterprise Features", content="by hand"))
    rollout = create(
        store,
        ReasoningRecord(
            title="Phased Rollout Plan: v2.5.0", task_id=new_entity_id(), conclusion="1% then 5%"
        ),
    )
    task = create(store, TaskRecord(title="Release v2.5.0 - Enterprise Features"))
    create(store, ContextRecord(title="Release Plan: v2.5.1", content="not this one"))

    assert [e.id for e in store.find("context", release="2.5.0")] == [plan.id]
    assert [e.id for e in store.find("reasoning", release="2.5.0")] == [rollout.id]
    assert [e.id for e in store.find("task", release="v2.5.0")] == [task.id]


def test_releases_lists_every_version_a_title_or_spec_names_once(store: Store, require: Require) -> None:
    require("metadata")
    create(store, ContextRecord(title="Release Plan: v2.5.0 - A", content="by hand"))
    create(store, ContextRecord(title="Release Runbook: v2.5.0", content="r"))
    create(store, ContextRecord(title="Notes", content="n", metadata=plan_meta("3.0.0", "release_plan")))
    create(store, ContextRecord(title="Unrelated", content="n"))
    create(store, TaskRecord(title="Release v1.2.3"))

    assert store.releases("context") == ["2.5.0", "3.0.0"]
    assert store.releases("task") == ["1.2.3"]
    assert store.releases("reasoning") == []


def test_an_update_moves_an_entity_between_releases_and_tags(store: Store, require: Require) -> None:
    require("cas", "tags")
    ctx = create(store, ContextRecord(title="Release Plan: v1.0.0", content="x", tags=("draft",)))
    store.commit(
        [
            Change(
                ctx.id,
                ContextRecord(title="Release Plan: v1.1.0", content="x", tags=("final",)),
                expected_revision=1,
            )
        ]
    )
    assert store.find("context", release="1.0.0") == [] and store.find("context", tag="draft") == []
    assert [e.id for e in store.find("context", release="1.1.0", tag="final")] == [ctx.id]


def test_links_from_and_links_to_list_relationships_by_each_end(store: Store, require: Require) -> None:
    require("exact_reads")
    task, plan, rollback = (new_entity_id() for _ in range(3))
    l1 = create(store, LinkRecord(task, "task", plan, "context", "references"))
    l2 = create(store, LinkRecord(task, "task", rollback, "reasoning", "documents"))
    l3 = create(store, LinkRecord(rollback, "reasoning", plan, "context", "depends_on"))

    assert store.links_from(task) == [l2, l1]
    assert store.links_to(plan) == [l3, l1]
    assert store.links_from(plan) == [] and store.links_to(task) == []
    assert l2.record.relationship_type == "documents"  # type: ignore[union-attr]


def test_get_and_resolve_find_entities_by_id_and_unique_short_id(store: Store, require: Require) -> None:
    require("ids")
    a = store.commit([Change("aaaa1111-0000-4000-8000-000000000001", TaskRecord(title="a"))])[0]
    b = store.commit([Change("aaaa2222-0000-4000-8000-000000000002", TaskRecord(title="b"))])[0]

    assert store.resolve("task", a.id) == a
    assert store.resolve("task", "aaaa1") == a
    assert store.resolve("task", "AAAA2222-0") == b
    with pytest.raises(AmbiguousId):
        store.resolve("task", "aaaa")
    with pytest.raises(NotFound):
        store.resolve("task", "bbbb")
    with pytest.raises(NotFound):
        store.resolve("context", a.id)
    with pytest.raises(InvalidInput):
        store.resolve("task", "aaa")
    with pytest.raises(InvalidInput):
        store.resolve("task", "../../HEAD")
    assert store.get("task", "aaaa2222-0000-4000-8000-000000000099") is None


@pytest.mark.parametrize("bad_id", ["", "x", "../../../etc/passwd", "AAAA1111-0000-4000-8000-000000000001"])
def test_get_refuses_anything_but_a_lowercase_uuid(store: Store, bad_id: str) -> None:
    with pytest.raises(InvalidInput):
        store.get("task", bad_id)


def test_an_unknown_entity_type_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput):
        store.get("knowledge", new_entity_id())  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        store.find("session")  # type: ignore[arg-type]


def test_a_fresh_store_reports_no_problems(store: Store) -> None:
    create(store, TaskRecord(title="Release v1.0.0"))
    assert store.problems() == []


# --- traversal (engram's test_get_connected_entities_* and the §1.9 rules) ----------------------


def ids(n: int) -> list[str]:
    return [f"{i:08x}-0000-4000-8000-000000000000" for i in range(1, n + 1)]


def test_connected_follows_a_chain_breadth_first_with_the_start_first(store: Store) -> None:
    a, b, c = ids(3)
    link(store, a, b)
    link(store, b, c)
    assert store.connected(a) == [a, b, c]
    assert store.connected(a, max_depth=2) == [a, b, c]
    assert store.connected(a, max_depth=1) == [a, b]
    assert store.connected(a, max_depth=0) == [a]
    assert store.connected(c) == [c]  # unidirectional edges are not followed backwards


def test_an_isolated_entity_is_connected_only_to_itself(store: Store) -> None:
    (a,) = ids(1)
    assert store.connected(a, max_depth=3) == [a]


def test_connected_visits_nearer_entities_first_and_each_once(store: Store) -> None:
    a, b, c, d, e = ids(5)
    link(store, a, b)
    link(store, a, c)
    link(store, b, d)
    link(store, c, d)
    link(store, d, a)  # a cycle back to the start
    link(store, d, e)
    assert store.connected(a) == [a, b, c, d, e]


def test_inbound_edges_are_followed_only_when_bidirectional(store: Store) -> None:
    a, b, c = ids(3)
    link(store, b, a, direction="bidirectional")
    link(store, c, a)  # unidirectional into a: not followed from a
    assert store.connected(a) == [a, b]
    assert store.connected(b) == [b, a]


def test_inverse_edges_are_followed_from_their_source_only(store: Store) -> None:
    a, b = ids(2)
    link(store, a, b, direction="inverse")
    assert store.connected(a) == [a, b]
    assert store.connected(b) == [b]


def test_inactive_edges_are_not_followed(store: Store, require: Require) -> None:
    require("inactive_links")
    a, b, c = ids(3)
    link(store, a, b, active=False)
    link(store, a, c)
    assert store.connected(a) == [a, c]


def test_deactivating_an_edge_cuts_traversal(store: Store, require: Require) -> None:
    require("cas")
    a, b = ids(2)
    edge = link(store, a, b)
    store.commit([Change(edge.id, replace(edge.record, active=False), expected_revision=1)])  # type: ignore[arg-type]
    assert store.connected(a) == [a]


def test_a_negative_depth_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput):
        store.connected(ids(1)[0], max_depth=-1)


# --- property: records round-trip ---------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_title = _text.filter(lambda s: bool(s.strip()))
_tags = st.lists(_title, max_size=3).map(tuple)
_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | _text
    | st.floats(allow_nan=False, allow_infinity=False)
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_meta = st.dictionaries(_text, _json, max_size=3)
_records = st.one_of(
    st.builds(
        TaskRecord,
        title=_title,
        description=_text,
        status=st.sampled_from(["todo", "inprogress", "done", "blocked", "cancelled"]),
        priority=st.sampled_from(["low", "medium", "high", "critical"]),
        tags=_tags,
        metadata=_meta,
    ),
    st.builds(
        ContextRecord,
        title=_title,
        content=_text,
        source=_text,
        relevance=st.sampled_from(["low", "medium", "high", "critical"]),
        tags=_tags,
        metadata=_meta,
    ),
    st.builds(
        ReasoningRecord,
        title=_title,
        task_id=_title,
        conclusion=_text,
        confidence=st.floats(0, 1),
        tags=_tags,
        metadata=_meta,
    ),
    st.builds(
        LinkRecord,
        source_id=_title,
        source_type=_title,
        target_id=_title,
        target_type=_title,
        relationship_type=st.sampled_from(BUILTIN_RELATIONSHIP_TYPES) | _title,
        description=st.none() | _text,
        direction=st.sampled_from(["unidirectional", "bidirectional", "inverse"]),
        strength=st.sampled_from(["weak", "medium", "strong", "critical"]),
        active=st.booleans(),
    ).filter(lambda r: r.source_id != r.target_id),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=_records)
def test_any_valid_record_round_trips_through_the_store(
    store: Store, require: Require, record: Record
) -> None:
    require("ids", "metadata", "tags")
    stored = create(store, record)
    assert stored.record == record
    assert store.get(stored.type, stored.id) == stored
