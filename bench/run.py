"""Benchmarks of engram-release-planner: ``python bench/run.py [--quick]`` prints one table.

Not part of the test suite. What it measures (DESIGN.md "Targets"; bench/README.md explains each
column):

1. protocol floor: each of the nine tools against a no-op tool registered on the same built server,
   in process (``mcp.Client(server)`` in legacy and default mode) and over stdio, with 100, 10,000
   and 100,000 entities in the git store; round trip, server-side and use-case time;
2. the seed's full example (all six steps) over stdio, each round a fresh server and workspace;
3. cold start, our server against a bare ``MCPServer``;
4. the peer ``@modelcontextprotocol/server-memory`` storing and reading back the same release;
5. the server's resident memory with 100,000 entities against an empty store.

The machine is noisy, so subjects are interleaved (shuffled each round), repeated, and reported as
medians and p99 (nearest rank; with fewer than 100 samples p99 is the slowest sample). Ratios are
computed from samples of the same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import _coldstart  # noqa: E402
import _instrument  # noqa: E402
import _peer  # noqa: E402
from _populate import RepoCache  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from release_planner.server.app import build_server  # noqa: E402
from release_planner.server.engram.gitrefs import GitRefsStore  # noqa: E402
from release_planner.server.settings import Settings  # noqa: E402
from release_planner.tools.examples import migration, release_plan, rollback, rollout, runbook  # noqa: E402

REPO_ROOT = BENCH.parent
NOOP, NOOP_THREAD = _instrument.NOOP, _instrument.NOOP_THREAD
WRITE_TOOLS = (
    "create_release_plan",
    "design_migration_path",
    "design_rollback",
    "plan_rollout",
    "create_runbook",
    "link_release_entities",
)
READ_TOOLS = ("get_release_plan", "list_release_plans", "summarize_release")
TARGET_SIZE = 10_000  # DESIGN: the ratio targets hold at 10,000 entities

# Writes update v2.5.0 in place (v3.0.0 for the migration path) every round, as an agent revising a
# plan does. Reads go to 1.3.0, a populated release nobody writes during the run (the steady state),
# and get_release_plan also to v2.5.0, which has usually just been rewritten in the same round.
STEADY = "1.3.0"
SUBJECTS: dict[str, tuple[str, dict[str, Any]]] = {
    NOOP: (NOOP, {"version": "2.5.0"}),
    NOOP_THREAD: (NOOP_THREAD, {"version": "2.5.0"}),
    "create_release_plan": ("create_release_plan", release_plan.ARGS),
    "design_migration_path": ("design_migration_path", migration.ARGS),
    "design_rollback": ("design_rollback", rollback.ARGS),
    "plan_rollout": ("plan_rollout", rollout.ARGS),
    "create_runbook": ("create_runbook", runbook.ARGS),
    "link_release_entities": ("link_release_entities", {"version": "2.5.0"}),
    "get_release_plan": ("get_release_plan", {"version": STEADY}),
    "get_release_plan (just rewritten)": ("get_release_plan", {"version": "2.5.0"}),
    "list_release_plans": ("list_release_plans", {}),
    "summarize_release": ("summarize_release", {"version": STEADY}),
}


def subject_tool(subject: str) -> str:
    return SUBJECTS[subject][0]


# The seed's six steps as an agent runs them on a new workspace (step 2 needs its v3.0.0 plan).
EXAMPLE: list[tuple[str, str, dict[str, Any]]] = [
    ("1 create_release_plan 2.5.0", "create_release_plan", release_plan.ARGS),
    ("2a create_release_plan 3.0.0", "create_release_plan", migration.PLAN_V3_ARGS),
    ("2b design_migration_path 3.0.0", "design_migration_path", migration.ARGS),
    ("3 design_rollback", "design_rollback", rollback.ARGS),
    ("4 plan_rollout", "plan_rollout", rollout.ARGS),
    ("5 create_runbook", "create_runbook", runbook.ARGS),
    ("6a link_release_entities 2.5.0", "link_release_entities", {"version": "2.5.0"}),
    ("6b link_release_entities 3.0.0", "link_release_entities", {"version": "3.0.0"}),
]
READ_BACK = ("get_release_plan", {"version": "2.5.0"})


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Config:
    sizes: tuple[int, ...]
    rounds: int  # floor rounds per size and transport
    budget_s: float  # stop sampling a subject once it has used this much time ...
    min_n: int  # ... and has at least this many samples
    example_rounds: int
    cold_spawns: int
    peer: bool
    peer_scale: int  # records in the peer's graph file for the at-scale comparison (0: skip)


FULL = Config((100, 10_000, 100_000), 150, 12.0, 3, 8, 12, True, 10_000)
QUICK = Config((100, 10_000), 25, 3.0, 3, 3, 6, True, 0)


# --------------------------------------------------------------------------------------------------
# Statistics and the table.


def pct(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    data = sorted(values)
    if not data:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(data)))
    return data[rank - 1]


def ms(ns: Iterable[int]) -> list[float]:
    return [v / 1e6 for v in ns]


@dataclass
class Row:
    section: str
    subject: str
    entities: str = ""
    transport: str = ""
    n: int | str = ""
    p50: float | None = None
    p99: float | None = None
    srv: float | None = None  # server-side p50 ms (MCPServer.call_tool)
    uc: float | None = None  # use-case p50 ms (ReleasePlanner method in its worker thread)
    ratio: float | None = None
    rt_ratio: float | None = None
    target: str = ""
    met: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row


def _num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}f}" if abs(value) >= 0.1 else f"{value:.3f}"


def render(report: Report) -> str:
    headers = [
        "subject",
        "entities",
        "transport",
        "n",
        "p50 ms",
        "p99 ms",
        "srv p50",
        "uc p50",
        "ratio",
        "rt ratio",
        "target",
        "met?",
    ]
    body: list[list[str] | str] = []
    section = None
    for r in report.rows:
        if r.section != section:
            section = r.section
            body.append(section)
        body.append(
            [
                r.subject,
                r.entities,
                r.transport,
                str(r.n),
                _num(r.p50),
                _num(r.p99),
                _num(r.srv),
                _num(r.uc),
                _num(r.ratio) + ("x" if r.ratio is not None else ""),
                _num(r.rt_ratio) + ("x" if r.rt_ratio is not None else ""),
                r.target,
                r.met,
            ]
        )
    widths = [len(h) for h in headers]
    for line in body:
        if isinstance(line, list):
            widths = [max(w, len(c)) for w, c in zip(widths, line, strict=True)]
    numeric = {3, 4, 5, 6, 7, 8, 9}

    def fmt_line(cells: list[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            out.append(cell.rjust(width) if i in numeric else cell.ljust(width))
        return "| " + " | ".join(out) + " |"

    lines = [fmt_line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for line in body:
        lines.append(f"| **{line}**" if isinstance(line, str) else fmt_line(line))
    if report.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in report.notes)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Calling tools.


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def call(client: Any, name: str, args: dict[str, Any]) -> tuple[int, Any]:
    start = time.perf_counter_ns()
    result = await client.call_tool(name, args)
    elapsed = time.perf_counter_ns() - start
    if result.is_error:
        raise BenchError(f"{name} failed: {_text(result)[:500]}")
    return elapsed, result


def structured(result: Any) -> dict[str, Any]:
    data = result.structured_content
    if isinstance(data, dict) and set(data) == {"result"}:
        data = data["result"]
    if not isinstance(data, dict):
        data = json.loads(_text(result))
    return data


@dataclass
class Target:
    """One client under test: a size, a transport, and how its server-side samples are keyed."""

    size: int
    transport: str  # in-process legacy / in-process auto / stdio legacy
    client: Any
    label: str  # in process: the _instrument label of its calls; stdio: "" (its own process)

    @property
    def key(self) -> str:
        return f"{self.size}|{self.transport}"


Samples = dict[tuple[str, str], list[int]]


async def drive(
    targets: list[Target], cfg: Config, rng: random.Random, log: Callable[[str], None]
) -> Samples:
    """Interleaved rounds over every size and transport at once: each round visits every subject
    in a new random order, and for each subject every target in a new random order, so noise from
    the machine lands on all of them alike. A subject leaves once it has used its time budget."""
    for target in targets:
        _instrument.LABEL["current"] = target.label
        for tool, args in SUBJECTS.values():
            await call(target.client, tool, args)  # warm-up; first calls have their own rows
    for clock in _instrument.TIMINGS.values():
        clock.clear()
    samples: Samples = defaultdict(list)
    spent: dict[tuple[str, str], int] = defaultdict(int)
    active = {(t.key, name) for t in targets for name in SUBJECTS}
    budget = int(cfg.budget_s * 1e9)
    started = time.perf_counter()
    for round_no in range(cfg.rounds):
        if not active:
            break
        order = list(SUBJECTS)
        rng.shuffle(order)
        for name in order:
            shuffled = list(targets)
            rng.shuffle(shuffled)
            for target in shuffled:
                key = (target.key, name)
                if key not in active:
                    continue
                _instrument.LABEL["current"] = target.label
                elapsed, _ = await call(target.client, *SUBJECTS[name])
                samples[key].append(elapsed)
                spent[key] += elapsed
                if spent[key] > budget and len(samples[key]) >= cfg.min_n:
                    active.discard(key)
        if round_no % 25 == 24:
            log(f"    round {round_no + 1}/{cfg.rounds} ({time.perf_counter() - started:.0f} s)")
    _instrument.LABEL["current"] = ""
    return samples


def _p50_of(timings: dict[str, list[int]], key: str) -> float | None:
    values = timings.get(key)
    return pct(ms(values), 50) if values else None


SECTION4 = (
    "4. peer @modelcontextprotocol/server-memory: same release, same client, same run (ratio = ours / peer)"
)
FLOOR_SECTION = (
    "1. protocol floor: each tool vs a no-op on the same server (ratio = server-side p50 / no-op's)"
)


def add_floor_rows(
    report: Report, target: Target, samples: Samples, timings: dict[str, dict[str, list[int]]]
) -> None:
    def server_key(subject: str) -> str:
        tool, args = SUBJECTS[subject]
        _instrument.LABEL["current"] = target.label
        try:
            return _instrument.sample_key(tool, args.get("version"))
        finally:
            _instrument.LABEL["current"] = ""

    floor_rt = pct(ms(samples[(target.key, NOOP)]), 50)
    floor_srv = _p50_of(timings["server"], server_key(NOOP))
    for name in SUBJECTS:
        values = ms(samples[(target.key, name)])
        srv = _p50_of(timings["server"], server_key(name))
        uc = _p50_of(timings["use_case"], server_key(name))
        ratio = srv / floor_srv if srv is not None and floor_srv else None
        target_text = met = ""
        tool = subject_tool(name)
        if target.size == TARGET_SIZE and tool in WRITE_TOOLS + READ_TOOLS:
            limit = 3.0 if tool in WRITE_TOOLS else 2.0
            target_text = f"srv <= {limit:g}x no-op"
            met = "yes" if ratio is not None and ratio <= limit else "NO"
        report.add(
            Row(
                FLOOR_SECTION,
                f"{name} (floor)" if name == NOOP else name,
                f"{target.size:,}",
                target.transport,
                len(values),
                pct(values, 50),
                pct(values, 99),
                srv,
                uc,
                ratio,
                pct(values, 50) / floor_rt if floor_rt else None,
                target_text,
                met,
            )
        )


def _stdio_params(argv: list[str], env: dict[str, str] | None = None) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=argv, env=env or dict(os.environ), cwd=str(REPO_ROOT)
    )


SETUP = "0. setup (informational)"


async def protocol_floor(
    cache: RepoCache, cfg: Config, report: Report, log: Callable[[str], None], errlog: Any
) -> tuple[Samples, dict[int, dict[str, int]]]:
    """Section 1 for every size at once; returns the samples and each stdio server's memory."""
    targets: list[Target] = []
    stdio_targets: list[Target] = []
    async with AsyncExitStack() as stack:
        for n in cfg.sizes:
            log(f"{n:,} entities: populating")
            started = time.perf_counter()
            repo = await anyio.to_thread.run_sync(cache.get, n)
            built = cache.built[n]
            populate_ms = (time.perf_counter() - started) * 1000
            refs = built["refs"]
            report.add(
                Row(
                    SETUP,
                    f"populate ({built['releases']:,} releases, {refs} refs)",
                    f"{built['entities']:,}",
                    "-",
                    1,
                    populate_ms,
                )
            )
            stdio_repo = await anyio.to_thread.run_sync(cache.copy, n, "stdio")

            # In process: one store and one server for both clients, as one server process holds.
            started = time.perf_counter()
            store = await anyio.to_thread.run_sync(GitRefsStore, repo)
            open_ms = (time.perf_counter() - started) * 1000
            stack.callback(store.close)
            server = _instrument.instrument(build_server(Settings(workspace=repo, store="git"), store=store))
            legacy = await stack.enter_async_context(Client(server, mode="legacy"))
            auto = await stack.enter_async_context(Client(server))
            _instrument.LABEL["current"] = f"{n}|auto"
            first_ms = (await call(auto, "get_release_plan", {"version": "2.5.0"}))[0] / 1e6
            report.add(
                Row(SETUP, "in process: GitRefsStore(workspace) open", f"{n:,}", "in-process", 1, open_ms)
            )
            report.add(
                Row(
                    SETUP,
                    "in process: first call (get_release_plan; scans all refs)",
                    f"{n:,}",
                    "in-process auto",
                    1,
                    first_ms,
                )
            )
            targets.append(Target(n, "in-process legacy", legacy, f"{n}|legacy"))
            targets.append(Target(n, "in-process auto", auto, f"{n}|auto"))

            params = _stdio_params([str(BENCH / "_serve_with_noop.py"), str(stdio_repo)])
            started = time.perf_counter()
            client = await stack.enter_async_context(
                Client(stdio_client(params, errlog=errlog), mode="legacy")
            )
            connect_ms = (time.perf_counter() - started) * 1000
            first_ms = (await call(client, "get_release_plan", {"version": "2.5.0"}))[0] / 1e6
            report.add(
                Row(
                    SETUP,
                    "stdio: spawn to initialized (Client connect)",
                    f"{n:,}",
                    "stdio legacy",
                    1,
                    connect_ms,
                )
            )
            report.add(
                Row(
                    SETUP,
                    "stdio: first call (get_release_plan; scans all refs)",
                    f"{n:,}",
                    "stdio legacy",
                    1,
                    first_ms,
                )
            )
            stdio_target = Target(n, "stdio legacy", client, "")
            targets.append(stdio_target)
            stdio_targets.append(stdio_target)
            log(
                f"  ready: store open {open_ms:.0f} ms, stdio connect {connect_ms:.0f} ms, "
                f"stdio first call {first_ms:.0f} ms"
            )

        log(f"section 1: {len(targets)} clients, interleaved")
        samples = await drive(targets, cfg, random.Random(7), log)
        in_process = {clock: dict(per_tool) for clock, per_tool in _instrument.TIMINGS.items()}
        statuses: dict[int, dict[str, int]] = {}
        for target in stdio_targets:
            _, res = await call(target.client, _instrument.STATS, {"reset": True})
            timings = structured(res)["timings"]
            # Memory after one get and one list, what an agent does first in a session.
            await call(target.client, "get_release_plan", {"version": "2.5.0"})
            await call(target.client, "list_release_plans", {})
            _, res = await call(target.client, _instrument.STATS, {"reset": True})
            statuses[target.size] = dict(structured(res)["status"])
            add_floor_rows(report, target, samples, timings)
        for target in targets:
            if target.label:
                add_floor_rows(report, target, samples, in_process)
    for clock in _instrument.TIMINGS.values():
        clock.clear()
    _reorder_floor_rows(report)
    add_scaling_rows(report, samples, in_process)
    return samples, statuses


def _reorder_floor_rows(report: Report) -> None:
    """Section 1 rows by size, then transport (in-process legacy, auto, stdio), then subject order."""
    transports = {"in-process legacy": 0, "in-process auto": 1, "stdio legacy": 2}
    subjects = {f"{name} (floor)" if name == NOOP else name: i for i, name in enumerate(SUBJECTS)}
    floor = [r for r in report.rows if r.section == FLOOR_SECTION]
    rest = [r for r in report.rows if r.section != FLOOR_SECTION]
    floor.sort(key=lambda r: (int(r.entities.replace(",", "")), transports[r.transport], subjects[r.subject]))
    report.rows[:] = rest + floor


# --------------------------------------------------------------------------------------------------
# 2 + 4. The seed's full example over stdio, and the peer storing the same release.


async def example_round(workspace: Path, errlog: Any) -> tuple[dict[str, int], int, int, list[dict]]:
    params = _stdio_params(
        ["-m", "release_planner.server", "serve", "--workspace", str(workspace), "--store", "git"]
    )
    per_step: dict[str, int] = {}
    results: list[dict] = []
    async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
        started = time.perf_counter_ns()
        for label, tool, args in EXAMPLE:
            elapsed, res = await call(client, tool, args)
            per_step[label] = elapsed
            results.append(structured(res))
        wall = time.perf_counter_ns() - started
        read, _ = await call(client, *READ_BACK)
    return per_step, wall, read, results


def stored_artifacts(results: list[dict]) -> list[_peer.Stored]:
    names = {"2.5.0": release_plan.ARGS["name"], "3.0.0": migration.PLAN_V3_ARGS["name"]}
    arts = []
    for (_label, tool, args), res in zip(EXAMPLE, results, strict=True):
        if tool == "link_release_entities":
            continue
        art = res["artifact"]
        version = res["release"]
        arts.append(
            _peer.Stored(
                release=version,
                hub=f"Release v{version} - {names[version]}",
                name=art["title"],
                kind=art["kind"],
                markdown=res["markdown"],
                spec_json=json.dumps(args),
                relation="references" if art["kind"] in ("release_plan", "runbook") else "documents",
            )
        )
    return arts


def peer_script(arts: list[_peer.Stored]) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """The peer's calls, grouped like our example's steps."""
    steps: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = []
    seen_hubs: set[str] = set()
    by_release: dict[str, list[_peer.Stored]] = defaultdict(list)
    writes = iter(arts)
    for label, tool, args in EXAMPLE:
        if tool == "link_release_entities":
            version = args["version"]
            steps.append((label, _peer.link_calls(by_release[version])))
            continue
        art = next(writes)
        by_release[art.release].append(art)
        steps.append((label, _peer.step_calls(art, art.hub not in seen_hubs)))
        seen_hubs.add(art.hub)
    return steps


async def peer_round(
    memory_file: Path,
    script: list[tuple[str, list[tuple[str, dict[str, Any]]]]],
    read_names: list[str],
    errlog: Any,
) -> tuple[dict[str, int], dict[str, list[int]], int, int, int]:
    per_step: dict[str, int] = {}
    per_tool: dict[str, list[int]] = defaultdict(list)
    async with Client(stdio_client(_peer.server_params(memory_file), errlog=errlog), mode="legacy") as client:
        started = time.perf_counter_ns()
        for label, calls in script:
            step_ns = 0
            for tool, args in calls:
                elapsed, _ = await call(client, tool, args)
                per_tool[tool].append(elapsed)
                step_ns += elapsed
            per_step[label] = step_ns
        wall = time.perf_counter_ns() - started
        read, _ = await call(client, "open_nodes", {"names": read_names})
        graph, _ = await call(client, "read_graph", {})
    return per_step, per_tool, wall, read, graph


async def example_and_peer(
    root: Path,
    cfg: Config,
    report: Report,
    log: Callable[[str], None],
    errlog: Any,
    ours_at_scale: dict[str, list[int]],
) -> None:
    ours_steps: dict[str, list[int]] = defaultdict(list)
    ours_wall: list[int] = []
    ours_read: list[int] = []
    peer_steps: dict[str, list[int]] = defaultdict(list)
    peer_tools: dict[str, list[int]] = defaultdict(list)
    peer_wall: list[int] = []
    peer_read: list[int] = []
    peer_graph: list[int] = []
    script: list | None = None
    read_names: list[str] = []
    peer_ok = cfg.peer
    if peer_ok:
        try:
            _peer.npx()
        except RuntimeError as exc:
            report.notes.append(f"peer skipped: {exc}")
            peer_ok = False
    arts: list[_peer.Stored] = []
    for k in range(cfg.example_rounds):
        order = ["ours", "peer"] if k % 2 == 0 or script is None else ["peer", "ours"]
        for who in order:
            if who == "ours":
                steps, wall, read, results = await example_round(root / f"example-{k}", errlog)
                for label, elapsed in steps.items():
                    ours_steps[label].append(elapsed)
                ours_wall.append(wall)
                ours_read.append(read)
                if script is None:
                    arts = stored_artifacts(results)
                    script = peer_script(arts)
                    read_names = [arts[0].hub, *(a.name for a in arts if a.release == "2.5.0")]
            elif peer_ok and script is not None:
                try:
                    steps, tools, wall, read, graph = await peer_round(
                        root / f"peer-{k}.jsonl", script, read_names, errlog
                    )
                except Exception as exc:  # npm unreachable, package missing ...
                    report.notes.append(f"peer failed, skipped: {exc!r}"[:300])
                    peer_ok = False
                    continue
                for label, elapsed in steps.items():
                    peer_steps[label].append(elapsed)
                for tool, values in tools.items():
                    peer_tools[tool].extend(values)
                peer_wall.append(wall)
                peer_read.append(read)
                peer_graph.append(graph)
        log(f"  example round {k + 1}/{cfg.example_rounds}")

    section = "2. the seed's full example over stdio (a fresh server and workspace per round)"
    write_labels = [label for label, tool, _ in EXAMPLE if tool != "link_release_entities"]
    for label, _tool, _args in EXAMPLE:
        values = ms(ours_steps[label])
        report.add(Row(section, label, "new", "stdio legacy", len(values), pct(values, 50), pct(values, 99)))
    wall = ms(ours_wall)
    report.add(
        Row(
            section,
            "all six steps (8 calls), wall",
            "new",
            "stdio legacy",
            len(wall),
            pct(wall, 50),
            pct(wall, 99),
        )
    )
    if not (peer_ok and peer_wall):
        return
    section4 = SECTION4
    pw = ms(peer_wall)
    report.add(
        Row(
            section4,
            "peer: store the same release (6 steps, 16 calls), wall",
            "new",
            "stdio legacy",
            len(pw),
            pct(pw, 50),
            pct(pw, 99),
        )
    )
    report.add(
        Row(
            section4,
            "ours: all six steps (8 calls), wall",
            "new",
            "stdio legacy",
            len(wall),
            pct(wall, 50),
            pct(wall, 99),
            ratio=pct(wall, 50) / pct(pw, 50),
        )
    )
    ours_write = ms([v for label in write_labels for v in ours_steps[label]])
    peer_write = ms([v for label in write_labels for v in peer_steps[label]])
    report.add(
        Row(
            section4,
            "peer: store one artifact (create_entities + create_relations)",
            "new",
            "stdio legacy",
            len(peer_write),
            pct(peer_write, 50),
            pct(peer_write, 99),
        )
    )
    report.add(
        Row(
            section4,
            "ours: store one artifact (one write tool call)",
            "new",
            "stdio legacy",
            len(ours_write),
            pct(ours_write, 50),
            pct(ours_write, 99),
            ratio=pct(ours_write, 50) / pct(peer_write, 50),
        )
    )
    for tool in ("create_entities", "create_relations"):
        values = ms(peer_tools[tool])
        report.add(
            Row(
                section4,
                f"peer: {tool} (each call)",
                "new",
                "stdio legacy",
                len(values),
                pct(values, 50),
                pct(values, 99),
            )
        )
    pr, ours_r, pg = ms(peer_read), ms(ours_read), ms(peer_graph)
    report.add(
        Row(
            section4,
            "peer: read back v2.5.0 (open_nodes, 5 nodes)",
            "new",
            "stdio legacy",
            len(pr),
            pct(pr, 50),
            pct(pr, 99),
        )
    )
    report.add(
        Row(
            section4,
            "peer: read_graph (both releases)",
            "new",
            "stdio legacy",
            len(pg),
            pct(pg, 50),
            pct(pg, 99),
        )
    )
    report.add(
        Row(
            section4,
            "ours: read back v2.5.0 (get_release_plan)",
            "new",
            "stdio legacy",
            len(ours_r),
            pct(ours_r, 50),
            pct(ours_r, 99),
            ratio=pct(ours_r, 50) / pct(pr, 50),
        )
    )
    if cfg.peer_scale:
        await peer_at_scale(root, arts, read_names, cfg, report, errlog, log, ours_at_scale)


async def peer_at_scale(
    root: Path,
    arts: list[_peer.Stored],
    read_names: list[str],
    cfg: Config,
    report: Report,
    errlog: Any,
    log: Callable[[str], None],
    ours_at_scale: dict[str, list[int]],
) -> None:
    """The peer with ~10,000 records in its file (v2.5.0's artifacts cloned), against our stdio
    server at 10,000 entities from section 1 (same run, earlier phase)."""
    v25 = [a for a in arts if a.release == "2.5.0"]
    per_copy = 1 + 2 * len(v25)
    path = root / "peer-scale.jsonl"
    records = _peer.write_graph_file(path, v25, cfg.peer_scale // per_copy)
    names = [f"{n} #0" for n in read_names]
    reads: list[int] = []
    writes: list[int] = []
    async with Client(stdio_client(_peer.server_params(path), errlog=errlog), mode="legacy") as client:
        await call(client, "open_nodes", {"names": names})
        for i in range(5):
            elapsed, _ = await call(client, "open_nodes", {"names": names})
            reads.append(elapsed)
            art = v25[i % len(v25)]
            new = _peer.entity(f"{art.name} (rev {i})", art.kind, [art.markdown, art.spec_json])
            elapsed, _ = await call(client, "create_entities", {"entities": [new]})
            writes.append(elapsed)
    log(f"  peer at {records:,} records done")
    section4 = SECTION4
    size = f"{records:,}"
    ours_size = f"{TARGET_SIZE:,}"
    pairs: list[tuple[str, list[int], list[tuple[str, str]]]] = [
        (
            "read back one release (open_nodes)",
            reads,
            [
                ("get_release_plan", "read back a release (get_release_plan, unchanged release)"),
                (
                    "get_release_plan (just rewritten)",
                    "read back a release (get_release_plan, just rewritten)",
                ),
            ],
        ),
        (
            "store one artifact (create_entities)",
            writes,
            [("write", "store one artifact (write tools, pooled)")],
        ),
    ]
    for peer_label, peer_ns, ours in pairs:
        p = ms(peer_ns)
        report.add(Row(section4, f"peer: {peer_label}", size, "stdio legacy", len(p), pct(p, 50), pct(p, 99)))
        for ours_key, ours_label in ours:
            o = ms(ours_at_scale.get(ours_key, []))
            if o:
                report.add(
                    Row(
                        section4,
                        f"ours: {ours_label}, section 1",
                        ours_size,
                        "stdio legacy",
                        len(o),
                        pct(o, 50),
                        pct(o, 99),
                        ratio=pct(o, 50) / pct(p, 50),
                    )
                )
    report.notes.append(
        f"peer at scale: its JSONL file holds {records:,} records ({path.stat().st_size / 1e6:.0f} MB), "
        "re-read (and, on writes, rewritten) whole on every call"
    )


# --------------------------------------------------------------------------------------------------
# 3. Cold start.


def cold_start(workspace: Path, cfg: Config, report: Report, log: Callable[[str], None]) -> None:
    ours = [
        sys.executable,
        "-m",
        "release_planner.server",
        "serve",
        "--workspace",
        str(workspace),
        "--store",
        "git",
    ]
    bare = [sys.executable, str(BENCH / "_bare_server.py")]
    env = dict(os.environ)
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    _coldstart.spawn_to_initialize(ours, env=env, cwd=str(REPO_ROOT))  # page cache, .pyc files
    _coldstart.spawn_to_initialize(bare, env=env, cwd=str(REPO_ROOT))
    for i in range(cfg.cold_spawns):
        pair = [("ours", ours), ("bare", bare)]
        if i % 2:
            pair.reverse()
        for who, argv in pair:
            times[who].append(_coldstart.spawn_to_initialize(argv, env=env, cwd=str(REPO_ROOT)) * 1000)
    log("  cold start done")
    section = "3. cold start: spawn to initialize reply (raw JSON-RPC on pipes, empty initialised workspace)"
    b = times["bare"]
    o = times["ours"]
    report.add(
        Row(section, "bare MCPServer (imports nothing else)", "0", "stdio", len(b), pct(b, 50), pct(b, 99))
    )
    ratio = pct(o, 50) / pct(b, 50)
    report.add(
        Row(
            section,
            "engram-release-planner serve --store git",
            "0",
            "stdio",
            len(o),
            pct(o, 50),
            pct(o, 99),
            ratio=ratio,
            target="<= 1.25x bare",
            met="yes" if ratio <= 1.25 else "NO",
        )
    )


# --------------------------------------------------------------------------------------------------
# 5. Memory.


async def memory_empty(workspace: Path, errlog: Any) -> dict[str, int]:
    params = _stdio_params([str(BENCH / "_serve_with_noop.py"), str(workspace)])
    async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
        result = await client.call_tool(
            "get_release_plan", {"version": "2.5.0"}
        )  # NotFound on an empty store
        if not result.is_error:
            raise BenchError("expected no release 2.5.0 in the empty workspace")
        await call(client, "list_release_plans", {})
        _, res = await call(client, _instrument.STATS, {"reset": True})
        return dict(structured(res)["status"])


def add_memory_rows(report: Report, statuses: dict[int, dict[str, int]], empty: dict[str, int]) -> None:
    section = (
        "5. memory: server RSS after get_release_plan + list_release_plans "
        "(p50 column = VmRSS MB, p99 column = VmHWM MB)"
    )
    base = empty["VmRSS"] / 1024
    report.add(Row(section, "stdio server, empty store", "0", "stdio legacy", 1, base, empty["VmHWM"] / 1024))
    for n_entities, status in sorted(statuses.items()):
        rss = status["VmRSS"] / 1024
        report.add(
            Row(
                section,
                "stdio server (+ bench no-op tools), after the section-1 rounds",
                f"{n_entities:,}",
                "stdio legacy",
                1,
                rss,
                status["VmHWM"] / 1024,
                ratio=rss / base,
            )
        )


# --------------------------------------------------------------------------------------------------
# Cross-size rows.


def add_scaling_rows(report: Report, samples: Samples, in_process: dict[str, dict[str, list[int]]]) -> None:
    """get_release_plan at the largest size against the smallest, from the same interleaved rounds."""
    subjects = [name for name in SUBJECTS if subject_tool(name) == "get_release_plan"]
    floor = [r for r in report.rows if r.section == FLOOR_SECTION and r.subject in subjects]
    by = {(r.subject, int(r.entities.replace(",", "")), r.transport): r for r in floor}
    sizes = sorted({size for _, size, _ in by})
    if len(sizes) < 2:
        return
    small, large = sizes[0], sizes[-1]
    section = f"1b. get_release_plan at {large:,} vs {small:,} entities (same interleaved rounds)"
    for subject in subjects:
        for transport in ("in-process legacy", "in-process auto", "stdio legacy"):
            a, b = by.get((subject, small, transport)), by.get((subject, large, transport))
            if a is None or b is None or a.srv is None or b.srv is None or a.p50 is None or b.p50 is None:
                continue
            ratio = b.srv / a.srv
            as_fast = large >= 100_000
            report.add(
                Row(
                    section,
                    subject,
                    f"{large:,} vs {small:,}",
                    transport,
                    f"{b.n}/{a.n}",
                    b.p50,
                    b.p99,
                    b.srv,
                    b.uc,
                    ratio,
                    b.p50 / a.p50,
                    target="srv <= 1.2x (as fast)" if as_fast else "",
                    met=("yes" if ratio <= 1.2 else "NO") if as_fast else "",
                )
            )


# --------------------------------------------------------------------------------------------------


async def run(cfg: Config, root: Path, loose_refs: bool, log: Callable[[str], None]) -> Report:
    report = Report()
    cache = RepoCache(root, loose_refs=loose_refs)
    with (root / "servers-stderr.log").open("w") as errlog:
        samples, statuses = await protocol_floor(cache, cfg, report, log, errlog)
        gc.collect()

        log("section 2 and 4: the seed's full example and the peer")
        ours_at_scale = {
            "get_release_plan": samples.get((f"{TARGET_SIZE}|stdio legacy", "get_release_plan"), []),
            "get_release_plan (just rewritten)": samples.get(
                (f"{TARGET_SIZE}|stdio legacy", "get_release_plan (just rewritten)"), []
            ),
            "write": [
                v for name in WRITE_TOOLS[:5] for v in samples.get((f"{TARGET_SIZE}|stdio legacy", name), [])
            ],
        }
        await example_and_peer(root, cfg, report, log, errlog, ours_at_scale)

        log("section 3: cold start")
        empty = await anyio.to_thread.run_sync(cache.empty)
        await anyio.to_thread.run_sync(cold_start, empty, cfg, report, log)

        log("section 5: memory, empty store")
        add_memory_rows(report, statuses, await memory_empty(cache.empty("ws-empty-memory"), errlog))
    report.rows.sort(key=lambda r: r.section.split(".")[0])
    report.notes.append(
        "p50/p99 = round trip measured by the client; srv p50 = MCPServer.call_tool (argument validation, "
        "the tool, result conversion; no framing); uc p50 = the ReleasePlanner method alone, in its worker "
        "thread; ratio = srv p50 / the no-op's srv p50 on the same server; rt ratio = round-trip p50 / the "
        "no-op's round-trip p50. Section 1 interleaves all sizes and transports in the same rounds."
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="100 and 10,000 entities, fewer rounds (smoke run)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the npm peer server")
    parser.add_argument(
        "--loose-refs", action="store_true", help="populate loose refs instead of packed-refs"
    )
    parser.add_argument("--tmp", metavar="DIR", help="where the workspaces go (default: the system temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the workspaces afterwards")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    ns = parser.parse_args(argv)
    cfg = QUICK if ns.quick else FULL
    if ns.no_peer:
        cfg = Config(**{**cfg.__dict__, "peer": False, "peer_scale": 0})
    root = Path(tempfile.mkdtemp(prefix="release-planner-bench-", dir=ns.tmp))
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    log(f"workspaces in {root}")
    try:
        report = anyio.run(run, cfg, root, ns.loose_refs, log)
    finally:
        if not ns.keep:
            shutil.rmtree(root, ignore_errors=True)
    report.notes.append(
        f"run: {'--quick' if ns.quick else 'full'}, {time.perf_counter() - started:.0f} s, "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(render(report))
    if ns.json:
        Path(ns.json).write_text(json.dumps([r.__dict__ for r in report.rows], indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
