"""Rules every tool, schema and prompt of the server must follow, checked on the registered surface."""

from __future__ import annotations

import re
from typing import Any

import pytest
from mcp.types import Tool
from meta_surface import make_server

from release_planner.prompts.loader import load_prompts

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

HINTS = ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint")
# Tool names are verb_noun: any identifier shaped like one in copy an agent reads is a tool reference.
TOOL_LIKE = re.compile(
    r"\b(?:create|design|plan|link|get|list|summarize|update|delete|add|set|record|make|remove|retire)_[a-z0-9_]+\b"
)
# Prompt names share the shape; the skill text may point at a step's prompt.
PROMPT_NAMES = {p.name for p in load_prompts()}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def tools() -> list[Tool]:
    return await make_server().list_tools()


def keys_anywhere(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in keys_anywhere(v)}
    if isinstance(node, list):
        return {k for v in node for k in keys_anywhere(v)}
    return set()


async def test_every_tool_has_a_title_and_all_four_hints_set_explicitly() -> None:
    for tool in await tools():
        assert tool.title, tool.name
        assert tool.annotations is not None, tool.name
        hints = {h: getattr(tool.annotations, h) for h in HINTS}
        assert all(isinstance(v, bool) for v in hints.values()), (tool.name, hints)
        assert hints["open_world_hint"] is False, tool.name
        # Only retiring deletes anything; every other write adds or updates in place.
        assert hints["destructive_hint"] is (tool.name == "retire_release_artifact"), tool.name


async def test_read_tools_are_read_only_and_writes_are_not() -> None:
    read_only = {t.name for t in await make_server(read_only=True).list_tools()}
    for tool in await tools():
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (tool.name in read_only), tool.name
        if tool.name in read_only:
            assert tool.annotations.idempotent_hint is True, tool.name


async def test_no_schema_has_a_ref_or_defs() -> None:
    for tool in await tools():
        assert not {"$ref", "$defs"} & keys_anywhere(tool.input_schema), tool.name
        assert not {"$ref", "$defs"} & keys_anywhere(tool.output_schema), tool.name


async def test_every_input_schema_is_a_closed_object_with_every_property_described() -> None:
    for tool in await tools():
        schema = tool.input_schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False, tool.name
        undescribed = [name for name, prop in schema["properties"].items() if not prop.get("description")]
        assert undescribed == [], (tool.name, undescribed)


async def test_descriptions_and_instructions_name_only_tools_that_exist() -> None:
    server = make_server()
    listed = await server.list_tools()
    names = {t.name for t in listed}
    texts = {t.name: t.description or "" for t in listed} | {"instructions": server.instructions or ""}
    for where, text in texts.items():
        assert set(TOOL_LIKE.findall(text)) <= names | PROMPT_NAMES, where


@pytest.mark.parametrize("prompt", load_prompts(), ids=lambda p: p.name)
async def test_every_prompt_renders_and_names_only_tools_that_exist(prompt: Any) -> None:
    names = {t.name for t in await tools()}
    args = {a.name: "2.5.0" if a.name == "version" else f"<{a.name}>" for a in prompt.arguments if a.required}
    result = await make_server().get_prompt(prompt.name, args)
    text = "\n".join(m.content.text for m in result.messages)  # type: ignore[union-attr]
    mentioned = set(TOOL_LIKE.findall(text))
    assert mentioned, "a prompt should tell the agent which tool to call"
    assert mentioned <= names | PROMPT_NAMES, mentioned - names - PROMPT_NAMES
