"""The use cases: one method per MCP tool, working against the storage port.

How a release lies in Engram (DESIGN.md): a task is the hub (``Release v2.5.0 - Name``); the release
plan and the runbook are contexts linked from it with ``references``; migration paths, the rollback
strategy and the rollout plan are reasonings (``task_id`` = the hub) linked with the custom type
``documents``. Our entities carry the structured spec in ``metadata.release_planner`` and the Markdown
for people in ``content``/``conclusion``.

Every write is one atomic store commit: the artifact, the hub (when it changes) and the link from
the hub all land together, so no reader ever sees a release task without its plan or a link to
nothing. Writes are compare-and-swap on the artifact's revision: with ``expected_revision`` a stale
caller gets a ``Conflict``; without it a concurrent change is retried on fresh state and reported.

Releases planned by hand with the Engram skill (plain entities, no metadata) are found by their
titles and links, shown as untyped Markdown, and adopted (same entity id, metadata added) by the next
write for that artifact.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .artifacts import ARTIFACT_KINDS, ArtifactKind, Finding, ReleaseContext
from .common import ShortText, normalize_version, semver_key
from .errors import Conflict, InvalidInput, NotFound, PlannerError
from .ports import (
    PLANNER_METADATA_KEY,
    Change,
    ContextRecord,
    LinkRecord,
    ReasoningRecord,
    Record,
    Store,
    StoredEntity,
    TaskRecord,
    is_entity_id,
)
from .results import (
    ArtifactRef,
    LinkRef,
    LinkResult,
    Notice,
    ReleasePage,
    ReleaseSummary,
    ReleaseView,
    StakeholderSummary,
    WriteResult,
)

if TYPE_CHECKING:  # pragma: no cover
    from .migration import MigrationPathSpec
    from .release_plan import ReleasePlanSpec
    from .rollback import RollbackSpec
    from .rollout import RolloutSpec
    from .runbook import RunbookSpec

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ReleaseStatus = Literal["todo", "inprogress", "done", "blocked", "cancelled"]
RELEASE_KIND = "release"
MAX_CAS_RETRIES = 6


class _LRU:
    """A small thread-safe LRU map. Keys include entity revisions, so entries never go stale."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key not in self._items:
                return _MISSING
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_MISSING = object()
_STABLE_ID_NAMESPACE = uuid.UUID("5f0c2a8e-8d7b-4a51-9c61-2f3e0b7a4d19")


class ExtraLink(BaseModel):
    """A link from the release task to another Engram entity (beyond the release's own artifacts)."""

    model_config = ConfigDict(extra="forbid")

    target_id: ShortText = Field(description="Engram id (UUID, or a unique prefix of 4+ hex characters)")
    target_type: Literal["task", "context", "reasoning"] = Field(
        description="Engram entity type of the target"
    )
    relationship_type: Literal[
        "references", "documents", "depends_on", "contains", "implements", "fulfills", "associated_with"
    ] = Field(default="references", description="Kind of link, as engram names it")
    description: ShortText | None = Field(default=None, description="Why the link exists")


@dataclass(frozen=True)
class WriteTool:
    """How the MCP layer exposes one write use case: the spec model's fields are its parameters."""

    name: str
    title: str
    spec: Callable[[], type[BaseModel]]  # lazy, so importing this module stays cheap
    method: str
    accepts_task_id: bool = False


def _spec_loader(module: str, cls: str) -> Callable[[], type[BaseModel]]:
    def load() -> type[BaseModel]:
        import importlib

        return getattr(importlib.import_module(f"{__package__}.{module}"), cls)  # type: ignore[no-any-return]

    return load


@dataclass(frozen=True)
class KindInfo:
    """Where one artifact kind lives in Engram and how it is titled by the skill."""

    kind: ArtifactKind
    entity_type: Literal["context", "reasoning"]
    link_type: str
    title_prefix: str
    tag: str | None
    spec: Callable[[], type[BaseModel]]


KINDS: dict[str, KindInfo] = {
    "release_plan": KindInfo(
        "release_plan",
        "context",
        "references",
        "Release Plan:",
        None,
        _spec_loader("release_plan", "ReleasePlanSpec"),
    ),
    "migration_path": KindInfo(
        "migration_path",
        "reasoning",
        "documents",
        "Migration Path:",
        "migration",
        _spec_loader("migration", "MigrationPathSpec"),
    ),
    "rollback_strategy": KindInfo(
        "rollback_strategy",
        "reasoning",
        "documents",
        "Rollback Strategy:",
        "rollback",
        _spec_loader("rollback", "RollbackSpec"),
    ),
    "rollout_plan": KindInfo(
        "rollout_plan",
        "reasoning",
        "documents",
        "Phased Rollout Plan:",
        "rollout",
        _spec_loader("rollout", "RolloutSpec"),
    ),
    "runbook": KindInfo(
        "runbook",
        "context",
        "references",
        "Release Runbook:",
        "runbook",
        _spec_loader("runbook", "RunbookSpec"),
    ),
}

WRITE_TOOLS: tuple[WriteTool, ...] = (
    WriteTool(
        "create_release_plan",
        "Create or update a release plan",
        KINDS["release_plan"].spec,
        "create_release_plan",
        accepts_task_id=True,
    ),
    WriteTool(
        "design_migration_path",
        "Design a migration path for a breaking change",
        KINDS["migration_path"].spec,
        "design_migration_path",
    ),
    WriteTool(
        "design_rollback", "Design the rollback strategy", KINDS["rollback_strategy"].spec, "design_rollback"
    ),
    WriteTool("plan_rollout", "Plan the phased rollout", KINDS["rollout_plan"].spec, "plan_rollout"),
    WriteTool("create_runbook", "Create the release runbook", KINDS["runbook"].spec, "create_runbook"),
)

# Which other artifacts each kind's spec reads from the ReleaseContext (in check, render or computed;
# taken from the spec modules): a write re-renders only the artifacts that read what it changed.
READS: dict[str, frozenset[str]] = {
    "release_plan": frozenset({"migration_path"}),
    "migration_path": frozenset({"release_plan", "rollout_plan"}),
    "rollback_strategy": frozenset({"release_plan"}),
    "rollout_plan": frozenset({"rollback_strategy"}),
    "runbook": frozenset({"rollout_plan", "rollback_strategy"}),
}

NEXT_TOOL: dict[str, str] = {
    "release_plan": "design_migration_path for each breaking change, else design_rollback",
    "migration_path": "design_rollback",
    "rollback_strategy": "plan_rollout",
    "rollout_plan": "create_runbook",
    "runbook": "link_release_entities, then summarize_release",
}
TOOL_OF_KIND: dict[str, str] = {
    "release_plan": "create_release_plan",
    "migration_path": "design_migration_path",
    "rollback_strategy": "design_rollback",
    "rollout_plan": "plan_rollout",
    "runbook": "create_runbook",
}


@dataclass
class Artifact:
    """A stored artifact: the entity plus its typed spec (None when written by hand)."""

    kind: str
    entity: StoredEntity
    spec: Any | None

    @property
    def typed(self) -> bool:
        return self.spec is not None

    def ref(self) -> ArtifactRef:
        return ArtifactRef(
            kind=self.kind,
            entity_type=self.entity.type,
            entity_id=self.entity.id,
            title=self.entity.title,
            revision=self.entity.revision,
            typed=self.typed,
            updated_at=self.entity.updated_at,
        )

    def stored_markdown(self) -> str:
        return _stored_text(self.entity)


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
                (a.kind, a.entity.id, a.entity.revision, a.entity.updated_at, a.typed)
                + (() if a.typed else (hash(a.stored_markdown()),))
                for a in self.all()
            ),
            tuple(sorted(link.id for link in self.links)),
            tuple(n.code for n in self.notices),
        )

    def one(self, kind: str) -> Artifact | None:
        items = self.artifacts.get(kind) or []
        return items[0] if items else None

    def all(self) -> list[Artifact]:
        return [a for kind in ARTIFACT_KINDS for a in self.artifacts.get(kind, [])]

    def context(self) -> ReleaseContext:
        def spec(kind: str) -> Any:
            art = self.one(kind)
            return art.spec if art else None

        return ReleaseContext(
            version=self.version,
            plan=spec("release_plan"),
            migrations=[a.spec for a in self.artifacts.get("migration_path", []) if a.spec is not None],
            rollback=spec("rollback_strategy"),
            rollout=spec("rollout_plan"),
            runbook=spec("runbook"),
        )


def _meta(entity: StoredEntity) -> dict[str, Any] | None:
    meta = entity.planner_metadata
    return dict(meta) if meta is not None else None


def _normalize(version: str, field_name: str = "version") -> str:
    try:
        return normalize_version(version)
    except ValueError as exc:
        raise InvalidInput(
            str(exc), field=field_name, valid="MAJOR.MINOR.PATCH such as 2.5.0 or v2.5.0"
        ) from None


@functools.lru_cache(maxsize=65_536)
def _semver_key(version: str) -> tuple[Any, ...]:
    try:
        return (1, semver_key(version))
    except ValueError:  # a title that names no valid version sorts last
        return (0, version)


def _notices(findings: Iterable[Finding]) -> list[Notice]:
    return [
        Notice(code=f.code, message=f.message, field=f.field) for f in findings if f.severity == "warning"
    ]


def _raise_errors(findings: Sequence[Finding], tool: str) -> None:
    errors = [f for f in findings if f.severity == "error"]
    if not errors:
        return
    lines = "; ".join(f"[{f.code}] {f.field + ': ' if f.field else ''}{f.message}" for f in errors)
    raise InvalidInput(
        f"the plan has {len(errors)} error(s), nothing was stored: {lines}",
        field=errors[0].field,
        next_step=f"fix the listed fields and call {tool} again",
    )


def _stored_text(entity: StoredEntity) -> str:
    rec = entity.record
    if isinstance(rec, ContextRecord):
        return rec.content
    if isinstance(rec, ReasoningRecord):
        return rec.conclusion
    return ""


def _spec_key(kind: str, entity: StoredEntity) -> tuple[Any, ...]:
    # The revision alone can lag the content for a moment (another writer's entity ref is renamed
    # before its sidecar) and reasonings keep no update time, so the stored Markdown, which is
    # rendered from the spec, is part of the key (str hashes are cached, so this is cheap).
    return (kind, entity.id, entity.revision, entity.updated_at, hash(_stored_text(entity)))


def _backoff(attempt: int) -> None:
    # Jittered, growing pauses so that writers who collided do not collide again in lockstep.
    time.sleep(random.uniform(0, 0.002 * 2**attempt))


def _write_notices(retried: bool, existing: Artifact | None, entity_id: str) -> list[Notice]:
    """What a write says about how it landed, beyond the plan's own findings."""
    notices = []
    if retried:
        notices.append(
            Notice(
                code="concurrent_update",
                message="another writer changed this release meanwhile; "
                "your version was applied on top of theirs",
            )
        )
    if existing is not None and not existing.typed:
        notices.append(
            Notice(
                code="adopted_untyped",
                message=f"adopted the hand-written entity {entity_id}: it now carries a typed spec",
            )
        )
    return notices


def _link_type_name(rec: LinkRecord) -> str:
    return rec.relationship_type


class ReleasePlanner:
    """The use cases. One instance per server; thread-safe as far as the store is."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] | None = None,
        max_markdown_chars: int = 12_000,
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_markdown_chars = max_markdown_chars
        # Parsing stored specs and rendering whole releases dominate read time; both depend only on
        # entity revisions, so they are cached by them.
        self._specs = _LRU(4096)
        self._derived = _LRU(256)

    # ------------------------------------------------------------------ loading
    def _parse_spec(self, kind: str, entity: StoredEntity, notices: list[Notice]) -> Any | None:
        meta = _meta(entity)
        if meta is None or meta.get("kind") != kind:
            return None
        key = _spec_key(kind, entity)
        cached = self._specs.get(key)
        if cached is _MISSING:
            try:
                cached = KINDS[kind].spec().model_validate(meta.get("spec"))
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

    def _remember_spec(self, kind: str, entity: StoredEntity, spec: Any) -> None:
        # What we just stored reads back equal (the specs round-trip), so the next read needs no parse.
        self._specs.put(_spec_key(kind, entity), spec)

    def _derive(self, state: ReleaseState, what: str, compute: Callable[[], Any]) -> Any:
        key = (what, state.key())
        value = self._derived.get(key)
        if value is _MISSING:
            value = compute()
            self._derived.put(key, value)
        return value

    def _kind_of(self, entity: StoredEntity) -> str | None:
        meta = _meta(entity)
        if meta is not None and meta.get("kind") in KINDS:
            return str(meta["kind"])
        for kind, info in KINDS.items():
            if entity.type == info.entity_type and entity.title.startswith(info.title_prefix):
                return kind
        return None

    def _find_task(self, version: str) -> StoredEntity | None:
        tasks = self.store.find("task", release=version)
        typed = [t for t in tasks if (_meta(t) or {}).get("kind") == RELEASE_KIND]
        if typed:
            return typed[0]
        if tasks:
            return tasks[0]
        # A release planned by hand may have a task with any title; find it through the plan's link
        # (only a release plan's: any other context naming the version says nothing about its task).
        for plan in self.store.find("context", release=version):
            if self._kind_of(plan) != "release_plan":
                continue
            for link in self.store.links_to(plan.id):
                rec = link.record
                if isinstance(rec, LinkRecord) and rec.source_type == "task":
                    task = self.store.get("task", rec.source_id)
                    if task is not None:
                        return task
        return None

    def _load(self, version: str, *, parse_specs: bool = True) -> ReleaseState:
        task = self._find_task(version)
        state = ReleaseState(version=version, task=task)
        seen: set[str] = set()
        candidates: list[StoredEntity] = []
        for etype in ("context", "reasoning"):
            candidates.extend(self.store.find(etype, release=version))  # type: ignore[arg-type]
        if task is not None:
            state.links = [
                link
                for link in self.store.links_from(task.id)
                if isinstance(link.record, LinkRecord) and link.record.active
            ]
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
            kind = self._kind_of(entity)
            if kind is None:
                continue
            meta = _meta(entity)
            if meta is not None and meta.get("release") not in (None, version):
                continue  # linked from this task but planned for another release
            spec = self._parse_spec(kind, entity, state.notices) if parse_specs else None
            state.artifacts.setdefault(kind, []).append(Artifact(kind, entity, spec))
        for kind, items in state.artifacts.items():
            # Typed first, then newest: the artifact a write updates is the first one.
            items.sort(key=lambda a: a.entity.updated_at, reverse=True)
            typed_first = [a for a in items if a.typed] + [a for a in items if not a.typed]
            if kind != "migration_path" and len(typed_first) > 1:
                state.notices.append(
                    Notice(
                        code="duplicate_artifact",
                        message=f"{len(typed_first)} {kind.replace('_', ' ')} entities found for {version}; "
                        f"using {typed_first[0].entity.id}",
                    )
                )
            state.artifacts[kind] = typed_first
        return state

    def _require_release(self, version: str, tool: str) -> ReleaseState:
        state = self._load(version)
        if state.task is None:
            raise NotFound(
                f"no release {version} is planned",
                field="version",
                next_step=(
                    "call create_release_plan for it first, or list_release_plans to see planned versions"
                    if tool != "create_release_plan"
                    else None
                ),
            )
        return state

    # ------------------------------------------------------------------ helpers
    def _metadata(
        self, kind: str, version: str, spec: BaseModel | None, extra: dict[str, Any] | None = None
    ) -> dict:
        body: dict[str, Any] = {"schema": SCHEMA_VERSION, "kind": kind, "release": version}
        if spec is not None:
            body["spec"] = spec.model_dump(mode="json")
        if extra:
            body.update(extra)
        return {PLANNER_METADATA_KEY: body}

    @staticmethod
    def _tags(version: str, tag: str | None) -> tuple[str, ...]:
        tags = ["release", "release-planning"]
        if tag:
            tags.append(tag)
        tags.append(f"v{version}")
        return tuple(tags)

    def _trim(self, markdown: str, version: str) -> tuple[str, bool]:
        limit = self.max_markdown_chars
        if len(markdown) <= limit:
            return markdown, False
        cut = markdown.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = limit
        note = (
            f"\n\n... (trimmed at {cut} of {len(markdown)} characters; "
            f"read the resource release://{version} for the whole text)"
        )
        return markdown[:cut] + note, True

    def _existing_link(self, state: ReleaseState, target_id: str, rel_type: str) -> StoredEntity | None:
        for link in state.links:
            rec = link.record
            if (
                isinstance(rec, LinkRecord)
                and rec.target_id == target_id
                and rec.relationship_type == rel_type
            ):
                return link
        return None

    def _resolve(self, entity_type: Any, id_or_prefix: str, field_name: str) -> StoredEntity:
        """``store.resolve``, with its errors reported against the caller's parameter."""
        try:
            return self.store.resolve(entity_type, id_or_prefix)
        except PlannerError as exc:
            raise type(exc)(exc.message, field=field_name, valid=exc.valid, next_step=exc.next_step) from None

    def _stable_id(self, *parts: str) -> str:
        """The id a new artifact, hub task or link of a release gets: the same for every writer.

        Two writers creating the same artifact at once then race for one ref, so the loser gets a
        conflict (and retries as an update) instead of both creating a copy. The store's namespace
        (the git store's project id) keeps ids of different repositories apart."""
        namespace = str(getattr(self.store, "id_namespace", "") or "")
        return str(uuid.uuid5(_STABLE_ID_NAMESPACE, "\x1f".join((namespace, *parts))))

    def _link_change(
        self,
        task_id: str,
        target: tuple[str, str],
        rel_type: str,
        agent: str,
        description: str | None = None,
    ) -> Change:
        target_id, target_type = target
        link_id = self._stable_id("link", task_id, target_id, rel_type)
        # The link may exist already, deactivated by hand or left behind by a deleted release task:
        # then it is reactivated in place rather than created again under the same id.
        current = self.store.get("relationship", link_id)
        return Change(
            id=link_id,
            expected_revision=current.revision if current is not None else None,
            record=LinkRecord(
                source_id=task_id,
                source_type="task",
                target_id=target_id,
                target_type=target_type,
                relationship_type=rel_type,
                description=description,
            ),
            agent=agent,
        )

    def _commit_or_retry(self, changes: list[Change], attempt: int) -> list[StoredEntity] | None:
        """Commit, or None after a lost race so the caller retries on fresh state (the last attempt
        raises). If the caller's own artifact moved past expected_revision, the retry says so."""
        try:
            return self.store.commit(changes)
        except Conflict:
            if attempt == MAX_CAS_RETRIES - 1:
                raise
            _backoff(attempt)
            return None

    @staticmethod
    def _check_writable(existing: Artifact | None, tool: str) -> None:
        """Refuse to replace a spec written by a newer server: this one would silently drop its fields."""
        if existing is None or existing.typed:
            return
        meta = _meta(existing.entity) or {}
        schema = meta.get("schema")
        if isinstance(schema, int) and schema > SCHEMA_VERSION:
            raise Conflict(
                f"{existing.entity.title} ({existing.entity.id}) was written by a newer release planner "
                f"(spec schema {schema}; this server knows {SCHEMA_VERSION}), so {tool} would lose its data",
                field="version",
                next_step="upgrade engram-release-planner, or edit it with the server that wrote it",
            )

    @staticmethod
    def _check_expected(existing: Artifact | None, expected_revision: int | None, what: str) -> None:
        if expected_revision is None:
            return
        if existing is None:
            raise Conflict(
                f"expected revision {expected_revision} of the {what}, but none is stored yet",
                field="expected_revision",
                next_step="omit expected_revision to create it",
            )
        if existing.entity.revision != expected_revision:
            raise Conflict(
                f"the {what} is at revision {existing.entity.revision}, not {expected_revision}: "
                "someone changed it since you read it",
                field="expected_revision",
                next_step="call get_release_plan to see the current version, then retry with its revision",
            )

    def _write_artifact(
        self,
        tool: str,
        spec: Any,
        *,
        expected_revision: int | None,
        agent: str,
        match: Callable[[Artifact], bool] | None = None,
        identity: tuple[str, ...] = (),
    ) -> WriteResult:
        kind: str = spec.KIND
        info = KINDS[kind]
        version = spec.version
        retried = False
        for attempt in range(MAX_CAS_RETRIES):
            state = self._require_release(version, tool)
            assert state.task is not None
            candidates = state.artifacts.get(kind, [])
            existing = (
                next((a for a in candidates if match(a)), None)
                if match
                else (candidates[0] if candidates else None)
            )
            self._check_writable(existing, tool)
            self._check_expected(existing, expected_revision, info.kind.replace("_", " "))
            ctx = state.context()
            self._put_in_context(ctx, spec, existing)
            findings = spec.check(ctx)
            _raise_errors(findings, tool)
            markdown = spec.render(ctx)
            record = self._artifact_record(info, spec, ctx, markdown, state.task.id, version)
            entity_id = existing.entity.id if existing else self._stable_id(kind, version, *identity)
            changes = [
                Change(
                    id=entity_id,
                    record=record,
                    agent=agent,
                    expected_revision=existing.entity.revision if existing else None,
                )
            ]
            if self._existing_link(state, entity_id, info.link_type) is None:
                changes.append(
                    self._link_change(state.task.id, (entity_id, info.entity_type), info.link_type, agent)
                )
            refreshed = self._refresh_dependents(state, ctx, entity_id, kind, agent)
            changes.extend(change for change, _art in refreshed)
            stored = self._commit_or_retry(changes, attempt)
            if stored is None:
                retried = True
                continue
            self._remember_spec(kind, stored[0], spec)
            notices = _notices(findings) + self._refreshed_notices(refreshed, stored)
            notices += _write_notices(retried, existing, entity_id)
            return self._write_result(state, kind, stored[0], spec, ctx, markdown, existing is None, notices)
        raise AssertionError("unreachable")  # pragma: no cover

    def _refresh_dependents(
        self, state: ReleaseState, ctx: ReleaseContext, written_id: str, written_kind: str, agent: str
    ) -> list[tuple[Change, Artifact]]:
        """Updates for the other typed artifacts whose stored Markdown (or confidence) the new spec
        changes, so that what `engram context show` prints never goes stale: a runbook's rollout
        schedule after the rollout changes, migration dates after the target date moves, rollback
        coverage after the features change. They ride in the same atomic commit, CAS on revision."""
        assert state.task is not None
        out: list[tuple[Change, Artifact]] = []
        for art in state.all():
            if art.spec is None or art.entity.id == written_id or written_kind not in READS[art.kind]:
                continue
            info = KINDS[art.kind]
            markdown = art.spec.render(ctx)
            record = self._artifact_record(info, art.spec, ctx, markdown, state.task.id, state.version)
            old = art.entity.record
            same = markdown == art.stored_markdown() and record.title == old.title  # type: ignore[union-attr]
            if isinstance(record, ReasoningRecord) and isinstance(old, ReasoningRecord):
                same = same and record.confidence == old.confidence
            if not same:
                change = Change(art.entity.id, record, agent=agent, expected_revision=art.entity.revision)
                out.append((change, art))
        return out

    def _refreshed_notices(
        self, refreshed: list[tuple[Change, Artifact]], stored: list[StoredEntity]
    ) -> list[Notice]:
        by_id = {entity.id: entity for entity in stored}
        notices = []
        for _change, art in refreshed:
            entity = by_id.get(art.entity.id)
            if entity is None:
                continue
            self._remember_spec(art.kind, entity, art.spec)
            notices.append(
                Notice(
                    code="dependent_refreshed",
                    message=f"re-rendered the stored Markdown of {entity.title} (now revision "
                    f"{entity.revision}) because it depends on what you just changed",
                )
            )
        return notices

    @staticmethod
    def _put_in_context(ctx: ReleaseContext, spec: Any, existing: Artifact | None) -> None:
        kind = spec.KIND
        if kind == "release_plan":
            ctx.plan = spec
        elif kind == "rollback_strategy":
            ctx.rollback = spec
        elif kind == "rollout_plan":
            ctx.rollout = spec
        elif kind == "runbook":
            ctx.runbook = spec
        elif kind == "migration_path":
            others = [m for m in ctx.migrations if existing is None or m is not existing.spec]
            ctx.migrations = [*others, spec]

    def _artifact_record(
        self, info: KindInfo, spec: Any, ctx: ReleaseContext, markdown: str, task_id: str, version: str
    ) -> Record:
        title = spec.title(ctx)
        metadata = self._metadata(info.kind, version, spec)
        tags = self._tags(version, info.tag)
        if info.entity_type == "context":
            return ContextRecord(
                title=title,
                content=markdown,
                source="release-planning",
                relevance="high",
                tags=tags,
                metadata=metadata,
            )
        confidence = spec.confidence(ctx)
        return ReasoningRecord(
            title=title,
            task_id=task_id,
            conclusion=markdown,
            confidence=float(confidence) if confidence is not None else 0.0,
            tags=tags,
            metadata=metadata,
        )

    def _write_result(
        self,
        state: ReleaseState,
        kind: str,
        entity: StoredEntity,
        spec: Any,
        ctx: ReleaseContext,
        markdown: str,
        created: bool,
        notices: list[Notice],
    ) -> WriteResult:
        assert state.task is not None
        version = state.version
        trimmed, truncated = self._trim(markdown, version)
        art = Artifact(kind, entity, spec)
        missing = [
            k for k in ARTIFACT_KINDS if k not in state.artifacts and k != kind and k != "migration_path"
        ]
        steps = [f"next: {NEXT_TOOL[kind]}"]
        if missing:
            steps.append(
                "still to plan: " + ", ".join(f"{k.replace('_', ' ')} ({TOOL_OF_KIND[k]})" for k in missing)
            )
        steps.append(
            f"to update this {kind.replace('_', ' ')} later, call {TOOL_OF_KIND[kind]} again with "
            f"expected_revision={entity.revision}"
        )
        return WriteResult(
            release=version,
            task_id=state.task.id,
            artifact=art.ref(),
            revision=entity.revision,
            created=created,
            markdown=trimmed,
            markdown_truncated=truncated,
            resource_uri=f"release://{version}",
            warnings=notices,
            next_steps=steps,
            computed=spec.computed(ctx),
        )

    # ------------------------------------------------------------------ step 1
    def create_release_plan(
        self,
        spec: ReleasePlanSpec,
        *,
        task_id: str | None = None,
        expected_revision: int | None = None,
        agent: str = "default",
    ) -> WriteResult:
        version = spec.version
        retried = False
        for attempt in range(MAX_CAS_RETRIES):
            state = self._load(version)
            task = state.task
            if task_id is not None:
                given = self._resolve("task", task_id, "task_id")
                owner = (_meta(given) or {}).get("release")
                if (_meta(given) or {}).get("kind") == RELEASE_KIND and owner not in (None, version):
                    raise Conflict(
                        f"task {given.id} is already the release task of v{owner}",
                        field="task_id",
                        next_step="omit task_id to create a new release task, "
                        "or pass the task of this release",
                    )
                if (
                    task is not None
                    and task.id != given.id
                    and (_meta(task) or {}).get("kind") == RELEASE_KIND
                ):
                    raise Conflict(
                        f"release {version} already has the task {task.id}, not {given.id}",
                        field="task_id",
                        next_step="omit task_id to update the existing release",
                    )
                if task is None or task.id != given.id:
                    task = given
                    state = self._load_with_task(version, given)
            existing = state.one("release_plan")
            self._check_writable(existing, "create_release_plan")
            self._check_expected(existing, expected_revision, "release plan")
            ctx = state.context()
            ctx.plan = spec
            findings = spec.check(ctx)
            _raise_errors(findings, "create_release_plan")
            markdown = spec.render(ctx)

            old_task = task.record if task is not None and isinstance(task.record, TaskRecord) else None
            hand_made = old_task is not None and task is not None and _meta(task) is None
            task_record = TaskRecord(
                title=spec.task_title(),
                # A hand-made task keeps what people wrote on it; ours is rewritten from the plan.
                description=old_task.description
                if hand_made and old_task is not None and old_task.description
                else self._task_description(spec),
                status=old_task.status if old_task is not None else "todo",
                priority=old_task.priority
                if old_task is not None
                else ("high" if spec.release_type == "major" else "medium"),
                tags=tuple(
                    dict.fromkeys(
                        [*(old_task.tags if old_task is not None else ()), "release", f"v{version}"]
                    )
                ),
                metadata=self._metadata(
                    RELEASE_KIND,
                    version,
                    None,
                    {
                        "name": spec.name,
                        "target_date": spec.target_date.isoformat(),
                    },
                ),
            )
            changes: list[Change] = []
            if task is None:
                hub_id = self._stable_id(RELEASE_KIND, version)
                changes.append(Change(id=hub_id, record=task_record, agent=agent))
            else:
                hub_id = task.id
                changes.append(
                    Change(id=hub_id, record=task_record, agent=agent, expected_revision=task.revision)
                )
            info = KINDS["release_plan"]
            plan_id = existing.entity.id if existing else self._stable_id("release_plan", version)
            changes.append(
                Change(
                    id=plan_id,
                    record=self._artifact_record(info, spec, ctx, markdown, hub_id, version),
                    agent=agent,
                    expected_revision=existing.entity.revision if existing else None,
                )
            )
            if task is None or self._existing_link(state, plan_id, info.link_type) is None:
                changes.append(self._link_change(hub_id, (plan_id, "context"), info.link_type, agent))
            refreshed = (
                self._refresh_dependents(state, ctx, plan_id, "release_plan", agent)
                if task is not None
                else []
            )
            changes.extend(change for change, _art in refreshed)
            stored = self._commit_or_retry(changes, attempt)
            if stored is None:
                retried = True
                continue
            state.task = stored[0]
            self._remember_spec("release_plan", stored[1], spec)
            notices = _notices(findings) + state.notices + self._refreshed_notices(refreshed, stored)
            notices += _write_notices(retried, existing, plan_id)
            return self._write_result(
                state, "release_plan", stored[1], spec, ctx, markdown, existing is None, notices
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _load_with_task(self, version: str, task: StoredEntity) -> ReleaseState:
        state = self._load(version)
        if state.task is None or state.task.id != task.id:
            state.task = task
            state.links = [
                link
                for link in self.store.links_from(task.id)
                if isinstance(link.record, LinkRecord) and link.record.active
            ]
        return state

    @staticmethod
    def _task_description(spec: Any) -> str:
        computed_counts = spec.computed(ReleaseContext(version=spec.version, plan=spec)).get("counts", {})
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in computed_counts.items() if n)
        return (
            f"Release v{spec.version} ({spec.release_type}) - {spec.name}, "
            f"target {spec.target_date.isoformat()}. "
            f"Features: {counts or 'none'}. Planned with engram-release-planner; "
            "linked entities hold the plan, migration paths, rollback, rollout and runbook."
        )

    # ------------------------------------------------------------------ steps 2-5
    def design_migration_path(
        self, spec: MigrationPathSpec, *, expected_revision: int | None = None, agent: str = "default"
    ) -> WriteResult:
        wanted = spec.change.casefold()

        def same_change(art: Artifact) -> bool:
            if art.spec is not None:
                return str(art.spec.change).casefold() == wanted
            return art.entity.title.removeprefix("Migration Path:").strip().casefold() == wanted

        return self._write_artifact(
            "design_migration_path",
            spec,
            expected_revision=expected_revision,
            agent=agent,
            match=same_change,
            identity=(wanted,),
        )

    def design_rollback(
        self, spec: RollbackSpec, *, expected_revision: int | None = None, agent: str = "default"
    ) -> WriteResult:
        return self._write_artifact("design_rollback", spec, expected_revision=expected_revision, agent=agent)

    def plan_rollout(
        self, spec: RolloutSpec, *, expected_revision: int | None = None, agent: str = "default"
    ) -> WriteResult:
        return self._write_artifact("plan_rollout", spec, expected_revision=expected_revision, agent=agent)

    def create_runbook(
        self, spec: RunbookSpec, *, expected_revision: int | None = None, agent: str = "default"
    ) -> WriteResult:
        return self._write_artifact("create_runbook", spec, expected_revision=expected_revision, agent=agent)

    # ------------------------------------------------------------------ step 6
    def link_release_entities(
        self, version: str, links: list[ExtraLink] | None = None, *, agent: str = "default"
    ) -> LinkResult:
        version = _normalize(version)
        for attempt in range(MAX_CAS_RETRIES):
            state = self._require_release(version, "link_release_entities")
            created, existing_refs = self._plan_links(state, links or [], agent)
            # Another writer may link the same entity meanwhile: linking is idempotent, so look again.
            stored = self._commit_or_retry(created, attempt) if created else []
            if stored is None:
                continue
            assert state.task is not None
            missing = [k for k in ARTIFACT_KINDS if k not in state.artifacts and k != "migration_path"]
            steps = ["call summarize_release for the stakeholder summary"]
            if missing:
                steps.insert(0, "not planned yet: " + ", ".join(TOOL_OF_KIND[k] for k in missing))
            return LinkResult(
                release=version,
                task_id=state.task.id,
                created=[self._link_ref(e) for e in stored],
                existing=existing_refs,
                warnings=list(state.notices),
                next_steps=steps,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _plan_links(
        self, state: ReleaseState, links: list[ExtraLink], agent: str
    ) -> tuple[list[Change], list[LinkRef]]:
        assert state.task is not None
        wanted: list[tuple[str, str, str, str | None]] = []
        for art in state.all():
            wanted.append((art.entity.id, art.entity.type, KINDS[art.kind].link_type, None))
        for i, extra in enumerate(links):
            where = f"links[{i}].target_id"
            target = (
                self._resolve(extra.target_type, extra.target_id, where)
                if not is_entity_id(extra.target_id)
                else self.store.get(extra.target_type, extra.target_id)
            )
            if target is None:
                raise NotFound(
                    f"no {extra.target_type} {extra.target_id}",
                    field=where,
                    next_step="check the id with `engram " + extra.target_type + " list`",
                )
            if target.id == state.task.id:
                raise InvalidInput("a release task cannot link to itself", field=where)
            wanted.append((target.id, target.type, extra.relationship_type, extra.description))
        created: list[Change] = []
        existing_refs: list[LinkRef] = []
        seen: set[tuple[str, str]] = set()
        for target_id, target_type, rel_type, description in wanted:
            if (target_id, rel_type) in seen:
                continue
            seen.add((target_id, rel_type))
            found = self._existing_link(state, target_id, rel_type)
            if found is not None:
                existing_refs.append(self._link_ref(found))
                continue
            created.append(
                self._link_change(state.task.id, (target_id, target_type), rel_type, agent, description)
            )
        return created, existing_refs

    @staticmethod
    def _link_ref(entity: StoredEntity) -> LinkRef:
        rec = entity.record
        assert isinstance(rec, LinkRecord)
        return LinkRef(
            relationship_id=entity.id,
            source_id=rec.source_id,
            target_id=rec.target_id,
            target_type=rec.target_type,
            relationship_type=_link_type_name(rec),
        )

    # ------------------------------------------------------------------ reads
    def _release_findings(self, state: ReleaseState) -> list[Notice]:
        return list(self._derive(state, "findings", lambda: self._compute_findings(state)))

    def _compute_findings(self, state: ReleaseState) -> list[Notice]:
        ctx = state.context()
        notices = list(state.notices)
        for art in state.all():
            if art.spec is None:
                continue
            for f in art.spec.check(ctx):
                notices.append(
                    Notice(
                        code=f.code,
                        message=f"{art.kind}: {f.message}"
                        if f.severity == "warning"
                        else f"{art.kind} (error): {f.message}",
                        field=f.field,
                    )
                )
        linked = {link.record.target_id for link in state.links if isinstance(link.record, LinkRecord)}
        for art in state.all():
            if art.entity.id not in linked:
                notices.append(
                    Notice(
                        code="artifact_not_linked",
                        message=f"{art.entity.title} is not linked from the release task; "
                        "call link_release_entities",
                    )
                )
        return notices

    def _full_markdown(self, state: ReleaseState) -> str:
        return str(self._derive(state, "markdown", lambda: self._compute_markdown(state)))

    def _compute_markdown(self, state: ReleaseState) -> str:
        ctx = state.context()
        task = state.task
        name = self._release_name(state)
        parts = [f"# Release v{state.version}" + (f" - {name}" if name else "")]
        if task is not None:
            status = task.record.status if isinstance(task.record, TaskRecord) else "todo"
            parts.append(f"Engram task `{task.id}` (status: {status}).")
        for art in state.all():
            body = art.spec.render(ctx) if art.spec is not None else art.stored_markdown()
            suffix = "" if art.typed else " (untyped: written by hand, shown as stored)"
            parts.append(f"---\n\n# {art.entity.title}{suffix}\n\n{body.strip()}")
        missing = self._missing(state)
        if missing:
            parts.append("---\n\nNot planned yet: " + ", ".join(k.replace("_", " ") for k in missing) + ".")
        return "\n\n".join(parts) + "\n"

    @staticmethod
    def _missing(state: ReleaseState) -> list[str]:
        return [k for k in ARTIFACT_KINDS if k != "migration_path" and k not in state.artifacts]

    @staticmethod
    def _release_name(state: ReleaseState) -> str:
        plan = state.one("release_plan")
        if plan is not None and plan.spec is not None:
            return str(plan.spec.name)
        if state.task is not None:
            meta = _meta(state.task) or {}
            if meta.get("name"):
                return str(meta["name"])
            title = state.task.title
            if " - " in title:
                return title.split(" - ", 1)[1]
        if plan is not None and " - " in plan.entity.title:
            return plan.entity.title.split(" - ", 1)[1]
        return ""

    def _target_date(self, state: ReleaseState) -> str | None:
        plan = state.one("release_plan")
        if plan is not None and plan.spec is not None:
            return str(plan.spec.target_date.isoformat())
        meta = _meta(state.task) if state.task is not None else None
        return str(meta["target_date"]) if meta and meta.get("target_date") else None

    def _read_state(self, version: str) -> ReleaseState:
        version = _normalize(version)
        state = self._load(version)
        if state.task is None and not state.artifacts:
            raise NotFound(
                f"no release {version} is planned",
                field="version",
                next_step="call list_release_plans to see planned versions, "
                "or create_release_plan to start one",
            )
        return state

    def get_release_plan(self, version: str) -> ReleaseView:
        state = self._read_state(version)
        markdown, truncated = self._trim(self._full_markdown(state), state.version)
        missing = self._missing(state)
        steps = [f"plan the {k.replace('_', ' ')} with {TOOL_OF_KIND[k]}" for k in missing]
        if not missing:
            steps.append("call summarize_release for the stakeholder summary")
        task = state.task
        return ReleaseView(
            release=state.version,
            name=self._release_name(state),
            status=task.record.status if task is not None and isinstance(task.record, TaskRecord) else "todo",
            target_date=self._target_date(state),
            task_id=task.id if task is not None else "",
            typed=all(a.typed for a in state.all()) and (task is None or _meta(task) is not None),
            artifacts=(
                [
                    ArtifactRef(
                        kind=RELEASE_KIND,
                        entity_type="task",
                        entity_id=task.id,
                        title=task.title,
                        revision=task.revision,
                        typed=_meta(task) is not None,
                        updated_at=task.updated_at,
                    )
                ]
                if task is not None
                else []
            )
            + [a.ref() for a in state.all()],
            links=[self._link_ref(link) for link in state.links],
            missing=missing,
            markdown=markdown,
            markdown_truncated=truncated,
            resource_uri=f"release://{state.version}",
            warnings=self._release_findings(state),
            next_steps=steps,
        )

    def _release_versions(self) -> list[str]:
        """Every version some task or context names, newest first (typed metadata or skill-style title)."""
        found = set(self.store.releases("task")) | set(self.store.releases("context"))
        return sorted(found, key=_semver_key, reverse=True)

    def _status_of(self, task: StoredEntity | None) -> str:
        return task.record.status if task is not None and isinstance(task.record, TaskRecord) else "todo"

    def list_release_plans(
        self, status: ReleaseStatus | None = None, limit: int = 20, cursor: str | None = None
    ) -> ReleasePage:
        if not 1 <= limit <= 100:
            raise InvalidInput(f"limit {limit} is out of range", field="limit", valid="1 to 100")
        offset = self._decode_cursor(cursor)
        versions = self._release_versions()
        if status is not None:
            # Only the hub task is needed to filter; whole releases are loaded for the page alone.
            versions = [v for v in versions if self._status_of(self._find_task(v)) == status]
        rows: list[ReleaseSummary] = []
        position = offset
        while position < len(versions) and len(rows) < limit:
            state = self._load(versions[position], parse_specs=False)
            position += 1
            if state.task is None and not state.artifacts:
                continue  # a context titled like a release task, with nothing planned: not a release
            rows.append(self._summary_row(state))
        return ReleasePage(
            releases=rows,
            next_cursor=self._encode_cursor(position) if position < len(versions) else None,
            total=len(versions),
        )

    def _summary_row(self, state: ReleaseState) -> ReleaseSummary:
        task = state.task
        meta = (_meta(task) or {}) if task is not None else {}
        stamps = [a.entity.updated_at for a in state.all()] + ([task.updated_at] if task else [])
        name = str(meta.get("name") or "") or self._release_name(state)
        return ReleaseSummary(
            release=state.version,
            name=name,
            status=self._status_of(task),
            target_date=str(meta["target_date"]) if meta.get("target_date") else None,
            task_id=task.id if task else "",
            artifacts=[k for k in ARTIFACT_KINDS if k in state.artifacts],
            typed=all(_meta(a.entity) is not None for a in state.all()) and (task is None or bool(meta)),
            updated_at=max(stamps) if stamps else "",
        )

    @staticmethod
    def _encode_cursor(offset: int) -> str:
        return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(cursor: str | None) -> int:
        if not cursor:
            return 0
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            if raw.startswith("o:") and raw[2:].isdigit():
                return int(raw[2:])
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        raise InvalidInput(
            "cursor is not one this server issued",
            field="cursor",
            next_step="pass the next_cursor of the previous page, or omit cursor to start over",
        )

    def summarize_release(self, version: str) -> StakeholderSummary:
        state = self._read_state(version)
        from .summary import stakeholder_summary

        summary, facts = stakeholder_summary(
            state.version, state.context(), self._missing(state), [a for a in state.all() if not a.typed]
        )
        warnings = self._release_findings(state)
        steps = [f"plan the {k.replace('_', ' ')} with {TOOL_OF_KIND[k]}" for k in self._missing(state)]
        if warnings:
            steps.append("review the warnings with get_release_plan before go-live")
        return StakeholderSummary(
            release=state.version, summary=summary, facts=facts, warnings=warnings, next_steps=steps
        )

    # ------------------------------------------------------------------ resources
    def release_markdown(self, version: str) -> str:
        return self._full_markdown(self._read_state(version))

    def release_json(self, version: str) -> dict[str, Any]:
        state = self._read_state(version)
        ctx = state.context()
        task = state.task
        return {
            "release": state.version,
            "name": self._release_name(state),
            "task": None
            if task is None
            else {
                "id": task.id,
                "title": task.title,
                "revision": task.revision,
                "status": getattr(task.record, "status", None),
            },
            "artifacts": [
                {
                    **a.ref().model_dump(),
                    "spec": a.spec.model_dump(mode="json") if a.spec is not None else None,
                    "computed": a.spec.computed(ctx) if a.spec is not None else None,
                    "markdown": None if a.typed else a.stored_markdown(),
                }
                for a in state.all()
            ],
            "links": [self._link_ref(link).model_dump() for link in state.links],
            "warnings": [n.model_dump() for n in self._release_findings(state)],
        }

    def release_timeline(self, version: str) -> str:
        state = self._read_state(version)
        rollout = state.one("rollout_plan")
        if rollout is None or rollout.spec is None:
            raise NotFound(
                f"release {state.version} has no typed rollout plan",
                field="version",
                next_step="call plan_rollout first",
            )
        return str(rollout.spec.gantt(state.context()))
