"""``git gc --prune=now`` / ``git prune --expire=now`` beside the writer (issue 14, item 3).

A write's blobs are unreachable until its refs land, so a prune with no grace period can take them.
The real ``git prune --expire=now`` is run at each step of the store's ref transaction (its step
hook), which is that race made certain: every write that is acknowledged must point at objects that
exist, and ``git gc`` must keep working. Refs a prune broke before (emulated by deleting a loose
object file) are reported with the command that repairs them, and ``repair`` makes both the release
and ``git gc`` work again.
"""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.args import plan_args
from helpers.checks import release_integrity
from helpers.repo import CHILD_ENV, engram_refs, git

from release_planner.server.cli import main
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.errors import PlannerError
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]

STEPS = ("blobs-written", "journal-written", "locked", "committed", "renamed-one", "renamed-all")


def _plan(version: str, name: str) -> ReleasePlanSpec:
    return ReleasePlanSpec.model_validate(plan_args(version, name))


def _prune(workspace: Path) -> None:
    git(workspace, "prune", "--expire=now")


def _objects_missing(workspace: Path) -> list[str]:
    """Refs under refs/engram/ whose object the repository does not have (git's own view)."""
    missing = []
    for name, oid in engram_refs(workspace).items():
        done = subprocess.run(
            ["git", "-C", str(workspace), "cat-file", "-e", oid], env=CHILD_ENV, capture_output=True
        )
        if done.returncode != 0:
            missing.append(name)
    return missing


def _gc(workspace: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(workspace), "gc", "--prune=now", "--quiet"], env=CHILD_ENV, capture_output=True
    )


def _stored_name(store: GitRefsStore, version: str) -> str:
    (plan,) = store.find("context", release=version, kind="release_plan")
    return str((plan.planner_metadata or {})["spec"]["name"])


@pytest.mark.parametrize("step", STEPS)
def test_a_prune_at_any_step_of_a_write_never_leaves_an_acknowledged_ref_without_its_object(
    tmp_path: Path, step: str
) -> None:
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)
        planner.create_release_plan(_plan("5.0.0", "seed"))

        def prune_at(at: str) -> None:
            if at == step:
                _prune(workspace)

        store._step_hook = prune_at
        for version, name in (("5.0.0", "update"), ("5.1.0", "new release")):
            try:
                planner.create_release_plan(_plan(version, name))
            except PlannerError:
                continue  # refused, not acknowledged: allowed, as long as nothing half-landed
            assert _objects_missing(workspace) == [], f"acknowledged {version} points at pruned objects"
        store._step_hook = None

        assert _objects_missing(workspace) == []
        assert release_integrity(store) == []
        assert store.problems() == []
        gc = _gc(workspace)
        assert gc.returncode == 0, gc.stderr.decode()
        # Writing on works, and the new state reads back.
        planner.create_release_plan(_plan("5.0.0", "after the prune"))
        assert _stored_name(store, "5.0.0") == "after the prune"

    with GitRefsStore(workspace) as reopened:
        assert _stored_name(reopened, "5.0.0") == "after the prune"
        assert reopened.problems() == []


def test_writes_racing_a_real_prune_loop_are_all_kept(tmp_path: Path) -> None:
    """The race as it happens, without a hook: ``git prune --expire=now`` in a loop beside the writer."""
    workspace = tmp_path / "ws"
    stop = threading.Event()
    acknowledged: list[str] = []
    errors: list[str] = []
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)

        def pruning() -> None:
            while not stop.is_set():
                done = subprocess.run(
                    ["git", "-C", str(workspace), "prune", "--expire=now"], env=CHILD_ENV, capture_output=True
                )
                if done.returncode:
                    errors.append(done.stderr.decode())

        pruner = threading.Thread(target=pruning)
        pruner.start()
        try:
            for i in range(20):
                version = f"6.{i}.0"
                planner.create_release_plan(_plan(version, f"raced {i}"))
                acknowledged.append(version)
        finally:
            stop.set()
            pruner.join()
    # Closed: the store has checked its last writes' objects once more, after the last prune ended.
    assert _objects_missing(workspace) == [], errors
    assert _gc(workspace).returncode == 0
    with GitRefsStore(workspace) as reopened:
        for i, version in enumerate(acknowledged):
            assert _stored_name(reopened, version) == f"raced {i}"


def _lose_object(workspace: Path, oid: str) -> None:
    """What a prune that won the race left behind: the ref, without its loose object."""
    (workspace / ".git" / "objects" / oid[:2] / oid[2:]).unlink()


def test_refs_whose_objects_a_prune_took_are_reported_and_repaired(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)
        planner.create_release_plan(_plan("5.0.0", "seed"))
        (plan,) = store.find("context", release="5.0.0", kind="release_plan")
    refs = engram_refs(workspace)
    plan_ref = f"refs/engram/context/{plan.id}"
    sidecar_ref = f"refs/engram/context/v1/{plan.id}"
    _lose_object(workspace, refs[plan_ref])
    _lose_object(workspace, refs[sidecar_ref])
    assert _gc(workspace).returncode != 0  # git itself stops at the broken refs

    with GitRefsStore(workspace) as store:
        problems = {p.ref: p for p in store.problems()}
        assert set(problems) == {plan_ref, sidecar_ref}  # the version record's object is gone too
        assert f"engram-release-planner repair --workspace {workspace}" in problems[sidecar_ref].reason
        problem = problems[plan_ref]
        assert f"engram-release-planner repair --workspace {workspace}" in problem.reason
        assert f"git -C {workspace} update-ref -d {plan_ref} {refs[plan_ref]}" in problem.reason
        with pytest.raises(PlannerError):  # the release cannot take a plan while the ref is broken
            ReleasePlanner(store).create_release_plan(_plan("5.0.0", "before the repair"))

    assert main(["repair", "--workspace", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert plan_ref in out and sidecar_ref in out

    assert _objects_missing(workspace) == []
    gc = _gc(workspace)
    assert gc.returncode == 0, gc.stderr.decode()
    with GitRefsStore(workspace) as store:
        assert store.problems() == []
        planner = ReleasePlanner(store)
        planner.create_release_plan(_plan("5.0.0", "after the repair"))
        assert _stored_name(store, "5.0.0") == "after the repair"
        assert release_integrity(store) == []
    assert main(["repair", "--workspace", str(workspace)]) == 0
    assert "every ref under refs/engram/ points at an object" in capsys.readouterr().out


def test_repair_names_a_file_system_refusal_instead_of_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        ReleasePlanner(store).create_release_plan(_plan("5.0.0", "stored"))

    def full_disk(self: GitRefsStore) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(workspace / ".git" / "lost.json"))

    monkeypatch.setattr(GitRefsStore, "repair", full_disk)

    assert main(["repair", "--workspace", str(workspace)]) == 1
    err = capsys.readouterr().err
    assert "repairing the workspace failed" in err and "disk" in err
    assert "Traceback" not in err


def _second_write_objects(store: GitRefsStore, workspace: Path, name: str) -> set[str]:
    """The objects that a second plan of 5.0.0 (named ``name``) wrote, after a first one."""
    ReleasePlanner(store).create_release_plan(_plan("5.0.0", "seed"))
    before = engram_refs(workspace)
    ReleasePlanner(store).create_release_plan(_plan("5.0.0", name))
    return {oid for ref, oid in engram_refs(workspace).items() if before.get(ref) != oid}


def test_objects_a_prune_takes_after_a_write_are_written_back_with_no_further_call(tmp_path: Path) -> None:
    """A prune that listed the refs just before a write landed deletes its objects whenever it gets to
    them, often after the write's own last check. They were written back only by a later call, so a
    client that made none (one write, then idle) was left with refs pointing at nothing: under a
    `git prune --expire=now` loop, most such writes lost their objects."""
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        fresh = _second_write_objects(store, workspace, "then idle")
        assert fresh
        # What that prune does once the write returned: the new, loose objects go.
        for oid in fresh:
            (workspace / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
        deadline = time.monotonic() + 5
        while _objects_missing(workspace) and time.monotonic() < deadline:
            time.sleep(0.05)  # no call to the store meanwhile
        assert _objects_missing(workspace) == []
    assert _gc(workspace).returncode == 0


def test_a_burst_of_writes_checks_each_recent_object_a_bounded_number_of_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call checked every object of the last 30 s: a pipeline storing 1,500 tasks in a row went
    from 1.9 ms to 25-38 ms per write. A write's own objects are checked when its refs land; the
    rest at most every ``CHECK_EVERY_S`` (here: never during the burst) and at close."""
    from release_planner.server.engram import objects
    from release_planner.tools.ports import Change, TaskRecord, new_entity_id

    checks: list[str] = []
    real_on_disk = objects.on_disk

    def counting(objects_dir: str, oid: str, *args: Any) -> bool:
        checks.append(oid)
        return real_on_disk(objects_dir, oid, *args)

    monkeypatch.setattr(objects, "on_disk", counting)
    store = GitRefsStore(tmp_path / "ws")
    store.warm()
    monkeypatch.setattr(store, "_watch_landed", lambda: None)  # counted: the calls' checks alone
    monkeypatch.setattr(store._landed, "_checked_at", time.monotonic() + 3600)  # a check "just ran"
    for i in range(200):
        store.commit([Change(new_entity_id(), TaskRecord(title=f"Release v1.{i}.0 - Burst"))])
        store.find("task", release=f"1.{i}.0")
    assert len(checks) <= 200 * 2 * 2, len(checks)  # two objects per write, checked twice (locked, landed)
    checks.clear()
    store.close()  # a last check of every recent object
    assert len(checks) == 400
    assert _objects_missing(tmp_path / "ws") == []


def test_a_read_of_a_recent_object_a_prune_took_between_checks_is_served_and_written_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        fresh = _second_write_objects(store, workspace, "pruned between checks")
        # No check comes (neither a call's nor the watcher's): only the read itself can bring them back.
        with monkeypatch.context() as no_checks:
            no_checks.setattr(store._landed, "check", lambda *_args, **_kwargs: None)
            store._index._cache.clear()  # the entities are read from their blobs again
            for oid in fresh:
                (workspace / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
            assert _stored_name(store, "5.0.0") == "pruned between checks"
            (plan,) = store.find("context", release="5.0.0", kind="release_plan")
            assert engram_refs(workspace)[f"refs/engram/context/{plan.id}"] not in _missing_oids(workspace)
        store.close()  # the last check brings back the rest (the version records nobody read)
    assert _objects_missing(workspace) == []


def _missing_oids(workspace: Path) -> set[str]:
    refs = engram_refs(workspace)
    return {refs[name] for name in _objects_missing(workspace)}
