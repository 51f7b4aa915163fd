"""The composition root: which store the server uses and who closes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from protocol_helpers import ok

from release_planner.server import app
from release_planner.server.app import build_server
from release_planner.server.engram.memory import MemoryStore
from release_planner.server.settings import Settings
from release_planner.tools.examples import release_plan as plan_example

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


class ClosingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.closed = 0

    def close(self) -> None:
        self.closed += 1
        super().close()


async def test_a_store_given_to_build_server_is_used_and_left_open(tmp_path: Path, era: str) -> None:
    store = ClosingStore()
    async with Client(build_server(Settings(workspace=tmp_path), store=store), mode=era) as client:
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    assert len(store.find("context")) == 1
    assert store.closed == 0


async def test_the_store_named_by_the_settings_is_opened_per_server_start_and_closed(
    tmp_path: Path, era: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[ClosingStore] = []

    def open_store(settings: Settings) -> Any:
        assert settings.workspace == tmp_path.resolve()
        opened.append(ClosingStore())
        return opened[-1]

    monkeypatch.setattr(app, "open_store", open_store)
    server = build_server(Settings(workspace=tmp_path, store="memory"))
    assert opened == []  # nothing is opened until the server starts
    async with Client(server, mode=era) as client:
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
        (store,) = opened
        assert store.closed == 0
    assert store.closed == 1


async def test_the_git_store_is_the_default_and_creates_the_workspace_repository(tmp_path: Path) -> None:
    workspace = tmp_path / "new-workspace"
    async with Client(build_server(Settings(workspace=workspace))) as client:
        plan = ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    assert (workspace / ".git").is_dir()
    async with Client(build_server(Settings(workspace=workspace))) as client:
        view = ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
    assert view["task_id"] == plan["task_id"]


async def test_a_workspace_that_cannot_be_opened_fails_each_call_with_what_to_fix(tmp_path: Path) -> None:
    # The store opens in the background so the handshake never waits for it; its error then has to
    # reach the agent on every call instead of vanishing into a log.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the workspace should be")
    async with Client(build_server(Settings(workspace=blocker))) as client:
        for _ in range(2):
            result = await client.call_tool("list_release_plans", {})
            assert result.is_error
            text = result.content[0].text  # type: ignore[union-attr]
            assert "workspace" in text and str(blocker) in text, text
