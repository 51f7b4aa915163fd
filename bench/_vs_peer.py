"""Issue 13's small-store target against ``@modelcontextprotocol/server-memory``, for ``targets.py``.

* the seed's example end to end over stdio (``run.py`` section 2: six steps, 8 calls, a fresh server and
  workspace per round) against the peer storing the same release in an empty file (section 4: 16
  calls), alternating rounds; ratio = ours / peer, wall time of the calls;
* the lead at 10,000: our stdio server on a 10,000-entity workspace against the peer with ~10,000
  records in its file, reading one release back (``get_release_plan`` of a release nobody writes /
  ``open_nodes``) and storing one artifact (``design_rollback`` updating v2.5.0 / ``create_entities``).

Needs ``npx`` (Node.js) and the npm registry the first time; ``available()`` says why not.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import _peer
import run
from _populate import RepoCache
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from release_planner.tools.examples import rollback

BENCH = Path(__file__).resolve().parent
STEADY = run.STEADY  # a populated release nobody writes during the run


def available() -> str | None:
    try:
        _peer.npx()
    except RuntimeError as exc:
        return str(exc)
    return None


def _ms(ns: list[int]) -> float:
    return statistics.median(ns) / 1e6


async def example_vs_peer(root: Path, rounds: int, errlog: Any) -> dict[str, Any]:
    ours: list[int] = []
    peer: list[int] = []
    script: list[Any] | None = None
    arts: list[_peer.Stored] = []
    read_names: list[str] = []
    for k in range(rounds):
        order = ("ours", "peer") if k % 2 == 0 or script is None else ("peer", "ours")
        for who in order:
            if who == "ours":
                _steps, wall, _read, results = await run.example_round(root / f"example-{k}", errlog)
                ours.append(wall)
                if script is None:
                    arts = run.stored_artifacts(results)
                    script = run.peer_script(arts)
                    read_names = [arts[0].hub, *(a.name for a in arts if a.release == "2.5.0")]
            elif script is not None:
                _steps, _tools, wall, _read, _graph = await run.peer_round(
                    root / f"peer-{k}.jsonl", script, read_names, errlog
                )
                peer.append(wall)
    return {
        "ours_ms": _ms(ours),
        "peer_ms": _ms(peer),
        "n": len(ours),
        "arts": arts,
        "read_names": read_names,
    }


async def _ours_at(workspace: Path, rounds: int, errlog: Any) -> tuple[float, float]:
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(BENCH / "_serve_with_noop.py"), str(workspace)],
        env=dict(os.environ),
    )
    reads: list[int] = []
    writes: list[int] = []
    async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
        await client.call_tool("get_release_plan", {"version": STEADY})  # the index is built
        await client.call_tool("design_rollback", rollback.ARGS)
        for _ in range(rounds):  # run.call raises on a tool error
            elapsed, _ = await run.call(client, "get_release_plan", {"version": STEADY})
            reads.append(elapsed)
            elapsed, _ = await run.call(client, "design_rollback", rollback.ARGS)
            writes.append(elapsed)
    return _ms(reads), _ms(writes)


async def _peer_at(
    root: Path, arts: list[_peer.Stored], read_names: list[str], size: int, rounds: int, errlog: Any
) -> tuple[int, float, float]:
    v25 = [a for a in arts if a.release == "2.5.0"]
    path = root / "peer-scale.jsonl"
    records = _peer.write_graph_file(path, v25, size // (1 + 2 * len(v25)))
    names = [f"{n} #0" for n in read_names]
    reads: list[int] = []
    writes: list[int] = []
    async with Client(stdio_client(_peer.server_params(path), errlog=errlog), mode="legacy") as client:
        await run.call(client, "open_nodes", {"names": names})
        for i in range(rounds):
            elapsed, _ = await run.call(client, "open_nodes", {"names": names})
            reads.append(elapsed)
            art = v25[i % len(v25)]
            new = _peer.entity(f"{art.name} (rev {i})", art.kind, [art.markdown, art.spec_json])
            elapsed, _ = await run.call(client, "create_entities", {"entities": [new]})
            writes.append(elapsed)
    return records, _ms(reads), _ms(writes)


async def lead_at_scale(
    root: Path, cache: RepoCache, example: dict[str, Any], size: int, rounds: int, errlog: Any
) -> dict[str, Any]:
    workspace = cache.copy(size, "targets-peer")
    started = time.perf_counter()
    ours_read, ours_write = await _ours_at(workspace, rounds, errlog)
    records, peer_read, peer_write = await _peer_at(
        root, example["arts"], example["read_names"], size, max(3, rounds // 2), errlog
    )
    return {
        "records": records,
        "ours_read": ours_read,
        "ours_write": ours_write,
        "peer_read": peer_read,
        "peer_write": peer_write,
        "seconds": time.perf_counter() - started,
    }
