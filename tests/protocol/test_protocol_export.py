"""export_rollout and its resource through a real MCP client session, for all five engines."""

from __future__ import annotations

import json
from typing import Any

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
    message = info.value.error.message
    assert message.startswith("target:") and all(t in message for t in TARGETS)
    assert "next: ask again with one of them" in message


async def test_a_release_without_a_rollout_plan_says_to_plan_it_first(client: Client) -> None:
    ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    result = await client.call_tool("export_rollout", {"version": "2.5.0", "target": "flagd"})
    assert result.is_error and "plan_rollout" in error_text(result)
    assert "version: release 2.5.0 has no rollout plan to export yet" in error_text(result)


PRERELEASE = "2.0.0-rc.1+build.5"


def unusual_rollout() -> dict[str, Any]:
    """A plan unlike the example: build metadata in the version, a dotted attribute, segments outside
    ASCII, shares that are not whole, several flags, and no halt threshold."""
    phases = []
    for i, percent in enumerate((0.5, 33.333, 99.99, 100)):
        phases.append(
            {
                "name": f"Étape {i + 1}",
                "audience": "tenants",
                "percent": percent,
                "targeting": {"stickiness": "tenant.id", "segments": ["社員", "région=eu"][: i + 1]},
                "duration_hours": 24 if i < 3 else None,
                "decision_owner": "Zoë Ōkawa (SRE)",
                "metric_targets": [
                    {"metric": "error_rate", "comparator": "<", "threshold": 1, "window_minutes": 60}
                ],
            }
        )
    return {
        "version": PRERELEASE,
        "approach": "feature_flag",
        "start": {"at": "2026-03-16T10:00", "timezone": "UTC"},
        "flags": [{"name": "checkout.v2"}, {"name": "search-ranking"}],
        "phases": phases,
    }


async def test_a_pre_release_plan_unlike_the_example_exports_alike_over_tool_and_resource(
    client: Client,
) -> None:
    ok(
        await client.call_tool(
            "create_release_plan", {**plan_example.ARGS, "version": PRERELEASE, "release_type": "major"}
        )
    )
    ok(await client.call_tool("plan_rollout", unusual_rollout()))
    for target in TARGETS:
        result = ok(await client.call_tool("export_rollout", {"version": f"v{PRERELEASE}", "target": target}))
        assert result["version"] == PRERELEASE
        for uri in (
            f"release://{PRERELEASE}/export/{target}",
            f"release://2.0.0-rc.1%2Bbuild.5/export/{target}",
        ):
            (content,) = (await client.read_resource(uri)).contents
            assert json.loads(content.text) == result
    ld = ok(await client.call_tool("export_rollout", {"version": PRERELEASE, "target": "launchdarkly"}))
    on = [
        next(
            v["weight"]
            for v in d["content"]["flags"]["checkout.v2"]["fallthrough"]["rollout"]["variations"]
            if v["variation"] == 0
        )
        for d in ld["documents"]
    ]
    assert on == [500, 33333, 99990, 100000]
    flagd = ok(await client.call_tool("export_rollout", {"version": PRERELEASE, "target": "flagd"}))
    assert "export_attribute_path" in {w["code"] for w in flagd["warnings"]}
