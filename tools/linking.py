"""Linking the release task to its artifacts and to any other Engram entity the caller names.

Linking is idempotent: only missing links are created, and a second identical call changes nothing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .commits import MAX_CAS_RETRIES, commit_or_retry
from .common import ShortText
from .errors import InvalidInput, NotFound, PlannerError
from .loading import ReleaseLoader, ReleaseState, normalize
from .ports import Change, Store, StoredEntity, is_entity_id
from .records import link_change
from .results import LinkRef, LinkResult
from .views import link_ref


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


class ReleaseLinker:
    """``link_release_entities``."""

    def __init__(self, store: Store, loader: ReleaseLoader) -> None:
        self.store = store
        self.loader = loader

    def link(self, version: str, links: list[ExtraLink] | None, *, agent: str) -> LinkResult:
        version = normalize(version)
        for attempt in range(MAX_CAS_RETRIES):
            state = self.loader.require_release(version, "link_release_entities")
            created, existing_refs = self._plan(state, links or [], agent)
            # Another writer may link the same entity meanwhile: linking is idempotent, so look again.
            stored = commit_or_retry(self.store, created, attempt) if created else []
            if stored is None:
                continue
            assert state.task is not None
            missing = state.missing()
            steps = ["call summarize_release for the stakeholder summary"]
            if missing:
                steps.insert(0, "not planned yet: " + ", ".join(k.tool for k in missing))
            return LinkResult(
                release=version,
                task_id=state.task.id,
                created=[link_ref(e) for e in stored],
                existing=existing_refs,
                warnings=list(state.notices),
                next_steps=steps,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _target(self, extra: ExtraLink, where: str) -> StoredEntity:
        if is_entity_id(extra.target_id):
            target = self.store.get(extra.target_type, extra.target_id)
        else:
            try:
                target = self.store.resolve(extra.target_type, extra.target_id)
            except PlannerError as exc:
                raise type(exc)(exc.message, field=where, valid=exc.valid, next_step=exc.next_step) from None
        if target is None:
            raise NotFound(
                f"no {extra.target_type} {extra.target_id}",
                field=where,
                next_step="check the id with `engram " + extra.target_type + " list`",
            )
        return target

    def _plan(
        self, state: ReleaseState, links: list[ExtraLink], agent: str
    ) -> tuple[list[Change], list[LinkRef]]:
        assert state.task is not None
        wanted: list[tuple[str, str, str, str | None]] = [
            (art.entity.id, art.entity.type, art.kind.link_type, None) for art in state.all()
        ]
        for i, extra in enumerate(links):
            where = f"links[{i}].target_id"
            target = self._target(extra, where)
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
            found = state.link_to(target_id, rel_type)
            if found is not None:
                existing_refs.append(link_ref(found))
                continue
            created.append(
                link_change(self.store, state.task.id, (target_id, target_type), rel_type, agent, description)
            )
        return created, existing_refs
