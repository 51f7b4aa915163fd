"""The tools through a real MCP client session, in both protocol eras."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import Implementation
from protocol_helpers import CLIENT_NAME, error_text, ok, stable

from release_planner.server.app import build_server
from release_planner.server.engram.memory import MemoryStore
from release_planner.server.registration import tool_names
from release_planner.server.settings import Settings
from release_planner.tools.examples import migration as migration_example
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.examples import runbook as runbook_example
from release_planner.tools.migration import MigrationPathSpec
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.runbook import RunbookSpec
from release_planner.tools.service import ReleasePlanner

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

ALL_TOOLS = [
    "create_release_plan",
    "design_migration_path",
    "design_rollback",
    "plan_rollout",
    "create_runbook",
    "link_release_entities",
    "retire_release_artifact",
    "get_release_plan",
    "list_release_plans",
    "summarize_release",
    "export_rollout",
]
RUN_TOOLS = ["evaluate_gate", "get_release_status", "record_decision"]
READ_TOOLS = ["get_release_plan", "list_release_plans", "summarize_release", "export_rollout"]
SEED_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("create_release_plan", plan_example.ARGS),
    ("design_rollback", rollback_example.ARGS),
    ("plan_rollout", rollout_example.ARGS),
    ("create_runbook", runbook_example.ARGS),
]


def planned_directly() -> dict[str, Any]:
    """The same seed plan through the use cases alone, for whole-result comparison."""
    planner = ReleasePlanner(MemoryStore())
    writes = [
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS)),
        planner.design_rollback(RollbackSpec.model_validate(rollback_example.ARGS)),
        planner.plan_rollout(RolloutSpec.model_validate(rollout_example.ARGS)),
        planner.create_runbook(RunbookSpec.model_validate(runbook_example.ARGS)),
    ]
    return {
        "writes": [w.model_dump(mode="json") for w in writes],
        "link": planner.link_release_entities("2.5.0").model_dump(mode="json"),
        "view": planner.get_release_plan("2.5.0").model_dump(mode="json"),
        "summary": planner.summarize_release("2.5.0").model_dump(mode="json"),
        "page": planner.list_release_plans().model_dump(mode="json"),
    }


async def plan_seed(client: Client) -> list[dict[str, Any]]:
    return [ok(await client.call_tool(name, args)) for name, args in SEED_STEPS]


async def test_tools_list_shows_the_default_toolsets_in_step_order(client: Client) -> None:
    listed = await client.list_tools()
    assert [t.name for t in listed.tools] == ALL_TOOLS
    assert all(t.title and t.description and t.output_schema for t in listed.tools)


async def test_the_seed_example_planned_over_mcp_equals_the_use_cases_called_directly(client: Client) -> None:
    writes = await plan_seed(client)
    link = ok(await client.call_tool("link_release_entities", {"version": "v2.5.0"}))
    view = ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
    summary = ok(await client.call_tool("summarize_release", {"version": "2.5.0"}))
    page = ok(await client.call_tool("list_release_plans", {}))

    over_mcp = {"writes": writes, "link": link, "view": view, "summary": summary, "page": page}
    assert stable(over_mcp) == stable(planned_directly())
    kinds = [w["artifact"]["kind"] for w in writes]
    assert kinds == ["release_plan", "rollback_strategy", "rollout_plan", "runbook"]
    assert view["missing"] == []


async def test_a_write_records_the_connecting_clients_name_as_agent(
    client: Client, store: MemoryStore
) -> None:
    (plan, *_) = await plan_seed(client)
    entity = store.get("context", plan["artifact"]["entity_id"])
    assert entity is not None and entity.agent == CLIENT_NAME


async def test_the_agent_setting_wins_over_the_client_name(make_settings: Any, era: str) -> None:
    store = MemoryStore()
    server = build_server(make_settings(agent="release-bot"), store=store)
    someone = Implementation(name="someone-else", version="1")
    async with Client(server, mode=era, client_info=someone) as client:
        plan = ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    entity = store.get("context", plan["artifact"]["entity_id"])
    assert entity is not None and entity.agent == "release-bot"


async def test_write_tools_report_progress_before_and_after_storing(client: Client) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    ok(await client.call_tool("create_release_plan", plan_example.ARGS, progress_callback=on_progress))
    assert seen == [
        (0, 1, "create_release_plan: checking and storing release 2.5.0"),
        (1, 1, "create_release_plan: stored revision 1"),
    ]


async def test_a_bad_version_is_a_tool_error_naming_the_field(client: Client) -> None:
    args = {**plan_example.ARGS, "version": "2.5"}
    text = error_text(await client.call_tool("create_release_plan", args))
    assert text.startswith("Error executing tool create_release_plan:")
    assert "version" in text and "SemVer" in text


async def test_reading_a_release_that_does_not_exist_says_what_to_call(client: Client) -> None:
    text = error_text(await client.call_tool("get_release_plan", {"version": "9.9.9"}))
    assert text == (
        "Error executing tool get_release_plan: version: no release 9.9.9 is planned\nnext: call "
        "list_release_plans to see planned versions, or create_release_plan to start one"
    )


async def test_a_step_before_the_release_plan_is_refused_with_the_first_step_named(client: Client) -> None:
    text = error_text(await client.call_tool("design_rollback", rollback_example.ARGS))
    assert "create_release_plan" in text


async def test_a_misspelt_parameter_is_refused_not_ignored(client: Client) -> None:
    args = {**plan_example.ARGS, "sucess_metrics": ["typo"]}
    text = error_text(await client.call_tool("create_release_plan", args))
    assert "sucess_metrics: unknown field 'sucess_metrics'" in text
    assert "success_metrics" in text and "did you mean 'success_metrics'?" in text


async def test_a_nested_field_error_names_its_path(client: Client) -> None:
    args = copy.deepcopy(plan_example.ARGS)
    args["features"][1]["batch"] = "someday"
    text = error_text(await client.call_tool("create_release_plan", args))
    assert "features[1].batch: got 'someday'; valid: one of must_have, nice_to_have, deferred" in text


async def test_a_stale_expected_revision_is_a_conflict_and_the_current_one_updates(client: Client) -> None:
    first = ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    second = ok(await client.call_tool("create_release_plan", {**plan_example.ARGS, "expected_revision": 1}))
    assert (second["revision"], second["created"]) == (2, False)
    assert second["artifact"]["entity_id"] == first["artifact"]["entity_id"]

    stale = await client.call_tool("create_release_plan", {**plan_example.ARGS, "expected_revision": 1})
    text = error_text(stale)
    assert "expected_revision" in text and "get_release_plan" in text
    view = ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
    assert [a["revision"] for a in view["artifacts"] if a["kind"] == "release_plan"] == [2]


async def test_a_migration_path_takes_its_confidence_under_the_wire_name(client: Client) -> None:
    ok(await client.call_tool("create_release_plan", migration_example.PLAN_V3_ARGS))
    result = ok(await client.call_tool("design_migration_path", migration_example.ARGS))
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(ReleasePlanSpec.model_validate(migration_example.PLAN_V3_ARGS))
    direct = planner.design_migration_path(MigrationPathSpec.model_validate(migration_example.ARGS))
    assert stable(result) == stable(direct.model_dump(mode="json"))


async def test_list_release_plans_refuses_a_limit_out_of_range(client: Client) -> None:
    text = error_text(await client.call_tool("list_release_plans", {"limit": 101}))
    assert "limit" in text and "100" in text


async def test_an_unexpected_failure_is_an_error_result_that_hides_its_message(
    make_settings: Any, era: str
) -> None:
    class BrokenStore(MemoryStore):
        def find(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals")

    async with Client(build_server(make_settings(), store=BrokenStore()), mode=era) as client:
        result = await client.call_tool("get_release_plan", {"version": "2.5.0"})
    assert error_text(result) == "Error executing tool get_release_plan"


async def test_read_only_mode_lists_only_the_read_tools(make_settings: Any, era: str) -> None:
    server: MCPServer = build_server(make_settings(read_only=True), store=MemoryStore())
    async with Client(server, mode=era) as client:
        listed = await client.list_tools()
        assert [t.name for t in listed.tools] == READ_TOOLS
        text = error_text(await client.call_tool("create_release_plan", plan_example.ARGS))
    assert "create_release_plan writes, and this server is read-only (--read-only)" in text


async def test_every_toolset_lists_its_tools_after_the_default_ones(make_settings: Any, era: str) -> None:
    everything = build_server(make_settings(toolsets="all"), store=MemoryStore())
    running = build_server(make_settings(toolsets="run"), store=MemoryStore())
    async with Client(everything, mode=era) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ALL_TOOLS + RUN_TOOLS
    async with Client(running, mode=era) as client:
        listed = [t.name for t in (await client.list_tools()).tools]
    assert listed == ["get_release_plan", "list_release_plans", "summarize_release", *RUN_TOOLS]


async def test_a_read_only_server_offers_no_prompt_and_no_instruction_that_names_a_write(
    make_settings: Any, era: str
) -> None:
    server = build_server(make_settings(read_only=True, toolsets="all"), store=MemoryStore())
    writes = set(tool_names()) - set(tool_names(read_only=True))
    async with Client(server, mode=era) as client:
        prompts = (await client.list_prompts()).prompts
        texts = [
            "\n".join(
                m.content.text for m in (await client.get_prompt(p.name, {"version": "2.5.0"})).messages
            )  # type: ignore[union-attr]
            for p in prompts
        ]
    assert not [w for w in writes for text in [*texts, server.instructions or ""] if w in text]


def test_an_unknown_toolset_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="plan, read, run, export, manage"):
        Settings(toolsets="plan,deploy")


async def test_long_markdown_is_trimmed_to_the_setting_and_the_resource_has_it_whole(
    make_settings: Any, era: str
) -> None:
    server = build_server(make_settings(max_markdown_chars=500), store=MemoryStore())
    async with Client(server, mode=era) as client:
        for name, args in SEED_STEPS:
            ok(await client.call_tool(name, args))
        view = ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
        (whole,) = (await client.read_resource("release://2.5.0")).contents
    assert view["markdown_truncated"] is True
    head, note = view["markdown"].split("\n\n... (trimmed at ")
    assert len(head) <= 500 and whole.text.startswith(head)  # type: ignore[union-attr]
    assert note.endswith("read the resource release://2.5.0 for the whole text)")
