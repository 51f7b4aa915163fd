"""Resources and prompts through a real MCP client session, in both protocol eras."""

from __future__ import annotations

import json

import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS
from protocol_helpers import ok

from release_planner.prompts.loader import load_prompts
from release_planner.server.registration import tool_names
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollout as rollout_example

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


async def plan_with_rollout(client: Client) -> None:
    ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    ok(await client.call_tool("plan_rollout", rollout_example.ARGS))


async def test_the_release_templates_and_the_skill_are_listed(client: Client) -> None:
    templates = await client.list_resource_templates()
    assert [(t.uri_template, t.mime_type) for t in templates.resource_templates] == [
        ("release://{version}", "text/markdown"),
        ("release://{version}/plan.json", "application/json"),
        ("release://{version}/timeline", "text/plain"),
        ("release://{version}/export/{target}", "application/json"),
    ]
    resources = await client.list_resources()
    assert [(str(r.uri), r.mime_type) for r in resources.resources] == [
        ("skill://release-planning", "text/markdown")
    ]


async def test_the_markdown_resource_is_the_whole_release(client: Client) -> None:
    await plan_with_rollout(client)
    view = ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
    result = await client.read_resource("release://2.5.0")
    (content,) = result.contents
    assert content.mime_type == "text/markdown"
    assert content.text == view["markdown"]  # type: ignore[union-attr]  # short enough not to be trimmed


async def test_the_json_resource_carries_each_artifacts_spec(client: Client) -> None:
    await plan_with_rollout(client)
    (content,) = (await client.read_resource("release://v2.5.0/plan.json")).contents
    assert content.mime_type == "application/json"
    data = json.loads(content.text)  # type: ignore[union-attr]
    assert data["release"] == "2.5.0"
    specs = {a["kind"]: a["spec"] for a in data["artifacts"] if a["spec"] is not None}
    assert specs["release_plan"]["name"] == plan_example.ARGS["name"]
    assert set(specs) == {"release_plan", "rollout_plan"}


async def test_the_timeline_resource_is_a_mermaid_gantt(client: Client) -> None:
    await plan_with_rollout(client)
    (content,) = (await client.read_resource("release://2.5.0/timeline")).contents
    assert content.mime_type == "text/plain"
    assert content.text.lstrip().startswith("gantt")  # type: ignore[union-attr]


async def test_a_missing_release_is_resource_not_found(client: Client) -> None:
    with pytest.raises(MCPError) as info:
        await client.read_resource("release://9.9.9")
    assert info.value.error.code == INVALID_PARAMS
    assert "no release 9.9.9" in info.value.error.message


async def test_a_timeline_before_plan_rollout_is_not_found_and_says_what_to_call(client: Client) -> None:
    ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    with pytest.raises(MCPError) as info:
        await client.read_resource("release://2.5.0/timeline")
    assert info.value.error.code == INVALID_PARAMS
    assert "plan_rollout" in info.value.error.message


async def test_the_skill_resource_is_the_plan_release_prompt(client: Client) -> None:
    (content,) = (await client.read_resource("skill://release-planning")).contents
    (plan_release,) = [p for p in load_prompts() if p.name == "plan_release"]
    assert content.text == plan_release.body  # type: ignore[union-attr]


async def test_every_prompt_of_the_default_toolsets_is_listed_with_its_arguments(client: Client) -> None:
    listed = await client.list_prompts()
    unlisted = set(tool_names()) - set(tool_names(toolsets="default"))  # the run toolset's tools
    expected = [
        (p.name, p.title, [(a.name, a.required) for a in p.arguments])
        for p in load_prompts()
        if not any(name in p.body for name in unlisted)
    ]
    assert "run_gate_review" not in [name for name, _, _ in expected]
    assert [
        (p.name, p.title, [(a.name, a.required) for a in p.arguments or []]) for p in listed.prompts
    ] == expected


async def test_a_prompt_renders_its_arguments(client: Client) -> None:
    result = await client.get_prompt("plan_release", {"version": "v2.5.0", "name": "Enterprise Features"})
    (message,) = result.messages
    (plan_release,) = [p for p in load_prompts() if p.name == "plan_release"]
    assert message.role == "user"
    assert message.content.text == plan_release.render(version="2.5.0", name="Enterprise Features")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("arguments", "named"),
    [({}, "version"), ({"version": "two"}, "version"), ({"version": "2.5.0", "colour": "red"}, "colour")],
)
async def test_a_bad_or_missing_prompt_argument_is_invalid_params_naming_it(
    client: Client, arguments: dict[str, str], named: str
) -> None:
    with pytest.raises(MCPError) as info:
        await client.get_prompt("plan_release", arguments)
    assert info.value.error.code == INVALID_PARAMS
    assert named in info.value.error.message
