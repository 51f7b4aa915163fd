"""One real subprocess: ``python -m release_planner.server serve`` over stdio, as a host launches it."""

from __future__ import annotations

import json
import os
import subprocess
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


def test_a_request_nested_past_the_json_parsers_limit_is_answered_not_left_hanging(tmp_path: Path) -> None:
    # The SDK's parser gives up past ~255 levels and drops the message: the client waited forever
    # for an answer to its request id. It now gets an error naming the path and the limit.
    command = [sys.executable, "-m", "release_planner.server", "serve", "--workspace", str(tmp_path / "ws")]
    server = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert server.stdin is not None and server.stdout is not None

    def send(text: str) -> None:
        assert server.stdin is not None
        server.stdin.write(text.encode() + b"\n")
        server.stdin.flush()

    hello = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "deep", "version": "0"},
    }
    try:
        send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}))
        assert json.loads(server.stdout.readline())["id"] == 1
        send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        call = {"name": "create_release_plan", "arguments": {**plan_example.ARGS, "objectives": "DEEP"}}
        deep = "[" * 5000 + '"x"' + "]" * 5000
        send(
            json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}).replace(
                '"DEEP"', deep
            )
        )
        send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "ping"}))  # answered after id 2 or without it
        first = json.loads(server.stdout.readline())
    finally:
        server.stdin.close()
        server.wait(30)
        server.stdout.close()
    assert first["id"] == 2, first  # today: the ping's answer, and id 2 never gets one
    message = first["error"]["message"]
    assert "arguments.objectives[0][0]" in message and "nested 5002 levels deep" in message, message
    assert "at most 64 levels of nested lists and objects" in message, message
    assert "nothing was changed" in message, message


def test_each_request_of_a_json_rpc_batch_is_answered_and_none_is_run(tmp_path: Path) -> None:
    # MCP dropped JSON-RPC batches in 2025-06-18 and the SDK drops a batch without a word: the client
    # waited forever for its ids. Each request in it now gets an Invalid Request error by its id.
    workspace = tmp_path / "ws"
    command = [sys.executable, "-m", "release_planner.server", "serve", "--workspace", str(workspace)]
    server = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert server.stdin is not None and server.stdout is not None

    def send(message: object) -> None:
        assert server.stdin is not None
        server.stdin.write(json.dumps(message).encode() + b"\n")
        server.stdin.flush()

    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "b", "version": "0"}}
    call = {"name": "create_release_plan", "arguments": plan_example.ARGS}
    try:
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
        assert json.loads(server.stdout.readline())["id"] == 1
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send(
            [
                {"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": call},
                {"jsonrpc": "2.0", "method": "notifications/progress", "params": {}},
                {"jsonrpc": "2.0", "id": 7, "method": "ping"},
            ]
        )
        send({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "list_release_plans"}})
        answers = [json.loads(server.stdout.readline()) for _ in range(3)]
    finally:
        server.stdin.close()
        server.wait(30)
        server.stdout.close()
    assert [a["id"] for a in answers] == ["a", 7, 8], answers
    for refused in answers[:2]:
        assert refused["error"]["code"] == -32600
        assert (
            "JSON-RPC batch" in refused["error"]["message"]
            and "nothing in the batch was run" in (refused["error"]["message"])
        )
    listed = answers[2]["result"]["structuredContent"]
    assert listed.get("releases", listed.get("result", {}).get("releases")) == [], listed
