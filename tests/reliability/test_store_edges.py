"""Edges the store meets after the fact: a blob a prune took while the summary cache still knows the
entity, a history missing its root commit, a repair that meets a lock, a close whose last check
fails. Each must come back as a named refusal, never an internal error or a leaked handle."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from helpers.args import plan_args
from helpers.repo import COMMIT_ENV, git

from release_planner.server.cli import main
from release_planner.server.engram import gitrefs
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.errors import PlannerError, StorageError
from release_planner.tools.ports import Change, StoredEntity
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner


def _planned(workspace: Path) -> tuple[StoredEntity, str]:
    """A release planned and the store closed (so the summary cache is written); (the plan, its blob)."""
    with GitRefsStore(workspace) as store:
        ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "seed")))
        (plan,) = store.find("context", release="5.0.0", kind="release_plan")
    return plan, git(workspace, "rev-parse", f"refs/engram/context/{plan.id}")


def _lose(workspace: Path, oid: str) -> None:
    (workspace / ".git" / "objects" / oid[:2] / oid[2:]).unlink()


def test_retiring_an_entity_whose_blob_a_prune_took_is_refused_by_name_with_a_warm_cache(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    plan, oid = _planned(workspace)
    _lose(workspace, oid)
    with GitRefsStore(workspace) as store:  # the summary cache still describes the plan
        store.warm()
        assert store._index.has("context", plan.id)
        with pytest.raises(PlannerError) as refused:
            store.commit([Change.deleting(plan)])
        assert "unreadable" in str(refused.value) or "missing" in str(refused.value)
        with pytest.raises(PlannerError):
            ReleasePlanner(store).retire_release_artifact("5.0.0", "release_plan")


def test_a_history_missing_its_root_commit_serves_reads_and_names_why_it_refuses_writes(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    subprocess.run(["git", "init", "-q", str(workspace)], check=True, env=COMMIT_ENV)
    git(workspace, "commit", "-q", "--allow-empty", "-m", "one")
    root = git(workspace, "rev-parse", "HEAD")
    git(workspace, "commit", "-q", "--allow-empty", "-m", "two")
    _lose(workspace, root)

    with GitRefsStore(workspace) as store:
        assert store.releases("task") == []
        with pytest.raises(StorageError) as refused:
            ReleasePlanner(store).create_release_plan(
                ReleasePlanSpec.model_validate(plan_args("5.0.0", "seed"))
            )
    assert "root commit" in str(refused.value)


def test_repair_meeting_a_held_lock_names_it_instead_of_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    plan, oid = _planned(workspace)
    _lose(workspace, oid)
    lock = workspace / ".git" / "refs" / "engram" / "context" / f"{plan.id}.lock"
    lock.write_text("0" * 40 + "\n")  # a live writer's lock: never removed by us

    assert main(["repair", "--workspace", str(workspace)]) == 1
    err = capsys.readouterr().err
    assert str(lock) in err and "Traceback" not in err
    assert lock.exists()


def test_a_close_whose_last_object_check_fails_still_releases_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws"
    store = GitRefsStore(workspace)
    ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "seed")))

    def disk_full(objects_dir: str, **_how: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store._landed, "check", disk_full)
    store.close()  # logs the failed check; does not raise
    with pytest.raises(StorageError, match="closed"):
        store.find("task")
    assert store._scan.ino is None


def test_a_directory_that_refuses_a_repository_is_refused_at_once_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retrying the opening is for another server's half-made repository; a permission error stays,
    and retrying it would hold every call of a server on that workspace for seconds."""
    attempts: list[str] = []

    def refused(path: str, *args: object, **kwargs: object) -> None:
        attempts.append(path)
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), path)

    monkeypatch.setattr(gitrefs.pygit2, "init_repository", refused)
    with pytest.raises(StorageError, match="Permission denied"):
        GitRefsStore(tmp_path / "ws")
    assert len(attempts) == 1


@pytest.mark.timeout(20)
def test_a_named_pipe_under_the_refs_is_reported_instead_of_hanging_every_call(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes: the scan held the store's lock there."""
    workspace = tmp_path / "ws"
    _planned(workspace)
    fifo = workspace / ".git" / "refs" / "engram" / "task" / "0b9e3c2a-6f5d-4c1e-9a7b-2d8f4e6a1c3b"
    os.mkfifo(fifo)
    with GitRefsStore(workspace) as store:
        assert [t.id for t in store.find("task")]
        ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_args("6.0.0", "next")))
        assert store.find("context", release="6.0.0", kind="release_plan")


def test_refs_below_an_entity_ref_refuse_its_write_before_taking_it_and_leave_no_lock(tmp_path: Path) -> None:
    """``refs/engram/context/<id>/x`` (another tool's) leaves no room for ``refs/engram/context/<id>``.
    The rename after the commit point failed, and every lock of the write stayed, filled, so the whole
    release was locked until someone removed them by hand."""
    workspace = tmp_path / "ws"
    plan, _blob = _planned(workspace)
    git(workspace, "pack-refs", "--all")
    (workspace / ".git" / "refs" / "engram" / "context" / plan.id / "x").mkdir(parents=True)
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)
        spec = ReleasePlanSpec.model_validate(plan_args("5.0.0", "update"))
        with pytest.raises(StorageError, match="nothing was stored") as refused:
            planner.create_release_plan(spec)
        assert "directory" in str(refused.value)
        assert [p for p in (workspace / ".git").rglob("*.lock")] == []
        # The other artifacts of the release stay writable, and so does the plan once the way is clear.
        (workspace / ".git" / "refs" / "engram" / "context" / plan.id / "x").rmdir()
        (workspace / ".git" / "refs" / "engram" / "context" / plan.id).rmdir()
        planner.create_release_plan(spec)
        (stored,) = store.find("context", release="5.0.0", kind="release_plan")
        assert (stored.planner_metadata or {})["spec"]["name"] == "update"
