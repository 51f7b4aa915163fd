"""The Engram records a release is written as: artifact entities, links from the hub, their ids.

Ids are derived, not random (``stable_id``): two writers creating the same artifact at once race for
one ref, so the loser gets a conflict and retries as an update instead of both creating a copy.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel

from .base import ArtifactKind, ReleaseContext
from .ports import PLANNER_METADATA_KEY, Change, ContextRecord, LinkRecord, ReasoningRecord, Record, Store

SCHEMA_VERSION = 1
_STABLE_ID_NAMESPACE = uuid.UUID("5f0c2a8e-8d7b-4a51-9c61-2f3e0b7a4d19")


def metadata(kind: str, version: str, spec: BaseModel | None, extra: dict[str, Any] | None = None) -> dict:
    body: dict[str, Any] = {"schema": SCHEMA_VERSION, "kind": kind, "release": version}
    if spec is not None:
        body["spec"] = spec.model_dump(mode="json")
    if extra:
        body.update(extra)
    return {PLANNER_METADATA_KEY: body}


def tags(version: str, tag: str | None) -> tuple[str, ...]:
    out = ["release", "release-planning"]
    if tag:
        out.append(tag)
    out.append(f"v{version}")
    return tuple(out)


def artifact_record(
    kind: ArtifactKind, spec: Any, ctx: ReleaseContext, markdown: str, task_id: str, version: str
) -> Record:
    """The entity one artifact is stored as: Markdown for people, the spec in metadata for us."""
    title = spec.title(ctx)
    body = metadata(kind.name, version, spec)
    labels = tags(version, kind.tag)
    if kind.entity_type == "context":
        return ContextRecord(
            title=title,
            content=markdown,
            source="release-planning",
            relevance="high",
            tags=labels,
            metadata=body,
        )
    confidence = spec.confidence(ctx)
    return ReasoningRecord(
        title=title,
        task_id=task_id,
        conclusion=markdown,
        confidence=float(confidence) if confidence is not None else 0.0,
        tags=labels,
        metadata=body,
    )


def stable_id(store: Store, *parts: str) -> str:
    """The id a new artifact, hub task or link of a release gets: the same for every writer. The
    store's namespace (the git store's project id) keeps ids of different repositories apart."""
    namespace = str(getattr(store, "id_namespace", "") or "")
    return str(uuid.uuid5(_STABLE_ID_NAMESPACE, "\x1f".join((namespace, *parts))))


def link_change(
    store: Store,
    task_id: str,
    target: tuple[str, str],
    rel_type: str,
    agent: str,
    description: str | None = None,
) -> Change:
    """A link from the hub task to ``target`` (id, entity type)."""
    target_id, target_type = target
    link_id = stable_id(store, "link", task_id, target_id, rel_type)
    # The link may exist already, deactivated by hand or left behind by a deleted release task:
    # then it is reactivated in place rather than created again under the same id.
    current = store.get("relationship", link_id)
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
