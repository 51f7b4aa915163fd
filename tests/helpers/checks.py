"""Invariants over a store and over MCP tool results, shared by the reliability and hostile suites."""

from __future__ import annotations

import json
import re
from typing import Any

from mcp.types import CallToolResult

from release_planner.tools.ports import ENTITY_TYPES, LinkRecord, ReasoningRecord, Store

# The SDK hides an unexpected exception behind exactly this text (nested for nested tools).
_UNHANDLED = re.compile(r"^Error executing tool [\w-]+(?:: Error executing tool [\w-]+)*$")


def text_of(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def is_unhandled(result: CallToolResult) -> bool:
    """An isError result that carries no reason: an exception escaped the tool."""
    return result.is_error and bool(_UNHANDLED.match(text_of(result).strip()))


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    (block,) = result.content
    assert json.loads(block.text) == result.structured_content  # type: ignore[union-attr]
    return dict(result.structured_content)


def release_integrity(store: Store) -> list[str]:
    """What a half-stored release would leave behind, one line per problem; empty means whole.

    A release task without its plan context, a plan without the link from its task, an artifact
    without a link or whose task is gone, and a relationship whose ends do not exist.
    """
    problems: list[str] = []
    for link in store.find("relationship"):
        rec = link.record
        assert isinstance(rec, LinkRecord)
        for end_id, end_type in ((rec.source_id, rec.source_type), (rec.target_id, rec.target_type)):
            if end_type not in ENTITY_TYPES or store.get(end_type, end_id) is None:  # type: ignore[arg-type]
                problems.append(f"relationship {link.id} points at a missing {end_type} {end_id}")

    def linked_from_a_task(entity_id: str) -> bool:
        return any(
            isinstance(link.record, LinkRecord)
            and link.record.source_type == "task"
            and store.get("task", link.record.source_id) is not None
            for link in store.links_to(entity_id)
        )

    for task in store.find("task", kind="release"):
        plans = [
            link.record.target_id
            for link in store.links_from(task.id)
            if isinstance(link.record, LinkRecord) and link.record.target_type == "context"
        ]
        typed_plans = [
            p
            for p in plans
            if (ctx := store.get("context", p)) is not None
            and (ctx.planner_metadata or {}).get("kind") == "release_plan"
        ]
        if not typed_plans:
            problems.append(f"release task {task.id} ({task.title}) has no linked release plan")
    for etype in ("context", "reasoning"):
        for entity in store.find(etype):  # type: ignore[arg-type]
            meta = entity.planner_metadata
            if meta is None:
                continue
            if not linked_from_a_task(entity.id):
                problems.append(f"{meta.get('kind')} {entity.id} is not linked from any release task")
            rec = entity.record
            if isinstance(rec, ReasoningRecord) and store.get("task", rec.task_id) is None:
                problems.append(f"{meta.get('kind')} {entity.id} names a missing task {rec.task_id}")
    problems.extend(f"unreadable {p.ref}: {p.reason}" for p in store.problems())
    return problems
