"""Retiring an artifact stored by mistake, or a whole release, with Engram's delete semantics.

Engram deletes an entity by removing its ref; its version sidecars stay (``tools.ports``: a deletion
``Change``). Retiring one artifact deletes it and the relationships to and from it, and re-renders
the stored artifacts that read its kind (a runbook shows the rollout's schedule); retiring a whole
release also sets its hub task to ``cancelled`` (as ``engram task archive`` does) and keeps the task,
so the release's history stays findable. Everything happens in one atomic commit, compare-and-swap on
``expected_revision`` (the artifact's revision, or the release task's for a whole release).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from .commits import MAX_CAS_RETRIES, commit_or_retry
from .errors import Conflict, InvalidInput, NotFound
from .loading import Artifact, ReleaseLoader, ReleaseState, normalize, status_of
from .ports import Change, Store, StoredEntity, TaskRecord
from .registry import BY_NAME, KINDS
from .results import ArtifactRef
from .writing import ArtifactWriter

# Built from the descriptors, so a new kind is retirable with no edit here: every kind but the one
# that founds the release (retiring it is retiring the release) and those that record how the release
# ran (decisions move the release: a record of what happened, not a plan to take back).
RETIRABLE = tuple(k for k in KINDS[1:] if k.moves_release is None)
if TYPE_CHECKING:
    RetirableKind = str
else:
    RetirableKind = Literal[tuple(k.name for k in RETIRABLE)]
TOOL = "retire_release_artifact"


class RetireResult(BaseModel):
    """What a retirement removed and what is left of the release."""

    release: str
    task_id: str | None = Field(description="The release task; kept, cancelled when the release is retired")
    status: str = Field(description="The release task's status after the call")
    retired: list[ArtifactRef] = Field(
        description="Artifacts deleted (their version history stays in Engram)"
    )
    links_removed: int = Field(
        description="Relationships to or from the retired artifacts, deleted with them"
    )
    refreshed: list[str] = Field(
        default_factory=list, description="Artifacts re-rendered without the retired one"
    )
    remaining: list[str] = Field(description="Artifact kinds the release still has")
    next_steps: list[str] = Field(default_factory=list)


class ReleaseRetirer:
    def __init__(self, store: Store, loader: ReleaseLoader, writer: ArtifactWriter) -> None:
        self.store = store
        self.loader = loader
        self.writer = writer

    def retire(
        self,
        version: str,
        kind: str | None = None,
        entity_id: str | None = None,
        *,
        expected_revision: int | None = None,
        agent: str = "default",
    ) -> RetireResult:
        version = normalize(version)
        for attempt in range(MAX_CAS_RETRIES):
            state = self.loader.load(version)
            if state.task is None and not state.artifacts:
                raise NotFound(
                    f"no release {version} is stored",
                    field="version",
                    next_step="call list_release_plans to see the stored versions",
                )
            if kind is None:
                targets, task_change = self._whole_release(state, entity_id, expected_revision, agent)
                refreshed: list[tuple[Change, Artifact]] = []
            else:
                targets = [self._one(state, kind, entity_id, expected_revision)]
                task_change = None
                refreshed = self._refresh_without(state, targets[0], agent)
            links = self._links_of(targets)
            changes = [
                *([task_change] if task_change else []),
                *(c for c, _art in refreshed),
                *(Change.deleting(link, agent) for link in links),
                *(Change.deleting(t.entity, agent) for t in targets),
            ]
            if not changes:
                return self._result(state, state.task, [], 0, [])
            stored = commit_or_retry(self.store, changes, attempt)
            if stored is None:
                continue
            task = stored[0] if task_change else state.task
            for change, art in refreshed:
                entity = next(e for e in stored if e.id == change.id)
                self.loader.remember_spec(art.kind.name, entity, art.spec)
            return self._result(state, task, targets, len(links), [a.entity.title for _c, a in refreshed])
        raise AssertionError("unreachable")  # pragma: no cover

    # --- what to retire ---------------------------------------------------------------------------

    def _whole_release(
        self, state: ReleaseState, entity_id: str | None, expected_revision: int | None, agent: str
    ) -> tuple[list[Artifact], Change | None]:
        if entity_id is not None:
            raise InvalidInput(
                "entity_id picks one artifact, but no kind was given, which retires the whole release",
                field="entity_id",
                valid="entity_id together with kind (e.g. kind migration_path)",
                next_step="add the artifact's kind, or omit entity_id to retire the whole release",
            )
        task = state.task
        if expected_revision is not None and (task is None or task.revision != expected_revision):
            now = "no release task" if task is None else f"the release task at revision {task.revision}"
            raise Conflict(
                f"expected revision {expected_revision} of the release task, but there is {now}",
                field="expected_revision",
                next_step="call get_release_plan to see the release as it is now, then retry",
            )
        change = None
        if task is not None and isinstance(task.record, TaskRecord) and task.record.status != "cancelled":
            cancelled = replace(task.record, status="cancelled")
            change = Change(task.id, cancelled, agent=agent, expected_revision=task.revision)
        return state.all(), change

    def _one(
        self, state: ReleaseState, kind: str, entity_id: str | None, expected_revision: int | None
    ) -> Artifact:
        if kind not in {k.name for k in RETIRABLE}:
            raise InvalidInput(
                f"{kind!r} cannot be retired on its own"
                + (": it founds the release" if kind == KINDS[0].name else ""),
                field="kind",
                valid=", ".join(k.name for k in RETIRABLE) + "; or omit kind to retire the whole release",
                next_step="omit kind to retire the whole release",
            )
        stored = state.artifacts.get(kind, [])
        label = BY_NAME[kind].label
        if not stored:
            present = ", ".join(a.kind.name for a in state.all()) or "none"
            raise NotFound(
                f"release {state.version} has no {label} stored (already retired?)",
                field="kind",
                valid=f"the kinds stored: {present}",
                next_step="call get_release_plan to see what is stored",
            )
        if entity_id is not None:
            matches = [a for a in stored if a.entity.id.startswith(entity_id.strip().lower())]
            if len(matches) != 1:
                ids = ", ".join(f"{a.entity.id} ({a.entity.title})" for a in stored)
                raise NotFound(
                    f"{'no' if not matches else 'more than one'} {label} of release {state.version} "
                    f"has the id {entity_id!r}",
                    field="entity_id",
                    valid=f"one of {ids}",
                    next_step="pass one of these ids (or a unique prefix of it)",
                )
            target = matches[0]
        elif len(stored) > 1:
            ids = ", ".join(f"{a.entity.id} ({a.entity.title})" for a in stored)
            raise InvalidInput(
                f"release {state.version} has {len(stored)} {label}s; say which one",
                field="entity_id",
                valid=f"one of {ids}",
                next_step="pass the entity_id of the one to retire",
            )
        else:
            target = stored[0]
        if expected_revision is not None and target.entity.revision != expected_revision:
            raise Conflict(
                f"the {label} is at revision {target.entity.revision}, not {expected_revision}: "
                "someone changed it since you read it",
                field="expected_revision",
                next_step="call get_release_plan to see the current version, then retry with its revision",
            )
        return target

    def _links_of(self, targets: list[Artifact]) -> list[StoredEntity]:
        """Every relationship to or from a retired artifact: it would point at nothing."""
        found: dict[str, StoredEntity] = {}
        for art in targets:
            for link in [*self.store.links_to(art.entity.id), *self.store.links_from(art.entity.id)]:
                found.setdefault(link.id, link)
        return list(found.values())

    def _refresh_without(
        self, state: ReleaseState, gone: Artifact, agent: str
    ) -> list[tuple[Change, Artifact]]:
        """The stored artifacts that read the retired kind, re-rendered without it."""
        if state.task is None:
            return []
        ctx = state.context()
        ctx = ctx.without(gone.kind, gone.spec)
        return self.writer.refresh_dependents(state, ctx, gone.entity.id, gone.kind, agent)

    # --- the answer ------------------------------------------------------------------------------

    def _result(
        self,
        state: ReleaseState,
        task: StoredEntity | None,
        targets: list[Artifact],
        links: int,
        refreshed: list[str],
    ) -> RetireResult:
        gone = {a.entity.id for a in targets}
        remaining = sorted({a.kind.name for a in state.all() if a.entity.id not in gone})
        steps = (
            [f"call get_release_plan to review release {state.version}"]
            if remaining
            else [f"release {state.version} is retired; plan a new one with {KINDS[0].tool}"]
        )
        return RetireResult(
            release=state.version,
            task_id=task.id if task is not None else None,
            status=status_of(task) if task is not None else "none",
            retired=[a.ref() for a in targets],
            links_removed=links,
            refreshed=refreshed,
            remaining=remaining,
            next_steps=steps,
        )
