"""Git refs on disk, handled the way git itself does.

* Reading: loose ref files and ``packed-refs`` (loose wins), with no subprocess.
* Writing: ``RefFiles.transaction`` updates several refs atomically with git's lock-file protocol
  (``<ref>.lock`` created exclusively, holding the new value; old values compared while every lock is
  held; locks renamed into place), so git, gix (engram) and this code exclude each other per ref.
  A journal per open store, ``flock``-ed while its writer lives, records each transaction before its
  locks and marks it committed once all are held; ``recover`` finishes (rolls forward) or undoes
  (rolls back) the transactions of writers that died, so ``kill -9`` never leaves half a write.
* Watching: ``Inotify`` (in ``inotify.py``, Linux through ctypes) reports which ref files changed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# Moved to their own module; imported from here by older code.
from .inotify import IN_Q_OVERFLOW as IN_Q_OVERFLOW
from .inotify import Inotify as Inotify

log = logging.getLogger(__name__)

JOURNAL_DIR = "engram-release-planner/journal"

StepHook = Callable[[str], None]


# --- refs as git stores them ------------------------------------------------------------------------


def is_bare_repository(path: str | os.PathLike[str]) -> bool:
    """A bare git repository: ``HEAD``, ``objects/`` and ``refs/`` in the directory itself (no ``.git``)."""
    return (
        os.path.isfile(os.path.join(path, "HEAD"))
        and os.path.isdir(os.path.join(path, "objects"))
        and os.path.isdir(os.path.join(path, "refs"))
    )


def read_small(path: str) -> bytes | None:
    """The first 4 KiB of a ref file; None if there is no regular file there. Opened without blocking:
    a named pipe someone left under ``refs/`` would otherwise hang the reader (and every call) forever."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, 4096)
    except IsADirectoryError:
        return None
    finally:
        os.close(fd)


def ref_value(raw: bytes | None) -> str | None:
    """A loose ref's value: ``<hex>`` or ``ref: <target>`` for a symbolic ref."""
    if raw is None:
        return None
    return raw.decode("utf-8", "replace").strip()


def parse_packed(raw: bytes) -> dict[str, str]:
    refs: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        if not line or line[0] in "#^":
            continue
        oid, _, name = line.partition(" ")
        if name:
            refs[name] = oid
    return refs


def without_packed(raw: bytes, names: set[str]) -> bytes:
    """``packed-refs`` with the lines of ``names`` (and their peeled ``^`` lines) taken out; every
    other byte is kept as git wrote it."""
    out: list[bytes] = []
    dropping = False
    for line in raw.splitlines(keepends=True):
        if line.startswith(b"^"):
            if not dropping:
                out.append(line)
            continue
        name = line.rstrip(b"\n").partition(b" ")[2].decode("utf-8", "replace")
        dropping = not line.startswith(b"#") and name in names
        if not dropping:
            out.append(line)
    return b"".join(out)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stat_sig(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


@dataclass(frozen=True, slots=True)
class RefUpdate:
    name: str
    old: str | None  # None: the ref must not exist
    new: str | None  # None: delete the ref (loose and packed)


# What the lock of a ref being deleted holds: git's null object id. Git and gix never read a lock's
# content; recovery uses it to recognise a dead writer's deletion.
DELETED = "0" * 40
# A transaction that deletes a packed ref rewrites ``packed-refs`` under ``packed-refs.lock``; its
# journal entry is ``[PACKED_REFS, sha256 of the file it rewrote, sha256 of the new file]``.
PACKED_REFS = "packed-refs"


def _payload(update: RefUpdate) -> bytes:
    return ((update.new if update.new is not None else DELETED) + "\n").encode()


class RefBusy(Exception):
    def __init__(self, name: str, lock: str) -> None:
        super().__init__(f"{name} is locked ({lock} exists)")
        self.name = name
        self.lock = lock

    def describe(self) -> str:
        """The lock and how long it has been there."""
        age = lock_age(self.lock)
        held = f" for {age:.0f} s" if age is not None else ""
        return f"{self.name} stayed locked by another writer ({self.lock} exists{held})"

    def remedy(self) -> str:
        return f"retry; if no git or engram process is running, delete that lock file: `rm {self.lock}`"


# An empty lock this old is a crash's leftover: every writer (git, gix, this code) fills its lock or
# lets go of it within milliseconds. Git never times locks out by itself; an *empty* one carries no
# value to lose, so it is removed; a filled one is reported, never removed.
STALE_LOCK_S = 600.0


def lock_age(lock: str) -> float | None:
    try:
        return max(0.0, time.time() - os.stat(lock).st_mtime)
    except OSError:
        return None


def clear_stale_lock(lock: str) -> bool:
    """Remove ``lock`` if it is empty and older than ``STALE_LOCK_S``; True if it was removed."""
    try:
        st = os.stat(lock)
    except OSError:
        return False
    if st.st_size != 0 or time.time() - st.st_mtime < STALE_LOCK_S:
        return False
    log.warning(
        "engram store: removing %s, an empty lock left %.0f s ago by a crashed writer",
        lock,
        time.time() - st.st_mtime,
    )
    _unlink(lock)
    return True


class RefStale(Exception):
    def __init__(self, name: str, expected: str | None, found: str | None) -> None:
        super().__init__(f"{name} is {found!r}, expected {expected!r}")
        self.name = name
        self.expected = expected
        self.found = found


class RefPending(Exception):
    """The transaction was committed (journaled) but a filesystem error kept its refs from being put
    in place; the next recovery (any reader's) finishes it. ``cause`` is that error."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(f"the write is committed but not yet in place: {cause}")
        self.cause = cause


class _NotYet(Exception):
    """Recovery met a lock that may still belong to a live writer; the journal is kept for later."""


# How often a recovery also clears the empty journals of writers that died between writes.
_SWEEP_EVERY_S = 5.0
_PENDING = b"PENDING  \n"
_COMMITTED = b"COMMITTED\n"  # same length as _PENDING: committing overwrites it in place


class _Journal:
    """This store's intent log: one file per open store, held with ``flock`` while the store lives,
    so other processes can tell a live writer's unfinished write from a dead one's.

    Per transaction it holds the ref updates (one write), then ``COMMITTED`` once every lock is held,
    and is emptied when the refs are in place; it is empty whenever nothing is in flight. No file is
    created per transaction."""

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        stem = f"{os.getpid()}-{uuid.uuid4().hex}"
        self.path = os.path.join(directory, stem + ".journal")
        draft = os.path.join(directory, stem + ".draft")
        fd = os.open(draft, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # Published already locked: nobody ever sees an unowned journal.
            os.rename(draft, self.path)
        except BaseException:
            os.close(fd)
            _unlink(draft)
            raise
        self.fd: int | None = fd
        self._state_at = 0

    def begin(self, updates: Sequence[RefUpdate]) -> None:
        """Line 1: the updates; line 2: the state (readers look at these two lines only)."""
        assert self.fd is not None
        body = json.dumps({"pid": os.getpid(), "updates": [[u.name, u.old, u.new] for u in updates]})
        data = body.encode() + b"\n"
        # One write: a process killed mid-call leaves all of it or none of it (then no lock was taken).
        # A short write (a disk that filled up meanwhile) fails here, before any lock is taken.
        _pwrite_all(self.fd, data + _PENDING, 0)
        self._state_at = len(data)

    def commit(self) -> None:
        assert self.fd is not None
        _pwrite_all(self.fd, _COMMITTED, self._state_at)

    def clear(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # empty: nothing in flight

    def close(self) -> None:
        if self.fd is not None:
            _unlink(self.path)
        self.release()

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:
        # An unclosed store: free the flock; the empty journal is removed by the next recovery.
        with contextlib.suppress(OSError):
            self.release()


class RefFiles:
    """Loose and packed refs of one repository, and atomic multi-ref transactions over them."""

    def __init__(self, common_dir: str) -> None:
        self._swept_at = -_SWEEP_EVERY_S  # the first recovery sweeps
        self.common = common_dir
        self.journal_dir = os.path.join(common_dir, JOURNAL_DIR)
        self._journal: _Journal | None = None
        self._packed_path = os.path.join(common_dir, "packed-refs")
        self._packed_sig: tuple[int, int, int, int] | None = None
        self._packed: dict[str, str] = {}

    def path(self, name: str) -> str:
        return os.path.join(self.common, name)

    def packed(self) -> dict[str, str]:
        """All packed refs; re-parsed only when packed-refs was replaced (git renames it into place)."""
        sig = stat_sig(self._packed_path)
        if sig != self._packed_sig:
            raw = read_all(self._packed_path)
            self._packed = parse_packed(raw) if raw is not None else {}
            self._packed_sig = sig
        return self._packed

    def read(self, name: str) -> str | None:
        value = ref_value(read_small(self.path(name)))
        if value is not None:
            return value
        return self.packed().get(name)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    # --- transactions ---------------------------------------------------------------------------

    def transaction(
        self,
        updates: Sequence[RefUpdate],
        hook: StepHook | None = None,
        check: Callable[[], None] | None = None,
    ) -> None:
        """Apply every update or none. Raises ``RefBusy`` or ``RefStale`` having changed nothing.

        ``check`` runs while every lock is held, before the commit point; whatever it raises aborts
        the transaction with nothing changed (the store checks there that its objects are on disk).

        A deletion (``new=None``) takes the ref's lock like any update, then removes the loose file
        and, when the ref is packed, rewrites ``packed-refs`` (under its own lock, journaled like a
        ref) without it, so a packed ref cannot resurface. Not thread-safe: callers serialise
        transactions of one ``RefFiles``."""
        step = hook or (lambda _step: None)
        ordered = sorted(updates, key=lambda u: u.name)
        deleted = {u.name for u in ordered if u.new is None}
        # Only a deletion needs packed-refs (at 100k refs, reading it costs most of a write).
        packed_raw = (read_all(self._packed_path) or b"") if deleted else b""
        packed_names = set(parse_packed(packed_raw)) & deleted if deleted else set()
        packed_new = without_packed(packed_raw, packed_names) if packed_names else None
        if packed_new is not None:
            # First in the journal and in every roll: "packed-refs" sorts before "refs/...".
            ordered = [RefUpdate(PACKED_REFS, digest(packed_raw), digest(packed_new)), *ordered]
        if self._journal is None:
            self._journal = _Journal(self.journal_dir)
        journal = self._journal
        taken: list[str] = []
        committed = False
        try:
            journal.begin(ordered)
            step("journal-written")
            for update in ordered:
                lock = self.path(update.name) + ".lock"
                if update.name == PACKED_REFS:
                    assert packed_new is not None
                    self._create_lock(update.name, lock, packed_new)
                    taken.append(lock)
                    if digest(read_all(self._packed_path) or b"") != update.old:
                        raise RefBusy(update.name, lock)  # repacked meanwhile: plan again
                    continue
                self._create_lock(update.name, lock, _payload(update))
                taken.append(lock)
                if os.path.isdir(self.path(update.name)):
                    # Refs below this name (``<ref>/x``) leave no room for it: the rename past the
                    # commit point would fail and keep every lock taken. Git refuses it here too.
                    raise IsADirectoryError(
                        errno.EISDIR,
                        "a directory of other refs is where this ref goes",
                        self.path(update.name),
                    )
                found = self.read(update.name)
                if found != update.old:
                    raise RefStale(update.name, update.old, found)
            if packed_new is None and deleted & set(self.packed()):
                raise RefBusy(PACKED_REFS, self._packed_path + ".lock")  # packed meanwhile: plan again
            step("locked")
            if check is not None:
                check()
            journal.commit()
            committed = True
            step("committed")
            for i, update in enumerate(ordered):
                self._finish(update)
                if i == 0:
                    step("renamed-one")
            step("renamed-all")
        except BaseException as exc:
            if not committed:
                for lock in taken:
                    _unlink(lock)
                journal.clear()
                raise
            # Committed: the write must land. Finish it now, or leave the journal for recovery.
            try:
                self._roll(ordered, forward=True, since_ns=None)
            except OSError as again:
                self._journal = None
                journal.release()  # unlocked but kept: the next reader finishes this write
                raise RefPending(again) from exc
            journal.clear()
            if isinstance(exc, OSError):
                return  # a rename failed once and succeeded on the second try: the write is in place
            raise
        journal.clear()

    def _finish(self, update: RefUpdate) -> None:
        """Put one committed update in place: rename its lock, or for a deletion remove the loose ref
        and then its lock (its packed line is gone with the rewritten ``packed-refs``)."""
        lock = self.path(update.name) + ".lock"
        if update.new is None and update.name != PACKED_REFS:
            _unlink(self.path(update.name))
            os.unlink(lock)
        else:
            os.rename(lock, lock[: -len(".lock")])

    @staticmethod
    def _create_lock(name: str, lock: str, payload: bytes) -> None:
        for _attempt in range(3):
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            except FileExistsError:
                raise RefBusy(name, lock) from None
            except FileNotFoundError:
                # A new ref directory, or git pruned an empty one just now.
                os.makedirs(os.path.dirname(lock), exist_ok=True)
                continue
            try:
                try:
                    write_all(fd, payload)
                finally:
                    os.close(fd)
            except BaseException:
                # Ours (created exclusively just now) and unfilled, e.g. on a full disk: an empty lock
                # left behind would block this ref for every writer, across restarts.
                _unlink(lock)
                raise
            return
        raise RefBusy(name, lock)

    def _roll(
        self, updates: Iterable[RefUpdate], *, forward: bool, since_ns: int | None, recovering: str = ""
    ) -> None:
        """Rename (forward) or remove (back) the lock files holding exactly our new values.

        Rolling back also removes an *empty* lock made after the journal was written (``since_ns``):
        a writer killed between creating a lock and writing its value leaves one."""
        for update in updates:
            lock = self.path(update.name) + ".lock"
            if update.name == PACKED_REFS:
                content = read_all(lock)
                ours = content is not None and content != b"" and digest(content) == update.new
            else:
                content = read_small(lock)
                ours = content == _payload(update)
            if ours:
                if forward:
                    self._finish(update)
                else:
                    _unlink(lock)
            elif content == b"" and not forward and since_ns is not None:
                sig = stat_sig(lock)
                if sig is not None and sig[2] >= since_ns:
                    # An empty lock is the dead writer's (killed between creating and filling it) or
                    # a live writer's caught in that same microsecond gap. A live writer journals
                    # every ref before locking it, so a lock no live journal claims is the dead one's.
                    if self._claimed_by_live_writer(update.name, recovering):
                        raise _NotYet(lock)
                    _unlink(lock)

    def _claimed_by_live_writer(self, name: str, recovering: str) -> bool:
        own = os.path.basename(self._journal.path) if self._journal is not None else None
        try:
            names = os.listdir(self.journal_dir)
        except (FileNotFoundError, NotADirectoryError):
            return False
        for entry in names:
            path = os.path.join(self.journal_dir, entry)
            if not entry.endswith(".journal") or entry == own or path == recovering:
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    continue  # nobody holds it: a dead writer's journal, not a live claim
                except BlockingIOError:
                    pass
                first = _read_fd(fd).split(b"\n", 1)[0]
                try:
                    claimed = {u[0] for u in json.loads(first)["updates"]} if first else set()
                except (ValueError, KeyError, TypeError, IndexError):
                    claimed = set()
                if name in claimed:
                    return True
            finally:
                os.close(fd)
        return False

    def recover(self) -> bool:
        """Finish or undo transactions whose writer died. True if anything was recovered."""
        try:
            names = os.listdir(self.journal_dir)
        except (FileNotFoundError, NotADirectoryError):
            return False
        recovered = False
        own = os.path.basename(self._journal.path) if self._journal is not None else None
        now = time.monotonic()
        sweep = now - self._swept_at >= _SWEEP_EVERY_S
        if sweep:
            self._swept_at = now
        for name in names:
            if name == own:
                continue
            if name.endswith(".journal"):
                path = os.path.join(self.journal_dir, name)
                # An empty journal has nothing in flight: only a sweep needs its lock, to delete the
                # files of writers that died between writes. Reads thus cost a listing and a stat
                # per open writer, not a lock attempt each.
                if not sweep and _size(path) == 0:
                    continue
                recovered |= self._recover_one(path)
            elif name.endswith(".draft") and not _pid_alive(name.split("-", 1)[0]):
                _unlink(os.path.join(self.journal_dir, name))  # its writer died while opening
        return recovered

    def _recover_one(self, path: str) -> bool:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # its writer is alive
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    return False
            except FileNotFoundError:
                return False  # someone else recovered it first
            written_ns = os.fstat(fd).st_mtime_ns
            lines = _read_fd(fd).split(b"\n", 2)
            updates: list[RefUpdate] = []
            if lines[0]:
                try:
                    updates = [RefUpdate(n, o, w) for n, o, w in json.loads(lines[0])["updates"]]
                except (ValueError, KeyError, TypeError):
                    updates = []  # cut short while being written: no lock was taken yet
            committed = len(lines) > 1 and lines[1] + b"\n" == _COMMITTED
            try:
                self._roll(updates, forward=committed, since_ns=written_ns, recovering=path)
            except _NotYet:
                return False  # try again on a later read
            os.unlink(path)
            if updates:
                log.warning(
                    "engram store: %s an interrupted write left by a dead process (%d refs)",
                    "finished" if committed else "rolled back",
                    len(updates),
                )
            return bool(updates)
        finally:
            os.close(fd)


def read_all(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def common_dir(git_dir: str) -> str:
    """The directory holding a repository's refs and objects: a linked worktree's git dir names the
    main repository's in its ``commondir`` file."""
    raw = read_all(os.path.join(git_dir, "commondir"))
    if raw is None:
        return os.path.normpath(git_dir)
    return os.path.normpath(os.path.join(git_dir, raw.decode().strip()))


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``; a write that makes no progress is a full disk (ENOSPC)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """``pwrite`` all of ``data`` in one call, or fail: a short write is a full disk (``ENOSPC``)."""
    if os.pwrite(fd, data, offset) != len(data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _read_fd(fd: int) -> bytes:
    chunks = []
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _pid_alive(pid_text: str) -> bool:
    try:
        os.kill(int(pid_text), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
