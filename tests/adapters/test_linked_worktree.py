"""A workspace that is a linked worktree (`git worktree add`): its refs live in the main repository,
where engram and every other worktree see them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers.repo import COMMIT_ENV

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.ports import Change, TaskRecord, new_entity_id


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=COMMIT_ENV, check=True, capture_output=True, text=True
    ).stdout


def test_a_store_in_a_linked_worktree_writes_into_the_main_repository(tmp_path: Path) -> None:
    main, linked = tmp_path / "main", tmp_path / "linked"
    _git(tmp_path, "init", "-q", "-b", "main", str(main))
    _git(main, "commit", "-q", "--allow-empty", "-m", "root")
    _git(main, "worktree", "add", "-q", "-b", "feature", str(linked))
    task = new_entity_id()

    with GitRefsStore(linked) as store:
        store.commit([Change(task, TaskRecord(title="Release v1.0.0 - Worktree"))])

    assert f"refs/engram/task/{task}" in _git(main, "for-each-ref", "refs/engram/task")
    assert not (linked / ".git").is_dir()  # still the worktree's pointer file, not a new repository
    with GitRefsStore(main) as from_main:
        assert [e.id for e in from_main.find("task", release="1.0.0")] == [task]
