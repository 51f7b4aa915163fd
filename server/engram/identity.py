"""Engram's project identity: which root commit names a repository, and when it cannot be derived here.

Engram stores ``hex(SHA-512(<root commit id>))`` in ``refs/engram/config/workspace`` the first time it
opens a repository (reference/engram-format.md §1.4), and every deterministic id this server derives
is namespaced by it, so two clones of one project must agree on it.

"Root" is not ``git rev-list --max-parents=0``: engram takes the *last* commit of gix's simple
rev-walk from HEAD sorted by commit time, oldest first (``derive_project_id`` in engram's
src/storage/git_refs_storage.rs, over gix-traverse's ``Simple``). That walk keeps a max-heap of queued
commits keyed by committer seconds (older = higher priority), marks each commit seen when it is
queued, queues a popped commit's parents in their stored order, and does not cross the parents of a
shallow clone's boundary commits. With several roots, merges or equal timestamps the last commit out
depends on the exact heap discipline, so ``_RustMaxHeap`` reproduces Rust's ``BinaryHeap`` push and
pop (sift-up, sift-down-to-bottom) move for move rather than using ``heapq``.

A clone cannot always derive the team's identity by itself: a ``--depth`` clone stops at its
boundary and names another root, and a clone of a remote holding only Engram refs has an unborn
HEAD, where engram would invent an unrelated init commit. ``underivable`` says when that is so; the
identity then has to come from the remote's stored workspace ref (``sync`` fetches it).
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import pygit2

from .refs import read_small, ref_value

__all__ = [
    "STAGING_PREFIX",
    "engram_root_commit",
    "head_or_init",
    "shallow_commits",
    "staged_workspaces",
    "underivable",
]

STAGING_PREFIX = "refs/engram/remote/"  # sync's copy of each remote's refs/engram/*
_OID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


@dataclass(slots=True)
class _Item:
    key: int  # higher pops first: the negated commit time, so the oldest commit has the highest key
    oid: str


class _RustMaxHeap:
    """``std::collections::BinaryHeap`` with items compared by key only (gix's ``PriorityQueue``)."""

    def __init__(self) -> None:
        self.data: list[_Item] = []

    def push(self, item: _Item) -> None:
        self.data.append(item)
        self._sift_up(0, len(self.data) - 1)

    def pop(self) -> _Item | None:
        if not self.data:
            return None
        item = self.data.pop()
        if self.data:
            item, self.data[0] = self.data[0], item
            self._sift_down_to_bottom(0)
        return item

    def _sift_up(self, start: int, pos: int) -> None:
        data = self.data
        hole = data[pos]
        while pos > start:
            parent = (pos - 1) // 2
            if hole.key <= data[parent].key:
                break
            data[pos] = data[parent]
            pos = parent
        data[pos] = hole

    def _sift_down_to_bottom(self, pos: int) -> None:
        data = self.data
        end = len(data)
        start = pos
        hole = data[pos]
        while pos < (end - 1) // 2:
            child = 2 * pos + 1
            if data[child].key <= data[child + 1].key:
                child += 1
            data[pos] = data[child]
            pos = child
        if pos < end // 2:
            child = 2 * pos + 1
            data[pos] = data[child]
            pos = child
        data[pos] = hole
        self._sift_up(start, pos)


def shallow_commits(common_dir: str) -> list[str]:
    """The boundary commits of a shallow clone (``<git dir>/shallow``), sorted; empty if not shallow."""
    try:
        with open(os.path.join(common_dir, "shallow"), encoding="ascii", errors="replace") as f:
            return sorted(line.strip() for line in f if line.strip())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _commit(repo: pygit2.Repository, oid: str) -> pygit2.Commit | None:
    try:
        obj = repo.get(oid)
    except (ValueError, pygit2.GitError):
        return None
    return obj if isinstance(obj, pygit2.Commit) else None


def engram_root_commit(repo: pygit2.Repository, head: str, shallow: list[str]) -> str:
    """The commit engram's ``derive_project_id`` hashes: the last one its oldest-first walk yields."""
    skip: list[str] = []  # parents of shallow boundary commits, consumed once each (gix's filter)

    def admit(oid: str) -> bool:
        i = bisect.bisect_left(skip, oid)
        if i < len(skip) and skip[i] == oid:
            del skip[i]
            return False
        j = bisect.bisect_left(shallow, oid)
        if j < len(shallow) and shallow[j] == oid:
            boundary = _commit(repo, oid)
            if boundary is not None:
                for parent in boundary.parent_ids:
                    bisect.insort(skip, str(parent))
        return True

    def commit_time(oid: str) -> int:
        found = _commit(repo, oid)
        return found.commit_time if found is not None else 0

    queue = _RustMaxHeap()
    seen = {head}
    if admit(head):
        tip = _commit(repo, head)
        if tip is None:
            raise LookupError(f"HEAD ({head}) is not a commit in this repository")
        queue.push(_Item(-tip.commit_time, head))
    last = head
    while (item := queue.pop()) is not None:
        current = _commit(repo, item.oid)
        if current is None:
            raise LookupError(f"commit {item.oid} is missing from the repository (a broken or partial clone)")
        last = item.oid
        for parent_oid in current.parent_ids:
            parent = str(parent_oid)
            if parent in seen:
                continue
            seen.add(parent)
            if admit(parent):
                queue.push(_Item(-commit_time(parent), parent))
    return last


def head_or_init(
    repo: pygit2.Repository,
    create_ref: Callable[[str, str], bool],
    read_ref: Callable[[str], str | None],
) -> str:
    """HEAD's commit; on an unborn HEAD, engram's only commit (§1.2): an empty tree on a new
    ``refs/heads/main`` (create-only), with HEAD made to point at it."""
    if not repo.head_is_unborn:
        return str(repo.head.target)
    sig = pygit2.Signature("engram", "engram@localhost")
    tree = repo.TreeBuilder().write()
    commit = repo.create_commit(None, sig, sig, "engram: init workspace\n", tree, [])
    if create_ref("refs/heads/main", str(commit)):
        repo.set_head("refs/heads/main")
    head = read_ref("refs/heads/main")
    if head is None or not _OID.match(head):
        raise LookupError("refs/heads/main could not be created for engram's init commit")
    return head


def underivable(repo: pygit2.Repository, common_dir: str) -> str | None:
    """Why this repository cannot name its Engram project by itself, or None if it can."""
    if shallow_commits(common_dir):
        return (
            "this is a shallow clone, whose history ends early, so its root commit is not the project's "
            "and would give another project id"
        )
    if repo.head_is_unborn and list(repo.remotes.names()):
        return (
            "this is a clone whose HEAD names no commit (the remote holds no branch it points at), and "
            "inventing a first commit here would give an unrelated project id"
        )
    return None


def staged_workspaces(
    common_dir: str, packed: dict[str, str], read_blob: Callable[[str], bytes | None]
) -> dict[str, tuple[str, str]]:
    """``remote name -> (blob id, project id)`` of the workspace refs ``sync`` fetched into its staging
    refs (``refs/engram/remote/<name>/config/workspace``), loose or packed."""
    refs = {name: oid for name, oid in packed.items() if name.startswith(STAGING_PREFIX)}
    staging = os.path.join(common_dir, *STAGING_PREFIX.split("/")[:-1])
    try:
        remotes = os.listdir(staging)
    except (FileNotFoundError, NotADirectoryError):
        remotes = []
    for remote in remotes:
        raw = read_small(os.path.join(staging, remote, "config", "workspace"))
        value = ref_value(raw)
        if value is not None:
            refs[f"{STAGING_PREFIX}{remote}/config/workspace"] = value
    out: dict[str, tuple[str, str]] = {}
    for name, oid in refs.items():
        parts = name.split("/")
        if len(parts) != 6 or parts[4:] != ["config", "workspace"]:
            continue
        blob = read_blob(oid) if _OID.match(oid) else None
        try:
            project_id = json.loads(blob)["project_id"] if blob is not None else None
        except (ValueError, KeyError, TypeError, RecursionError):
            project_id = None
        if isinstance(project_id, str) and project_id:
            out[parts[3]] = (oid, project_id)
    return out
