"""Where the time goes: ``python bench/profile.py [--entities N] [--workspace DIR] [--what ...]``.

Companion of ``run.py`` for the targets it reports missed. It profiles the use cases directly
(``ReleasePlanner`` on a ``GitRefsStore``, in this thread, so the sampler sees them; the MCP layer's
share is the table's ``srv p50`` minus ``uc p50``), the store's open (full ref scan), and the cold
start's imports (``python -X importtime``). Output: pyinstrument call trees, one per subject.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _populate import RepoCache  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from release_planner.server.engram.gitrefs import GitRefsStore  # noqa: E402
from release_planner.tools.examples import rollout  # noqa: E402
from release_planner.tools.registry import BY_NAME  # noqa: E402
from release_planner.tools.service import ReleasePlanner  # noqa: E402

SUBJECTS = ("first", "memory", "list", "get", "write", "summarize", "startup", "imports")


def profile(label: str, fn: Callable[[], Any], repeat: int, interval: float = 0.0002) -> None:
    fn()  # warm
    profiler = Profiler(interval=interval)
    started = time.perf_counter()
    profiler.start()
    for _ in range(repeat):
        fn()
    profiler.stop()
    per_call = (time.perf_counter() - started) / repeat * 1000
    print(f"\n=== {label}: {repeat} call(s), {per_call:.2f} ms per call (under the profiler) ===")
    print(profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False))


def first_call(repo: Path) -> None:
    store = GitRefsStore(repo)
    try:
        ReleasePlanner(store).get_release_plan("2.5.0")
    finally:
        store.close()


def memory_top(repo: Path, top: int = 12) -> None:
    """What the store's index holds after the full scan, by allocating line (tracemalloc)."""
    import tracemalloc

    tracemalloc.start(1)
    store = GitRefsStore(repo)
    ReleasePlanner(store).get_release_plan("2.5.0")
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = snapshot.statistics("lineno")
    total = sum(s.size for s in stats)
    print(f"\n=== memory held after the first call: {total / 2**20:.0f} MiB traced, top {top} lines ===")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        print(f"{stat.size / 2**20:8.1f} MiB {stat.size / total:5.1%}  {frame.filename}:{frame.lineno}")
    store.close()


STARTUP = """
import sys, time
from pyinstrument import Profiler
p = Profiler(interval=0.0005)
p.start()
t0 = time.perf_counter()
from release_planner.server import cli
from release_planner.server.app import build_server, open_store
from release_planner.server.settings import Settings
t1 = time.perf_counter()
settings = Settings.from_sources({"workspace": sys.argv[1], "store": "git"})
server = build_server(settings)
t2 = time.perf_counter()
store = open_store(settings)
t3 = time.perf_counter()
p.stop()
print(f"imports {1000 * (t1 - t0):.0f} ms, build_server {1000 * (t2 - t1):.0f} ms, "
      f"open_store {1000 * (t3 - t2):.0f} ms (under the profiler)")
print(p.output_text(unicode=False, color=False, show_all=False))
"""


def startup(repo: Path) -> None:
    """What a fresh ``serve`` process does before it can answer ``initialize``, in a new interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", STARTUP, str(repo)], capture_output=True, text=True, check=True
    ).stdout
    print("\n=== start-up in a fresh interpreter: imports, build_server, open_store ===")
    print(out)


def import_times(top: int = 25) -> None:
    """Cumulative import time of the heaviest modules when the server starts (``-X importtime``)."""
    code = "import release_planner.server.cli as c; import release_planner.server.app as a; a.build_server()"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    ).stderr
    rows = []
    for line in out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), len(m.group(3)), m.group(4)))
    print(f"\n=== imports: top {top} by cumulative microseconds (indent = nesting depth) ===")
    for cumulative, depth, name in sorted(rows, reverse=True)[:top]:
        print(f"{cumulative / 1000:9.1f} ms  {' ' * (depth - 1)}{name}")
    bare = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import mcp.server.mcpserver"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    total = sum(int(m.group(1)) for m in re.finditer(r"import time:\s+(\d+) \|", bare))
    ours = sum(r[0] for r in rows if r[1] == 1)
    print(f"top-level imports: ours {ours / 1000:.0f} ms, bare mcp.server.mcpserver {total / 1000:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--workspace", help="a populated workspace (default: populate one in a temp dir)")
    parser.add_argument("--what", nargs="*", choices=SUBJECTS, default=list(SUBJECTS))
    ns = parser.parse_args(argv)
    scratch = None if ns.workspace else tempfile.TemporaryDirectory(prefix="release-planner-profile-")
    try:
        repo = Path(ns.workspace) if ns.workspace else RepoCache(Path(scratch.name)).get(ns.entities)  # type: ignore[union-attr]
        run(repo, ns.what)
    finally:
        if scratch is not None:
            scratch.cleanup()
    return 0


def run(repo: Path, what: list[str]) -> None:
    print(f"workspace {repo}")
    if "first" in what:
        profile("open + first call (the full ref scan)", lambda: first_call(repo), 1, 0.001)
    if "memory" in what:
        memory_top(repo)
    store = GitRefsStore(repo)
    planner = ReleasePlanner(store)
    rollout_spec = BY_NAME["rollout_plan"].spec.model_validate(rollout.ARGS)
    if "list" in what:
        profile("list_release_plans() (first page of 20)", lambda: planner.list_release_plans(), 30)
    if "get" in what:
        profile("get_release_plan('2.5.0')", lambda: planner.get_release_plan("2.5.0"), 200)
    if "summarize" in what:
        profile("summarize_release('2.5.0')", lambda: planner.summarize_release("2.5.0"), 200)
    if "write" in what:

        def write_then_read() -> None:
            planner.plan_rollout(rollout_spec)
            planner.get_release_plan("2.5.0")  # the release just changed: nothing cached applies

        profile(
            "plan_rollout(v2.5.0), then get_release_plan('2.5.0') of the changed release",
            write_then_read,
            100,
        )
    store.close()
    if "startup" in what:
        startup(repo)
    if "imports" in what:
        import_times()


if __name__ == "__main__":
    raise SystemExit(main())
