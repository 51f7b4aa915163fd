"""Running the seed release over MCP: evaluate a gate, record decisions, follow the status to the end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from protocol_helpers import error_text, ok

from release_planner.server.app import build_server
from release_planner.server.engram.memory import MemoryStore
from release_planner.server.settings import Settings
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


@pytest.fixture
def server(make_settings: Callable[..., Settings], store: MemoryStore) -> MCPServer:
    # Running a release is a toolset of its own (not listed by default, to keep tools/list lean).
    return build_server(make_settings(toolsets="default,run"), store=store)


async def test_the_run_tools_are_listed_only_with_the_run_toolset(
    make_settings: Callable[..., Settings], store: MemoryStore
) -> None:
    async with Client(build_server(make_settings(), store=store)) as plain:
        names = [t.name for t in (await plain.list_tools()).tools]
        refused = error_text(await plain.call_tool("get_release_status", {"version": "2.5.0"}))
    assert "record_decision" not in names and "evaluate_gate" not in names
    assert "toolset this server does not list" in refused and "--toolsets default,run" in refused


HARMLESS = [
    {
        "metric": "conversion_rate",
        "control": {"exposures": 8000, "events": 160},
        "treatment": {"exposures": 2000, "events": 41},
    }
]


async def plan(client: Client) -> None:
    for name, args in [
        ("create_release_plan", plan_example.ARGS),
        ("design_rollback", rollback_example.ARGS),
        ("plan_rollout", rollout_example.ARGS),
    ]:
        ok(await client.call_tool(name, args))


def decision(phase: Any, verdict: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "version": "2.5.0",
        "phase": phase,
        "decision": verdict,
        "decided_by": "Dana Lee",
        "decided_at": at,
        "reasons": ["dashboards green"],
        **extra,
    }


async def test_the_seed_release_runs_from_todo_to_done_with_the_gate_evaluated_over_mcp(
    client: Client,
) -> None:
    await plan(client)
    assert ok(await client.call_tool("get_release_status", {"version": "2.5.0"}))["status"] == "todo"
    for n, at in [(1, "2026-03-17T15:00:00Z"), (2, "2026-03-19T15:00:00Z")]:
        ok(await client.call_tool("record_decision", decision(n, "go", at)))
    evaluation = ok(
        await client.call_tool(
            "evaluate_gate", {"version": "v2.5.0", "phase": "early adopters", "observations": HARMLESS}
        )
    )
    assert evaluation["decision"] == "go" and evaluation["phase_number"] == 3
    recorded = ok(
        await client.call_tool(
            "record_decision",
            {**decision(3, "go", "2026-03-23T15:00:00Z"), "reasons": [], "evidence": evaluation},
        )
    )
    assert "evaluate_gate said **go**" in recorded["markdown"]
    status = ok(await client.call_tool("get_release_status", {"version": "2.5.0"}))
    assert (status["status"], status["current_phase_number"]) == ("inprogress", 4)
    for n, at in [(4, "2026-03-25T15:00:00Z"), (5, "2026-03-26T15:00:00Z")]:
        ok(await client.call_tool("record_decision", decision(n, "go", at)))

    status = ok(await client.call_tool("get_release_status", {"version": "2.5.0"}))
    assert status["status"] == "done" and [p["state"] for p in status["phases"]] == ["passed"] * 5
    view = ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
    assert view["status"] == "done" and "Rolled out: all 5 phases passed" in view["markdown"]
    done = ok(await client.call_tool("list_release_plans", {"status": "done"}))
    assert [r["release"] for r in done["releases"]] == ["2.5.0"]


async def test_a_rollback_decision_over_mcp_ends_the_release_cancelled(client: Client) -> None:
    await plan(client)
    ok(await client.call_tool("record_decision", decision(1, "go", "2026-03-17T15:00:00Z")))
    ok(
        await client.call_tool(
            "record_decision",
            decision(2, "rollback", "2026-03-18T15:00:00Z", rollback_procedure="feature_flag"),
        )
    )
    status = ok(await client.call_tool("get_release_status", {"version": "2.5.0"}))
    assert status["status"] == "cancelled"
    assert [p["state"] for p in status["phases"]][:2] == ["passed", "rolled_back"]
    late = error_text(await client.call_tool("record_decision", decision(3, "go", "2026-03-19T15:00:00Z")))
    assert "decision_out_of_order" in late and "already ended (cancelled)" in late


async def test_evaluate_gate_refuses_a_phase_without_a_gate_and_stores_nothing(client: Client) -> None:
    await plan(client)
    text = error_text(
        await client.call_tool("evaluate_gate", {"version": "2.5.0", "phase": 1, "observations": HARMLESS})
    )
    assert "phase 1 (Internal Dogfooding) has no gate" in text and "3 'Early Adopters'" in text
    assert ok(await client.call_tool("get_release_status", {"version": "2.5.0"}))["decisions"] == []
