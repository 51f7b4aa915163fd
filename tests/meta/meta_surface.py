"""The server's public surface as plain JSON: what tools/list, resources/*list and prompts/list show."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer

from release_planner.server.app import build_server
from release_planner.server.engram.memory import MemoryStore
from release_planner.server.settings import Settings


@functools.cache
def make_server(read_only: bool = False, toolsets: str = "all") -> MCPServer:
    # Listing and prompt rendering need no lifespan, so one server per mode serves every test. The
    # snapshot and the README cover every toolset; the budget test asks for the default list.
    return build_server(
        Settings(workspace=Path.cwd(), store="memory", read_only=read_only, toolsets=toolsets),
        store=MemoryStore(),
    )


def dump(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]


async def surface() -> dict[str, Any]:
    server = make_server()
    read_only = make_server(read_only=True)
    return {
        "instructions": server.instructions,
        "tools": dump(await server.list_tools()),
        "read_only_tools": [t.name for t in await read_only.list_tools()],
        "resources": dump(await server.list_resources()),
        "resource_templates": dump(await server.list_resource_templates()),
        "prompts": dump(await server.list_prompts()),
    }
