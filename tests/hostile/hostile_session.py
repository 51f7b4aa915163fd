"""An in-process MCP session on a memory store holding the skill's whole example, usable from sync
(hypothesis) tests through a blocking portal."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal
from helpers.checks import structured
from mcp import Client
from mcp.types import CallToolResult

from release_planner.server.app import build_server
from release_planner.server.engram.memory import MemoryStore
from release_planner.server.settings import Settings
from release_planner.tools.examples import migration, release_plan, rollback, rollout, runbook
from release_planner.tools.ports import Store

SEED_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("create_release_plan", release_plan.ARGS),
    ("create_release_plan", migration.PLAN_V3_ARGS),
    ("design_migration_path", migration.ARGS),
    ("design_rollback", rollback.ARGS),
    ("plan_rollout", rollout.ARGS),
    ("create_runbook", runbook.ARGS),
    ("link_release_entities", {"version": "2.5.0"}),
]


@dataclass
class Session:
    portal: BlockingPortal
    client: Client
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeded: dict[str, dict[str, Any]] = field(default_factory=dict)  # last result per seed call

    def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        return self.portal.call(self.client.call_tool, tool, arguments)

    def base_args(self, tool: str) -> dict[str, Any]:
        """Arguments the seeded store accepts for ``tool``: the starting point of every mutation."""
        by_tool = {name: args for name, args in SEED_CALLS}
        if tool == "create_release_plan":
            return copy.deepcopy(release_plan.ARGS)
        if tool == "link_release_entities":
            v3_task = self.seeded["design_migration_path"]["task_id"]
            return {
                "version": "v2.5.0",
                "links": [
                    {
                        "target_id": v3_task[:8],
                        "target_type": "task",
                        "relationship_type": "depends_on",
                        "description": "API v3 follows this release",
                    }
                ],
            }
        if tool == "list_release_plans":
            return {"status": "todo", "limit": 5}
        if tool == "evaluate_gate":
            return {
                "version": "2.5.0",
                "phase": "Early Adopters",
                "observations": [
                    {
                        "metric": "conversion_rate",
                        "control": {"exposures": 8000, "events": 160},
                        "treatment": {"exposures": 2000, "events": 41},
                    }
                ],
            }
        if tool == "record_decision":
            # A hold keeps phase 1 under way, so the same call may be repeated after any mutation.
            return {
                "version": "2.5.0",
                "phase": 1,
                "decision": "hold",
                "decided_by": "Dana Lee",
                "reasons": ["collecting data"],
            }
        if tool == "export_rollout":
            return {"version": "2.5.0", "target": "flagd"}
        if tool in by_tool:
            return copy.deepcopy(by_tool[tool])
        return {"version": "2.5.0"}


@contextmanager
def mcp_session(era: str = "auto", store: Store | None = None, seed: bool = True) -> Iterator[Session]:
    server = build_server(Settings(store="memory", toolsets="all"), store=store or MemoryStore())
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(server, mode=era)) as client,
    ):
        session = Session(portal, client)
        listed = portal.call(client.list_tools)
        session.schemas = {t.name: t.input_schema for t in listed.tools}
        if seed:
            for tool, args in SEED_CALLS:
                session.seeded[tool] = structured(session.call(tool, copy.deepcopy(args)))
        yield session
