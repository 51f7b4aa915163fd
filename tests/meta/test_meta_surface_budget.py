"""The tool surface stays within its context budget and keeps every constraint of the generated schemas.

``tools/list`` is loaded into every conversation: at most 30,000 characters in all and 6,000 a tool
(``bench/surface.py`` prints where they go). Leaner must not mean looser: every validating keyword
pydantic generates for a tool's arguments is still in the published schema, at the same place.
"""

from __future__ import annotations

from typing import Any

import pytest
from meta_surface import make_server

from release_planner.server.schemas import (
    TOOL_BUDGET,
    TOTAL_BUDGET,
    concise,
    inline_refs,
    lean_input_schema,
    lean_output_schema,
    surface_cost,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

ANNOTATIONS = {"title", "description", "default", "examples"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def listed() -> list[dict[str, Any]]:
    return [
        t.model_dump(mode="json", by_alias=True, exclude_none=True)
        for t in await make_server(toolsets="default").list_tools()
    ]


def table(rows: dict[str, dict[str, int]]) -> str:
    return "\n".join(
        f"  {name:<26} {row['chars']:>6} (input {row['input']}, output {row['output']}, "
        f"descriptions {row['descriptions']})"
        for name, row in rows.items()
    )


async def test_tools_list_stays_within_the_total_budget() -> None:
    rows = surface_cost(await listed())
    assert rows["total"]["chars"] <= TOTAL_BUDGET, f"tools/list is over {TOTAL_BUDGET:,}:\n{table(rows)}"


async def test_no_tool_is_over_the_per_tool_budget() -> None:
    rows = surface_cost(await listed())
    over = {name: row for name, row in rows.items() if name != "total" and row["chars"] > TOOL_BUDGET}
    assert over == {}, f"over {TOOL_BUDGET:,} characters:\n{table(over)}"


def constraints(node: Any, path: str = "") -> dict[str, Any]:
    """Every validating keyword of a schema by its path; an optional field's ``anyOf: [X, null]``
    with a null default reads as X (omitting the field says the same)."""
    if not isinstance(node, dict):
        return {}
    members = node.get("anyOf")
    if node.get("default", 0) is None and isinstance(members, list) and {"type": "null"} in members:
        rest = [m for m in members if m != {"type": "null"}]
        if len(rest) == 1:
            return constraints(
                {**rest[0], **{k: v for k, v in node.items() if k not in ("anyOf", "default")}}, path
            )
    found: dict[str, Any] = {}
    for key, value in node.items():
        if key in ANNOTATIONS:
            continue
        if key == "properties":
            for name, sub in value.items():
                found |= constraints(sub, f"{path}.{name}")
            found[f"{path}:properties"] = sorted(value)
        elif key == "items" and isinstance(value, dict):
            found |= constraints(value, f"{path}[]")
        elif key == "anyOf":
            for i, sub in enumerate(value):
                found |= constraints(sub, f"{path}|{i}")
        else:
            found[f"{path}:{key}"] = value
    return found


async def test_every_generated_constraint_is_still_in_the_published_input_schema() -> None:
    server = make_server()
    for tool in server._tool_manager.list_tools():
        generated = inline_refs(tool.fn_metadata.arg_model.model_json_schema(by_alias=True))
        published = constraints(tool.parameters)
        missing = {k: v for k, v in constraints(generated).items() if published.get(k) != v}
        assert missing == {}, (tool.name, missing)
        assert tool.parameters["additionalProperties"] is False


def test_a_lean_input_schema_drops_only_annotations_and_the_optional_null() -> None:
    generated = {
        "title": "Args",
        "type": "object",
        "properties": {
            "owner": {
                "anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}],
                "default": None,
                "title": "Owner",
                "description": "Who owns it, e.g. Ann. Said twice; really.",
            },
            "steps": {
                "type": "array",
                "title": "Steps",
                "default": [],
                "description": "The steps",
                "items": {
                    "type": "object",
                    "title": "Step",
                    "description": "One step (a model docstring).",
                    "properties": {"title": {"type": "string", "title": "Title", "description": "Its title"}},
                    "required": ["title"],
                },
            },
        },
    }
    assert lean_input_schema(generated) == {
        "type": "object",
        "properties": {
            "owner": {"type": "string", "maxLength": 5, "description": "Who owns it, e.g. Ann"},
            "steps": {
                "type": "array",
                "description": "The steps",
                "items": {
                    "type": "object",
                    "properties": {"title": {"type": "string"}},
                    "required": ["title"],
                },
            },
        },
        "additionalProperties": False,
    }


def test_a_description_keeps_its_first_sentence_and_loses_a_restated_enum() -> None:
    assert concise("Low, medium or high", ["low", "medium", "high"]) == "Low, medium or high"
    assert concise("How risky: low, medium or high", ["low", "medium", "high"]) == "How risky"
    assert concise(
        "api, database or config; omit to take it from the plan", ["api", "database", "config"]
    ) == ("omit to take it from the plan")
    assert concise("Why, e.g. 'A; B'. Second sentence.") == "Why, e.g. 'A; B'"
    assert concise("Name, e.g. Internal Dogfooding") == "Name, e.g. Internal Dogfooding"


def test_an_output_schema_only_loosens_so_every_result_still_validates() -> None:
    generated = {
        "type": "object",
        "title": "R",
        "properties": {
            "a": {"type": "string", "description": "x"},
            "b": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["a"],
    }
    assert lean_output_schema(generated, depth=0) == {"type": "object"}
    assert lean_output_schema(generated, depth=1) == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "array"}},
        "required": ["a"],
    }
