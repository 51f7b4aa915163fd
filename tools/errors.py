"""Errors the domain and its storage adapters raise.

Each error carries what an agent needs to correct itself: the field that was wrong, what would be
valid, and what to call next. The MCP layer turns them into ``ToolError`` results; nothing here knows
about MCP.
"""

from __future__ import annotations


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
