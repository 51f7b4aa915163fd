"""Errors the domain and its storage adapters raise.

Each error carries what an agent needs to correct itself: the field that was wrong, what would be
valid, and what to call next. The MCP layer turns them into ``ToolError`` results; nothing here knows
about MCP.
"""

from __future__ import annotations

import errno
import os


class PlannerError(Exception):
    """Base class: an expected failure that is reported to the caller, never a crash."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        valid: str | None = None,
        next_step: str | None = None,
    ) -> None:
        self.message = message
        self.field = field
        self.valid = valid
        self.next_step = next_step
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = []
        if self.field:
            parts.append(f"{self.field}: {self.message}")
        else:
            parts.append(self.message)
        if self.valid:
            parts.append(f"valid: {self.valid}")
        if self.next_step:
            parts.append(f"next: {self.next_step}")
        return "; ".join(parts)


class InvalidInput(PlannerError):
    """The caller's input is wrong; nothing was stored."""


class NotFound(PlannerError):
    """The release, entity or artifact asked for does not exist."""


class AmbiguousId(PlannerError):
    """A short id prefix matched more than one entity (Engram's ``Ambiguous short ID``)."""


class Conflict(PlannerError):
    """Someone else changed the entity since the caller read it (compare-and-swap lost)."""


class StorageError(PlannerError):
    """The store cannot do what was asked (workspace not writable, engram binary failed, ...)."""


class ReadOnly(PlannerError):
    """A write was attempted on a read-only server or store."""


# --- the filesystem's refusals, in words --------------------------------------------------------------

# errno -> (what is wrong, what to do). Libraries such as pygit2 raise these as an OSError or their own
# error with only the C library's text, so the text is recognised too.
_FILESYSTEM_CAUSES: dict[int, tuple[str, str]] = {
    errno.ENOSPC: (
        "the disk holding the workspace is full",
        "free space on that disk (or move the workspace to a disk with room), then retry the call",
    ),
    errno.EDQUOT: (
        "the disk quota of the server's user is used up on the workspace's disk",
        "free space or raise the quota, then retry the call",
    ),
    errno.EROFS: (
        "the workspace is on a read-only file system",
        "remount it read-write or choose a writable workspace; to only read it, start the server "
        "with --read-only",
    ),
    errno.EACCES: (
        "the server's user may not write to the workspace repository (permission denied)",
        "give that user write access to the workspace's .git directory (chown/chmod), or start the "
        "server with --read-only to only read",
    ),
}
_FILESYSTEM_CAUSES[errno.EPERM] = _FILESYSTEM_CAUSES[errno.EACCES]


def filesystem_errno(exc: BaseException) -> int | None:
    """The errno behind ``exc``: its own, else the one whose text (``strerror``) its message carries."""
    number = getattr(exc, "errno", None)
    if isinstance(number, int):
        return number
    text = str(exc)
    return next((n for n in _FILESYSTEM_CAUSES if os.strerror(n) in text), None)


def filesystem_error(exc: BaseException, *, doing: str, stored: bool | None = False) -> StorageError:
    """A store's OS-level failure as a ``StorageError`` naming the cause and the fix.

    ``doing``: what failed ("storing the change", ...). ``stored``: False, nothing was stored; True,
    the write had been committed to the store's journal, so it lands on the next read even though
    this call failed; None, unknown (not said)."""
    number = filesystem_errno(exc)
    cause, fix = _FILESYSTEM_CAUSES.get(
        number if number is not None else -1,
        (
            "the file system refused the operation",
            "check the workspace's disk and permissions (the detail above names the file), then retry",
        ),
    )
    outcome = {
        True: "; the write was recorded and is completed by the next read: re-read before retrying",
        False: "; nothing was stored",
        None: "",
    }[stored]
    return StorageError(f"{doing} failed: {cause} ({exc}){outcome}", field="workspace", next_step=fix)
