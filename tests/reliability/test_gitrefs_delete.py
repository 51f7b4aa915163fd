"""Deletions in the git store as Engram makes them: the entity ref goes in the same journaled ref
transaction as the rest of the commit, its version sidecars stay, a packed ref is taken out of
``packed-refs`` too (so it cannot resurface), and a writer killed at any step leaves all or nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.repo import CHILD_ENV, engram_refs, git

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.validate import validate_repository
from release_planner.tools.ports import Change, ContextRecord, LinkRecord, TaskRecord, new_entity_id

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(60)]


def seed(workspace: Path) -> tuple[str, str, str]:
    with GitRefsStore(workspace) as store:
        task, ctx, rel = new_entity_id(), new_entity_id(), new_entity_id()
        store.commit(
            [
                Change(task, TaskRecord(title="Release v2.5.0 - Enterprise")),
                Change(ctx, ContextRecord(title="Release Plan: v2.5.0 - Enterprise", content="plan")),
                Change(rel, LinkRecord(task, "task", ctx, "context", "references")),
            ]
        )
        return task, ctx, rel


def delete_plan(store: GitRefsStore, task: str, ctx: str, rel: str) -> None:
    hub, plan, link = store.get("task", task), store.get("context", ctx), store.get("relationship", rel)
    assert hub is not None and plan is not None and link is not None
    cancelled = TaskRecord(title=hub.title, status="cancelled")
    store.commit(
        [
            Change(task, cancelled, expected_revision=hub.revision),
            Change.deleting(plan),
            Change.deleting(link),
        ]
    )


def test_the_entity_ref_goes_and_its_sidecars_stay(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    task, ctx, rel = seed(workspace)
    with GitRefsStore(workspace) as store:
        delete_plan(store, task, ctx, rel)
    refs = engram_refs(workspace)
    assert f"refs/engram/context/{ctx}" not in refs and f"refs/engram/relationship/{rel}" not in refs
    assert f"refs/engram/context/v1/{ctx}" in refs and f"refs/engram/relationship/v1/{rel}" in refs
    assert f"refs/engram/task/v2/{task}" in refs  # the cancelled task is a new revision
    assert validate_repository(workspace) == []
    with GitRefsStore(workspace) as reopened:
        assert reopened.get("context", ctx) is None and reopened.links_from(task) == []


def test_a_packed_ref_is_deleted_from_packed_refs_too(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    task, ctx, rel = seed(workspace)
    git(workspace, "pack-refs", "--all", "--prune")
    assert not (workspace / ".git" / "refs" / "engram" / "context" / ctx).exists()
    with GitRefsStore(workspace) as store:
        delete_plan(store, task, ctx, rel)
        assert store.get("context", ctx) is None
    packed = (workspace / ".git" / "packed-refs").read_text()
    assert ctx not in packed.replace(f"refs/engram/context/v1/{ctx}", "")
    assert f"refs/engram/context/v1/{ctx}" in packed  # the sidecar stays packed
    assert f"refs/engram/context/{ctx}" not in git(workspace, "for-each-ref", "--format=%(refname)")
    assert git(workspace, "fsck", "--no-dangling") == ""
    with GitRefsStore(workspace) as reopened:
        assert reopened.get("context", ctx) is None
        assert reopened.get("task", task) is not None


_CHILD = """
import os, signal, sys
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.ports import Change, TaskRecord

workspace, step, task, ctx, rel = sys.argv[1:6]
store = GitRefsStore(workspace)

def crash(at):
    if at == step:
        os.kill(os.getpid(), signal.SIGKILL)

store._step_hook = crash
hub, plan, link = store.get("task", task), store.get("context", ctx), store.get("relationship", rel)
store.commit([
    Change(task, TaskRecord(title=hub.title, status="cancelled"), expected_revision=hub.revision),
    Change.deleting(plan),
    Change.deleting(link),
])
"""

BEFORE_COMMIT = ("blobs-written", "journal-written", "locked")
AFTER_COMMIT = ("committed", "renamed-one", "renamed-all")


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
@pytest.mark.parametrize("step", BEFORE_COMMIT + AFTER_COMMIT)
def test_a_writer_killed_at_any_step_of_a_deletion_leaves_all_or_nothing(
    tmp_path: Path, step: str, packed: bool
) -> None:
    workspace = tmp_path / "ws"
    task, ctx, rel = seed(workspace)
    if packed:
        git(workspace, "pack-refs", "--all", "--prune")
    env = {**CHILD_ENV, **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {})}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(workspace), step, task, ctx, rel], env=env, capture_output=True
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    with GitRefsStore(workspace) as store:  # opening recovers the dead writer's transaction
        hub = store.get("task", task)
        assert hub is not None
        landed = step in AFTER_COMMIT
        assert (getattr(hub.record, "status", None) == "cancelled") is landed
        assert (store.get("context", ctx) is None) is landed
        assert (store.get("relationship", rel) is None) is landed
        assert f"refs/engram/context/v1/{ctx}" in engram_refs(workspace)
    assert not list((workspace / ".git").rglob("*.lock"))
    assert validate_repository(workspace) == []
