"""Issue 13's targets for big workspaces, side by side in one run, with a met/missed column.

    .venv/bin/python bench/targets.py [--entities 100000] [--root DIR] [--history 2002] [--no-peer]

* memory: VmRSS of a stdio server after ``get_release_plan`` + ``list_release_plans`` at N entities,
  minus the same on an empty store (target: <= 100 MB);
* first answer: the first ``get_release_plan`` call of a stdio server, timed from its ``initialized``
  (as ``run.py``'s "first call" row; spawn to answer is shown beside it), on a cold
  workspace (no summary cache) and after a restart on the unchanged workspace, against
  ``git for-each-ref refs/engram`` on the same workspace (targets: <= 5x and <= 2x);
* ``list_release_plans`` server-side p50 at N entities (``MCPServer.call_tool``; target: <= 10 ms);
* revision history: inotify watches and a stat-fallback read with one entity at 12 and at
  ``--history`` revisions (targets: the same watch count; read time within 1.5x);
* small stores (``_vs_peer``, skipped with ``--no-peer``): the seed's example over stdio against
  ``@modelcontextprotocol/server-memory`` storing the same release (target: <= 1x), and the lead at
  10,000 entities reading one release back and storing one artifact (target: ours <= 1/50 of its time).

``--root`` keeps populated workspaces between runs (``_populate.RepoCache``); each measurement
works on its own copy. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import _instrument  # noqa: E402
from _populate import RepoCache  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from release_planner.server.engram.gitrefs import GitRefsStore  # noqa: E402
from release_planner.server.engram.summaries import CACHE_FILE  # noqa: E402
from release_planner.tools.ports import Change, TaskRecord, new_entity_id  # noqa: E402


def log(message: str) -> None:
    print(f"[targets] {message}", file=sys.stderr, flush=True)


def _params(workspace: Path) -> StdioServerParameters:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return StdioServerParameters(
        command=sys.executable, args=[str(BENCH / "_serve_with_noop.py"), str(workspace)], env=env
    )


def _structured(result: Any) -> dict[str, Any]:
    data = result.structured_content
    if isinstance(data, dict) and set(data) == {"result"}:
        data = data["result"]
    assert isinstance(data, dict)
    return data


async def serve_and_measure(workspace: Path, *, lists: int, errlog: Any) -> dict[str, Any]:
    """Spawn -> initialized -> first get_release_plan answer; then list_release_plans ``lists`` times;
    then memory. The server starts indexing in the background as soon as it starts (app lifespan)."""
    started = time.perf_counter()
    async with Client(stdio_client(_params(workspace), errlog=errlog), mode="legacy") as client:
        connected = time.perf_counter()
        first = await client.call_tool("get_release_plan", {"version": "2.5.0"})
        first_s = time.perf_counter() - connected
        spawn_s = time.perf_counter() - started
        found = not first.is_error
        for _ in range(lists):
            await client.call_tool("list_release_plans", {})
        stats = _structured(await client.call_tool(_instrument.STATS, {"reset": True}))
    list_ns = stats["timings"]["server"].get("list_release_plans", [])
    return {
        "first_s": first_s,
        "spawn_s": spawn_s,
        "found": found,
        "rss_mb": stats["status"]["VmRSS"] / 1024,
        "hwm_mb": stats["status"]["VmHWM"] / 1024,
        "list_ms": statistics.median(list_ns[1:] or list_ns) / 1e6 if list_ns else float("nan"),
    }


def for_each_ref_s(workspace: Path, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        argv = ["git", "-C", str(workspace), "for-each-ref", "refs/engram"]
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def history(root: Path, revisions: int, reads: int = 30) -> tuple[int, float]:
    """(inotify watches, stat-fallback read p50 ms) with one task written ``revisions`` times."""
    ws = root / f"history-{revisions}"
    shutil.rmtree(ws, ignore_errors=True)
    task = new_entity_id()
    with GitRefsStore(ws) as store:
        store.commit([Change(task, TaskRecord(title="Release v1.0.0 - History"))])
        for n in range(1, revisions):
            record = TaskRecord(title=f"Release v1.0.0 - History {n}")
            store.commit([Change(task, record, expected_revision=n)])
    with GitRefsStore(ws, refresh="inotify") as watched:
        watched.warm()
        ino = watched._ino
        watches = len(ino._wds) if ino is not None else -1
    with GitRefsStore(ws, refresh="stat") as polled:
        polled.warm()
        times = []
        for _ in range(reads):
            start = time.perf_counter()
            polled.get("task", task)
            times.append(time.perf_counter() - start)
    return watches, statistics.median(times) * 1000


def row(target: str, measured: str, ratio: float, limit: float, unit: str = "x") -> tuple[str, ...]:
    met = "met" if ratio <= limit else "MISSED"
    return (
        target,
        measured,
        f"{ratio:.3f}{unit}" if ratio < 0.1 else f"{ratio:.2f}{unit}",
        f"<= {limit:g}{unit}",
        met,
    )


async def peer_rows(
    root: Path, cache: RepoCache, ns: argparse.Namespace, errlog: Any
) -> list[tuple[str, ...]]:
    import _vs_peer

    why = _vs_peer.available()
    if why is not None:
        log(f"peer skipped: {why}")
        return []
    example = await _vs_peer.example_vs_peer(root / "peer", ns.peer_rounds, errlog)
    log(f"seed example: ours {example['ours_ms']:.1f} ms, server-memory {example['peer_ms']:.1f} ms")
    lead = await _vs_peer.lead_at_scale(root / "peer", cache, example, 10_000, ns.peer_rounds * 2, errlog)
    log(f"at 10,000: read {lead['ours_read']:.2f} vs {lead['peer_read']:.1f} ms")
    log(f"at 10,000: write {lead['ours_write']:.2f} vs {lead['peer_write']:.1f} ms")
    rows = [
        row(
            "seed example over stdio, fresh store, vs server-memory",
            f"{example['ours_ms']:.1f} vs {example['peer_ms']:.1f} ms (8 vs 16 calls, p50 of {example['n']})",
            example["ours_ms"] / example["peer_ms"],
            1,
        )
    ]
    for what, ours, peer in (
        ("read one release back", lead["ours_read"], lead["peer_read"]),
        ("store one artifact", lead["ours_write"], lead["peer_write"]),
    ):
        rows.append(
            row(
                f"{what} at 10,000 vs server-memory at {lead['records']:,} records",
                f"{ours:.2f} vs {peer:.1f} ms ({peer / ours:.0f}x lead)",
                ours / peer,
                1 / 50,
            )
        )
    return rows


async def main_async(ns: argparse.Namespace) -> int:
    root = Path(ns.root) if ns.root else Path(tempfile.mkdtemp(prefix="release-planner-targets-"))
    root.mkdir(parents=True, exist_ok=True)
    cache = RepoCache(root)
    log(f"workspaces in {root}; populating {ns.entities:,} entities (reused if present)")
    base = cache.get(ns.entities)
    work = root / f"ws-{ns.entities}-targets"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work, symlinks=True)
    (work / ".git" / CACHE_FILE).unlink(missing_ok=True)
    empty = root / "ws-empty-targets"
    shutil.rmtree(empty, ignore_errors=True)
    GitRefsStore(empty).close()
    rows: list[tuple[str, ...]] = []
    with (root / "targets-stderr.log").open("w") as errlog:
        fer = for_each_ref_s(work)
        log(f"git for-each-ref refs/engram: {fer * 1000:.0f} ms")
        cold = await serve_and_measure(work, lists=1, errlog=errlog)
        log(f"cold: first answer {cold['first_s']:.2f} s")
        warm = await serve_and_measure(work, lists=ns.lists, errlog=errlog)
        log(f"restart: first answer {warm['first_s']:.2f} s, list p50 {warm['list_ms']:.2f} ms")
        none = await serve_and_measure(empty, lists=1, errlog=errlog)
        fer_after = for_each_ref_s(work)
    if not (cold["found"] and warm["found"]):
        raise SystemExit("get_release_plan 2.5.0 failed on the populated workspace")
    floor = statistics.mean([fer, fer_after])
    n = f"{ns.entities:,}"
    rss_delta = warm["rss_mb"] - none["rss_mb"]
    rows.append(
        row(
            f"RSS at {n} minus empty store",
            f"{warm['rss_mb']:.0f} - {none['rss_mb']:.0f} MB (HWM {warm['hwm_mb']:.0f} MB)",
            rss_delta,
            100,
            " MB",
        )
    )
    rows.append(
        row(
            f"first answer, cold {n} workspace",
            f"{cold['first_s'] * 1000:.0f} ms (spawn to answer {cold['spawn_s'] * 1000:.0f} ms) "
            f"vs for-each-ref {floor * 1000:.0f} ms",
            cold["first_s"] / floor,
            5,
        )
    )
    rows.append(
        row(
            f"first answer after a restart, {n}",
            f"{warm['first_s'] * 1000:.0f} ms (spawn to answer {warm['spawn_s'] * 1000:.0f} ms) "
            f"vs for-each-ref {floor * 1000:.0f} ms",
            warm["first_s"] / floor,
            2,
        )
    )
    rows.append(
        row(f"list_release_plans at {n} (srv p50)", f"{warm['list_ms']:.2f} ms", warm["list_ms"], 10, " ms")
    )
    if ns.history:
        hist_root = root / "history"
        small_w, small_t = history(hist_root, 12)
        big_w, big_t = history(hist_root, ns.history)
        log(f"history: watches {small_w} vs {big_w}, stat read {small_t:.2f} vs {big_t:.2f} ms")
        rows.append(
            row(
                f"inotify watches, {ns.history:,} vs 12 revisions",
                f"{big_w} vs {small_w}",
                big_w / small_w,
                1,
            )
        )
        rows.append(
            row(
                f"stat-fallback read, {ns.history:,} vs 12 revisions",
                f"{big_t:.2f} vs {small_t:.2f} ms",
                big_t / small_t,
                1.5,
            )
        )
    if ns.peer:
        with (root / "targets-peer-stderr.log").open("w") as errlog:
            rows.extend(await peer_rows(root, cache, ns, errlog))
    if not ns.root:
        shutil.rmtree(root, ignore_errors=True)
    header = ("target", "measured", "ratio", "limit", "met?")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--root", help="keep populated workspaces here and reuse them")
    parser.add_argument("--history", type=int, default=2002, help="revisions of one entity (0: skip)")
    parser.add_argument("--lists", type=int, default=30, help="list_release_plans calls after a restart")
    parser.add_argument("--no-peer", dest="peer", action="store_false", help="skip server-memory (needs npx)")
    parser.add_argument("--peer-rounds", type=int, default=5, help="seed example rounds per server")
    return anyio.run(main_async, parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
