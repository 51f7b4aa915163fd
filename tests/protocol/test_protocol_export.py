"""export_rollout and its resource through a real MCP client session, for all five engines."""

from __future__ import annotations

import json

import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS
from protocol_helpers import error_text, ok

from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollout as rollout_example

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

TARGETS = ["unleash", "launchdarkly", "flagd", "argo_rollouts", "flagger"]


async def plan(client: Client) -> None:
    ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    ok(await client.call_tool("plan_rollout", rollout_example.ARGS))


async def test_every_target_exports_over_the_tool_and_the_resource_alike(client: Client) -> None:
    await plan(client)
    for target in TARGETS:
        result = ok(await client.call_tool("export_rollout", {"version": "v2.5.0", "target": target}))
        assert result["target"] == target and result["version"] == "2.5.0"
        assert result["documents"] and all(d["content"] for d in result["documents"])
        (content,) = (await client.read_resource(f"release://2.5.0/export/{target}")).contents
        assert content.mime_type == "application/json"
        assert json.loads(content.text) == result
    flags = ok(await client.call_tool("export_rollout", {"version": "2.5.0", "target": "unleash"}))
    assert [d["percent"] for d in flags["documents"]] == [1, 5, 20, 50, 100]


async def test_an_unknown_target_is_refused_by_name(client: Client) -> None:
    await plan(client)
    result = await client.call_tool("export_rollout", {"version": "2.5.0", "target": "split_io"})
    assert result.is_error and "target" in error_text(result)
    with pytest.raises(MCPError) as info:
        await client.read_resource("release://2.5.0/export/split_io")
    assert info.value.error.code == INVALID_PARAMS
    assert "unleash" in info.value.error.message


async def test_a_release_without_a_rollout_plan_says_to_plan_it_first(client: Client) -> None:
    ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    result = await client.call_tool("export_rollout", {"version": "2.5.0", "target": "flagd"})
    assert result.is_error and "plan_rollout" in error_text(result)
