"""Engram's project id: engram's own rev-walk on merges and several roots."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from release_planner.server.engram.gitrefs import GitRefsStore

ENV = {
    **{k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ},
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "dev",
    "GIT_AUTHOR_EMAIL": "dev@example.org",
    "GIT_COMMITTER_NAME": "dev",
    "GIT_COMMITTER_EMAIL": "dev@example.org",
}
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def git(where: Path, *args: str, at: int | None = None) -> str:
    env = dict(ENV)
    if at is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{at} +0000"
    done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, check=True, env=env)
    return done.stdout.decode().strip()


def commit(repo: Path, message: str, at: int, *parents: str) -> str:
    args = ["commit-tree", EMPTY_TREE, "-m", message]
    for p in parents:
        args += ["-p", p]
    return git(repo, *args, at=at)


def repo_at(path: Path, head: str) -> Path:
    git(path, "update-ref", "refs/heads/main", head)
    git(path, "symbolic-ref", "HEAD", "refs/heads/main")
    return path


def project_id(repo: Path) -> str:
    value: str = json.loads(git(repo, "cat-file", "blob", "refs/engram/config/workspace"))["project_id"]
    return value


def sha512(commit_id: str) -> str:
    return hashlib.sha512(commit_id.encode("ascii")).hexdigest()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(path))
    return path


def test_a_merged_branch_newer_than_its_base_names_the_project_as_engrams_walk_does(repo: Path) -> None:
    # Oldest first from the merge: base-side c2 (t=2000), then the root c1 (t=1000), and last the
    # branch commit c3 (t=3000), still queued: engram hashes c3, not the root.
    c1 = commit(repo, "c1", 1000)
    c2 = commit(repo, "c2", 2000, c1)
    c3 = commit(repo, "c3", 3000, c1)
    merge = commit(repo, "merge", 4000, c2, c3)
    GitRefsStore(repo_at(repo, merge)).close()
    assert project_id(repo) == sha512(c3)


def test_of_two_roots_the_newer_one_comes_out_last(repo: Path) -> None:
    old_root = commit(repo, "old root", 500)
    new_root = commit(repo, "new root", 1000)
    merge = commit(repo, "merge", 2000, new_root, old_root)
    GitRefsStore(repo_at(repo, merge)).close()
    assert project_id(repo) == sha512(new_root)


def test_equal_commit_times_follow_rusts_binary_heap_not_insertion_order(repo: Path) -> None:
    # Five roots with one commit time under an octopus merge: Rust's BinaryHeap pops them as
    # 1, 3, 5, 2, 4 (sift-down-to-bottom on every pop), so the fourth parent comes out last.
    roots = [commit(repo, f"root {n}", 1000) for n in range(1, 6)]
    merge = commit(repo, "octopus", 2000, *roots)
    GitRefsStore(repo_at(repo, merge)).close()
    assert project_id(repo) == sha512(roots[3])
