"""What hosts offer their users beyond tools: stored releases as resources (paged, with list-changed
notifications), completion of versions, the logging capability, progress, and protocol errors for an
unknown prompt."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.server.mcpserver import MCPServer
from mcp.types import (
    INVALID_PARAMS,
    LoggingMessageNotificationParams,
    PromptReference,
    ResourceListChangedNotification,
    ResourceTemplateReference,
)
from protocol_helpers import ok

from release_planner.server import host
from release_planner.tools.examples import migration as migration_example
from release_planner.tools.examples import release_plan as plan_example

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


def plan(version: str, name: str = "Some Release") -> dict[str, Any]:
    major = int(version.split(".")[0])
    release_type = "major" if version.endswith(".0.0") else "minor" if version.endswith(".0") else "patch"
    args = {**plan_example.ARGS, "version": version, "name": name, "release_type": release_type}
    if release_type != "major" or major == 2:
        args["breaking_changes"] = []
    return args


async def test_stored_releases_are_listed_as_resources_after_the_static_ones(
    server: MCPServer, era: str
) -> None:
    async with Client(server, mode=era) as client:
        before = await client.list_resources(cache_mode="bypass")
        assert [r.uri for r in before.resources] == ["skill://release-planning"]
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
        ok(await client.call_tool("create_release_plan", migration_example.PLAN_V3_ARGS))
        listed = await client.list_resources(cache_mode="bypass")
    by_uri = {r.uri: r for r in listed.resources}
    assert list(by_uri) == ["skill://release-planning", "release://3.0.0", "release://2.5.0"]
    release = by_uri["release://2.5.0"]
    assert release.title == "Release 2.5.0 - Enterprise Features" and release.mime_type == "text/markdown"
    assert "release_plan" in (release.description or "")
    assert listed.next_cursor is None


async def test_the_release_resources_are_paged_by_cursor(
    server: MCPServer, era: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(host, "RESOURCES_PAGE", 2)
    async with Client(server, mode=era) as client:
        for version in ("2.5.0", "2.6.0", "2.7.0"):
            ok(await client.call_tool("create_release_plan", plan(version)))
        first = await client.list_resources(cache_mode="bypass")
        assert [r.uri for r in first.resources] == [
            "skill://release-planning",
            "release://2.7.0",
            "release://2.6.0",
        ]
        assert first.next_cursor
        second = await client.list_resources(cursor=first.next_cursor, cache_mode="bypass")
        assert [r.uri for r in second.resources] == ["release://2.5.0"]
        assert second.next_cursor is None
        with pytest.raises(MCPError) as bad:
            await client.list_resources(cursor="not-a-cursor", cache_mode="bypass")
    assert bad.value.error.code == INVALID_PARAMS


async def test_a_new_release_sends_resources_list_changed_and_an_update_does_not(server: MCPServer) -> None:
    seen: list[Any] = []

    async def on_message(message: Any) -> None:
        seen.append(message)

    async with Client(server, mode="legacy", message_handler=on_message) as client:
        resources = client.server_capabilities.resources
        assert resources is not None and resources.list_changed is True
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    changed = [m for m in seen if isinstance(m, ResourceListChangedNotification)]
    assert len(changed) == 1


async def test_versions_complete_by_prefix_for_prompts_and_resource_templates(
    server: MCPServer, era: str
) -> None:
    async with Client(server, mode=era) as client:
        assert client.server_capabilities.completions is not None
        for args in (plan("2.5.0"), plan("2.6.0"), plan("10.1.0")):
            ok(await client.call_tool("create_release_plan", args))
        prompt = PromptReference(name="plan_rollout")
        two = await client.complete(prompt, {"name": "version", "value": "2."})
        assert two.completion.values == ["2.6.0", "2.5.0"] and two.completion.total == 2
        with_v = await client.complete(prompt, {"name": "version", "value": "v1"})
        assert with_v.completion.values == ["10.1.0"]
        template = ResourceTemplateReference(uri="release://{version}/timeline")
        everything = await client.complete(template, {"name": "version", "value": ""})
        assert everything.completion.values == ["10.1.0", "2.6.0", "2.5.0"]
        other = await client.complete(PromptReference(name="plan_rollout"), {"name": "start", "value": "2"})
        assert other.completion.values == []


async def test_writes_log_to_the_client_at_the_level_it_sets(server: MCPServer) -> None:
    logged: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        logged.append(params)

    async with Client(server, mode="legacy", logging_callback=on_log) as client:
        assert client.server_capabilities.logging is not None
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
        assert len(logged) == 1
        assert logged[0].level == "info" and logged[0].logger == "release_planner"
        assert "create_release_plan: created Release Plan: v2.5.0" in str(logged[0].data)
        with pytest.warns(Warning):  # the logging capability is deprecated in 2026-07-28
            await client.set_logging_level("warning")
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
        assert len(logged) == 1
        with pytest.warns(Warning):
            await client.set_logging_level("debug")
        ok(await client.call_tool("link_release_entities", {"version": "2.5.0"}))
    assert "link_release_entities: " in str(logged[-1].data)


async def test_writes_report_progress(server: MCPServer, era: str) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(server, mode=era) as client:
        ok(await client.call_tool("create_release_plan", plan_example.ARGS, progress_callback=on_progress))
    assert [p[:2] for p in progress] == [(0, 1), (1, 1)]


async def test_an_unknown_prompt_is_invalid_params_naming_the_prompts(server: MCPServer, era: str) -> None:
    async with Client(server, mode=era) as client:
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("plan_relase", {"version": "2.5.0"})
    assert unknown.value.error.code == INVALID_PARAMS
    assert "unknown prompt 'plan_relase'" in unknown.value.error.message
    assert "did you mean 'plan_release'?" in unknown.value.error.message
