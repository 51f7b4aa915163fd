"""Objects a write points at, kept on disk while ``git gc --prune=now`` or ``git prune --expire=now``
runs beside it, and refs whose objects such a prune took anyway.

A blob written for a commit is unreachable until its ref lands, so a prune with no grace period may
delete it in between: the ref would then point at nothing, that entity could not be updated again,
and every later ``git gc`` would stop at the broken ref. So a write checks, while it holds every
lock, that each object it points at is on disk, writes any missing one again from the bytes at hand
(a loose object is ``zlib("blob <size>\\0" + data)`` at ``objects/<2 hex>/<rest>``), and checks once
more after its refs are in place, when a prune can no longer take them.

``missing_refs`` and ``repair`` find and fix refs a prune broke before this check existed, or that
another tool wrote: a version sidecar is written again from what it records (its id, type, version
and the workspace's project id), an entity ref whose content is gone is removed, as Engram deletes
(its sidecars stay, so the entity can be stored again under a higher revision).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import re
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pygit2

from .identity import STAGING_PREFIX
from .refs import RefFiles, RefUpdate, read_small, ref_value, write_all

log = logging.getLogger(__name__)

LOOSE_MODE = 0o444
KEEP_S = 30.0  # longer than a prune of a large repository runs
KEEP_MAX = 4096  # objects; the oldest are let go first
CHECK_EVERY_S = 0.05  # a call checks them all at most this often
_ATTEMPTS = 10
_OID_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def loose_path(objects_dir: str, oid: str) -> str:
    return os.path.join(objects_dir, oid[:2], oid[2:])


def in_a_pack(objects_dir: str, oid: str) -> bool:
    """Whether the packs on disk *now* hold ``oid``: a fresh object database, since an open one may
    answer from its cache or from a pack file that ``git gc`` has deleted meanwhile."""
    try:
        return pygit2.Odb(objects_dir).exists(oid)
    except (pygit2.GitError, OSError, ValueError):
        return False


def on_disk(objects_dir: str, oid: str, packed: Callable[[str, str], bool] = in_a_pack) -> bool:
    """Whether ``oid`` is a loose object file now, or else in a pack."""
    return os.path.exists(loose_path(objects_dir, oid)) or packed(objects_dir, oid)


def _packs_now() -> Callable[[str, str], bool]:
    """``in_a_pack`` for one pass over many objects: one fresh object database, opened the first
    time a loose file is missing, instead of one per object."""
    odb: list[pygit2.Odb | None] = []

    def packed(objects_dir: str, oid: str) -> bool:
        if not odb:
            try:
                odb.append(pygit2.Odb(objects_dir))
            except (pygit2.GitError, OSError, ValueError):
                odb.append(None)
        try:
            return odb[0] is not None and odb[0].exists(oid)
        except (pygit2.GitError, OSError, ValueError):
            return False

    return packed


def write_loose(objects_dir: str, oid: str, data: bytes) -> None:
    """Write the blob ``data`` (whose id is ``oid``) as a loose object, the way git does: a temporary
    file in the fan-out directory, renamed into place; an existing file is left as it is. A prune
    removes temporary files and empty fan-out directories too, so a vanished one is tried again."""
    path = loose_path(objects_dir, oid)
    body = zlib.compress(b"blob %d\0" % len(data) + data)
    for attempt in range(_ATTEMPTS):
        if os.path.exists(path):
            return
        try:
            _write_once(path, body)
            return
        except FileNotFoundError:
            if attempt == _ATTEMPTS - 1:
                raise


def _write_once(path: str, body: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), f"tmp_obj_{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, LOOSE_MODE)
    try:
        try:
            write_all(fd, body)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def keep_on_disk(objects_dir: str, blobs: Mapping[str, bytes]) -> None:
    """Write again every blob of ``blobs`` (id -> bytes) that is no longer on disk."""
    packed = _packs_now()
    for oid, data in blobs.items():
        if not on_disk(objects_dir, oid, packed):
            log.warning("engram store: object %s was pruned around its write; writing it again", oid)
            write_loose(objects_dir, oid, data)


class Landed:
    """The objects of this store's recent writes, with their bytes, for ``KEEP_S`` after their refs
    landed. A prune that listed the refs just before they landed may still delete them afterwards
    (``--expire=now`` spares nothing unreachable at its start); the store checks them and writes back
    what it took, until no prune that began before the write can still run: a write's own objects
    right after its refs land, all of them on later calls (at most every ``CHECK_EVERY_S``, so a
    burst of writes does not stat every recent object on every call) and from a watcher between
    calls. A read of one that is missing meanwhile is served from here (``bytes_of``)."""

    def __init__(self) -> None:
        self._objects: dict[str, tuple[float, bytes]] = {}
        self._checked_at = -math.inf

    def add(self, objects: Mapping[str, bytes]) -> None:
        now = time.monotonic()
        for oid, data in objects.items():
            self._objects[oid] = (now, data)
        while len(self._objects) > KEEP_MAX:
            del self._objects[next(iter(self._objects))]

    def __len__(self) -> int:
        return len(self._objects)

    def bytes_of(self, oid: str) -> bytes | None:
        kept = self._objects.get(oid)
        return kept[1] if kept is not None else None

    def check(
        self, objects_dir: str, *, every: float = 0.0, fresh: Mapping[str, bytes] | None = None
    ) -> None:
        """Write back what a prune took: ``fresh`` always, the rest unless checked less than
        ``every`` seconds ago."""
        if fresh:
            keep_on_disk(objects_dir, fresh)
        now = time.monotonic()
        if not self._objects or (every > 0 and now - self._checked_at < every):
            return
        since = now - KEEP_S
        self._objects = {oid: kept for oid, kept in self._objects.items() if kept[0] >= since}
        keep_on_disk(objects_dir, {oid: data for oid, (_at, data) in self._objects.items()})
        self._checked_at = now


def create_blob(repo: pygit2.Repository, data: bytes) -> str:
    """``repo.create_blob``, tried again when a prune removed the fan-out directory or temporary file
    libgit2 was writing into (libgit2 then fails with ENOENT)."""
    for attempt in range(_ATTEMPTS):
        try:
            return str(repo.create_blob(data))
        except (OSError, pygit2.GitError) as exc:
            if os.strerror(errno.ENOENT) not in str(exc) or attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class MissingRef:
    """A ref under ``refs/engram/`` pointing at an object that is not in the repository."""

    name: str
    oid: str

    def command(self, workspace: str) -> str:
        """The git command that removes this ref (its content is gone; nothing else can be done)."""
        return f"git -C {workspace} update-ref -d {self.name} {self.oid}"


def _engram_refs(refs: RefFiles) -> dict[str, str]:
    """Every ref under ``refs/engram/`` and its value, loose over packed (lock files skipped)."""
    found = {name: oid for name, oid in refs.packed().items() if name.startswith("refs/engram/")}
    top = refs.path("refs/engram")
    for directory, _dirs, files in os.walk(top):
        for fname in files:
            if fname.endswith(".lock"):
                continue
            name = "refs/engram/" + os.path.relpath(os.path.join(directory, fname), top).replace(os.sep, "/")
            value = ref_value(read_small(refs.path(name)))
            if value is not None:
                found[name] = value
    return found


def missing_refs(refs: RefFiles, objects_dir: str) -> list[MissingRef]:
    """Refs under ``refs/engram/`` whose object is in neither a loose file nor a pack."""
    packed = _packs_now()
    return [
        MissingRef(name, oid)
        for name, oid in sorted(_engram_refs(refs).items())
        if _OID_RE.match(oid) and not on_disk(objects_dir, oid, packed)
    ]


@dataclass(frozen=True, slots=True)
class Repairs:
    """How to put each broken ref right: ``rewrite`` a sidecar (ref -> fresh blob bytes), ``remove``
    an entity ref, and ``left`` what this store does not own (reported with the git command)."""

    updates: list[RefUpdate]
    done: list[str]
    left: list[str]


def plan_repairs(
    missing: list[MissingRef],
    *,
    workspace: str,
    split: Callable[[str], tuple[str, str, int] | None],
    sidecar: Callable[[str, str, int], bytes],
    write_blob: Callable[[bytes], str],
) -> Repairs:
    updates: list[RefUpdate] = []
    done: list[str] = []
    left: list[str] = []
    for ref in missing:
        where = split(ref.name)
        if ref.name.startswith(STAGING_PREFIX):
            updates.append(RefUpdate(ref.name, ref.oid, None))
            done.append(
                f"{ref.name}: a copy fetched from a remote was missing; removed (sync fetches it again)"
            )
        elif where is None:
            left.append(f"{ref.name} points at the missing {ref.oid}: {ref.command(workspace)}")
        elif where[2]:
            new = write_blob(sidecar(*where))
            updates.append(RefUpdate(ref.name, ref.oid, new))
            done.append(f"{ref.name}: its version record was missing and was written again")
        else:
            updates.append(RefUpdate(ref.name, ref.oid, None))
            done.append(
                f"{ref.name}: its content was missing; the ref was removed (a sync takes the team's copy "
                "back; otherwise store that artifact again)"
            )
    return Repairs(updates, done, left)
