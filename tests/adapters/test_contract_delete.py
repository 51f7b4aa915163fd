"""The port's deletion (``Change(..., delete=True)``), run against every backend in conftest.BACKENDS.

Engram's semantics: the entity ref is deleted, its version sidecars stay (so a later store of the
same id goes on counting), and a deletion is compare-and-swap on the revision it read.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from release_planner.tools.errors import Conflict, InvalidInput, PlannerError
from release_planner.tools.ports import (
    Change,
    ContextRecord,
    LinkRecord,
    ReasoningRecord,
    Store,
    StoredEntity,
    TaskRecord,
    new_entity_id,
)

Require = Callable[..., None]


def create(store: Store, record: object, entity_id: str | None = None) -> StoredEntity:
    return store.commit([Change(entity_id or new_entity_id(), record, agent="planner")])[0]  # type: ignore[arg-type]


def seeded(store: Store) -> tuple[StoredEntity, StoredEntity, StoredEntity]:
    """A release task, a plan context on it and the link task -> context."""
    task = create(store, TaskRecord(title="Release v2.5.0 - Enterprise"))
    ctx = create(store, ContextRecord(title="Release Plan: v2.5.0 - Enterprise", content="plan"))
    rel = create(store, LinkRecord(task.id, "task", ctx.id, "context", "references"))
    return task, ctx, rel


def test_a_deleted_entity_is_gone_from_every_read(store: Store) -> None:
    task, ctx, rel = seeded(store)
    gone = store.commit([Change.deleting(rel, agent="planner"), Change.deleting(ctx, agent="planner")])
    assert [e.id for e in gone] == [rel.id, ctx.id]  # each as it was before
    assert store.get("context", ctx.id) is None and store.get("relationship", rel.id) is None
    assert ctx.id not in [e.id for e in store.find("context", release="2.5.0")]
    assert store.links_from(task.id) == []
    assert store.get("task", task.id) is not None


def test_a_deletion_of_what_is_not_stored_is_a_conflict(store: Store) -> None:
    _task, ctx, _rel = seeded(store)
    store.commit([Change.deleting(ctx)])
    with pytest.raises(Conflict):
        store.commit([Change.deleting(ctx)])


def test_a_deletion_needs_the_revision_it_deletes(store: Store) -> None:
    _task, ctx, _rel = seeded(store)
    with pytest.raises(InvalidInput) as refused:
        store.commit([Change(ctx.id, ctx.record, delete=True)])
    assert refused.value.field == "changes[0].expected_revision"
    assert store.get("context", ctx.id) is not None


def test_a_stale_deletion_is_a_conflict_and_deletes_nothing(store: Store, require: Require) -> None:
    require("cas")
    _task, ctx, _rel = seeded(store)
    store.commit([Change(ctx.id, ContextRecord(title=ctx.title, content="v2"), expected_revision=1)])
    with pytest.raises(Conflict):
        store.commit([Change.deleting(ctx)])  # read at revision 1, stored now at 2
    current = store.get("context", ctx.id)
    assert current is not None and current.revision == 2


def test_the_revision_count_goes_on_after_a_deletion_as_the_sidecars_stay(
    store: Store, require: Require
) -> None:
    require("cas", "ids")
    _task, ctx, _rel = seeded(store)
    store.commit([Change.deleting(ctx)])
    again = create(store, ContextRecord(title=ctx.title, content="back"), entity_id=ctx.id)
    assert again.revision == 2
    assert store.get("context", ctx.id) == again


def test_a_commit_with_a_deletion_and_a_failing_change_changes_nothing(
    store: Store, require: Require
) -> None:
    require("atomic", "cas")
    task, ctx, rel = seeded(store)
    cancel = Change(task.id, TaskRecord(title=task.title, status="cancelled"), expected_revision=7)
    with pytest.raises(PlannerError):
        store.commit([Change.deleting(ctx), Change.deleting(rel), cancel])
    assert store.get("context", ctx.id) is not None and store.get("relationship", rel.id) is not None
    assert [e.id for e in store.links_from(task.id)] == [rel.id]


def test_a_deletion_and_an_update_land_together(store: Store) -> None:
    task, ctx, rel = seeded(store)
    reasoning = create(
        store, ReasoningRecord(title="Rollback Strategy: v2.5.0", task_id=task.id, conclusion="r")
    )
    cancelled = TaskRecord(title=task.title, status="cancelled")
    out = store.commit(
        [
            Change(task.id, cancelled, expected_revision=task.revision),
            Change.deleting(rel),
            Change.deleting(ctx),
            Change.deleting(reasoning),
        ]
    )
    assert out[0].record == cancelled or getattr(out[0].record, "status", None) == "cancelled"
    hub = store.get("task", task.id)
    assert hub is not None and getattr(hub.record, "status", None) == "cancelled"
    assert store.get("reasoning", reasoning.id) is None and store.get("context", ctx.id) is None
