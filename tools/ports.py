"""The storage port: what the planning domain needs from Engram, and nothing more.

The domain speaks in four record types that mirror Engram's entities (task, context, reasoning,
relationship) at the level of the fields it sets. Adapters in ``release_planner.server.engram`` turn
them into Engram's exact on-disk shape (envelope, required fields, enum spellings, sidecars) and back.

Contract every adapter honours (the contract suite in ``tests/adapters`` checks it on each):

* ``commit`` is atomic: every change in the list lands, or none does.
* A change with ``expected_revision=None`` creates: it fails with ``Conflict`` if the id exists.
  A change with ``expected_revision=n`` updates: it fails with ``Conflict`` unless the stored
  revision is exactly ``n``. A lost race is never a silent overwrite.
* A deletion (``Change(..., delete=True)``, always with ``expected_revision``) removes the entity as
  Engram does: its ref goes, its version sidecars stay, so the revision count goes on if the id is
  stored again. It fails with ``Conflict`` like an update.
* Revisions are Engram's version-sidecar numbers: 1 after the first store, +1 per store. An entity
  written by someone who made no sidecar reads as revision 0.
* An update keeps the fields of the stored entity that the record does not own (Engram's
  ``created_at``, ``citation_count``, reasoning ``steps``, unknown keys a newer Engram wrote, ...).
* Reads never raise for foreign or malformed data: such entities are skipped and reported by
  ``problems()``.
* Ids are lowercase hyphenated UUIDs; adapters refuse anything else before building a ref name.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

EntityType = Literal["task", "context", "reasoning", "relationship"]
ENTITY_TYPES: tuple[EntityType, ...] = ("task", "context", "reasoning", "relationship")

TaskStatus = Literal["todo", "inprogress", "done", "blocked", "cancelled"]
Priority = Literal["low", "medium", "high", "critical"]
Relevance = Literal["low", "medium", "high", "critical"]
Direction = Literal["unidirectional", "bidirectional", "inverse"]
Strength = Literal["weak", "medium", "strong", "critical"]

# Relationship types as Engram's CLI names them. Any other lowercase name is stored as
# ``{"Custom": name}``, as ``engram relationship create`` does (e.g. "documents").
BUILTIN_RELATIONSHIP_TYPES = (
    "depends_on",
    "contains",
    "references",
    "fulfills",
    "implements",
    "supersedes",
    "associated_with",
    "influences",
)

# The key under ``data.metadata`` where this server keeps the structured spec of an artifact.
PLANNER_METADATA_KEY = "release_planner"

# Titles the Engram release-planning skill gives its entities, with the version they name. Adapters
# index entities by the version found here as well as by ``metadata.release_planner.release``, so
# that releases planned by hand with the skill are found without a full scan.
# Only the skill's exact shapes count ("Release Plan: v2.5.0 - Name", "Release v2.5.0 - Name",
# "Rollback Strategy: v2.5.0"): a task such as "Release 2.5.0: write the blog post" is not a release.
RELEASE_TITLE_PATTERN = re.compile(
    r"^(?:(?:Release Plan|Release Runbook|Rollback Strategy|Phased Rollout Plan):|Release)\s+"
    r"v?(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)"
    r"(?:\s+[-\u2013\u2014]\s.*)?$"
)

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_entity_id(value: str) -> bool:
    """True for a lowercase hyphenated UUID, the only id shape ever used in a ref name."""
    return isinstance(value, str) and bool(_UUID_RE.match(value))


def new_entity_id() -> str:
    return str(uuid.uuid4())


def release_of_title(title: str) -> str | None:
    """The version a skill-style title names (``Release Plan: v2.5.0 - X`` -> ``2.5.0``), if any."""
    m = RELEASE_TITLE_PATTERN.match(title or "")
    return m.group("version") if m else None


@dataclass(frozen=True, slots=True)
class TaskRecord:
    title: str
    description: str = ""
    status: TaskStatus = "todo"
    priority: Priority = "medium"
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # When the task was completed and how (engram's ``Task::complete`` sets both with status done);
    # None leaves what is stored.
    end_time: str | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class ContextRecord:
    title: str
    content: str
    source: str = "release-planning"
    relevance: Relevance = "high"
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReasoningRecord:
    title: str
    task_id: str
    conclusion: str
    confidence: float = 0.0
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LinkRecord:
    source_id: str
    source_type: str
    target_id: str
    target_type: str
    relationship_type: str  # snake_case builtin (see BUILTIN_RELATIONSHIP_TYPES) or a custom name
    description: str | None = None
    direction: Direction = "unidirectional"
    strength: Strength = "medium"
    active: bool = True


Record = TaskRecord | ContextRecord | ReasoningRecord | LinkRecord

RECORD_TYPE: dict[type, EntityType] = {
    TaskRecord: "task",
    ContextRecord: "context",
    ReasoningRecord: "reasoning",
    LinkRecord: "relationship",
}


@dataclass(frozen=True, slots=True)
class StoredEntity:
    """One entity as read back from the store."""

    id: str
    type: EntityType
    agent: str
    created_at: str  # RFC3339, as stored
    updated_at: str  # RFC3339; equals created_at where Engram keeps no update time
    revision: int
    record: Record

    @property
    def title(self) -> str:
        rec = self.record
        return "" if isinstance(rec, LinkRecord) else rec.title

    @property
    def tags(self) -> tuple[str, ...]:
        rec = self.record
        return () if isinstance(rec, LinkRecord) else rec.tags

    @property
    def planner_metadata(self) -> Mapping[str, Any] | None:
        """``metadata.release_planner`` if this entity was written by this server, else None."""
        rec = self.record
        if isinstance(rec, LinkRecord):
            return None
        meta = rec.metadata.get(PLANNER_METADATA_KEY) if isinstance(rec.metadata, Mapping) else None
        return meta if isinstance(meta, Mapping) else None


@dataclass(frozen=True, slots=True)
class Change:
    """Create (``expected_revision=None``) or update (``expected_revision=n``) one entity, or delete it
    (``delete=True``: ``record`` only says its type; ``deleting`` builds one from the stored entity)."""

    id: str
    record: Record
    agent: str = "default"
    expected_revision: int | None = None
    delete: bool = False

    @property
    def type(self) -> EntityType:
        return RECORD_TYPE[type(self.record)]

    @classmethod
    def deleting(cls, entity: StoredEntity, agent: str = "default") -> Change:
        """Delete ``entity`` unless it changed since it was read (compare-and-swap on its revision)."""
        return cls(entity.id, entity.record, agent, expected_revision=entity.revision, delete=True)


@dataclass(frozen=True, slots=True)
class StoreProblem:
    """Something in the store that could not be read, reported instead of breaking a call."""

    ref: str
    reason: str


@runtime_checkable
class Store(Protocol):
    """The storage port. Adapters: git refs (default), engram CLI, memory."""

    #: Short name of the backend, e.g. ``git``, ``engram-cli``, ``memory``.
    name: str

    # Optional: ``id_namespace`` (str). The service derives the ids of new artifacts from the release
    # and this namespace, so two writers creating one artifact race for a single ref.

    def get(self, entity_type: EntityType, entity_id: str) -> StoredEntity | None:
        """The entity with exactly this id, or None."""
        ...

    def resolve(self, entity_type: EntityType, id_or_prefix: str) -> StoredEntity:
        """Exact id, else a unique prefix of 4 to 35 hex characters, as ``engram`` resolves short ids.

        Raises ``NotFound``, ``AmbiguousId`` or ``InvalidInput`` (not an id or prefix)."""
        ...

    def find(
        self,
        entity_type: EntityType,
        *,
        release: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
    ) -> list[StoredEntity]:
        """Entities of a type, filtered (all given filters must hold), newest first.

        ``release`` matches ``metadata.release_planner.release`` or the version in a skill-style
        title (see ``release_of_title``); ``kind`` matches ``metadata.release_planner.kind``;
        ``tag`` must be one of the entity's tags. Must stay fast as the store grows (indexed)."""
        ...

    def releases(self, entity_type: EntityType) -> list[str]:
        """Every version ``find(entity_type, release=...)`` would match for some entity (indexed)."""
        ...

    def links_from(self, entity_id: str) -> list[StoredEntity]:
        """Relationship entities whose source is ``entity_id``."""
        ...

    def links_to(self, entity_id: str) -> list[StoredEntity]:
        """Relationship entities whose target is ``entity_id``."""
        ...

    def connected(self, entity_id: str, max_depth: int | None = None) -> list[str]:
        """Ids reachable from ``entity_id`` by Engram's traversal rule (BFS over active edges:
        outbound edges always, inbound edges only when bidirectional), start id first."""
        ...

    def commit(self, changes: Sequence[Change]) -> list[StoredEntity]:
        """Store every change atomically and return the stored entities in the same order (for a
        deletion: the entity as it was before)."""
        ...

    def problems(self) -> list[StoreProblem]:
        """Entities skipped on read because they were malformed or foreign."""
        ...

    def close(self) -> None: ...
