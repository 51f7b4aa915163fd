"""Bench-only additions to a built server: the no-op tools and server-side timers.

Nothing here touches production code paths: it wraps the one built ``MCPServer`` instance the bench
drives (an instance attribute shadows ``MCPServer.call_tool``) and the registration module's
``_run`` helper inside the bench's own process (or the bench's stdio child).

Two server-side clocks per call:

* ``server``: ``MCPServer.call_tool``: argument validation, the tool function, result conversion
  (what the SDK does between decoding the request and encoding the response, minus framing);
* ``use_case``: the ``ReleasePlanner`` method alone, timed inside the worker thread ``_run`` uses.

Samples are keyed ``[label|]tool[@version]`` (see ``sample_key``).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from typing import Any

from mcp.server.mcpserver import MCPServer

from release_planner.server import registration

NOOP = "bench_noop"
NOOP_THREAD = "bench_noop_thread"
STATS = "bench_stats"

TIMINGS: dict[str, dict[str, list[int]]] = {"server": defaultdict(list), "use_case": defaultdict(list)}
# In process the bench drives one server from several clients; it sets this before each call so the
# server-side samples can be told apart (``"<label>|<tool>"``). Calls are sequential, so one global does.
LABEL = {"current": ""}
_patched_run = False


def sample_key(name: str, version: object = None) -> str:
    """``tool@version``: one tool on two releases (one rewritten each round, one not) is two subjects."""
    if isinstance(version, str) and version:
        name = f"{name}@{version.strip().lstrip('vV')}"
    label = LABEL["current"]
    return f"{label}|{name}" if label else name


async def bench_noop(version: str = "2.5.0") -> str:
    """Does nothing: the protocol floor of this server (async, runs on the event loop)."""
    return "ok"


def bench_noop_thread(version: str = "2.5.0") -> str:
    """Does nothing in a worker thread: the floor plus the thread hop every real tool makes."""
    return "ok"


def proc_status() -> dict[str, int]:
    """VmRSS and VmHWM of this process in kB."""
    out: dict[str, int] = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0])
    return out


def bench_stats(reset: bool = True) -> dict[str, Any]:
    """The server-side timings collected so far (ns per call, by tool), the pid and memory."""
    data = {
        "pid": os.getpid(),
        "status": proc_status(),
        "timings": {clock: dict(per_tool) for clock, per_tool in TIMINGS.items()},
    }
    if reset:
        for per_tool in TIMINGS.values():
            per_tool.clear()
    return data


def instrument(server: MCPServer, *, with_stats_tool: bool = False) -> MCPServer:
    """Add the no-op tools (and the stats tool) and wrap the server's call path with timers."""
    global _patched_run
    server.add_tool(bench_noop, name=NOOP, title="Bench no-op")
    server.add_tool(bench_noop_thread, name=NOOP_THREAD, title="Bench no-op (worker thread)")
    if with_stats_tool:
        server.add_tool(bench_stats, name=STATS, title="Bench stats")

    original_call = server.call_tool
    server_times = TIMINGS["server"]

    async def timed_call(name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        key = sample_key(name, (arguments or {}).get("version"))
        start = time.perf_counter_ns()
        try:
            return await original_call(name, arguments, context)
        finally:
            if name != STATS:
                server_times[key].append(time.perf_counter_ns() - start)

    server.call_tool = timed_call  # type: ignore[method-assign]

    if not _patched_run:
        original_run = registration._run
        use_case_times = TIMINGS["use_case"]

        async def timed_run(fn: Any, *args: Any, **kwargs: Any) -> Any:
            first = args[0] if args else None
            version = first if isinstance(first, str) else getattr(first, "version", None)
            key = sample_key(getattr(fn, "__name__", "?"), version)

            def inner(*a: Any, **k: Any) -> Any:
                start = time.perf_counter_ns()
                try:
                    return fn(*a, **k)
                finally:
                    use_case_times[key].append(time.perf_counter_ns() - start)

            return await original_run(inner, *args, **kwargs)

        registration._run = timed_run  # type: ignore[assignment]
        _patched_run = True
    return server
