"""What every write shares: refusing on errors, compare-and-swap guards, and committing with retries.

Every write is one atomic store commit. Writes are compare-and-swap on the artifact's revision: with
``expected_revision`` a stale caller gets a ``Conflict``; without it a concurrent change is retried
on fresh state and reported.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence

from .base import Finding
from .errors import Conflict, InvalidInput
from .loading import Artifact, meta
from .ports import Change, Store, StoredEntity
from .records import SCHEMA_VERSION
from .results import Notice

MAX_CAS_RETRIES = 6


def notices(findings: Iterable[Finding]) -> list[Notice]:
    """The warnings among ``findings``, as a write reports them."""
    return [
        Notice(code=f.code, message=f.message, field=f.field) for f in findings if f.severity == "warning"
    ]


def raise_errors(findings: Sequence[Finding], tool: str) -> None:
    errors = [f for f in findings if f.severity == "error"]
    if not errors:
        return
    lines = "; ".join(f"[{f.code}] {f.field + ': ' if f.field else ''}{f.message}" for f in errors)
    raise InvalidInput(
        f"the plan has {len(errors)} error(s), nothing was stored: {lines}",
        field=errors[0].field,
        next_step=f"fix the listed fields and call {tool} again",
    )


def check_writable(existing: Artifact | None, tool: str) -> None:
    """Refuse to replace a spec written by a newer server: this one would silently drop its fields."""
    if existing is None or existing.typed:
        return
    schema = (meta(existing.entity) or {}).get("schema")
    if isinstance(schema, int) and schema > SCHEMA_VERSION:
        raise Conflict(
            f"{existing.entity.title} ({existing.entity.id}) was written by a newer release planner "
            f"(spec schema {schema}; this server knows {SCHEMA_VERSION}), so {tool} would lose its data",
            field="version",
            next_step="upgrade engram-release-planner, or edit it with the server that wrote it",
        )


def check_expected(existing: Artifact | None, expected_revision: int | None, what: str) -> None:
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


def commit_or_retry(store: Store, changes: list[Change], attempt: int) -> list[StoredEntity] | None:
    """Commit, or None after a lost race so the caller retries on fresh state (the last attempt
    raises)."""
    try:
        return store.commit(changes)
    except Conflict:
        if attempt == MAX_CAS_RETRIES - 1:
            raise
        # Jittered, growing pauses so that writers who collided do not collide again in lockstep.
        time.sleep(random.uniform(0, 0.002 * 2**attempt))
        return None


def landing_notices(retried: bool, existing: Artifact | None, entity_id: str) -> list[Notice]:
    """What a write says about how it landed, beyond the plan's own findings."""
    out = []
    if retried:
        out.append(
            Notice(
                code="concurrent_update",
                message="another writer changed this release meanwhile; "
                "your version was applied on top of theirs",
            )
        )
    if existing is not None and not existing.typed:
        out.append(
            Notice(
                code="adopted_untyped",
                message=f"adopted the hand-written entity {entity_id}: it now carries a typed spec",
            )
        )
    return out
