"""Loading a release from the store: its hub task, its artifacts with their typed specs, its links.

How a release lies in Engram (DESIGN.md): a task is the hub (``Release v2.5.0 - Name``); each
artifact is a context or reasoning linked from it, as its kind's descriptor says. Our entities carry
the structured spec in ``metadata.release_planner``; releases planned by hand with the Engram skill
(plain entities, no metadata) are recognised by their titles and links and shown as untyped Markdown.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .base import ArtifactKind, ReleaseContext
from .common import normalize_version
from .errors import InvalidInput, NotFound
from .ports import ContextRecord, LinkRecord, ReasoningRecord, Store, StoredEntity, TaskRecord
from .registry import BY_NAME, KINDS
from .results import ArtifactRef, Notice

RELEASE_KIND = "release"
_MISSING = object()


class LRU:
    """A small thread-safe LRU map. Keys include entity revisions, so entries never go stale."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, default: Any = None) -> Any:
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def meta(entity: StoredEntity) -> dict[str, Any] | None:
    found = entity.planner_metadata
    return dict(found) if found is not None else None


def stored_text(entity: StoredEntity) -> str:
    rec = entity.record
    if isinstance(rec, ContextRecord):
        return rec.content
    if isinstance(rec, ReasoningRecord):
        return rec.conclusion
    return ""


def status_of(task: StoredEntity | None) -> str:
    return task.record.status if task is not None and isinstance(task.record, TaskRecord) else "todo"


def normalize(version: str, field_name: str = "version") -> str:
    try:
        return normalize_version(version)
    except ValueError as exc:
        raise InvalidInput(
            str(exc), field=field_name, valid="MAJOR.MINOR.PATCH such as 2.5.0 or v2.5.0"
        ) from None


@dataclass
class Artifact:
    """A stored artifact: the entity plus its typed spec (None when written by hand)."""

    kind: ArtifactKind
    entity: StoredEntity
    spec: Any | None

    @property
    def typed(self) -> bool:
        return self.spec is not None

    def key(self) -> str | None:
        """Which one of a kind with many artifacts this is (None for the other kinds)."""
        if not self.kind.many or self.kind.key is None:
            return None
        return (
            self.kind.key(self.spec) if self.spec is not None else self.kind.key_of_title(self.entity.title)
        )

    def ref(self) -> ArtifactRef:
        return ArtifactRef(
            kind=self.kind.name,
            entity_type=self.entity.type,
            entity_id=self.entity.id,
            title=self.entity.title,
            revision=self.entity.revision,
            typed=self.typed,
            updated_at=self.entity.updated_at,
        )

    def stored_markdown(self) -> str:
        return stored_text(self.entity)


@dataclass
class ReleaseState:
    """Everything stored for one release."""

    version: str
    task: StoredEntity | None
    artifacts: dict[str, list[Artifact]] = field(default_factory=dict)
    links: list[StoredEntity] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def key(self) -> tuple[Any, ...]:
        """Identifies this exact stored state: every entity's id and revision, plus hand-written text."""
        task = self.task
        return (
            self.version,
            None if task is None else (task.id, task.revision, task.updated_at),
            tuple(
                (a.kind.name, a.entity.id, a.entity.revision, a.entity.updated_at, a.typed)
                + (() if a.typed else (hash(a.stored_markdown()),))
                for a in self.all()
            ),
            tuple(sorted(link.id for link in self.links)),
            tuple(n.code for n in self.notices),
        )

    def link_to(self, target_id: str, rel_type: str) -> StoredEntity | None:
        """The hub's active link of type ``rel_type`` to ``target_id``, if there is one."""
        for link in self.links:
            rec = link.record
            if (
                isinstance(rec, LinkRecord)
                and rec.target_id == target_id
                and rec.relationship_type == rel_type
            ):
                return link
        return None

    def one(self, kind: str) -> Artifact | None:
        items = self.artifacts.get(kind) or []
        return items[0] if items else None

    def all(self) -> list[Artifact]:
        return [a for kind in KINDS for a in self.artifacts.get(kind.name, [])]

    def missing(self) -> list[ArtifactKind]:
        """The kinds every release needs that this one lacks."""
        return [k for k in KINDS if not k.many and k.name not in self.artifacts]

    def context(self) -> ReleaseContext:
        slots: dict[str, Any] = {}
        for kind in KINDS:
            specs = [a.spec for a in self.artifacts.get(kind.name, []) if a.spec is not None]
            if kind.many:
                slots[kind.slot] = specs
            else:
                first = self.one(kind.name)
                slots[kind.slot] = first.spec if first is not None else None
        return ReleaseContext(self.version, **slots)

    def is_typed(self) -> bool:
        return all(a.typed for a in self.all()) and (self.task is None or meta(self.task) is not None)


def _spec_key(kind: str, entity: StoredEntity) -> tuple[Any, ...]:
    # The revision alone can lag the content for a moment (another writer's entity ref is renamed
    # before its sidecar) and reasonings keep no update time, so the stored Markdown, which is
    # rendered from the spec, is part of the key (str hashes are cached, so this is cheap).
    return (kind, entity.id, entity.revision, entity.updated_at, hash(stored_text(entity)))


class ReleaseLoader:
    """Reads releases from the store, parsing each stored spec once per entity revision."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._specs = LRU(4096)

    def parse_spec(self, kind: ArtifactKind, entity: StoredEntity, notices: list[Notice]) -> Any | None:
        body = meta(entity)
        if body is None or body.get("kind") != kind.name:
            return None
        key = _spec_key(kind.name, entity)
        cached = self._specs.get(key, _MISSING)
        if cached is _MISSING:
            try:
                cached = kind.spec.model_validate(body.get("spec"))
            except ValidationError as exc:
                # A spec written by a newer or older server that no longer validates: show the stored
                # Markdown rather than failing the whole release.
                cached = Notice(
                    code="unreadable_spec",
                    message=f"{entity.title} ({entity.id}) has a structured spec this server cannot read "
                    f"({exc.error_count()} problem(s)); it is shown as stored Markdown",
                )
            self._specs.put(key, cached)
        if isinstance(cached, Notice):
            notices.append(cached)
            return None
        return cached

    def remember_spec(self, kind: str, entity: StoredEntity, spec: Any) -> None:
        # What we just stored reads back equal (the specs round-trip), so the next read needs no parse.
        self._specs.put(_spec_key(kind, entity), spec)

    @staticmethod
    def kind_of(entity: StoredEntity) -> ArtifactKind | None:
        body = meta(entity)
        if body is not None and body.get("kind") in BY_NAME:
            return BY_NAME[str(body["kind"])]
        for kind in KINDS:
            if entity.type == kind.entity_type and entity.title.startswith(kind.title_prefix):
                return kind
        return None

    def find_task(self, version: str) -> StoredEntity | None:
        tasks = self.store.find("task", release=version)
        typed = [t for t in tasks if (meta(t) or {}).get("kind") == RELEASE_KIND]
        if typed:
            return typed[0]
        if tasks:
            return tasks[0]
        # A release planned by hand may have a task with any title; find it through the plan's link
        # (only a release plan's: any other context naming the version says nothing about its task).
        first = KINDS[0]
        for plan in self.store.find(first.entity_type, release=version):
            if self.kind_of(plan) is not first:
                continue
            for link in self.store.links_to(plan.id):
                rec = link.record
                if isinstance(rec, LinkRecord) and rec.source_type == "task":
                    task = self.store.get("task", rec.source_id)
                    if task is not None:
                        return task
        return None

    def active_links(self, task_id: str) -> list[StoredEntity]:
        return [
            link
            for link in self.store.links_from(task_id)
            if isinstance(link.record, LinkRecord) and link.record.active
        ]

    def load(self, version: str, *, parse_specs: bool = True) -> ReleaseState:
        task = self.find_task(version)
        state = ReleaseState(version=version, task=task)
        seen: set[str] = set()
        candidates: list[StoredEntity] = []
        for etype in ("context", "reasoning"):
            candidates.extend(self.store.find(etype, release=version))  # type: ignore[arg-type]
        if task is not None:
            state.links = self.active_links(task.id)
            for link in state.links:
                rec = link.record
                assert isinstance(rec, LinkRecord)
                if rec.target_type in ("context", "reasoning"):
                    target = self.store.get(rec.target_type, rec.target_id)  # type: ignore[arg-type]
                    if target is not None:
                        candidates.append(target)
        for entity in candidates:
            if entity.id in seen:
                continue
            seen.add(entity.id)
            kind = self.kind_of(entity)
            if kind is None:
                continue
            body = meta(entity)
            if body is not None and body.get("release") not in (None, version):
                continue  # linked from this task but planned for another release
            spec = self.parse_spec(kind, entity, state.notices) if parse_specs else None
            state.artifacts.setdefault(kind.name, []).append(Artifact(kind, entity, spec))
        for name, items in state.artifacts.items():
            # Typed first, then newest: the artifact a write updates is the first one.
            items.sort(key=lambda a: a.entity.updated_at, reverse=True)
            typed_first = [a for a in items if a.typed] + [a for a in items if not a.typed]
            if not BY_NAME[name].many and len(typed_first) > 1:
                state.notices.append(
                    Notice(
                        code="duplicate_artifact",
                        message=f"{len(typed_first)} {BY_NAME[name].label} entities found for {version}; "
                        f"using {typed_first[0].entity.id}",
                    )
                )
            state.artifacts[name] = typed_first
        return state

    def load_with_task(self, version: str, task: StoredEntity) -> ReleaseState:
        """The release with ``task`` as its hub (a task the caller names for it), and that task's links."""
        state = self.load(version)
        if state.task is None or state.task.id != task.id:
            state.task = task
            state.links = self.active_links(task.id)
        return state

    def require_release(self, version: str, tool: str) -> ReleaseState:
        """The release a write builds on; it must have its hub task (made by the first kind's tool)."""
        state = self.load(version)
        if state.task is None:
            founder = KINDS[0].tool
            raise NotFound(
                f"no release {version} is planned",
                field="version",
                next_step=(
                    f"call {founder} for it first, or list_release_plans to see planned versions"
                    if tool != founder
                    else None
                ),
            )
        return state

    def read(self, version: str) -> ReleaseState:
        """The release a read shows: a hub task or at least one artifact must exist."""
        version = normalize(version)
        state = self.load(version)
        if state.task is None and not state.artifacts:
            raise NotFound(
                f"no release {version} is planned",
                field="version",
                next_step=f"call list_release_plans to see planned versions, or {KINDS[0].tool} to start one",
            )
        return state
