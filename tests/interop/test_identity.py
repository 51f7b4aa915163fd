"""Engram's project id: engram's own rev-walk on merges and several roots, and clones that cannot
derive it by themselves (shallow, dangling HEAD) taking it from the remote instead of inventing one."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from helpers.repo import COMMIT_ENV

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.sync import sync
from release_planner.tools.errors import StorageError
from release_planner.tools.ports import Change, TaskRecord

ENV = COMMIT_ENV
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
TASK = "0b5e8d3c-6f7a-4b2e-9c1d-2a3b4c5d6e7f"


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


def _origin_with_history(tmp_path: Path) -> tuple[Path, str]:
    """A bare remote with three commits on main and the workspace ref a full clone published."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    full = tmp_path / "full"
    git(tmp_path, "clone", "-q", str(remote), str(full))
    for n in range(3):
        (full / "f").write_text(str(n))
        git(full, "add", "f")
        git(full, "commit", "-q", "-m", f"c{n}", at=1000 + n)
    git(full, "push", "-q", "origin", "HEAD:refs/heads/main")
    GitRefsStore(full).close()
    sync(full)
    return remote, project_id(full)


def test_a_shallow_clone_takes_the_stored_project_id_instead_of_deriving_another(tmp_path: Path) -> None:
    remote, team_id = _origin_with_history(tmp_path)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{remote}", str(shallow))

    with GitRefsStore(shallow) as store:
        assert "refs/engram/config/workspace" not in git(shallow, "for-each-ref")
        with pytest.raises(StorageError) as err:
            store.commit([Change(TASK, TaskRecord(title="t"), agent="default")])
        assert err.value.field == "workspace" and "shallow" in err.value.message
        assert "sync" in (err.value.next_step or "")

    report = sync(shallow)

    assert report.identity == "adopted" and project_id(shallow) == team_id
    with GitRefsStore(shallow) as store:
        assert store.id_namespace == team_id
        store.commit([Change(TASK, TaskRecord(title="t"), agent="default")])


def test_a_store_opened_after_a_fetch_adopts_the_staged_project_id(tmp_path: Path) -> None:
    remote, team_id = _origin_with_history(tmp_path)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{remote}", str(shallow))
    git(shallow, "fetch", "-q", "origin", "+refs/engram/*:refs/engram/remote/origin/*")
    with GitRefsStore(shallow) as store:
        assert store.id_namespace == team_id
    assert project_id(shallow) == team_id


def test_a_clone_whose_remote_head_dangles_gets_no_unrelated_main_branch(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    founder = tmp_path / "founder"
    git(tmp_path, "init", "-q", str(founder))
    git(founder, "remote", "add", "origin", str(remote))
    report = sync(founder)  # an empty remote: the first member founds the project, as engram would
    assert report.identity == "published"
    team_id = project_id(founder)
    assert git(remote, "for-each-ref", "refs/heads/") == ""  # only Engram refs were pushed

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    with GitRefsStore(clone) as store:
        with pytest.raises(StorageError) as err:
            store.commit([Change(TASK, TaskRecord(title="t"), agent="default")])
        assert "HEAD" in err.value.message
    assert git(clone, "for-each-ref", "refs/heads/") == ""

    sync(clone)

    assert project_id(clone) == team_id
    with GitRefsStore(clone) as store:
        store.commit([Change(TASK, TaskRecord(title="t"), agent="default")])
    assert git(clone, "for-each-ref", "refs/heads/") == ""


@pytest.mark.parametrize("cloned", [True, False], ids=["cloned", "remote-added"])
def test_sync_founds_no_project_on_an_invented_commit_while_the_remote_holds_history(
    tmp_path: Path, cloned: bool
) -> None:
    # The remote has a branch but its HEAD names another, so a clone's HEAD is unborn; nobody has
    # synced yet. Founding the team's id on an init commit here would tie it to no real history.
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", str(work))
    root = commit(work, "root", 1000)
    git(work, "push", "-q", str(remote), f"{commit(work, 'next', 2000, root)}:refs/heads/develop")
    git(remote, "symbolic-ref", "HEAD", "refs/heads/master")
    clone = tmp_path / "clone"
    if cloned:
        git(tmp_path, "clone", "-q", str(remote), str(clone))
    else:
        git(tmp_path, "init", "-q", str(clone))
        git(clone, "remote", "add", "origin", str(remote))

    with pytest.raises(StorageError) as err:
        sync(clone)

    assert "develop" in err.value.message and "git checkout develop" in (err.value.next_step or "")
    assert git(clone, "for-each-ref", "refs/heads/") == ""
    assert git(remote, "for-each-ref", "refs/engram/") == ""

    git(clone, "fetch", "-q", "origin")
    git(clone, "checkout", "-q", "-b", "develop", "origin/develop")
    assert sync(clone).identity == "published"
    assert project_id(clone) == sha512(root)
