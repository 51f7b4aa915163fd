"""The default store: Engram's own git-refs format, read and written directly in the workspace repo.

Each entity is a blob at ``refs/engram/{type}/{id}`` with a version sidecar per store
(reference/engram-format.md §1), so the real ``engram`` CLI sees everything written here and the
other way round.

Each ``commit`` is one multi-ref transaction (``refs.RefFiles``: git's lock-file protocol plus a
crash journal), so all entities of a call land or none do, even across ``kill -9``; updates
compare-and-swap on the entity ref and on the version number.

Reads are served from an in-process ``EntityIndex`` that is refreshed incrementally: inotify reports
which refs changed (writes by other processes or the engram CLI included), with a stat-based scan
where inotify is unavailable.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pygit2

from ...tools.errors import Conflict, PlannerError, StorageError, filesystem_errno, filesystem_error
from ...tools.ports import (
    ENTITY_TYPES,
    Change,
    EntityType,
    StoredEntity,
    StoreProblem,
)
from . import deepjson, identity, syncstate
from . import format as fmt
from .index import EntityIndex
from .inotify import Inotify
from .objects import CHECK_EVERY_S, Landed, create_blob, keep_on_disk, missing_refs, plan_repairs
from .refs import (
    JOURNAL_DIR,
    RefBusy,
    RefFiles,
    RefPending,
    RefStale,
    RefUpdate,
    StepHook,
    clear_stale_lock,
    common_dir,
    is_bare_repository,
    read_small,
    ref_value,
)
from .scan import RefScanner
from .summaries import SummaryCache

__all__ = ["JOURNAL_DIR", "GitRefsStore", "Refresh"]

log = logging.getLogger(__name__)

_OID_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_VDIR_RE = re.compile(r"^v([1-9][0-9]*)$")
# A prune runs from milliseconds to seconds: the objects of a write are checked again after these
# delays, doubling, for as long as ``objects.Landed`` keeps them.
_WATCH_FIRST_S, _WATCH_MAX_S = 0.005, 0.5
# The first scan's summaries are saved this long after it, so the call that waited for it answers first
# (at 100,000 entities the save takes about 0.5 s). close() saves whatever is still unsaved.
CACHE_SAVE_DELAY_S = 1.0
_BUSY_BUDGET_S = 5.0  # git's core.filesRefLockTimeout is 0.1 s; writers here hold locks ~1 ms

Refresh = Literal["auto", "inotify", "stat"]


# --- the store --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Planned:
    change: Change
    revision: int
    parsed: fmt.Parsed | None  # None for a deletion
    blob_oid: str
    deleted: StoredEntity | None = None
    objects: dict[str, bytes] = field(default_factory=dict)  # what the refs point at: id -> blob


def _read_without_rehashing() -> None:
    """Stop libgit2 hashing every object it reads again to check its id (its default; git's own reads
    do not). That is a third of the time of reading every blob of a cold 100,000-entity workspace, and
    it guards nothing zlib does not: a loose or packed object carries a checksum of its bytes, which
    inflating verifies, and every blob read here is parsed and validated before it is used."""
    pygit2.option(pygit2.enums.Option.ENABLE_STRICT_HASH_VERIFICATION, False)


def _open_whoever_owns_it() -> None:
    """Open a repository another user owns, as a read-only workspace often is: git's
    ``safe.directory`` check guards commands that discover a repository above the current directory
    and run programs its config names. The store opens only the directory it is given (no search)
    and runs nothing from the repository's config, so the check would only refuse every read."""
    pygit2.option(pygit2.enums.Option.SET_OWNER_VALIDATION, False)


def _open_repository(path: Path, create: bool) -> pygit2.Repository:
    """Open (or create) the repository, trying again for ``_BUSY_BUDGET_S``: servers started together
    on a new directory initialise it at once, and one may find another's repository half made (no
    HEAD yet) or its ``config.lock`` taken. Only the last failure is reported."""
    deadline = time.monotonic() + _BUSY_BUDGET_S
    while True:
        try:
            return _open_once(path, create)
        except _CannotCreate:
            raise  # the file system refuses: waiting does not change that
        except StorageError:
            if time.monotonic() > deadline or (not create and not (path / ".git").exists()):
                raise
            time.sleep(random.uniform(0.005, 0.02))


class _CannotCreate(StorageError):
    """The directory cannot take a repository (permissions, a read-only or full file system)."""


def _open_once(path: Path, create: bool) -> pygit2.Repository:
    # Like engram: a workspace without its own .git gets one, even inside another repository. A bare
    # repository is one already: its refs are written into it, never into a nested .git.
    dot_git = path / ".git"
    # A .git directory without HEAD is an initialisation cut short (a full disk, a kill) or another
    # server's still under way: `git init` again completes either and changes nothing that is there.
    # Left alone it stays "not a repository" for every later start, whatever space is freed.
    half_made = create and dot_git.is_dir() and not (dot_git / "HEAD").exists()
    if half_made or (not dot_git.exists() and not is_bare_repository(path)):
        if not create:
            raise StorageError(
                f"{path} is not a git repository",
                field="workspace",
                next_step="run `git init` there, or open the store with create=True",
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
            return pygit2.init_repository(str(path))
        except (OSError, pygit2.GitError) as exc:
            if filesystem_errno(exc) in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC):
                named = filesystem_error(exc, doing=f"creating a git repository at {path}", stored=None)
                raise _CannotCreate(named.message, field="workspace", next_step=named.next_step) from None
            raise StorageError(
                f"cannot create a git repository at {path}: {exc}",
                field="workspace",
                next_step="pass a writable directory as the workspace",
            ) from None
    try:
        return pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as exc:
        raise StorageError(f"cannot open the git repository at {path}: {exc}", field="workspace") from None


def _busy_error(busy: RefBusy) -> StorageError:
    return StorageError(busy.describe(), field="workspace", next_step=busy.remedy())


def _split_ref(name: str) -> tuple[str, str, int] | None:
    """``(type, id, N)`` for ``refs/engram/{type}/{id}`` (N=0) or ``.../v{N}/{id}``; else None."""
    parts = name.split("/")
    if len(parts) < 4 or parts[0] != "refs" or parts[1] != "engram" or parts[2] not in ENTITY_TYPES:
        return None
    if len(parts) == 4:
        return parts[2], parts[3], 0
    if len(parts) == 5:
        m = _VDIR_RE.match(parts[3])
        if m:
            return parts[2], parts[4], int(m.group(1))
    return None


class GitRefsStore:
    """``tools.ports.Store`` over Engram's git refs in ``workspace`` (git-initialised if needed)."""

    name = "git"

    def __init__(
        self,
        workspace: Path | str,
        *,
        clock: fmt.Clock | None = None,
        create: bool = True,
        refresh: Refresh = "auto",
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock or fmt.system_clock
        self._workspace = Path(workspace)
        _read_without_rehashing()
        _open_whoever_owns_it()
        self._repo = _open_repository(self._workspace, create)
        self._common = common_dir(self._repo.path)
        self._refs = RefFiles(self._common)
        self._engram_dir = os.path.join(self._common, "refs", "engram")
        self._objects_dir = os.path.join(self._common, "objects")
        self._landed = Landed()
        self._watcher: threading.Thread | None = None  # checks the last writes' objects between calls
        self._watch_wake = threading.Event()
        self._closing = threading.Event()  # wakes the deferred cache save (see _save_cache_soon)
        self._saver: threading.Thread | None = None
        self._step_hook: StepHook | None = None  # tests: simulate a crash at a transaction step
        self._unwritable: Exception | None = None  # why the workspace ref could not be created
        self._index = EntityIndex(loader=self._load_entity, freshen=self._freshen)
        self._summaries = SummaryCache(self._common)
        self._closed = False
        self._identity_gap: str | None = None  # why no project id could be derived (see _ensure_workspace)
        ino: Inotify | None = None
        if refresh in ("auto", "inotify"):
            try:
                ino = Inotify()
            except (OSError, AttributeError) as exc:
                if refresh == "inotify":
                    raise StorageError(f"inotify is unavailable: {exc}") from None
                log.info("engram store: inotify unavailable (%s); watching refs by stat", exc)
        self._scan = RefScanner(
            self._common, self._index, self._summaries, self._read_blob, ino, missing=self._missing
        )
        with self._lock:
            try:
                self._refs.recover()
            except OSError as exc:
                log.warning("engram store: cannot recover interrupted writes yet: %s", exc)
            self._project_id = self._ensure_workspace()
        # The index is built by the first call, so opening a large workspace costs nothing up front.
        self._scanned = False

    @property
    def id_namespace(self) -> str:
        """Keeps the service's stable ids of different repositories apart: Engram's project id."""
        return self._project_id or str(self._workspace.resolve())

    @property
    def _ino(self) -> Inotify | None:
        return self._scan.ino

    def warm(self) -> None:
        """Build the index now (it is otherwise built by the first read)."""
        with self._lock:
            self._refresh()

    # --- port: reads ----------------------------------------------------------------------------

    def get(self, entity_type: EntityType, entity_id: str) -> StoredEntity | None:
        fmt.check_type(entity_type)
        fmt.check_id(entity_id)
        with self._lock:
            self._refresh()
            return self._index.get(entity_type, entity_id)

    def resolve(self, entity_type: EntityType, id_or_prefix: str) -> StoredEntity:
        fmt.check_type(entity_type)
        with self._lock:
            self._refresh()
            return self._index.resolve(entity_type, id_or_prefix)

    def find(
        self,
        entity_type: EntityType,
        *,
        release: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
    ) -> list[StoredEntity]:
        fmt.check_type(entity_type)
        with self._lock:
            self._refresh()
            return self._index.find(entity_type, release=release, kind=kind, tag=tag)

    def releases(self, entity_type: EntityType) -> list[str]:
        fmt.check_type(entity_type)
        with self._lock:
            self._refresh()
            return self._index.releases(entity_type)

    def links_from(self, entity_id: str) -> list[StoredEntity]:
        with self._lock:
            self._refresh()
            return self._index.links_from(entity_id)

    def links_to(self, entity_id: str) -> list[StoredEntity]:
        with self._lock:
            self._refresh()
            return self._index.links_to(entity_id)

    def connected(self, entity_id: str, max_depth: int | None = None) -> list[str]:
        with self._lock:
            self._refresh()
            return self._index.connected(entity_id, max_depth)

    def problems(self) -> list[StoreProblem]:
        """Refs the index cannot serve, and every ref under ``refs/engram/`` whose object is gone
        (a blob the summary cache still remembers included), each with the command that repairs it."""
        with self._lock:
            self._refresh()
            found = {p.ref: p for p in self._scan.problems()}
            for ref in missing_refs(self._refs, self._objects_dir):
                if ref.name not in found:
                    found[ref.name] = StoreProblem(ref=ref.name, reason=self._missing(ref.name, ref.oid))
            return sorted(found.values(), key=lambda p: p.ref)

    # --- port: writes ---------------------------------------------------------------------------

    def commit(self, changes: Sequence[Change]) -> list[StoredEntity]:
        changes = list(changes)
        fmt.check_changes(changes)
        if not changes:
            return []
        with self._lock:
            project_id = self._writable()
            deadline = time.monotonic() + _BUSY_BUDGET_S
            delay = 0.001
            while True:
                self._refresh()
                planned, updates = self._plan(changes, project_id)
                objects = {oid: data for p in planned for oid, data in p.objects.items()}
                try:
                    if self._step_hook:
                        self._step_hook("blobs-written")
                    # Unreachable until the refs land: a prune may have taken them (objects.py).
                    keep = functools.partial(keep_on_disk, self._objects_dir, objects)
                    self._refs.transaction(updates, self._step_hook, check=keep)
                except RefBusy as busy:
                    if clear_stale_lock(busy.lock):
                        continue
                    if time.monotonic() > deadline:
                        raise _busy_error(busy) from None
                    time.sleep(delay * random.uniform(0.5, 1.5))
                    delay = min(delay * 2, 0.05)
                    continue
                except RefStale as stale:
                    where = _split_ref(stale.name)
                    if where is not None and where[2] > 0 and time.monotonic() < deadline:
                        continue  # another writer took this version number: re-plan from fresh state
                    kind, eid = (where[0], where[1]) if where else ("entity", stale.name)
                    raise Conflict(
                        f"{kind} {eid} was changed by another writer while this call was storing it",
                        field="expected_revision",
                        next_step="re-read it with get_release_plan and pass its current expected_revision",
                    ) from None
                except RefPending as pending:
                    raise filesystem_error(pending.cause, doing="storing the change", stored=True) from None
                except OSError as exc:
                    raise filesystem_error(exc, doing="storing the change") from None
                self._keep_landed(objects)
                return [self._apply_own(p) for p in planned]

    def repair(self) -> tuple[list[str], list[str]]:
        """Put right the refs whose objects a prune took (``objects.py``): a sidecar is written again,
        an entity ref whose content is gone is removed. Returns (what was done, what is left, each with
        the git command that removes it)."""
        with self._lock:
            self._check_open()
            fixed = self._repair_workspace_ref()
            project_id = self._writable()
            self._refresh()
            now = self._clock()

            def sidecar(t: str, eid: str, n: int) -> bytes:
                entity = self._index.get(t, eid)  # type: ignore[arg-type]
                agent = entity.agent if entity is not None else "default"
                return fmt.sidecar_blob(t, eid, agent, n, project_id, now)

            written: dict[str, bytes] = {}

            def write_blob(data: bytes) -> str:
                written[oid := create_blob(self._repo, data)] = data
                return oid

            missing = missing_refs(self._refs, self._objects_dir)
            repairs = plan_repairs(
                missing,
                workspace=str(self._workspace),
                split=_split_ref,
                sidecar=sidecar,
                write_blob=write_blob,
            )
            if repairs.updates:
                # Recorded first: a removal for lost content must not travel to a team as a retirement.
                lost = syncstate.lost_entities(repairs.updates, _split_ref, self._index.revision)
                syncstate.note_lost(self._common, lost)
                self._apply_repair(repairs.updates, written, "a ref")
            self._refresh()
            return fixed + repairs.done, repairs.left

    def close(self) -> None:
        self._closing.set()
        saver = self._saver
        if saver is not None and saver is not threading.current_thread():
            saver.join(timeout=60)  # a save under way finishes before the process may exit
        with self._lock:
            try:
                if not self._closed:
                    self._keep_landed()  # a prune still running may have taken the last writes' objects
            except PlannerError as exc:  # closing goes on: what is lost is reported by problems()
                log.warning("engram store: %s", exc)
            if self._scan.ino is not None:
                self._scan.ino.close()
                self._scan.ino = None
            self._refs.close()
            if not self._closed and self._scanned:
                self._summaries.save(self._scan.cache_rows, self._scan.packed_state)
            if not self._closed:
                self._repo.free()  # pack files and their maps; the object is unusable afterwards
            self._closed = True

    def __enter__(self) -> GitRefsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------------------

    def _keep_landed(self, objects: dict[str, bytes] | None = None) -> None:
        """Once more with the refs in place, and on every later call for a while (``objects.Landed``):
        a prune that listed the refs before they landed may still be deleting."""
        if objects:
            self._landed.add(objects)
            self._watch_landed()
        try:
            self._landed.check(
                self._objects_dir, every=0.0 if objects is None else CHECK_EVERY_S, fresh=objects
            )
        except OSError as exc:
            raise StorageError(
                f"the change was stored, but a prune removed an object it points at and writing it "
                f"again failed ({exc})",
                field="workspace",
                next_step=f"run `engram-release-planner repair --workspace {self._workspace}`, then retry",
            ) from None

    def _watch_landed(self) -> None:
        """Keep checking the last writes' objects while no call comes: a prune that listed the refs
        before they landed deletes the objects whenever it reaches them, often after the write's own
        last check, and a client that makes no further call would leave its acknowledged write
        pointing at nothing. The caller holds ``_lock``."""
        self._watch_wake.set()
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch_loop, name="engram-store-landed", daemon=True)
            self._watcher.start()

    def _watch_loop(self) -> None:
        delay = _WATCH_FIRST_S
        while True:
            if self._watch_wake.wait(delay):
                self._watch_wake.clear()  # a new write, checked by itself just now: start over, fast
                delay = _WATCH_FIRST_S
                continue
            delay = min(delay * 2, _WATCH_MAX_S)
            with self._lock:
                if self._closed or not self._landed:
                    self._watcher = None  # under the lock: a write after this starts a new watcher
                    return
                try:
                    self._landed.check(self._objects_dir)
                except OSError as exc:  # the next call reports it, naming repair
                    log.warning("engram store: writing a pruned object again failed: %s", exc)

    def _writable(self) -> str:
        """The project id writes record; refuses, naming why, when the workspace cannot be written."""
        self._check_open()
        if self._project_id is None:
            self._project_id = self._ensure_workspace()
            if self._project_id is None:
                if self._identity_gap is not None:
                    raise StorageError(
                        f"the workspace {self._workspace} has no Engram project id yet: "
                        + self._identity_gap,
                        field="workspace",
                        next_step="run `engram-release-planner sync` to take the project id from the "
                        "remote, then retry",
                    )
                cause = self._unwritable or OSError(f"the workspace {self._workspace} is not writable")
                if isinstance(cause, StorageError):  # e.g. a history whose root commit is missing
                    raise cause
                if isinstance(cause, RefBusy):
                    raise _busy_error(cause)
                raise filesystem_error(cause, doing=f"writing to the workspace {self._workspace}")
        return self._project_id

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the store is closed")

    def _plan(self, changes: Sequence[Change], project_id: str) -> tuple[list[_Planned], list[RefUpdate]]:
        now = self._clock()
        planned: list[_Planned] = []
        updates: list[RefUpdate] = []
        for change in changes:
            t, eid = change.type, change.id
            name = fmt.entity_ref(t, eid)
            revision = self._index.revision(t, eid)  # first: a newer sidecar re-reads the ref
            old = self._scan.applied(t, eid)
            # Indexed from the summary cache is not enough: a prune may have taken the blob since.
            current = self._index.get(t, eid) if self._index.has(t, eid) else None
            readable = current is not None
            fmt.check_revision(change, exists=old is not None, revision=revision, readable=readable)
            if change.delete:
                # Engram's delete: the entity ref goes; its sidecars stay and its blob is orphaned.
                assert current is not None  # check_revision refused an unreadable or missing entity
                planned.append(_Planned(change, revision, None, "", deleted=current))
                updates.append(RefUpdate(name, old, None))
                continue
            stored = self._load_data(t, eid, old) if change.expected_revision is not None else None
            blob = fmt.render_change(change, stored=stored, now=now)
            parsed = fmt.parse_envelope(t, eid, blob, revision + 1)
            side = fmt.sidecar_blob(t, eid, change.agent, revision + 1, project_id, now)
            try:
                blob_oid = create_blob(self._repo, blob)
                side_oid = create_blob(self._repo, side)
            except (OSError, pygit2.GitError) as exc:
                # pygit2 raises the file system's refusals (full, read-only, no permission) as either.
                raise filesystem_error(exc, doing="writing objects to the workspace repository") from None
            objects = {blob_oid: blob, side_oid: side}
            planned.append(_Planned(change, revision + 1, parsed, blob_oid, objects=objects))
            updates.append(RefUpdate(name, old, blob_oid))
            updates.append(RefUpdate(fmt.sidecar_ref(t, eid, revision + 1), None, side_oid))
        return planned, updates

    def _load_data(self, entity_type: str, entity_id: str, oid: str | None) -> dict[str, Any]:
        raw = self._read_blob(oid) if oid else None
        if raw is None:
            raise StorageError(f"the blob of {entity_type} {entity_id} is missing from the repository")
        return fmt.parse_envelope(entity_type, entity_id, raw).data

    def _apply_own(self, p: _Planned) -> StoredEntity:
        t, eid, n = p.change.type, p.change.id, p.revision
        if p.parsed is None:
            assert p.deleted is not None
            self._scan.own_write(t, eid, n, None)
            self._index.remove(t, eid)  # the revision stays: the sidecars do
            return p.deleted
        self._scan.own_write(t, eid, n, p.blob_oid)
        self._summaries.dirty = True
        return self._index.put(p.parsed.entity, p.parsed.sort_ns, p.blob_oid)

    # --- workspace --------------------------------------------------------------------------------

    def _ensure_workspace(self) -> str | None:
        """Engram's ``refs/engram/config/workspace`` (create-only: whoever writes first wins).

        Without one, a workspace ref fetched from a remote (``sync``'s staging refs) is adopted, so
        every clone namespaces its ids alike; a clone that cannot derive the team's id by itself (see
        ``identity.underivable``) gets none until ``sync`` brings it, and stays read-only meanwhile."""
        self._identity_gap = None
        value = self._refs.read(fmt.WORKSPACE_REF)
        if value is None:
            try:
                value = self._create_workspace_ref()
            except (OSError, pygit2.GitError, RefBusy, RefPending, StorageError) as exc:
                log.warning("engram store: workspace %s is not writable yet (%s)", self._workspace, exc)
                # Writes try again and name this cause; reads are served. A journaled ref that could
                # not be put in place is finished by the next reader: its cause is the file system's.
                self._unwritable = exc.cause if isinstance(exc, RefPending) else exc
                return None
            if value is None:
                return None
        self._unwritable = None
        project_id = self._project_id_in(value)
        if project_id is None:
            # Another tool's (or a prune's) doing: every read is still served, each write is refused
            # naming the ref and the command that puts it right.
            self._unwritable = StorageError(
                f"{fmt.WORKSPACE_REF} ({value}) is not a blob holding a project_id, so nothing can be "
                "stored in this workspace",
                field="workspace",
                next_step=f"run `engram-release-planner repair --workspace {self._workspace}`, then retry",
            )
            log.warning("engram store: %s", self._unwritable)
        return project_id

    def _project_id_in(self, value: str) -> str | None:
        """The project id of the workspace blob ``value`` names, or None if it holds none."""
        raw = self._read_blob(value) if _OID_RE.match(value) else None
        try:
            # Written by any tool: of any depth (the standard parser would recurse out of stack).
            stored = deepjson.loads(raw) if raw is not None else None
        except ValueError:
            stored = None
        project_id = stored.get("project_id") if isinstance(stored, dict) else None
        return project_id if isinstance(project_id, str) and project_id else None

    def _repair_workspace_ref(self) -> list[str]:
        """Rewrite an unreadable workspace ref with the project id its version records all carry
        (else the one a new workspace gets); what was done, in words."""
        value = self._refs.read(fmt.WORKSPACE_REF)
        if value is None or self._project_id_in(value) is not None:
            return []
        recorded = self._recorded_project_ids()
        objects: dict[str, bytes] = {}
        if len(recorded) == 1:
            blob = fmt.workspace_blob(next(iter(recorded)))
            oid: str | None = create_blob(self._repo, blob)
            objects[str(oid)] = blob
        else:
            oid = self._new_workspace_oid()
        if oid is None:
            return []  # no id can be derived here: writes name that gap and how to fill it
        self._apply_repair([RefUpdate(fmt.WORKSPACE_REF, value, oid)], objects, fmt.WORKSPACE_REF)
        self._project_id = self._ensure_workspace()
        return [f"{fmt.WORKSPACE_REF}: it held no readable project id; written again ({self._project_id})"]

    def _apply_repair(self, updates: list[RefUpdate], objects: dict[str, bytes], moved: str) -> None:
        """One repair transaction, its objects kept on disk while its locks are held."""
        keep = functools.partial(keep_on_disk, self._objects_dir, objects)
        try:
            self._refs.transaction(updates, check=keep)
        except RefBusy as busy:
            raise _busy_error(busy) from None
        except RefStale as exc:
            raise StorageError(
                f"another writer moved {moved} while repair ran ({exc}); nothing was repaired",
                field="workspace",
                next_step="run `engram-release-planner repair` again",
            ) from None
        except RefPending as pending:  # committed: the next reader puts it in place
            raise filesystem_error(pending.cause, doing="repairing the workspace", stored=True) from None

    def _recorded_project_ids(self, sample: int = 64) -> set[str]:
        """The project ids the first ``sample`` readable version sidecars record."""
        found: set[str] = set()
        read = 0
        names = {**self._refs.packed(), **_loose_engram_refs(self._engram_dir)}
        for name, oid in names.items():
            where = _split_ref(name)
            if where is None or where[2] == 0 or not _OID_RE.match(oid):
                continue
            raw = self._read_blob(oid)
            try:
                side = json.loads(raw) if raw is not None else None
            except (ValueError, RecursionError):
                side = None
            if isinstance(side, dict) and isinstance(side.get("project_id"), str) and side["project_id"]:
                found.add(side["project_id"])
                read += 1
                if read >= sample:
                    break
        return found

    def _create_workspace_ref(self) -> str | None:
        oid = self._new_workspace_oid()
        if oid is None:
            return None
        self._create_ref(fmt.WORKSPACE_REF, oid)
        return self._refs.read(fmt.WORKSPACE_REF)

    def _new_workspace_oid(self) -> str | None:
        """The blob a new workspace ref points at, or None when this clone cannot derive one."""
        staged = identity.staged_workspaces(self._common, self._refs.packed(), self._read_blob)
        if len({pid for _oid, pid in staged.values()}) == 1:
            return next(iter(staged.values()))[0]  # the team's identity, exactly as it is stored there
        self._identity_gap = identity.underivable(self._repo, self._common)
        if self._identity_gap is not None:
            log.warning("engram store: no project id yet in %s: %s", self._workspace, self._identity_gap)
            return None
        project_id = fmt.project_id_for(self._root_commit())
        return str(self._repo.create_blob(fmt.workspace_blob(project_id)))

    def _create_ref(self, name: str, oid: str) -> bool:
        """Create-only; False if someone else created it first."""
        deadline = time.monotonic() + _BUSY_BUDGET_S
        while True:
            try:
                self._refs.transaction([RefUpdate(name, None, oid)])
                return True
            except RefStale:
                return False
            except RefBusy as busy:
                if clear_stale_lock(busy.lock):
                    continue
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def _root_commit(self) -> str:
        try:
            head = identity.head_or_init(self._repo, self._create_ref, self._refs.read)
            return identity.engram_root_commit(self._repo, head, identity.shallow_commits(self._common))
        except LookupError as exc:
            raise StorageError(
                f"cannot find this repository's root commit: {exc}",
                field="workspace",
                next_step="repair the clone (git fetch --refetch), or run `engram-release-planner sync` to "
                "take the project id from the remote",
            ) from None

    # --- reading refs into the index ------------------------------------------------------------

    def _read_blob(self, oid: str) -> bytes | None:
        try:
            kind, data = self._repo.odb.read(oid)
        except (KeyError, ValueError, pygit2.GitError):
            return self._landed_again(oid)
        return data if kind == pygit2.enums.ObjectType.BLOB else None

    def _landed_again(self, oid: str) -> bytes | None:
        """A recent write's object that a prune took before the next check: served from its bytes,
        and written back for other readers."""
        data = self._landed.bytes_of(oid)
        if data is not None:
            log.warning("engram store: object %s was pruned after its write; writing it again", oid)
            with contextlib.suppress(OSError):
                keep_on_disk(self._objects_dir, {oid: data})
        return data

    def _refresh(self) -> None:
        self._check_open()
        try:
            self._refs.recover()
            self._landed.check(self._objects_dir, every=CHECK_EVERY_S)
        except OSError as exc:
            log.warning("engram store: cannot recover interrupted writes: %s", exc)
        if self._scanned:
            self._scan.refresh()
            return
        try:
            self._scan.scan(cached=True)
        except OSError as exc:
            if self._scan.ino is None:
                raise
            log.warning("engram store: inotify failed (%s); watching refs by stat from now on", exc)
            self._scan.ino.close()
            self._scan.ino = None
            self._scan.scan(cached=True)
        self._scanned = True
        _trim_heap()
        if self._summaries.dirty:
            self._saver = threading.Thread(
                target=self._save_cache_soon, name="engram-store-cache", daemon=True
            )
            self._saver.start()

    def _save_cache_soon(self) -> None:
        """Save the first scan's summaries a moment after it, off the path of the call that waited for
        it. The rows are taken under the lock; building and writing the file (no longer reading the
        index) happens outside it, so calls meanwhile wait for nothing. A row is a summary of a blob
        id, true forever, so a file written from rows a little older than the index is incomplete at
        worst, never wrong; ``close`` saves again whatever was learnt after."""
        if self._closing.wait(CACHE_SAVE_DELAY_S):
            return
        with self._lock:
            if self._closing.is_set() or not self._summaries.dirty:
                return  # close() saves
            rows = list(self._scan.cache_rows())
            self._summaries.dirty = False  # what is learnt from now on makes it dirty again
        if not self._summaries.write(rows, self._scan.packed_state):
            self._summaries.dirty = True
        del rows
        _trim_heap()

    def _freshen(self, t: str, eid: str) -> None:
        if self._scanned:
            self._scan.freshen(t, eid)

    def _missing(self, name: str, oid: str) -> str:
        fix = f"engram-release-planner repair --workspace {self._workspace}"
        return (
            f"the ref points at {oid}, which is missing (a prune took it?) or not a blob; `{fix}` "
            f"removes the ref (its content is gone), or `git -C {self._workspace} update-ref -d {name} {oid}`"
        )

    def _load_entity(self, t: str, eid: str, ref: object, revision: int) -> StoredEntity | None:
        """The index's loader: one entity from its blob, parsed when a query needs it."""
        raw = self._read_blob(ref) if isinstance(ref, str) else None
        if raw is None:
            log.warning("engram store: the blob %s of %s %s is no longer readable", ref, t, eid)
            return None
        result = fmt.read_entity(t, eid, raw, revision)
        return result.entity if not isinstance(result, StoreProblem) else None


def _loose_engram_refs(top: str) -> dict[str, str]:
    """Loose refs under ``refs/engram/`` (``top``) and their values; lock files skipped."""
    found: dict[str, str] = {}
    for directory, _dirs, files in os.walk(top):
        for fname in files:
            if not fname.endswith(".lock"):
                path = os.path.join(directory, fname)
                value = ref_value(read_small(path))
                if value is not None:
                    found["refs/engram/" + os.path.relpath(path, top).replace(os.sep, "/")] = value
    return found


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc, found once: ``find_library`` runs ``ldconfig`` in a subprocess on every call."""
    for name in ("libc.so.6", None):
        try:
            return ctypes.CDLL(name or ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        except OSError:
            continue
    return None


def _trim_heap() -> None:
    """Hand the full scan's transient memory back to the system (glibc keeps freed heap otherwise)."""
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is not None:
        trim(0)
