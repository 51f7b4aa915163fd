"""Git-refs store latency as the workspace grows (a benchmark, not a test).

    .venv/bin/python bench/bench_store.py [--sizes 100,10000,100000] [--rounds 40]

For each size it builds a workspace of that many Engram entities (releases of 1 task, 2 contexts,
2 reasonings and 4 relationships, each with its v1 sidecar), written in bulk with ``git fast-import``
and one ``packed-refs`` file, then opens ``GitRefsStore`` on it and times one operation at a time:

* store: one commit of a new context plus the relationship linking it to its release task;
* get, find by release, links_from and connected for one release in the middle of the workspace.

Prints the median of each, and its ratio to the smallest size, in one table.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from release_planner.server.engram import format as fmt
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.ports import (
    Change,
    ContextRecord,
    LinkRecord,
    ReasoningRecord,
    TaskRecord,
    new_entity_id,
)

GROUP = 9  # entities per release


def release_changes(n: int) -> tuple[list[Change], dict[str, str]]:
    version = f"{n // 1000}.{n % 1000}.0"
    ids = {k: new_entity_id() for k in ("task", "plan", "runbook", "rollback", "rollout")}

    def meta(kind: str) -> dict[str, object]:
        return {"release_planner": {"schema": 1, "kind": kind, "release": version, "spec": {"n": n}}}

    changes = [
        Change(
            ids["task"],
            TaskRecord(title=f"Release v{version} - Bench", tags=("release",), metadata=meta("release")),
        ),
        Change(
            ids["plan"],
            ContextRecord(
                title=f"Release Plan: v{version}", content="## Plan\n" * 20, metadata=meta("release_plan")
            ),
        ),
        Change(
            ids["runbook"],
            ContextRecord(
                title=f"Release Runbook: v{version}", content="## Steps\n" * 20, metadata=meta("runbook")
            ),
        ),
        Change(
            ids["rollback"],
            ReasoningRecord(
                title=f"Rollback Strategy: v{version}",
                task_id=ids["task"],
                conclusion="roll back",
                confidence=0.8,
                metadata=meta("rollback"),
            ),
        ),
        Change(
            ids["rollout"],
            ReasoningRecord(
                title=f"Phased Rollout Plan: v{version}",
                task_id=ids["task"],
                conclusion="1% → 100%",
                confidence=0.7,
                metadata=meta("rollout"),
            ),
        ),
    ]
    for key, kind, rel in (
        ("plan", "context", "references"),
        ("runbook", "context", "references"),
        ("rollback", "reasoning", "documents"),
        ("rollout", "reasoning", "documents"),
    ):
        changes.append(Change(new_entity_id(), LinkRecord(ids["task"], "task", ids[key], kind, rel)))
    return changes, {**ids, "version": version}


def populate(path: Path, size: int) -> list[dict[str, str]]:
    """A workspace with ``size`` entities, written the fast way: one pack and one packed-refs file."""
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    GitRefsStore(path).close()  # workspace ref (project_id) and engram's init commit
    project_id = subprocess.run(
        ["git", "-C", str(path), "cat-file", "blob", "refs/engram/config/workspace"],
        capture_output=True,
        check=True,
    ).stdout
    pid = __import__("json").loads(project_id)["project_id"]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    refs: list[tuple[str, str]] = []
    releases = []
    importer = subprocess.Popen(["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    assert importer.stdin is not None

    def put(data: bytes) -> str:
        importer.stdin.write(b"blob\ndata %d\n" % len(data) + data + b"\n")  # type: ignore[union-attr]
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    for n in range(max(1, size // GROUP)):
        changes, ids = release_changes(n)
        releases.append(ids)
        now += timedelta(seconds=1)
        for change in changes:
            refs.append(
                (fmt.entity_ref(change.type, change.id), put(fmt.render_change(change, stored=None, now=now)))
            )
            side = fmt.sidecar_blob(change.type, change.id, change.agent, 1, pid, now)
            refs.append((fmt.sidecar_ref(change.type, change.id, 1), put(side)))
    importer.stdin.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    packed = path / ".git" / "packed-refs"
    existing = packed.read_text() if packed.exists() else ""
    lines = [line for line in existing.splitlines() if line and not line.startswith("#")]
    lines += [f"{oid} {name}" for name, oid in refs]
    lines.sort(key=lambda line: line.split(" ", 1)[1])
    packed.write_text("# pack-refs with: peeled fully-peeled sorted \n" + "\n".join(lines) + "\n")
    return releases


def median_us(op: Callable[[int], object], rounds: int) -> float:
    op(-1)  # warm
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        op(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def measure(size: int, rounds: int, root: Path) -> dict[str, float]:
    workspace = root / f"ws-{size}"
    t0 = time.perf_counter()
    releases = populate(workspace, size)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = GitRefsStore(workspace)
    opened = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.get("task", releases[0]["task"])  # the first call builds the index
    indexed = time.perf_counter() - t0
    count = sum(len(store.find(t)) for t in ("task", "context", "reasoning", "relationship"))
    read_target = releases[len(releases) // 2]
    write_target = releases[len(releases) // 3]

    def commit(i: int) -> None:
        ctx = new_entity_id()
        store.commit(
            [
                Change(
                    ctx, ContextRecord(title=f"Release Note {i}: v{write_target['version']}", content="note")
                ),
                Change(
                    new_entity_id(), LinkRecord(write_target["task"], "task", ctx, "context", "references")
                ),
            ]
        )

    result = {
        "get": median_us(lambda _i: store.get("context", read_target["plan"]), rounds * 5),
        "find by release": median_us(
            lambda _i: store.find("context", release=read_target["version"]), rounds * 5
        ),
        "links_from": median_us(lambda _i: store.links_from(read_target["task"]), rounds * 5),
        "connected": median_us(lambda _i: store.connected(read_target["task"]), rounds * 5),
        "store (context + link)": median_us(commit, rounds),
    }
    assert len(store.find("context", release=read_target["version"])) == 2
    assert len(store.connected(read_target["task"])) == 5
    store.close()
    print(
        f"{count:>7} entities: written in {built:.1f} s; store opened in {opened * 1000:.0f} ms, "
        f"first read (builds the index) {indexed:.2f} s",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        results = {size: measure(size, args.rounds, Path(tmp)) for size in sizes}
    base = results[sizes[0]]
    header = f"{'operation':<24}" + "".join(f"{f'{s:,} (µs)':>16}{'ratio':>7}" for s in sizes)
    print(header)
    print("-" * len(header))
    for op in base:
        row = f"{op:<24}"
        for s in sizes:
            row += f"{results[s][op]:>16.0f}{results[s][op] / base[op]:>7.2f}"
        print(row)


if __name__ == "__main__":
    main()
