"""Fixtures for driving the server through the SDK's in-process client, in both protocol eras.

``mode="legacy"`` runs the 2025-11-25 initialize handshake (what Claude Desktop-style hosts speak);
``mode="auto"`` is the stateless 2026-07-28 path. Every client test runs in both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import Implementation
from protocol_helpers import CLIENT_NAME, ERAS

from release_planner.server.app import build_server
from release_planner.server.engram.memory import MemoryStore
from release_planner.server.settings import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**values: Any) -> Settings:
        return Settings(workspace=tmp_path, store="memory", **values)

    return make


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(make_settings: Callable[..., Settings], store: MemoryStore) -> MCPServer:
    return build_server(make_settings(), store=store)


@pytest.fixture
async def client(server: MCPServer, era: str) -> AsyncIterator[Client]:
    async with Client(server, mode=era, client_info=Implementation(name=CLIENT_NAME, version="1")) as c:
        yield c
