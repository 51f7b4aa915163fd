"""Defects an independent review found in the use cases, pinned so they stay fixed."""

from __future__ import annotations

import copy
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.memory import MemoryStore
from release_planner.tools.errors import Conflict
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.ports import Change, ContextRecord, LinkRecord, TaskRecord, new_entity_id
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ExtraLink, ReleasePlanner


def plan(version: str = "2.5.0") -> ReleasePlanSpec:
    args = copy.deepcopy(plan_example.ARGS)
    args["version"] = version
    if version != "2.5.0":
        args["features"] = [f for f in args["features"] if f["batch"] != "deferred"]
    return ReleasePlanSpec.model_validate(args)


def test_a_release_whose_task_was_deleted_by_hand_can_be_planned_again(tmp_path: Path) -> None:
    with GitRefsStore(tmp_path) as store:
        first = ReleasePlanner(store).create_release_plan(plan())
    # What `engram task delete` does: the entity ref goes, its sidecars and links stay.
    subprocess.run(
        ["git", "-C", str(tmp_path), "update-ref", "-d", f"refs/engram/task/{first.task_id}"], check=True
    )
    with GitRefsStore(tmp_path) as store:
        again = ReleasePlanner(store).create_release_plan(plan())
        assert again.task_id == first.task_id
        links = store.links_from(again.task_id)
        assert [(link.record.target_id, link.record.active) for link in links] == [  # type: ignore[union-attr]
            (again.artifact.entity_id, True)
        ]


def test_a_link_deactivated_by_hand_is_reactivated_instead_of_blocking_writes() -> None:
    store = MemoryStore()
    planner = ReleasePlanner(store)
    result = planner.create_release_plan(plan())
    (link,) = store.links_from(result.task_id)
    store.commit([Change(link.id, replace(link.record, active=False), expected_revision=link.revision)])  # type: ignore[arg-type]

    linked = planner.link_release_entities("2.5.0")

    assert [ref.relationship_id for ref in linked.created] == [link.id]
    assert store.get("relationship", link.id).record.active  # type: ignore[union-attr]


def test_a_task_that_merely_mentions_the_version_is_not_taken_over() -> None:
    store = MemoryStore()
    blog, notes = new_entity_id(), new_entity_id()
    store.commit(
        [
            Change(blog, TaskRecord(title="Release 2.5.0: write the blog post")),
            Change(notes, ContextRecord(title="Release 2.5.0 notes draft", content="draft")),
            Change(new_entity_id(), LinkRecord(blog, "task", notes, "context", "references")),
        ]
    )
    result = ReleasePlanner(store).create_release_plan(plan())
    assert result.task_id != blog
    assert store.get("task", blog).title == "Release 2.5.0: write the blog post"  # type: ignore[union-attr]


def test_adopting_a_hand_made_task_keeps_its_tags_priority_and_description() -> None:
    store = MemoryStore()
    task, ctx = new_entity_id(), new_entity_id()
    store.commit(
        [
            Change(
                task,
                TaskRecord(
                    title="Ship it", description="JIRA PAY-123", priority="critical", tags=("team-payments",)
                ),
            ),
            Change(ctx, ContextRecord(title="Release Plan: v2.5.0 - Enterprise Features", content="by hand")),
            Change(new_entity_id(), LinkRecord(task, "task", ctx, "context", "references")),
        ]
    )
    ReleasePlanner(store).create_release_plan(plan())
    adopted = store.get("task", task)
    assert adopted is not None
    rec = adopted.record
    assert isinstance(rec, TaskRecord)
    assert (rec.priority, rec.description) == ("critical", "JIRA PAY-123")
    assert rec.tags == ("team-payments", "release", "v2.5.0")


def test_a_spec_written_by_a_newer_server_is_not_overwritten() -> None:
    store = MemoryStore()
    planner = ReleasePlanner(store)
    result = planner.create_release_plan(plan())
    stored = store.get("context", result.artifact.entity_id)
    assert stored is not None and isinstance(stored.record, ContextRecord)
    newer = {
        "release_planner": {"schema": 2, "kind": "release_plan", "release": "2.5.0", "spec": {"v2": True}}
    }
    store.commit(
        [Change(stored.id, replace(stored.record, metadata=newer), expected_revision=stored.revision)]
    )

    with pytest.raises(Conflict) as info:
        planner.create_release_plan(plan())
    assert "newer release planner" in info.value.message
    assert store.get("context", stored.id).record.metadata == newer  # type: ignore[union-attr]


def test_pre_releases_are_listed_in_semver_order() -> None:
    store = MemoryStore()
    planner = ReleasePlanner(store)
    for version in ("2.5.0-rc.2", "2.5.0", "2.5.0-rc.10", "2.5.0-alpha", "2.5.0-1"):
        planner.create_release_plan(plan(version))
    listed = [r.release for r in planner.list_release_plans().releases]
    assert listed == ["2.5.0", "2.5.0-rc.10", "2.5.0-rc.2", "2.5.0-alpha", "2.5.0-1"]


def test_extra_links_go_through_the_same_reactivation(tmp_path: Path) -> None:
    store = MemoryStore()
    planner = ReleasePlanner(store)
    planner.create_release_plan(plan())
    adr = new_entity_id()
    store.commit([Change(adr, ContextRecord(title="ADR 9", content="decided"))])
    first = planner.link_release_entities("2.5.0", [ExtraLink(target_id=adr, target_type="context")])
    (made,) = first.created
    link = store.get("relationship", made.relationship_id)
    assert link is not None
    store.commit([Change(link.id, replace(link.record, active=False), expected_revision=link.revision)])  # type: ignore[arg-type]
    again = planner.link_release_entities("2.5.0", [ExtraLink(target_id=adr, target_type="context")])
    assert [ref.relationship_id for ref in again.created] == [link.id]
