"""One real subprocess: ``python -m release_planner.server serve`` over stdio, as a host launches it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from protocol_helpers import ok

from release_planner.tools.examples import release_plan as plan_example

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.mark.parametrize("era", ["legacy", "auto"])
async def test_the_server_speaks_mcp_on_stdio_and_stores_in_the_workspace(tmp_path: Path, era: str) -> None:
    workspace = tmp_path / "ws"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "release_planner.server", "serve", "--workspace", str(workspace)],
        # stdio_client passes only a few variables on; the child needs PATH for git and HOME for its config
        # (and PYTHONPATH when the checkout under test is put first that way).
        env={k: os.environ[k] for k in ("PATH", "HOME", "PYTHONPATH") if k in os.environ},
    )
    async with Client(params, mode=era) as client:
        listed = await client.list_tools()
        assert len(listed.tools) == 11
        plan = ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    assert plan["release"] == "2.5.0" and plan["revision"] == 1
    assert (workspace / ".git").is_dir()
