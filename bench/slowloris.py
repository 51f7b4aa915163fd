"""Slow HTTP clients against a real server, while a real MCP client tries to get in.

Starts ``engram-release-planner serve --http --host 0.0.0.0 --token-file F`` in a subprocess, opens
``--connections`` (default 1,100) connections that never finish their request and reopens the ones
the server closed every ``--sweep`` seconds (as slowloris tools do; 0 reopens each at once, a
flood of new connections), then times a real MCP client (the SDK's Streamable HTTP client,
with the token) from connecting to its ``tools/list`` and one ``list_release_plans`` call. Each mode
is one row:

- ``headers``: a request line and a header byte every few seconds (classic slowloris);
- ``body``: complete headers without the token, then a body byte every few seconds (after a 401);
- ``body-auth``: the same with the token, so the request reaches the MCP endpoint.

Not part of the tests (it takes a minute and more than a thousand file descriptors). Run:

    .venv/bin/python bench/slowloris.py [--connections 1100] [--modes headers,body,body-auth]
                                        [--sweep 1.0]

A flood from the client's own address (``--sweep 0``) can keep every slot busy with connections
younger than a client's first bytes; no server-side policy tells them apart, so that one belongs to
a firewall's per-address connection rate limit (or a reverse proxy) in front of the server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio

TOKEN = "bench-token-" + "x" * 24
ATTEMPT_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    token_file = root / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    workspace = root / "ws"
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    command = [
        sys.executable, "-m", "release_planner.server", "serve", "--http", "--host", "0.0.0.0",
        "--port", str(port), "--token-file", str(token_file), "--workspace", str(workspace),
        "--http-header-timeout", str(args.header_timeout),
        "--http-max-connections", str(args.cap),
    ]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.PIPE)
    assert server.stderr is not None
    for line in server.stderr:  # it says where it listens once the socket is bound
        if b"MCP (Streamable HTTP) on" in line:
            threading.Thread(target=server.stderr.read, daemon=True).start()  # drain the rest
            return server
    raise SystemExit("the server did not start")


class Attacker:
    """``count`` slow connections, each reopened as soon as it is closed."""

    def __init__(self, port: int, count: int, mode: str, sweep: float) -> None:
        self.port, self.count, self.mode, self.sweep = port, count, mode, sweep
        self.stop = threading.Event()
        self.reopened = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def opening(self) -> bytes:
        head = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        if self.mode == "headers":
            return head.encode()
        auth = f"Authorization: Bearer {TOKEN}\r\n" if self.mode == "body-auth" else ""
        return (
            head + "Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
            f"{auth}Content-Length: 1000000\r\n\r\n{{"
        ).encode()

    def open_one(self, sel: selectors.DefaultSelector) -> None:
        try:
            conn = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            conn.sendall(self.opening())
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ)
        except OSError:
            time.sleep(0.01)  # the backlog or our own file descriptors ran out; try again soon

    def run(self) -> None:
        sel = selectors.DefaultSelector()
        for _ in range(self.count):
            self.open_one(sel)
        last_trickle = last_sweep = time.monotonic()
        while not self.stop.is_set():
            for key, _ in sel.select(timeout=0.2):
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                try:
                    data = conn.recv(65536)
                except OSError:
                    data = b""
                if not data:  # closed by the server: its place is taken again at the next sweep
                    sel.unregister(conn)
                    conn.close()
            if time.monotonic() - last_sweep >= self.sweep:
                last_sweep = time.monotonic()
                while len(sel.get_map()) < self.count and not self.stop.is_set():
                    self.reopened += 1
                    self.open_one(sel)
            if time.monotonic() - last_trickle > 2.0:  # one byte each, well inside every deadline
                last_trickle = time.monotonic()
                for key in list(sel.get_map().values()):
                    with contextlib.suppress(OSError):
                        key.fileobj.send(b"X" if self.mode == "headers" else b" ")  # type: ignore[union-attr]
        for key in list(sel.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]


async def client_gets_in(port: int) -> tuple[float, int, str]:
    """Seconds until a real MCP client has listed the tools and called one, attempts, outcome."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    url = f"http://127.0.0.1:{port}/mcp"
    start = time.monotonic()
    attempts, last = 0, ""
    while time.monotonic() - start < ATTEMPT_TIMEOUT:
        attempts += 1
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with anyio.fail_after(ATTEMPT_TIMEOUT):
                async with http, Client(streamable_http_client(url, http_client=http)) as client:
                    tools = await client.list_tools()
                    result = await client.call_tool("list_release_plans", {})
            if tools.tools and not result.is_error:
                return time.monotonic() - start, attempts, "in"
            last = "tool call failed"
        except Exception as exc:  # a 503, a reset: note it and try again
            last = f"{type(exc).__name__}: {exc}"[:120]
        await anyio.sleep(0.5)
    return time.monotonic() - start, attempts, f"locked out ({last})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1100)
    parser.add_argument("--cap", type=int, default=100, help="--http-max-connections of the server")
    parser.add_argument("--header-timeout", type=float, default=10.0)
    parser.add_argument("--modes", default="headers,body,body-auth")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of attack before the client")
    parser.add_argument("--sweep", type=float, default=1.0, help="seconds between reopening sweeps")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, args.connections + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    print(
        f"open-file limit {wanted} (ulimit -n), {args.connections} slow connections reopened every "
        f"{args.sweep:g} s, cap {args.cap}"
    )
    print(f"{'mode':<10} {'seconds':>8} {'attempts':>8} {'reopened':>9}  outcome")
    for mode in args.modes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            server = start_server(Path(tmp), port, args)
            attacker = Attacker(port, args.connections, mode, args.sweep)
            try:
                attacker.thread.start()
                time.sleep(args.settle)
                seconds, attempts, outcome = anyio.run(client_gets_in, port)
            finally:
                attacker.stop.set()
                attacker.thread.join(10)
                server.terminate()
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    print(f"{mode}: the server did not stop within 15 s of SIGTERM; killed it")
                    server.kill()
                    server.wait()
            print(f"{mode:<10} {seconds:8.2f} {attempts:8d} {attacker.reopened:9d}  {outcome}", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
