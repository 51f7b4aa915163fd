"""Parts of the results that the reads and writes share: names, dates, links and trimmed Markdown,
taken from a loaded release."""

from __future__ import annotations

from .loading import ReleaseState, meta
from .markdown import escape_html
from .ports import LinkRecord, StoredEntity
from .registry import FIRST
from .results import LinkRef


def trim(markdown: str, version: str, limit: int) -> tuple[str, bool]:
    """Markdown cut to ``limit`` characters at a line end, with a pointer to the whole text.

    A line longer than half the limit is cut inside, perhaps inside a code span or a fence's line:
    the part kept is escaped again (``escape_html`` changes only what is no longer code)."""
    if len(markdown) <= limit:
        return markdown, False
    cut = markdown.rfind("\n", 0, limit)
    if cut < limit // 2:
        cut = limit
    note = (
        f"\n\n... (trimmed at {cut} of {len(markdown)} characters; "
        f"read the resource release://{version} for the whole text)"
    )
    return escape_html(markdown[:cut]) + note, True


def release_name(state: ReleaseState) -> str:
    plan = state.one(FIRST.name)
    if plan is not None and plan.spec is not None:
        return str(plan.spec.name)
    if state.task is not None:
        body = meta(state.task) or {}
        if body.get("name"):
            return str(body["name"])
        title = state.task.title
        if " - " in title:
            return title.split(" - ", 1)[1]
    if plan is not None and " - " in plan.entity.title:
        return plan.entity.title.split(" - ", 1)[1]
    return ""


def target_date(state: ReleaseState) -> str | None:
    plan = state.one(FIRST.name)
    if plan is not None and plan.spec is not None:
        return str(plan.spec.target_date.isoformat())
    body = meta(state.task) if state.task is not None else None
    return str(body["target_date"]) if body and body.get("target_date") else None


def link_ref(entity: StoredEntity) -> LinkRef:
    rec = entity.record
    assert isinstance(rec, LinkRecord)
    return LinkRef(
        relationship_id=entity.id,
        source_id=rec.source_id,
        target_id=rec.target_id,
        target_type=rec.target_type,
        relationship_type=rec.relationship_type,
    )
