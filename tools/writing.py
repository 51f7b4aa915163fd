"""Writing one artifact, together with whatever of the release depends on it, in one commit.

A write checks the spec on its own and reviews the release with the spec in place (only the review
findings this artifact takes part in are reported), renders it, and commits the artifact, the link
from the hub when missing, and the re-rendered Markdown of every stored artifact that reads this
kind: what `engram context show` prints never goes stale.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import review
from .base import ArtifactKind, ReleaseContext
from .commits import (
    MAX_CAS_RETRIES,
    check_expected,
    check_writable,
    commit_or_retry,
    landing_notices,
    notices,
    raise_errors,
)
from .loading import Artifact, ReleaseLoader, ReleaseState
from .ports import Change, ReasoningRecord, Store, StoredEntity, TaskRecord
from .records import artifact_record, link_change, stable_id
from .registry import KINDS, kind_of_spec
from .results import Notice, WriteResult
from .views import trim


class ArtifactWriter:
    """Writes artifacts of every kind but the first (which founds the release: ``tools.founding``)."""

    def __init__(self, store: Store, loader: ReleaseLoader, max_markdown_chars: int) -> None:
        self.store = store
        self.loader = loader
        self.max_markdown_chars = max_markdown_chars

    def write(self, spec: Any, *, expected_revision: int | None, agent: str) -> WriteResult:
        kind = kind_of_spec(spec)
        version = spec.version
        key = kind.key(spec) if kind.many and kind.key is not None else None
        retried = False
        for attempt in range(MAX_CAS_RETRIES):
            state = self.loader.require_release(version, kind.tool)
            assert state.task is not None
            candidates = state.artifacts.get(kind.name, [])
            existing = (
                next((a for a in candidates if a.key() == key), None)
                if kind.many
                else (candidates[0] if candidates else None)
            )
            check_writable(existing, kind.tool)
            check_expected(existing, expected_revision, kind.label)
            replacing = existing.spec if existing else None
            stored_ctx = state.context()
            findings = review.check_artifact(spec, stored_ctx, replacing=replacing)
            ctx = stored_ctx.with_spec(kind, spec, replacing=replacing)
            raise_errors(findings, kind.tool)
            markdown = spec.render(ctx)
            record = artifact_record(kind, spec, ctx, markdown, state.task.id, version)
            entity_id = (
                existing.entity.id
                if existing
                else stable_id(self.store, kind.name, version, *(() if key is None else (key,)))
            )
            changes = [
                Change(
                    id=entity_id,
                    record=record,
                    agent=agent,
                    expected_revision=existing.entity.revision if existing else None,
                )
            ]
            if state.link_to(entity_id, kind.link_type) is None:
                changes.append(
                    link_change(
                        self.store, state.task.id, (entity_id, kind.entity_type), kind.link_type, agent
                    )
                )
            refreshed = self.refresh_dependents(state, ctx, entity_id, kind, agent)
            changes.extend(change for change, _art in refreshed)
            moved = self.move_release(state, ctx, kind, agent)
            if moved is not None:
                changes.append(moved)
            stored = commit_or_retry(self.store, changes, attempt)
            if stored is None:
                retried = True
                continue
            self.loader.remember_spec(kind.name, stored[0], spec)
            said = notices(findings) + self.refreshed_notices(refreshed, stored)
            said += landing_notices(retried, existing, entity_id)
            return self.result(state, kind, stored[0], spec, ctx, markdown, existing is None, said)
        raise AssertionError("unreachable")  # pragma: no cover

    def refresh_dependents(
        self, state: ReleaseState, ctx: ReleaseContext, written_id: str, written: ArtifactKind, agent: str
    ) -> list[tuple[Change, Artifact]]:
        """Updates for the other typed artifacts whose stored Markdown (or confidence) the new spec
        changes: a runbook's rollout schedule after the rollout changes, migration dates after the
        target date moves. They ride in the same atomic commit, CAS on revision."""
        assert state.task is not None
        out: list[tuple[Change, Artifact]] = []
        for art in state.all():
            if art.spec is None or art.entity.id == written_id or written.name not in art.kind.reads:
                continue
            markdown = art.spec.render(ctx)
            record = artifact_record(art.kind, art.spec, ctx, markdown, state.task.id, state.version)
            old = art.entity.record
            same = markdown == art.stored_markdown() and record.title == old.title  # type: ignore[union-attr]
            if isinstance(record, ReasoningRecord) and isinstance(old, ReasoningRecord):
                same = same and record.confidence == old.confidence
            if not same:
                change = Change(art.entity.id, record, agent=agent, expected_revision=art.entity.revision)
                out.append((change, art))
        return out

    @staticmethod
    def move_release(
        state: ReleaseState, ctx: ReleaseContext, kind: ArtifactKind, agent: str
    ) -> Change | None:
        """The release task's update when the write changes where the release stands: a gate decision
        starts, completes or cancels it, and a rollout rewritten under recorded decisions can too
        (fewer phases may end it). In the same commit as the artifact."""
        task = state.task
        if task is None or not isinstance(task.record, TaskRecord):
            return None
        movers = [k for k in KINDS if k.moves_release is not None and (k is kind or kind.name in k.reads)]
        moves = [m for k in movers if k.moves_release is not None and (m := k.moves_release(ctx))]
        if not moves:
            return None
        move = moves[0]
        old = task.record
        if move is None or (move.status, move.end_time, move.outcome) == (
            old.status,
            old.end_time,
            old.outcome,
        ):
            return None
        record = replace(old, status=move.status, end_time=move.end_time, outcome=move.outcome)
        return Change(task.id, record, agent=agent, expected_revision=task.revision)

    def refreshed_notices(
        self, refreshed: list[tuple[Change, Artifact]], stored: list[StoredEntity]
    ) -> list[Notice]:
        by_id = {entity.id: entity for entity in stored}
        out = []
        for _change, art in refreshed:
            entity = by_id.get(art.entity.id)
            if entity is None:
                continue
            self.loader.remember_spec(art.kind.name, entity, art.spec)
            out.append(
                Notice(
                    code="dependent_refreshed",
                    message=f"re-rendered the stored Markdown of {entity.title} (now revision "
                    f"{entity.revision}) because it depends on what you just changed",
                )
            )
        return out

    def result(
        self,
        state: ReleaseState,
        kind: ArtifactKind,
        entity: StoredEntity,
        spec: Any,
        ctx: ReleaseContext,
        markdown: str,
        created: bool,
        said: list[Notice],
    ) -> WriteResult:
        assert state.task is not None
        version = state.version
        trimmed, truncated = trim(markdown, version, self.max_markdown_chars)
        missing = [k for k in state.missing() if k is not kind]
        steps = [f"next: {kind.next_step}"]
        if missing:
            steps.append("still to plan: " + ", ".join(f"{k.label} ({k.tool})" for k in missing))
        steps.append(
            f"to update this {kind.label} later, call {kind.tool} again with "
            f"expected_revision={entity.revision}"
        )
        return WriteResult(
            release=version,
            task_id=state.task.id,
            artifact=Artifact(kind, entity, spec).ref(),
            revision=entity.revision,
            created=created,
            markdown=trimmed,
            markdown_truncated=truncated,
            resource_uri=f"release://{version}",
            warnings=said,
            next_steps=steps,
            computed=spec.computed(ctx),
        )
