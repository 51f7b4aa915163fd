"""Cold start: spawn a stdio server, send ``initialize`` at once, time until its reply line arrives.

Raw JSON-RPC on pipes (no client library in the clock): the figure is interpreter start, imports,
server construction, the lifespan (our store opens there) and the first response.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Sequence

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "release-planner-bench", "version": "0"},
    },
}


def spawn_to_initialize(
    argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None, timeout: float = 120.0
) -> float:
    """Seconds from spawn to the complete ``initialize`` response line. Raises on error or timeout."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
        proc.stdin.flush()
        fd = proc.stdout.fileno()
        buf = b""
        deadline = start + timeout
        while b"\n" not in buf:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no initialize reply from {argv[0]} within {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError(f"{' '.join(argv)} exited before replying (code {proc.poll()})")
                buf += chunk
        elapsed = time.perf_counter() - start
        reply = json.loads(buf.split(b"\n", 1)[0])
        if "result" not in reply:
            raise RuntimeError(f"initialize failed: {reply}")
        return elapsed
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # Closing stdin is how a host ends a stdio server; kill only our own child if it lingers.
    try:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
