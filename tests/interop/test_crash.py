"""kill -9 at any step of a multi-entity write leaves all of it or none of it, once anyone reads again."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from interop_helpers import FakeClock, Workspace

from release_planner.server.engram import gitrefs
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.validate import validate_repository
from release_planner.tools.errors import StorageError
from release_planner.tools.ports import Change, ContextRecord, LinkRecord, TaskRecord

T = "11111111-1111-4111-8111-111111111111"
C = "22222222-2222-4222-8222-222222222222"
L = "44444444-4444-4444-8444-444444444444"

WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from release_planner.server.engram.gitrefs import GitRefsStore
    from release_planner.tools.ports import Change, ContextRecord, LinkRecord, TaskRecord

    path, step, t, c, l = sys.argv[1:]
    store = GitRefsStore(path)
    store._step_hook = lambda s: os.kill(os.getpid(), signal.SIGKILL) if s == step else None
    store.commit([
        Change(t, TaskRecord(title="Release v9.0.0", status="done"), expected_revision=1),
        Change(c, ContextRecord(title="Release Plan: v9.0.0", content="new")),
        Change(l, LinkRecord(t, "task", c, "context", "references")),
    ])
    """
)

BEFORE_COMMIT = ["blobs-written", "journal-written", "locked"]
AFTER_COMMIT = ["committed", "renamed-one", "renamed-all"]
LEFT_BEHIND = {  # (lock files, journal) on disk right after the kill, before anyone recovers
    "blobs-written": (False, False),
    "journal-written": (False, True),
    "locked": (True, True),
    "committed": (True, True),
    "renamed-one": (True, True),
    "renamed-all": (False, True),
}


def crash_at(workspace: Workspace, step: str) -> None:
    done = subprocess.run([sys.executable, "-c", WRITER, str(workspace.path), step, T, C, L], check=False)
    assert done.returncode == -9, "the writer was meant to die at " + step


def seed(workspace: Workspace, clock: FakeClock) -> None:
    with GitRefsStore(workspace.path, clock=clock) as store:
        store.commit([Change(T, TaskRecord(title="Release v9.0.0"))])


def assert_nothing_written(store: GitRefsStore) -> None:
    task = store.get("task", T)
    assert (task.revision, task.record.status) == (1, "todo")  # type: ignore[union-attr]
    assert store.get("context", C) is None and store.get("relationship", L) is None


def assert_all_written(store: GitRefsStore) -> None:
    task = store.get("task", T)
    assert (task.revision, task.record.status) == (2, "done")  # type: ignore[union-attr]
    assert store.get("context", C).revision == 1  # type: ignore[union-attr]
    assert store.links_from(T)[0].id == L


@pytest.mark.reliability
@pytest.mark.parametrize("step", BEFORE_COMMIT + AFTER_COMMIT)
def test_a_writer_killed_at_any_step_leaves_all_or_nothing_after_recovery(
    workspace: Workspace, clock: FakeClock, step: str
) -> None:
    seed(workspace, clock)
    crash_at(workspace, step)
    assert (bool(workspace.lock_files()), bool(workspace.journals())) == LEFT_BEHIND[step]

    with GitRefsStore(workspace.path, clock=clock) as store:  # recovery runs on open
        if step in BEFORE_COMMIT:
            assert_nothing_written(store)
        else:
            assert_all_written(store)
        assert store.problems() == []

    assert workspace.lock_files() == [] and workspace.journals() == []
    assert validate_repository(workspace.path) == []


@pytest.mark.reliability
@pytest.mark.parametrize("step", ["locked", "renamed-one"])
def test_a_store_that_was_already_open_recovers_before_its_next_read_and_can_write_again(
    workspace: Workspace, clock: FakeClock, step: str
) -> None:
    seed(workspace, clock)
    with GitRefsStore(workspace.path, clock=clock) as store:
        crash_at(workspace, step)
        if step == "locked":
            assert_nothing_written(store)
            expected = 1
        else:
            assert_all_written(store)
            expected = 2
        again = store.commit(
            [Change(T, TaskRecord(title="Release v9.0.0", status="blocked"), expected_revision=expected)]
        )[0]
        assert again.revision == expected + 1
    assert validate_repository(workspace.path) == []


def test_a_live_writers_unfinished_write_is_left_alone_by_readers(
    workspace: Workspace, clock: FakeClock
) -> None:
    seed(workspace, clock)
    seen: dict[str, object] = {}
    with (
        GitRefsStore(workspace.path, clock=clock) as writer,
        GitRefsStore(workspace.path, clock=clock) as reader,
    ):

        def in_the_middle(step: str) -> None:
            if step == "committed":
                seen["context"] = reader.get("context", C)
                seen["locks"] = workspace.lock_files()
                seen["journals"] = workspace.journals()

        writer._step_hook = in_the_middle
        writer.commit(
            [
                Change(T, TaskRecord(title="Release v9.0.0", status="done"), expected_revision=1),
                Change(C, ContextRecord(title="Release Plan: v9.0.0", content="new")),
                Change(L, LinkRecord(T, "task", C, "context", "references")),
            ]
        )
        assert seen["context"] is None and len(seen["locks"]) == 6 and len(seen["journals"]) == 1  # type: ignore[arg-type]
        assert_all_written(reader)
    assert workspace.lock_files() == [] and workspace.journals() == []


def test_a_foreign_lock_on_a_ref_makes_the_write_fail_cleanly(
    workspace: Workspace, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(workspace, clock)
    lock = workspace.path / ".git" / "refs" / "engram" / "task" / f"{T}.lock"
    lock.write_text("")  # e.g. a git process holds the ref, or died holding it
    monkeypatch.setattr(gitrefs, "_BUSY_BUDGET_S", 0.0)
    with GitRefsStore(workspace.path, clock=clock) as store:
        with pytest.raises(StorageError) as info:
            store.commit(
                [
                    Change(C, ContextRecord(title="Release Plan: v9.0.0", content="x")),
                    Change(T, TaskRecord(title="Release v9.0.0", status="done"), expected_revision=1),
                ]
            )
        assert str(lock) in info.value.message and "delete that lock file" in (info.value.next_step or "")
        assert_nothing_written(store)
    assert workspace.lock_files() == [str(lock.relative_to(workspace.path))]


def test_an_empty_lock_a_live_writer_has_journaled_is_not_removed_by_recovery(workspace: Workspace) -> None:
    # A writer killed between creating a lock and writing into it leaves it empty; a live writer has
    # one empty for a moment too. Recovery must not delete the live one's (mutual exclusion would be
    # gone): a live writer journals every ref before locking it, so its claim is visible.
    import fcntl
    import json
    import os

    from release_planner.server.engram import refs

    GitRefsStore(workspace.path).close()
    common = str(workspace.path / ".git")
    name = "refs/engram/context/0b5e7a52-3c4f-4d1e-9a77-2f6f0c1d8e90"
    journal_dir = os.path.join(common, refs.JOURNAL_DIR)
    os.makedirs(journal_dir, exist_ok=True)
    body = json.dumps({"pid": 1, "updates": [[name, None, "ab" * 20]]}).encode() + b"\n" + b"PENDING  \n"
    dead = os.path.join(journal_dir, "999999-dead.journal")
    with open(dead, "wb") as f:  # nobody holds its lock: its writer died
        f.write(body)
    lock = os.path.join(common, name + ".lock")
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    open(lock, "wb").close()

    live = os.path.join(journal_dir, "1-live.journal")
    with open(live, "wb") as f:
        f.write(body)
    holder = os.open(live, os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # a live writer that journaled the same ref
        assert refs.RefFiles(common).recover() is False
        assert os.path.exists(lock) and os.path.exists(dead)
    finally:
        os.close(holder)
    os.unlink(live)

    refs.RefFiles(common).recover()  # no live claim left: the empty lock is the dead writer's
    assert not os.path.exists(lock) and not os.path.exists(dead)
