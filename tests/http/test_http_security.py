"""The HTTP transport's guards, driven in process through the ASGI app: no socket is opened."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from pydantic import SecretStr
from starlette.testclient import TestClient

from release_planner.server.http import (
    TOKEN_ENV,
    HttpGuard,
    build_http_app,
    check_bind,
    http_policy,
    is_loopback,
    load_token,
    serve_http,
    tokens_match,
)
from release_planner.server.settings import Settings, SettingsError

TOKEN = "s3cret-token-0123456789-abcdefghij"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "http-test", "version": "0"},
    },
}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def tiny_server() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("http-test", version="0.0.1", log_level="WARNING")

    @server.tool()
    def ping() -> str:
        """Answer pong."""
        return "pong"

    return server


def settings(**values: Any) -> Settings:
    return Settings(workspace=Path("/tmp"), **values)


def client_for(s: Settings, base_url: str = "http://127.0.0.1:8765") -> TestClient:
    return TestClient(build_http_app(tiny_server(), s), base_url=base_url)


def rpc_result(response: Any) -> dict[str, Any]:
    """The JSON-RPC result from a JSON or a single-event SSE response."""
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        message = json.loads(data[-1])
    else:
        message = response.json()
    return message["result"]


# -- loopback: the SDK's DNS-rebinding protection ----------------------------------------------------


def test_loopback_app_initializes_without_a_token():
    with client_for(settings()) as client:
        response = client.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 200
    assert rpc_result(response)["serverInfo"]["name"] == "http-test"


def test_loopback_app_refuses_a_foreign_host_header_with_421():
    with client_for(settings()) as client:
        response = client.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "host": "evil.example:8765"})
    assert (response.status_code, response.text) == (421, "Invalid Host header")


def test_loopback_app_refuses_a_foreign_origin_with_403():
    with client_for(settings()) as client:
        response = client.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "origin": "http://evil.example"}
        )
    assert (response.status_code, response.text) == (403, "Invalid Origin header")


def test_loopback_app_accepts_a_loopback_origin_and_localhost_host():
    with client_for(settings(), base_url="http://localhost:9000") as client:
        response = client.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "origin": "http://localhost:9000"}
        )
    assert response.status_code == 200


def test_loopback_policy_keeps_the_sdk_defaults_and_needs_no_token():
    policy = http_policy(settings())
    assert policy.token is None
    assert policy.transport_security.enable_dns_rebinding_protection
    assert policy.transport_security.allowed_hosts[:3] == ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    assert policy.origin_allowlist is None and policy.notes == ()


# -- binding beyond loopback ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.7", "example.internal", ""])
def test_a_non_loopback_bind_without_a_token_is_refused(host: str):
    with pytest.raises(SettingsError) as info:
        check_bind(host, None)
    message = str(info.value)
    assert TOKEN_ENV in message and "--token-file" in message and "127.0.0.1" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_a_loopback_bind_needs_no_token(host: str):
    assert is_loopback(host)
    check_bind(host, None)


def test_serve_http_refuses_before_listening_when_bound_off_loopback_without_a_token():
    with pytest.raises(SettingsError, match="needs a bearer token"):
        serve_http(tiny_server(), settings(http_host="0.0.0.0", http_port=1))


def test_a_specific_address_is_allowed_as_host_and_origin_and_others_are_not():
    s = settings(http_host="192.168.1.20", token=SecretStr(TOKEN))
    auth = {**MCP_HEADERS, "authorization": f"Bearer {TOKEN}"}
    with client_for(s, base_url="http://192.168.1.20:8765") as client:
        ok = client.post("/mcp", json=INITIALIZE, headers={**auth, "origin": "http://192.168.1.20:8765"})
        bad_host = client.post("/mcp", json=INITIALIZE, headers={**auth, "host": "rebound.example:8765"})
        bad_origin = client.post("/mcp", json=INITIALIZE, headers={**auth, "origin": "https://evil.example"})
    assert [ok.status_code, bad_host.status_code, bad_origin.status_code] == [200, 421, 403]


def test_a_wildcard_bind_without_allowed_hosts_says_the_host_check_is_off_but_still_checks_origins():
    s = settings(http_host="0.0.0.0", token=SecretStr(TOKEN))
    policy = http_policy(s)
    assert not policy.transport_security.enable_dns_rebinding_protection
    assert len(policy.notes) == 1 and "Host header is not checked" in policy.notes[0]
    auth = {**MCP_HEADERS, "authorization": f"Bearer {TOKEN}"}
    with client_for(s, base_url="http://planner.lan:8765") as client:
        ok = client.post("/mcp", json=INITIALIZE, headers=auth)
        bad_origin = client.post("/mcp", json=INITIALIZE, headers={**auth, "origin": "https://evil.example"})
    assert [ok.status_code, bad_origin.status_code] == [200, 403]


def test_allowed_hosts_from_settings_turn_the_host_check_on_for_a_wildcard_bind():
    # Settings may carry allowed_hosts/allowed_origins as lists or comma-separated strings.
    s = SimpleNamespace(
        http_host="::",
        http_path="/mcp",
        token=SecretStr(TOKEN),
        token_file=None,
        allowed_hosts="planner.lan, 10.0.0.7:8765",
        allowed_origins=["https://planner.lan"],
    )
    policy = http_policy(s)  # type: ignore[arg-type]
    assert policy.transport_security.model_dump() == {
        "enable_dns_rebinding_protection": True,
        "allowed_hosts": [
            "127.0.0.1:*",
            "localhost:*",
            "[::1]:*",
            "planner.lan",
            "planner.lan:*",
            "10.0.0.7:8765",
        ],
        "allowed_origins": [
            "http://127.0.0.1:*",
            "http://localhost:*",
            "http://[::1]:*",
            "https://planner.lan",
        ],
    }
    assert policy.origin_allowlist is None and policy.notes == ()


# -- the bearer token ----------------------------------------------------------------------------------


@pytest.fixture
def token_client():
    with client_for(settings(http_host="0.0.0.0", token=SecretStr(TOKEN))) as client:
        yield client


def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(token_client: TestClient):
    response = token_client.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="engram-release-planner"'
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer wrong",
        f"Basic {TOKEN}",
        f"Token {TOKEN}",
        "Bearer ",
    ],
)
def test_a_wrong_token_or_scheme_gets_401(token_client: TestClient, header: str):
    response = token_client.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "authorization": header})
    assert response.status_code == 401


def test_the_right_token_gets_a_working_session(token_client: TestClient):
    auth = {**MCP_HEADERS, "authorization": f"bearer {TOKEN}"}
    init = token_client.post("/mcp", json=INITIALIZE, headers=auth)
    assert init.status_code == 200
    info = rpc_result(init)["serverInfo"]
    assert (info["name"], info["version"]) == ("http-test", "0.0.1")
    session = {**auth, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert token_client.post("/mcp", json=initialized, headers=session).status_code == 202
    listed = token_client.post(
        "/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=session
    )
    assert [t["name"] for t in rpc_result(listed)["tools"]] == ["ping"]


def test_a_token_is_enforced_on_loopback_too_when_one_is_configured():
    with client_for(settings(token=SecretStr(TOKEN))) as client:
        assert client.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS).status_code == 401


def test_tokens_are_compared_by_value():
    assert tokens_match(TOKEN, TOKEN)
    assert not tokens_match(TOKEN + " ", TOKEN)
    assert not tokens_match("", TOKEN)
    assert not tokens_match("\udcff", TOKEN)  # undecodable header bytes must not crash the comparison


def test_the_token_never_reaches_the_logs(caplog: pytest.LogCaptureFixture, tmp_path: Path):
    caplog.set_level(logging.DEBUG)
    s = settings(http_host="0.0.0.0", token=SecretStr(TOKEN))
    with client_for(s) as client:
        auth = {**MCP_HEADERS, "authorization": f"Bearer {TOKEN}"}
        client.post("/mcp", json=INITIALIZE, headers=auth)
        client.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "authorization": f"Bearer {TOKEN}-wrong"}
        )
        client.post("/mcp", json=INITIALIZE, headers={**auth, "origin": "https://evil.example"})
    too_short = tmp_path / "short"
    too_short.write_text("tooshort\n")
    too_short.chmod(0o600)
    with pytest.raises(SettingsError) as info:
        load_token(settings(token_file=too_short))
    assert "tooshort" not in str(info.value)
    assert "refused a request with a wrong bearer token" in caplog.text
    assert TOKEN not in caplog.text


# -- where the token comes from ------------------------------------------------------------------------


def write_token_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "token"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_token_file_first_line_is_the_token(tmp_path: Path):
    path = write_token_file(tmp_path, f"  {TOKEN}  \nsecond line ignored\n")
    assert load_token(settings(token_file=path)) == TOKEN


def test_the_environment_token_is_read_through_settings(tmp_path: Path):
    s = Settings.from_sources({"workspace": tmp_path}, environ={TOKEN_ENV: TOKEN})
    assert load_token(s) == TOKEN


def test_no_token_configured_gives_none():
    assert load_token(settings()) is None


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o666])
def test_a_token_file_other_users_can_read_or_write_is_refused(tmp_path: Path, mode: int):
    path = write_token_file(tmp_path, TOKEN, mode)
    with pytest.raises(SettingsError, match="chmod 600"):
        load_token(settings(token_file=path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_token_file_is_reported(tmp_path: Path):
    path = write_token_file(tmp_path, TOKEN, 0)
    with pytest.raises(SettingsError, match="cannot read it"):
        load_token(settings(token_file=path))


def test_a_group_readable_token_file_is_accepted(tmp_path: Path):
    path = write_token_file(tmp_path, TOKEN, 0o640)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert load_token(settings(token_file=path)) == TOKEN


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "first line is empty"),
        ("\n" + TOKEN, "first line is empty"),
        ("short", "shorter than 16"),
        ("has a space in it 0123456789", "printable ASCII"),
    ],
)
def test_an_unusable_token_file_is_refused(tmp_path: Path, text: str, message: str):
    with pytest.raises(SettingsError, match=message):
        load_token(settings(token_file=write_token_file(tmp_path, text)))


def test_a_missing_token_file_is_refused(tmp_path: Path):
    with pytest.raises(SettingsError, match="cannot read it"):
        load_token(settings(token_file=tmp_path / "absent"))


def test_a_token_from_both_environment_and_file_is_refused(tmp_path: Path):
    path = write_token_file(tmp_path, TOKEN)
    with pytest.raises(SettingsError, match="keep one of them"):
        load_token(settings(token=SecretStr(TOKEN), token_file=path))


def test_the_guard_passes_lifespan_events_through():
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    import anyio

    anyio.run(HttpGuard(app, TOKEN), {"type": "lifespan"}, None, None)
    assert seen == ["lifespan"]


# -- bodies nested past the SDK's JSON parser ----------------------------------------------------------


@pytest.mark.parametrize("with_token", [False, True], ids=["loopback", "token"])
def test_a_request_nested_past_the_parser_is_answered_for_its_id_naming_the_path_and_the_bound(
    with_token: bool,
) -> None:
    """The SDK answered such a body 400 with a bare parse error and id null, where stdio names the
    path and the 64-level bound for the request's id."""
    s = settings(http_host="0.0.0.0", token=SecretStr(TOKEN)) if with_token else settings()
    auth = {"authorization": f"Bearer {TOKEN}"} if with_token else {}
    with client_for(s) as client:
        opened = client.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **auth})
        session = {"mcp-session-id": opened.headers["mcp-session-id"], **auth}
        deep = "[" * 20_000 + "]" * 20_000
        body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"ping","arguments":{"x":%s}}}'
        response = client.post("/mcp", content=body % deep, headers={**MCP_HEADERS, **session})
        assert response.status_code == 200, response.text
        message = response.json()
        assert message["id"] == 7 and message["error"]["code"] == -32602
        assert "arguments.x[0][0]" in message["error"]["message"]
        assert "at most 64 levels" in message["error"]["message"]
        # Outside the params the depth is named where it is; a shallow call still works.
        top = client.post(
            "/mcp",
            content='{"jsonrpc":"2.0","id":8,"method":"ping","x":' + deep + "}",
            headers=MCP_HEADERS | session,
        ).json()
        assert (
            top["id"] == 8
            and "x[0][0]" in top["error"]["message"]
            and "20000 levels" in top["error"]["message"]
        )
        called = client.post(
            "/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 9,
                "method": "tools/call",
                "params": {"name": "ping", "arguments": {}},
            },
            headers={**MCP_HEADERS, **session},
        )
        assert rpc_result(called)["content"][0]["text"] == "pong"
