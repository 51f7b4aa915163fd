"""Founding a release: the release plan and the hub task that every other artifact hangs from.

The first kind (the release plan) is written like the others, but its write also creates or updates
the release task (``Release v2.5.0 - Name``), or adopts a task the caller names, in the same commit.
"""

from __future__ import annotations

from typing import Any

from .base import ReleaseContext
from .commits import (
    MAX_CAS_RETRIES,
    check_expected,
    check_writable,
    commit_or_retry,
    landing_notices,
    notices,
    raise_errors,
)
from .errors import Conflict, PlannerError
from .loading import RELEASE_KIND, ReleaseLoader, ReleaseState, meta
from .ports import Change, Store, StoredEntity, TaskRecord
from .records import artifact_record, link_change, metadata, stable_id
from .registry import FIRST
from .results import WriteResult
from .review import check_artifact
from .writing import ArtifactWriter

# The agent the release task is stored under: engram's `task list` shows only agent `default` unless
# told otherwise, so a task under the MCP client's name would be invisible there. The client that
# planned the release is kept in the task's metadata (``release_planner.client``) instead.
RELEASE_TASK_AGENT = "default"


class ReleaseFounder:
    """``create_release_plan``: the plan, the hub task and the link between them, in one commit."""

    def __init__(self, store: Store, loader: ReleaseLoader, writer: ArtifactWriter) -> None:
        self.store = store
        self.loader = loader
        self.writer = writer

    def _resolve(self, id_or_prefix: str) -> StoredEntity:
        try:
            return self.store.resolve("task", id_or_prefix)
        except PlannerError as exc:
            raise type(exc)(exc.message, field="task_id", valid=exc.valid, next_step=exc.next_step) from None

    def _state_with_task(self, version: str, task_id: str) -> ReleaseState:
        """The release with the task the caller named as its hub, if that task may be its hub."""
        state = self.loader.load(version)
        task = state.task
        given = self._resolve(task_id)
        owner = (meta(given) or {}).get("release")
        if (meta(given) or {}).get("kind") == RELEASE_KIND and owner not in (None, version):
            raise Conflict(
                f"task {given.id} is already the release task of v{owner}",
                field="task_id",
                next_step="omit task_id to create a new release task, or pass the task of this release",
            )
        if task is not None and task.id != given.id and (meta(task) or {}).get("kind") == RELEASE_KIND:
            raise Conflict(
                f"release {version} already has the task {task.id}, not {given.id}",
                field="task_id",
                next_step="omit task_id to update the existing release",
            )
        if task is None or task.id != given.id:
            state = self.loader.load_with_task(version, given)
        return state

    def write(
        self, spec: Any, *, task_id: str | None, expected_revision: int | None, agent: str
    ) -> WriteResult:
        kind = FIRST
        version = spec.version
        retried = False
        for attempt in range(MAX_CAS_RETRIES):
            state = self.loader.load(version) if task_id is None else self._state_with_task(version, task_id)
            task = state.task
            existing = state.one(kind.name)
            check_writable(existing, kind.tool)
            check_expected(existing, expected_revision, kind.label)
            stored_ctx = state.context()
            findings = check_artifact(spec, stored_ctx)
            ctx = stored_ctx.with_spec(kind, spec)
            raise_errors(findings, kind.tool)
            markdown = spec.render(ctx)

            changes: list[Change] = []
            hub_id = task.id if task is not None else stable_id(self.store, RELEASE_KIND, version)
            changes.append(
                Change(
                    id=hub_id,
                    record=self._task_record(spec, task, agent),
                    agent=RELEASE_TASK_AGENT,
                    expected_revision=task.revision if task is not None else None,
                )
            )
            plan_id = existing.entity.id if existing else stable_id(self.store, kind.name, version)
            changes.append(
                Change(
                    id=plan_id,
                    record=artifact_record(kind, spec, ctx, markdown, hub_id, version),
                    agent=agent,
                    expected_revision=existing.entity.revision if existing else None,
                )
            )
            if task is None or state.link_to(plan_id, kind.link_type) is None:
                changes.append(
                    link_change(self.store, hub_id, (plan_id, kind.entity_type), kind.link_type, agent)
                )
            refreshed = (
                self.writer.refresh_dependents(state, ctx, plan_id, kind, agent) if task is not None else []
            )
            changes.extend(change for change, _art in refreshed)
            stored = commit_or_retry(self.store, changes, attempt)
            if stored is None:
                retried = True
                continue
            state.task = stored[0]
            self.loader.remember_spec(kind.name, stored[1], spec)
            said = notices(findings) + state.notices + self.writer.refreshed_notices(refreshed, stored)
            said += landing_notices(retried, existing, plan_id)
            return self.writer.result(state, kind, stored[1], spec, ctx, markdown, existing is None, said)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _task_record(spec: Any, task: StoredEntity | None, agent: str) -> TaskRecord:
        old = task.record if task is not None and isinstance(task.record, TaskRecord) else None
        hand_made = old is not None and task is not None and meta(task) is None
        client = (meta(task) or {}).get("client") if task is not None else None
        return TaskRecord(
            title=spec.task_title(),
            # A hand-made task keeps what people wrote on it; ours is rewritten from the plan.
            description=old.description
            if hand_made and old is not None and old.description
            else _task_description(spec),
            status=old.status if old is not None else "todo",
            priority=old.priority
            if old is not None
            else ("high" if spec.release_type == "major" else "medium"),
            tags=tuple(
                dict.fromkeys([*(old.tags if old is not None else ()), "release", f"v{spec.version}"])
            ),
            metadata=metadata(
                RELEASE_KIND,
                spec.version,
                None,
                {
                    "name": spec.name,
                    "target_date": spec.target_date.isoformat(),
                    "client": client if isinstance(client, str) else agent,
                },
            ),
        )


def _task_description(spec: Any) -> str:
    counts_by_batch = spec.computed(ReleaseContext(version=spec.version, plan=spec)).get("counts", {})
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts_by_batch.items() if n)
    return (
        f"Release v{spec.version} ({spec.release_type}) - {spec.name}, "
        f"target {spec.target_date.isoformat()}. "
        f"Features: {counts or 'none'}. Planned with engram-release-planner; "
        "linked entities hold the plan, migration paths, rollback, rollout and runbook."
    )
