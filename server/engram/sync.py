"""Team sync of Engram's git refs through a git remote: fetch, merge by version sidecar, push atomically.

The engine is the one teams already run: a git remote holding ``refs/engram/*``.

1. **Fetch** the remote's ``refs/engram/*`` into the staging refs ``refs/engram/remote/<name>/*``, as
   ``engram sync`` does, leaving out anything under the remote's own ``refs/engram/remote/`` (staging
   refs someone pushed by mistake). The store's index never reads staging refs: it only knows
   ``refs/engram/{task,context,reasoning,relationship}/``.
2. **Merge** each entity by its version sidecars (engram's rule: the higher number wins), with
   content identity: sidecars are immutable and written once per store, so the same number with a
   different sidecar blob means the two clones stored that revision independently. An entity is
   taken from the remote only when the remote's history *contains* the local one (the remote's
   sidecar at the local top number is the local one); otherwise it is a reported conflict, never
   taken silently, and it is left out of the push. ``prefer`` resolves conflicts by storing the
   chosen side's content (or its retirement) as a new revision above both.

   A retirement (Engram's delete: the ref goes, its sidecars stay) adds no revision, so content stored
   above a retired revision travels only if the last sync left that retirement on both sides (kept in
   ``.git/engram-release-planner/sync/<remote>.json``); otherwise it is a conflict.
3. **Push** only ``refs/engram/{type}/...`` and the workspace ref, in one ``git push --atomic``, each ref
   leased on the value just fetched, so a push that loses a race changes nothing on the remote (no
   stray sidecar) and the whole sync is retried from a fresh fetch.

Compare-and-swap holds across clones because a revision number names one content in every clone:
local content changes only together with a higher sidecar number (taking a newer remote revision, or
a resolution), so an ``expected_revision`` read before a sync that brought in another edit no longer
matches and the write is refused.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pygit2

from ...tools.errors import Conflict, StorageError, filesystem_error
from . import format as fmt
from . import identity, syncstate
from .identity import STAGING_PREFIX
from .refs import (
    RefBusy,
    RefFiles,
    RefPending,
    RefStale,
    RefUpdate,
    clear_stale_lock,
    common_dir,
    is_bare_repository,
)

__all__ = ["Prefer", "SyncConflict", "SyncReport", "sync"]

log = logging.getLogger(__name__)

Prefer = Literal["ours", "theirs"]

_LOCAL = "refs/engram/"
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_VDIR_RE = re.compile(r"^v([1-9][0-9]*)$")
_OID_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_REMOTE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NOT_TYPES = ("remote", "config")
_ATTEMPTS = 4
_RACED = ("(stale info)", "(fetch first)", "(non-fast-forward)", "(already exists)")
_GIT_TIMEOUT_S = 600


@dataclass(slots=True)
class _Versions:
    """One entity on one side: its ref's blob (None once deleted) and its sidecars by number."""

    blob: str | None = None
    sidecars: dict[int, str] = field(default_factory=dict)

    @property
    def top(self) -> int:
        return max(self.sidecars, default=0)


@dataclass(frozen=True, slots=True)
class SyncConflict:
    entity_type: str
    entity_id: str
    local_revision: int
    remote_revision: int
    reason: str

    def describe(self) -> str:
        return (
            f"{self.entity_type} {self.entity_id}: local revision {self.local_revision}, remote revision "
            f"{self.remote_revision}: {self.reason}"
        )


@dataclass(slots=True)
class SyncReport:
    remote: str
    project_id: str | None = None
    identity: str = "unchanged"  # "unchanged", "adopted" (taken from the remote) or "published"
    taken: list[str] = field(default_factory=list)  # "type/id@N" brought in from the remote
    pushed: list[str] = field(default_factory=list)  # "type/id@N" sent to the remote
    resolved: list[str] = field(default_factory=list)
    up_to_date: int = 0
    conflicts: list[SyncConflict] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"sync with '{self.remote}':"]
        if self.identity != "unchanged":
            out.append(f"  project id {self.identity}: {(self.project_id or '')[:16]}…")
        out.append(f"  taken from the remote: {len(self.taken)}")
        out.extend(f"    {t}" for t in self.taken)
        out.append(f"  pushed to the remote:  {len(self.pushed)}")
        out.extend(f"    {p}" for p in self.pushed)
        if self.resolved:
            out.append(f"  conflicts resolved:    {len(self.resolved)}")
            out.extend(f"    {r}" for r in self.resolved)
        out.append(f"  up to date:            {self.up_to_date}")
        out.append(f"  conflicts:             {len(self.conflicts)}")
        out.extend(f"    CONFLICT {c.describe()}" for c in self.conflicts)
        return out


@dataclass(slots=True)
class _Plan:
    local: list[RefUpdate] = field(default_factory=list)
    push: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # (ref, new, lease)
    report: SyncReport = field(default_factory=lambda: SyncReport(remote=""))
    # "type/id" -> top sidecar, for entities this sync leaves retired on both sides
    retired: dict[str, str] = field(default_factory=dict)

    def note_retired(self, t: str, eid: str, side: _Versions) -> None:
        if side.blob is None and side.top > 0:
            self.retired[f"{t}/{eid}"] = side.sidecars[side.top]


# --- git ------------------------------------------------------------------------------------------


class _Git:
    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        try:
            done = subprocess.run(
                ["git", "-C", str(self.workspace), *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=_GIT_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError:
            raise StorageError(
                "the git command is not installed", next_step="install git and put it on PATH"
            ) from None
        except subprocess.TimeoutExpired:
            raise StorageError(
                f"git {args[0]} did not finish within {_GIT_TIMEOUT_S} s",
                field="remote",
                next_step="check that the remote is reachable, then run sync again",
            ) from None
        if check and done.returncode != 0:
            raise StorageError(
                f"git {args[0]} failed: {_last_lines(done.stderr)}",
                field="remote",
                next_step="fix what git reports (remote URL, access), then run sync again",
            )
        return done

    def refs(self) -> dict[str, str]:
        out = self.run("for-each-ref", "--format=%(objectname) %(refname)", _LOCAL).stdout
        found: dict[str, str] = {}
        for line in out.splitlines():
            oid, _, name = line.partition(" ")
            if _OID_RE.match(oid):
                found[name] = oid
        return found


def _last_lines(text: str, n: int = 3) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " / ".join(lines[-n:]) or "no message"


# --- reading both sides ---------------------------------------------------------------------------


def _scan(refs: dict[str, str], prefix: str) -> dict[tuple[str, str], _Versions]:
    """Entities under ``prefix`` (``refs/engram/`` or a staging prefix), skipping config and staging."""
    out: dict[tuple[str, str], _Versions] = {}
    for name, oid in refs.items():
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix) :].split("/")
        if not parts or not _TYPE_RE.match(parts[0]) or parts[0] in _NOT_TYPES:
            continue
        if len(parts) == 2 and parts[1]:
            out.setdefault((parts[0], parts[1]), _Versions()).blob = oid
        elif len(parts) == 3 and parts[2] and (m := _VDIR_RE.match(parts[1])):
            out.setdefault((parts[0], parts[2]), _Versions()).sidecars[int(m.group(1))] = oid
    return out


def _contains(newer: _Versions, older: _Versions) -> bool:
    """``newer``'s history holds ``older``'s latest revision: the same sidecar at ``older``'s top."""
    if older.top == 0:
        return True  # nothing versioned on that side (engram's rule: a versioned entity wins)
    return newer.sidecars.get(older.top) == older.sidecars[older.top]


# --- the merge ------------------------------------------------------------------------------------


class _Merger:
    """Decides, for every entity on either side, what changes locally and what is pushed."""

    def __init__(
        self,
        remote: str,
        prefer: Prefer | None,
        new_sidecar: Callable[[str, str, int, str | None], str],
        agreed: dict[str, str] | None = None,
        lost: dict[str, str] | None = None,
    ) -> None:
        self.remote = remote
        self.prefer = prefer
        self.new_sidecar = new_sidecar  # (type, id, N, content blob or None) -> sidecar blob id
        self.agreed = agreed or {}  # "type/id" -> top sidecar at which the last sync saw it retired
        self.lost = lost or {}  # "type/id" -> revision whose content was lost here (removed by repair)

    def _unseen_retirement(self, t: str, eid: str, retired: _Versions, other: _Versions) -> bool:
        """``retired`` deleted the entity at its top revision and ``other`` stored content above it
        without having seen that retirement (no earlier sync left it retired on both sides)."""
        return (
            retired.blob is None
            and retired.top > 0
            and other.blob is not None
            and self.agreed.get(f"{t}/{eid}") != retired.sidecars[retired.top]
        )

    def plan(self, refs: dict[str, str]) -> _Plan:
        staging = f"{STAGING_PREFIX}{self.remote}/"
        local = _scan(refs, _LOCAL)
        theirs = _scan(refs, staging)
        plan = _Plan(report=SyncReport(remote=self.remote))
        for key in sorted(local.keys() | theirs.keys()):
            self._one(plan, key, local.get(key, _Versions()), theirs.get(key, _Versions()))
        return plan

    def _one(self, plan: _Plan, key: tuple[str, str], ours: _Versions, theirs: _Versions) -> None:
        t, eid = key
        label = f"{t}/{eid}"
        if self.lost.get(label) == str(ours.top) and ours.blob is None and theirs.blob is not None:
            # Not a retirement: `repair` removed the ref because its content was lost here.
            self._take(plan, t, eid, ours, theirs)
            plan.report.taken.append(f"{label}@{theirs.top} (restored: its content was lost here)")
        elif theirs.blob is None and not theirs.sidecars:
            self._push(plan, t, eid, ours, theirs)  # only here
            plan.report.pushed.append(f"{label}@{ours.top}")
        elif ours.blob is None and not ours.sidecars:
            self._take(plan, t, eid, ours, theirs)  # only there
            plan.report.taken.append(f"{label}@{theirs.top}")
        elif ours.top == theirs.top and ours.sidecars.get(ours.top) == theirs.sidecars.get(theirs.top):
            # The same revision on both sides (or neither versioned): only the ref itself may differ.
            if ours.blob == theirs.blob:
                plan.report.up_to_date += 1
                plan.note_retired(t, eid, ours)
            elif ours.top > 0 and theirs.blob is None:
                self._take(plan, t, eid, ours, theirs)  # deleted on the remote after that revision
                plan.report.taken.append(f"{label}@{theirs.top} (deleted)")
            elif ours.top > 0 and ours.blob is None:
                self._push(plan, t, eid, ours, theirs)  # deleted here after that revision
                plan.report.pushed.append(f"{label}@{ours.top} (deleted)")
            else:
                self._conflict(plan, t, eid, ours, theirs, "the same revision holds different content")
        elif theirs.top > ours.top and _contains(theirs, ours):
            if self._unseen_retirement(t, eid, ours, theirs):
                why = f"retired here at revision {ours.top}, while the remote stored revision {theirs.top}"
                self._conflict(plan, t, eid, ours, theirs, why + " without seeing that retirement")
                return
            self._take(plan, t, eid, ours, theirs)
            plan.report.taken.append(f"{label}@{theirs.top}")
        elif ours.top > theirs.top and _contains(ours, theirs):
            if self._unseen_retirement(t, eid, theirs, ours):
                why = f"retired on the remote at revision {theirs.top}, while this clone stored "
                why += f"revision {ours.top} without seeing that retirement"
                self._conflict(plan, t, eid, ours, theirs, why)
                return
            self._push(plan, t, eid, ours, theirs)
            plan.report.pushed.append(f"{label}@{ours.top}")
        elif ours.blob == theirs.blob and ours.top == theirs.top:
            plan.report.up_to_date += 1  # stored twice with identical content: nothing to merge
        else:
            at = min(ours.top, theirs.top)
            self._conflict(
                plan,
                t,
                eid,
                ours,
                theirs,
                f"both sides stored revision {at} independently (different sidecars)",
            )

    def _take(self, plan: _Plan, t: str, eid: str, ours: _Versions, theirs: _Versions) -> None:
        name = f"{_LOCAL}{t}/{eid}"
        for n, oid in sorted(theirs.sidecars.items()):
            if n not in ours.sidecars:
                plan.local.append(RefUpdate(f"{_LOCAL}{t}/v{n}/{eid}", None, oid))
        if ours.blob != theirs.blob:
            plan.local.append(RefUpdate(name, ours.blob, theirs.blob))
        plan.note_retired(t, eid, theirs)

    @staticmethod
    def _push(plan: _Plan, t: str, eid: str, ours: _Versions, theirs: _Versions) -> None:
        for n, oid in sorted(ours.sidecars.items()):
            if n not in theirs.sidecars:
                plan.push.append((f"{_LOCAL}{t}/v{n}/{eid}", oid, None))
        if ours.blob != theirs.blob:
            plan.push.append((f"{_LOCAL}{t}/{eid}", ours.blob, theirs.blob))
        plan.note_retired(t, eid, ours)

    def _conflict(
        self, plan: _Plan, t: str, eid: str, ours: _Versions, theirs: _Versions, reason: str
    ) -> None:
        if self.prefer is None:
            plan.report.conflicts.append(SyncConflict(t, eid, ours.top, theirs.top, reason))
            return
        # A resolution: the chosen side as a new revision above both, here and on the remote; when
        # that side retired the entity (no blob), the new revision is a retirement both sides agree on.
        chosen = ours.blob if self.prefer == "ours" else theirs.blob
        n = max(ours.top, theirs.top) + 1
        side = self.new_sidecar(t, eid, n, chosen)
        name = f"{_LOCAL}{t}/{eid}"
        plan.local.append(RefUpdate(f"{_LOCAL}{t}/v{n}/{eid}", None, side))
        if ours.blob != chosen:
            plan.local.append(RefUpdate(name, ours.blob, chosen))
        for m, oid in sorted(ours.sidecars.items()):
            if m not in theirs.sidecars:
                plan.push.append((f"{_LOCAL}{t}/v{m}/{eid}", oid, None))
        plan.push.append((f"{_LOCAL}{t}/v{n}/{eid}", side, None))
        if theirs.blob != chosen:
            plan.push.append((name, chosen, theirs.blob))
        if chosen is None:
            plan.retired[f"{t}/{eid}"] = side
        plan.report.resolved.append(f"{t}/{eid}@{n} ({self.prefer}: {reason})")


# --- the whole sync -------------------------------------------------------------------------------


def sync(
    workspace: Path | str,
    remote: str = "origin",
    *,
    prefer: Prefer | None = None,
    clock: fmt.Clock | None = None,
) -> SyncReport:
    """Fetch ``remote``'s Engram refs, merge them into ``workspace`` and push what is new here.

    Raises ``StorageError`` when git cannot reach the remote, and ``Conflict`` when the two sides
    name different Engram projects. Conflicting entities are reported, not raised: the rest syncs."""
    path = Path(workspace)
    _check_remote_name(remote)
    repo = _open(path)
    git = _Git(path)
    configured = git.run("remote").stdout.split()
    if remote not in configured:
        raise StorageError(
            f"there is no git remote named {remote!r} in {path}",
            field="remote",
            valid=", ".join(configured) if configured else "no remote is configured",
            next_step=f"add it with `git remote add {remote} <url or path>`, or pass --remote NAME",
        )
    refs_dir = RefFiles(common_dir(repo.path))
    now = clock or fmt.system_clock
    common = common_dir(repo.path)
    agreed_at = syncstate.agreed_path(common, remote)
    agreed, lost = syncstate.load(agreed_at), syncstate.load(syncstate.lost_path(common))
    try:
        refs_dir.recover()
        for _attempt in range(_ATTEMPTS):
            git.run(
                "fetch",
                "--no-tags",
                "--prune",
                "--no-write-fetch-head",
                remote,
                f"+{_LOCAL}*:{STAGING_PREFIX}{remote}/*",
                f"^{STAGING_PREFIX}*",
            )
            refs = git.refs()
            project_id, how, identity_updates, identity_push = _identity(git, repo, refs, remote)

            def new_sidecar(t: str, eid: str, n: int, blob: str | None, pid: str = project_id) -> str:
                agent = _agent_of(repo, blob)
                return str(repo.create_blob(fmt.sidecar_blob(t, eid, agent, n, pid, now())))

            plan = _Merger(remote, prefer, new_sidecar, agreed, lost).plan(refs)
            plan.report.project_id, plan.report.identity = project_id, how
            try:
                _transaction(refs_dir, identity_updates + plan.local)
            except RefStale:
                continue  # a local writer moved a ref meanwhile: start again from what is there now
            pushes = identity_push + plan.push
            if pushes and not _push(git, remote, pushes):
                continue  # the remote moved since the fetch: nothing was pushed; fetch and merge again
            open_keys = {f"{c.entity_type}/{c.entity_id}" for c in plan.report.conflicts}
            try:  # failing here only makes later retirements conflicts, or restores tried again
                syncstate.save(agreed_at, {k: v for k, v in agreed.items() if k in open_keys} | plan.retired)
                syncstate.forget_lost(common, lost)
            except OSError as exc:
                log.warning("engram sync: could not record this sync's state: %s", exc)
            return plan.report
        raise StorageError(
            f"the refs kept changing while syncing with {remote!r} ({_ATTEMPTS} attempts)",
            field="remote",
            next_step="run sync again once the other writers are done",
        )
    finally:
        refs_dir.close()
        repo.free()


def _check_remote_name(remote: str) -> None:
    if "/" in remote and ".." not in remote and _REMOTE_RE.match(remote.replace("/", "-")):
        # git accepts it, but its staging refs would nest inside another remote's (``a`` prunes ``a/b``).
        renamed = remote.replace("/", "-")
        raise StorageError(
            f"a remote name with '/' ({remote!r}) cannot be synced: its staging refs "
            f"({STAGING_PREFIX}{remote}/...) would overlap those of a remote named {remote.split('/')[0]!r}",
            field="remote",
            valid="a remote name without '/', e.g. " + renamed,
            next_step=f"rename it with `git remote rename {remote} {renamed}`, then sync --remote {renamed}",
        )
    if not _REMOTE_RE.match(remote) or remote.endswith(".lock") or ".." in remote:
        raise StorageError(
            f"{remote!r} is not a usable remote name",
            field="remote",
            valid="a configured git remote's name: letters, digits, '.', '_' or '-', e.g. origin",
            next_step="pass --remote with the name `git remote` lists",
        )


def _open(path: Path) -> pygit2.Repository:
    if not (path / ".git").exists() and not is_bare_repository(path):
        raise StorageError(
            f"{path} is not a git repository",
            field="workspace",
            next_step="pass --workspace with the repository that holds the release plans",
        )
    try:
        return pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as exc:
        raise StorageError(f"cannot open the git repository at {path}: {exc}", field="workspace") from None


def _read(repo: pygit2.Repository, oid: str | None) -> bytes | None:
    if oid is None:
        return None
    try:
        obj = repo.get(oid)
    except (ValueError, pygit2.GitError):
        return None
    return obj.data if isinstance(obj, pygit2.Blob) else None


def _agent_of(repo: pygit2.Repository, blob: str | None) -> str:
    try:
        agent = json.loads(_read(repo, blob) or b"{}").get("agent")
    except (ValueError, AttributeError, RecursionError):
        agent = None
    return agent if isinstance(agent, str) and agent else "default"


def _project_id(repo: pygit2.Repository, oid: str | None) -> str | None:
    try:
        value = json.loads(_read(repo, oid) or b"null")
        pid = value.get("project_id") if isinstance(value, dict) else None
    except (ValueError, RecursionError):
        pid = None
    return pid if isinstance(pid, str) and pid else None


def _identity(
    git: _Git, repo: pygit2.Repository, refs: dict[str, str], remote: str
) -> tuple[str, str, list[RefUpdate], list[tuple[str, str | None, str | None]]]:
    """The project id both sides will share, with the local update and push that establish it.

    The remote's stored workspace ref wins over anything derived here: a shallow clone or a clone
    with a dangling HEAD derives another root, and ids namespaced by it would duplicate the team's."""
    name = fmt.WORKSPACE_REF
    ours, theirs = refs.get(name), refs.get(f"{STAGING_PREFIX}{remote}/config/workspace")
    our_pid, their_pid = _project_id(repo, ours), _project_id(repo, theirs)
    if their_pid is not None and theirs is not None:
        if our_pid == their_pid:
            return their_pid, "unchanged", [], []
        if our_pid is not None and _scan(refs, _LOCAL):
            raise Conflict(
                f"this clone's Engram project id ({our_pid[:16]}…) differs from {remote!r}'s "
                f"({their_pid[:16]}…), so ids derived here would duplicate the team's releases",
                field="workspace",
                valid="one project id per team, the one stored on the remote",
                next_step="if this clone should join the team's project, delete its workspace ref with "
                "`git update-ref --no-deref -d refs/engram/config/workspace` and run sync again "
                "(entities stored here keep their ids)",
            )
        return their_pid, "adopted", [RefUpdate(name, ours, theirs)], []
    if our_pid is not None and ours is not None:
        return our_pid, "published" if theirs is None else "unchanged", [], [(name, ours, theirs)]
    # Neither side has one: this clone founds the team's identity, as engram would on first use. The
    # remote holds no workspace ref, so an init commit here is related to nothing it could contradict.
    common = common_dir(repo.path)
    if identity.shallow_commits(common):
        raise StorageError(
            f"neither this clone nor {remote!r} has an Engram project id, and a shallow clone cannot "
            "derive the project's (its history ends early)",
            field="workspace",
            next_step="run `git fetch --unshallow`, or sync from a full clone first, then sync here",
        )
    if repo.head_is_unborn and (branches := _remote_branches(git, repo, remote)):
        # engram would invent an init commit here, unrelated to the history the remote holds, and its
        # id would become the team's: the id must come from that history, so check it out first.
        raise StorageError(
            f"neither this clone nor {remote!r} has an Engram project id, and this clone's HEAD names "
            f"no commit while {remote!r} holds history ({', '.join(branches[:3])}), so the id derived "
            "here would be unrelated to it",
            field="workspace",
            next_step=f"check out the project's branch (e.g. `git checkout {branches[0]}`), then run "
            "sync again",
        )
    refs_dir = RefFiles(common)
    try:

        def create(ref: str, oid: str) -> bool:
            try:
                _transaction(refs_dir, [RefUpdate(ref, None, oid)])
                return True
            except RefStale:
                return False

        try:
            head = identity.head_or_init(repo, create, refs_dir.read)
            root = identity.engram_root_commit(repo, head, [])
        except LookupError as exc:
            raise StorageError(
                f"cannot find this repository's root commit: {exc}", field="workspace"
            ) from None
    finally:
        refs_dir.close()
    pid = fmt.project_id_for(root)
    blob = str(repo.create_blob(fmt.workspace_blob(pid)))
    return pid, "published", [RefUpdate(name, ours, blob)], [(name, blob, None)]


def _remote_branches(git: _Git, repo: pygit2.Repository, remote: str) -> list[str]:
    """The branches ``remote`` holds: as this clone last fetched them (``refs/remotes/<remote>/*``),
    else as the remote lists them now (a clone that never fetched its branches)."""
    prefix = f"refs/remotes/{remote}/"
    names = sorted(r[len(prefix) :] for r in repo.references if r.startswith(prefix) and r != f"{prefix}HEAD")
    if names:
        return names
    listed = git.run("ls-remote", "--heads", remote).stdout
    return sorted(
        line.split("\t", 1)[1].removeprefix("refs/heads/") for line in listed.splitlines() if "\t" in line
    )


def _transaction(refs: RefFiles, updates: list[RefUpdate]) -> None:
    """Apply ``updates`` atomically, waiting out another writer's locks for a while; an old empty lock
    (a crashed writer's) is timed out as the store's writes do, any other is named with its fix."""
    if not updates:
        return
    for _ in range(200):
        try:
            refs.transaction(updates)
            return
        except RefBusy as exc:
            busy = exc
            if not clear_stale_lock(exc.lock):
                time.sleep(0.025)
        except RefPending as pending:  # committed; the next reader of this clone finishes it
            raise filesystem_error(pending.cause, doing="updating this clone's refs", stored=True) from None
        except OSError as exc:
            raise filesystem_error(exc, doing="updating this clone's refs") from None
    raise StorageError(busy.describe(), field="workspace", next_step=busy.remedy())


def _push(git: _Git, remote: str, pushes: Iterable[tuple[str, str | None, str | None]]) -> bool:
    """One atomic push, every ref leased on the value fetched. False if the remote moved meanwhile."""
    args = ["push", "--atomic", "--porcelain", "--no-verify", remote]
    specs = []
    for ref, new, lease in pushes:
        args.append(f"--force-with-lease={ref}:{lease or ''}")
        specs.append(f"{new}:{ref}" if new is not None else f":{ref}")
    done = git.run(*args, *specs, check=False)
    if done.returncode == 0:
        return True
    # Only git's own status lines say why (``!<TAB>src:dst<TAB>[rejected] (stale info)``); a hook's
    # message ("remote: ...") may hold any words and must not pass for a lost race.
    said = done.stdout + done.stderr
    reasons = [
        ln.split("\t")[2] for ln in done.stdout.splitlines() if ln.startswith("!\t") and ln.count("\t") >= 2
    ]
    raced = [r for r in reasons if r.startswith("[rejected]") and any(w in r for w in _RACED)]
    if raced and all(r in raced or r.endswith("(atomic push failed)") for r in reasons):
        return False
    raise StorageError(
        f"git push to {remote!r} was refused: {_last_lines(said)}",
        field="remote",
        next_step="fix what git reports (access rights, hooks on the remote), then run sync again",
    )
