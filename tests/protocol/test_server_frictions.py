"""Small things a new user meets first: where `serve --http` listens, commands the demo prints that
work as printed, and `demo | head` ending quietly."""

from __future__ import annotations

import io
import os
import selectors
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from release_planner.server import demo
from release_planner.server.demo import run_demo
from release_planner.server.http import endpoint_url
from release_planner.server.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

ENV = {k: os.environ[k] for k in ("PATH", "HOME", "PYTHONPATH") if k in os.environ}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_http_says_on_stderr_where_it_listens() -> None:
    port = free_port()
    argv = [sys.executable, "-m", "release_planner.server", "serve", "--http", "--port", str(port)]
    with subprocess.Popen(
        [*argv, "--store", "memory"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            _expect_url(proc, port)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _expect_url(proc: subprocess.Popen[str], port: int) -> None:
    assert proc.stderr is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        seen = ""
        deadline = time.monotonic() + 30
        while "http://" not in seen and time.monotonic() < deadline and proc.poll() is None:
            if sel.select(timeout=1):
                seen += proc.stderr.readline()
    expected = f"engram-release-planner: MCP (Streamable HTTP) on http://127.0.0.1:{port}/mcp (no token)"
    assert expected in seen, seen
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # said only once it really listens


def test_the_endpoint_url_brackets_an_ipv6_host() -> None:
    settings = Settings(workspace=Path("/tmp"), http_host="::1", http_port=9000, http_path="/x")
    assert endpoint_url(settings) == "http://[::1]:9000/x"


def test_demo_piped_into_head_ends_quietly() -> None:
    argv = [sys.executable, "-m", "release_planner.server", "demo", "--store", "memory"]
    with subprocess.Popen(argv, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()  # what `head -1` does once it has its line
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_the_look_at_it_commands_run_as_printed_without_a_venv_or_engram(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo.shutil, "which", lambda _name: None)  # no engram binary
    workspace = tmp_path / "ws"
    out = io.StringIO()
    assert run_demo(Settings(workspace=workspace), temporary_workspace=False, out=out) == 0
    text = out.getvalue()
    commands = text.split("Look at it (no venv or engram binary needed):\n", 1)[1].strip().splitlines()
    assert not any("engram " in c and "engram-release-planner" not in c for c in commands)
    bare_env = {
        "PATH": os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p),
        "HOME": os.environ.get("HOME", "/tmp"),
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
    }
    for command in commands:
        done = subprocess.run(shlex.split(command), env=bare_env, capture_output=True, text=True, cwd="/")
        assert done.returncode == 0, (command, done.stderr)
        assert done.stdout.strip(), command
    assert (
        "Release Plan: v2.5.0"
        in subprocess.run(
            shlex.split(commands[0]), env=bare_env, capture_output=True, text=True, cwd="/"
        ).stdout
    )


def test_the_engram_command_is_shown_when_engram_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        demo.shutil, "which", lambda name: "/opt/engram/bin/engram" if name == "engram" else None
    )
    lines = demo.look_commands(str(tmp_path), "t" * 8, [])
    assert lines[-1] == f"cd {tmp_path} && /opt/engram/bin/engram task show tttttttt"
    assert lines[1] == f"git -C {tmp_path} for-each-ref refs/engram"
