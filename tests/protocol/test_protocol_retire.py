"""retire_release_artifact: an artifact stored by mistake, or a whole release, retired as Engram deletes.

The entity refs go (and the relationships to and from them), their version sidecars stay; a retired
release keeps its task, now ``cancelled``; all of it in one commit, compare-and-swap on
``expected_revision``. The tool is marked destructive and idempotent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import ResourceListChangedNotification
from protocol_helpers import error_text, ok

from release_planner.server.app import build_server
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.settings import Settings
from release_planner.tools.examples import migration as migration_example
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.examples import runbook as runbook_example

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

TOOL = "retire_release_artifact"


async def plan_everything(client: Client) -> dict[str, Any]:
    ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    ok(await client.call_tool("design_rollback", rollback_example.ARGS))
    ok(await client.call_tool("plan_rollout", rollout_example.ARGS))
    ok(await client.call_tool("create_runbook", runbook_example.ARGS))
    ok(await client.call_tool("link_release_entities", {"version": "2.5.0"}))
    return ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))


def by_kind(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["kind"]: a for a in view["artifacts"]}


async def test_the_tool_is_destructive_idempotent_and_not_read_only(client: Client) -> None:
    (tool,) = [t for t in (await client.list_tools()).tools if t.name == TOOL]
    notes = tool.annotations
    assert notes is not None
    assert (notes.read_only_hint, notes.destructive_hint, notes.idempotent_hint, notes.open_world_hint) == (
        False,
        True,
        True,
        False,
    )
    assert tool.input_schema["required"] == ["version"]
    assert tool.input_schema["properties"]["kind"]["enum"] == [
        "migration_path",
        "rollback_strategy",
        "rollout_plan",
        "runbook",
    ]


async def test_retiring_the_rollout_deletes_it_and_its_link_and_rerenders_the_runbook(client: Client) -> None:
    view = await plan_everything(client)
    rollout = by_kind(view)["rollout_plan"]
    runbook_before = by_kind(view)["runbook"]
    result = ok(await client.call_tool(TOOL, {"version": "2.5.0", "kind": "rollout_plan"}))
    assert [a["entity_id"] for a in result["retired"]] == [rollout["entity_id"]]
    assert result["links_removed"] == 1 and result["status"] != "cancelled"
    assert result["refreshed"] == [runbook_before["title"]]
    assert "rollout_plan" not in result["remaining"] and "runbook" in result["remaining"]
    after = ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
    assert "rollout_plan" not in by_kind(after) and "rollout_plan" in after["missing"]
    assert by_kind(after)["runbook"]["revision"] == runbook_before["revision"] + 1
    assert rollout["entity_id"] not in {link["target_id"] for link in after["links"]}


async def test_retiring_the_whole_release_cancels_its_task_and_deletes_every_artifact(client: Client) -> None:
    view = await plan_everything(client)
    result = ok(await client.call_tool(TOOL, {"version": "v2.5.0"}))
    assert result["status"] == "cancelled" and result["task_id"] == view["task_id"]
    assert {a["kind"] for a in result["retired"]} == {
        "release_plan",
        "rollback_strategy",
        "rollout_plan",
        "runbook",
    }
    assert result["remaining"] == []
    listed = ok(await client.call_tool("list_release_plans", {}))
    assert [(r["release"], r["status"], r["artifacts"]) for r in listed["releases"]] == [
        ("2.5.0", "cancelled", [])
    ]
    again = ok(await client.call_tool(TOOL, {"version": "2.5.0"}))  # idempotent: nothing more to do
    assert again["retired"] == [] and again["status"] == "cancelled"


async def test_one_of_several_migration_paths_is_picked_by_entity_id(client: Client) -> None:
    plan = dict(migration_example.PLAN_V3_ARGS)
    (first_change,) = plan["breaking_changes"]
    second_change = {**first_change, "name": "Webhooks v1 to v2", "affects": ["POST /hooks"]}
    plan["breaking_changes"] = [first_change, second_change]
    ok(await client.call_tool("create_release_plan", plan))
    first = ok(await client.call_tool("design_migration_path", migration_example.ARGS))
    second = {**migration_example.ARGS, "change": "Webhooks v1 to v2"}
    ok(await client.call_tool("design_migration_path", second))
    text = error_text(await client.call_tool(TOOL, {"version": "3.0.0", "kind": "migration_path"}))
    assert "entity_id: release 3.0.0 has 2 migration paths; say which one" in text
    assert first["artifact"]["entity_id"] in text
    prefix = first["artifact"]["entity_id"][:8]
    result = ok(
        await client.call_tool(TOOL, {"version": "3.0.0", "kind": "migration_path", "entity_id": prefix})
    )
    assert [a["entity_id"] for a in result["retired"]] == [first["artifact"]["entity_id"]]
    assert "migration_path" in result["remaining"]


async def test_a_stale_expected_revision_retires_nothing(client: Client) -> None:
    view = await plan_everything(client)
    rollback = by_kind(view)["rollback_strategy"]
    text = error_text(
        await client.call_tool(
            TOOL,
            {"version": "2.5.0", "kind": "rollback_strategy", "expected_revision": rollback["revision"] + 1},
        )
    )
    assert "expected_revision: the rollback strategy is at revision" in text
    whole = error_text(await client.call_tool(TOOL, {"version": "2.5.0", "expected_revision": 99}))
    assert "expected_revision: expected revision 99 of the release task" in whole
    assert by_kind(ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))) == by_kind(view)


async def test_what_cannot_be_retired_is_refused_with_what_can(client: Client) -> None:
    ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    missing = error_text(await client.call_tool(TOOL, {"version": "2.5.0", "kind": "runbook"}))
    assert (
        "kind: release 2.5.0 has no runbook stored" in missing and "the kinds stored: release_plan" in missing
    )
    plan = error_text(await client.call_tool(TOOL, {"version": "2.5.0", "kind": "release_plan"}))
    assert "kind: got 'release_plan'" in plan  # not in the enum: the plan founds the release
    unknown = error_text(await client.call_tool(TOOL, {"version": "9.9.9"}))
    assert "version: no release 9.9.9 is stored" in unknown


async def test_retiring_a_release_sends_resources_list_changed(server: Any) -> None:
    seen: list[Any] = []

    async def on_message(message: Any) -> None:
        seen.append(message)

    async with Client(server, mode="legacy", message_handler=on_message) as client:
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
        before = len([m for m in seen if isinstance(m, ResourceListChangedNotification)])
        ok(await client.call_tool(TOOL, {"version": "2.5.0"}))
    after = len([m for m in seen if isinstance(m, ResourceListChangedNotification)])
    assert after == before + 1


async def test_in_git_the_refs_go_the_sidecars_stay_and_the_task_is_cancelled(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
        view = await plan_everything(client)
        ok(await client.call_tool(TOOL, {"version": "2.5.0"}))
    with GitRefsStore(workspace) as store:
        for art in (a for a in view["artifacts"] if a["kind"] != "release"):
            assert store.get(art["entity_type"], art["entity_id"]) is None
            assert store._index.revision(art["entity_type"], art["entity_id"]) == art["revision"]
        task = store.get("task", view["task_id"])
        assert task is not None and getattr(task.record, "status", None) == "cancelled"
