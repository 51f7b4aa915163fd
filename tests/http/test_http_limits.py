"""The HTTP transport's connection limits, against a real uvicorn server on 127.0.0.1 with raw sockets.

Each server runs in a thread on a socket bound to a free port, with deadlines of about a second so the
tests stay quick. Socket timeouts are only an upper bound that turns a hang into a failure.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer

from release_planner.server.cli import build_parser, settings_from_args
from release_planner.server.http import uvicorn_server
from release_planner.server.settings import Settings, SettingsError

WAIT = 20.0  # the most any step may take before the test fails instead of hanging
INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "limits-test", "version": "0"},
        },
    }
).encode()


def tiny_server() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("limits-test", version="0.0.1", log_level="WARNING")

    @server.tool()
    def ping() -> str:
        """Answer pong."""
        return "pong"

    return server


@contextmanager
def running(**limits: Any) -> Iterator[tuple[int, Any]]:
    """A real server on 127.0.0.1 with these settings; yields its port and the uvicorn server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = Settings(workspace=Path("/tmp"), http_port=port, **limits)
    server = uvicorn_server(tiny_server(), settings)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield port, server
    finally:
        server.should_exit = True
        thread.join(WAIT)
        sock.close()


def connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    conn.settimeout(WAIT)
    return conn


def read_all(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def wait_for_connections(server: Any, count: int) -> None:
    deadline = time.monotonic() + WAIT
    while len(server.server_state.connections) < count:
        assert time.monotonic() < deadline, f"the server never held {count} connections"
        time.sleep(0.02)


def initialize(port: int) -> bytes:
    with connect(port) as conn:
        conn.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(INITIALIZE)}\r\n\r\n".encode()
            + INITIALIZE
        )
        return read_all(conn)


def test_a_connection_that_never_finishes_its_headers_gets_408_and_is_closed():
    with running(http_header_timeout=0.5) as (port, _server), connect(port) as conn:
        conn.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answer = read_all(conn)  # on a server without a header deadline this waits forever
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"did not arrive within 0.5 seconds" in answer


def test_a_connection_that_sends_nothing_is_closed_without_an_answer():
    with running(http_header_timeout=0.5) as (port, _server), connect(port) as conn:
        assert read_all(conn) == b""


def test_trickling_header_bytes_does_not_extend_the_deadline():
    with running(http_header_timeout=1.0) as (port, _server), connect(port) as conn:
        conn.sendall(b"GET /mcp HTTP/1.1\r\n")
        answer = b""
        for _ in range(100):  # one header byte every 0.1 s: never finished, each byte resets nothing
            try:
                conn.sendall(b"X")
            except OSError:
                break
            time.sleep(0.1)
            conn.setblocking(False)
            try:
                answer += conn.recv(65536)
            except BlockingIOError:
                pass
            finally:
                conn.setblocking(True)
            if answer:
                break
    assert answer.startswith(b"HTTP/1.1 408")


def event_stream(port: int) -> socket.socket:
    """A connection busy with a session's event stream (GET /mcp), its response begun."""
    session = initialize(port).split(b"\r\nmcp-session-id: ", 1)[1].split(b"\r\n", 1)[0]
    conn = connect(port)
    conn.sendall(
        b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        b"mcp-protocol-version: 2025-11-25\r\nmcp-session-id: " + session + b"\r\n\r\n"
    )
    assert conn.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    return conn


def test_connections_beyond_the_cap_get_503_at_once_when_every_one_is_busy():
    with running(http_header_timeout=60, http_max_connections=3) as (port, server):
        busy = [event_stream(port) for _ in range(3)]
        try:
            wait_for_connections(server, 3)
            answer = initialize(port)
        finally:
            for conn in busy:
                conn.close()
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"\r\nretry-after: 5\r\n" in answer
    assert b"3 open connections, the most it accepts; retry in a few seconds" in answer


def test_refusals_at_the_cap_log_no_errors(caplog: pytest.LogCaptureFixture):
    # A client that reads the start of its 503 and hangs up resets the connection, and the server's
    # shutdown of the socket right after the 503 then failed (ENOTCONN) with an asyncio traceback at
    # ERROR level, once per refusal: under attack the log, not the cap, would fill up.
    with running(http_header_timeout=60, http_max_connections=1) as (port, server):
        busy = event_stream(port)
        answers = []
        try:
            wait_for_connections(server, 1)
            for _ in range(40):
                with connect(port) as conn:
                    conn.sendall(b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    answers.append(conn.recv(12))  # and close with the rest unread: a reset
        finally:
            busy.close()
    assert set(answers) == {b"HTTP/1.1 503"}, answers
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


@pytest.mark.parametrize("unfinished", ["headers", "body"])
def test_at_the_cap_a_newcomer_replaces_the_oldest_connection_still_waiting_for_its_request(unfinished: str):
    # Slow connections reopened as fast as they time out would otherwise keep every client out.
    start = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if unfinished == "body":
        start += b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    with running(http_header_timeout=60, http_max_connections=3) as (port, server):
        slow = []
        for _ in range(3):
            slow.append(connect(port))
            slow[-1].sendall(start)
            wait_for_connections(server, len(slow))
        try:
            answer = initialize(port)
            oldest = read_all(slow[0])
        finally:
            for conn in slow:
                conn.close()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
    assert oldest.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), oldest
    assert b"closed this one, the oldest still waiting for its request, to make room" in oldest


@pytest.mark.parametrize("token", [None, "a-token-of-32-characters-at-least"], ids=["no-token", "401-first"])
def test_a_body_that_trickles_in_forever_is_cut_off(token: str | None):
    # Headers complete, then a byte of body now and then: the header deadline is over, and without a
    # body deadline the connection is held for as long as the client likes (also after a 401).
    limits: dict[str, Any] = {"http_header_timeout": 1.0, "http_idle_timeout": 60}
    if token:
        limits["token"] = token
    with running(**limits) as (port, _server), connect(port) as conn:
        conn.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
        answer, closed = b"", False
        for _ in range(100):  # a byte every 0.1 s: the idle timer never fires, and never would
            time.sleep(0.1)
            try:
                conn.sendall(b" ")
                conn.setblocking(False)
                chunk = conn.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                closed = True
                break
            finally:
                conn.setblocking(True)
            answer += chunk
            if not chunk:
                closed = True
                break
    assert closed, answer
    if token:
        assert answer.startswith(b"HTTP/1.1 401"), answer
    else:
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
        assert b"within 1 seconds for its headers and as many again for its body" in answer


def test_a_legitimate_client_gets_in_once_slow_connections_time_out():
    with running(http_header_timeout=1.0, http_max_connections=3) as (port, server):
        slow = [connect(port) for _ in range(3)]
        for conn in slow:
            conn.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        wait_for_connections(server, 3)
        for conn in slow:
            assert read_all(conn).startswith(b"HTTP/1.1 408")
            conn.close()
        answer = initialize(port)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"serverInfo"' in answer


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout():
    with running(http_idle_timeout=0.5, http_header_timeout=60) as (port, _server), connect(port) as conn:
        conn.sendall(b"GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = read_all(conn)  # one response, then the connection idles and is closed
    assert answer.startswith(b"HTTP/1.1 404")


def test_the_limits_come_from_flags_and_environment():
    ns = build_parser().parse_args(
        ["serve", "--http", "--http-header-timeout", "2.5", "--http-max-connections", "7"]
    )
    chosen = settings_from_args(ns, {"ENGRAM_RELEASE_PLANNER_HTTP_IDLE_TIMEOUT": "9"})
    assert (chosen.http_header_timeout, chosen.http_idle_timeout, chosen.http_max_connections) == (2.5, 9, 7)
    defaults = Settings()
    assert (defaults.http_header_timeout, defaults.http_idle_timeout, defaults.http_max_connections) == (
        10,
        5,
        100,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("http_header_timeout", "0"), ("http_idle_timeout", "-1"), ("http_max_connections", "0")],
)
def test_unusable_limits_are_refused_naming_flag_and_variable(name: str, value: str):
    with pytest.raises(SettingsError) as caught:
        Settings.from_sources(environ={f"ENGRAM_RELEASE_PLANNER_{name.upper()}": value})
    message = str(caught.value)
    assert f"--{name.replace('_', '-')}" in message
    assert f"ENGRAM_RELEASE_PLANNER_{name.upper()}" in message
