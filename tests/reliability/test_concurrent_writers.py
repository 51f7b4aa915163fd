"""Several server processes, each a stdio MCP session, writing into one repository at the same time.

Every write the servers acknowledge must be in the repository afterwards, at the revision it was
acknowledged with or a later one; no two acknowledgements may share an entity revision; a write
that lost a race must say so (a conflict naming expected_revision), never vanish.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from helpers.args import plan_args, rollback_args
from helpers.checks import is_unhandled, release_integrity, structured, text_of
from helpers.repo import engram_refs, server_params
from mcp import Client

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.validate import validate_repository
from release_planner.tools.ports import ENTITY_TYPES
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.service import ReleasePlanner

pytestmark = [pytest.mark.anyio, pytest.mark.reliability, pytest.mark.timeout(120)]

PROCESSES = 4
ROUNDS = 3
SHARED = "9.0.0"  # every process writes this release's plan and rollback
ERAS = ("legacy", "auto")


@dataclass
class Outcome:
    process: int
    tool: str
    version: str
    name: str  # the distinct payload marker of this call
    result: dict[str, Any] | None  # the structured result when acknowledged
    error: str | None


async def _writer(workspace: Path, process: int, outcomes: list[Outcome]) -> None:
    own = f"1.{process + 1}.0"

    async def call(client: Client, tool: str, version: str, args: dict[str, Any]) -> None:
        marker = args.get("name") or args["manual_triggers"][0]
        result = await client.call_tool(tool, args)
        if result.is_error:
            outcomes.append(Outcome(process, tool, version, marker, None, text_of(result)))
            assert not is_unhandled(result), text_of(result)
        else:
            outcomes.append(Outcome(process, tool, version, marker, structured(result), None))

    async with Client(server_params(workspace), mode=ERAS[process % 2]) as client:
        for rnd in range(ROUNDS):
            # The three calls of a round are in flight together on one session as well.
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    call,
                    client,
                    "create_release_plan",
                    SHARED,
                    plan_args(SHARED, f"shared p{process} r{rnd}"),
                )
                tg.start_soon(
                    call, client, "create_release_plan", own, plan_args(own, f"own p{process} r{rnd}")
                )
                tg.start_soon(
                    call,
                    client,
                    "design_rollback",
                    SHARED,
                    rollback_args(SHARED, f"rollback p{process} r{rnd}"),
                )


def _marker_of(store: GitRefsStore, entity_type: str, entity_id: str) -> str:
    entity = store.get(entity_type, entity_id)  # type: ignore[arg-type]
    assert entity is not None
    spec = (entity.planner_metadata or {})["spec"]
    return str(spec["name"] if entity_type == "context" else spec["manual_triggers"][0])


async def test_parallel_server_processes_lose_no_acknowledged_write(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    # The shared release and its rollback exist before the race, so every shared write is an update
    # (a compare-and-swap). Concurrent *creation* of one artifact is covered deterministically, with
    # a chosen interleaving, in test_same_version_race.py.
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_args(SHARED, "shared seed")))
        planner.design_rollback(RollbackSpec.model_validate(rollback_args(SHARED, "rollback seed")))

    outcomes: list[Outcome] = []
    async with anyio.create_task_group() as tg:
        for process in range(PROCESSES):
            tg.start_soon(_writer, workspace, process, outcomes)

    assert len(outcomes) == PROCESSES * ROUNDS * 3
    acked = [o for o in outcomes if o.result is not None]
    for failed in (o for o in outcomes if o.error is not None):
        # A lost race is reported as a conflict the caller can act on; nothing else may fail.
        assert failed.error is not None and "expected_revision" in failed.error, failed
        assert re.search(r"changed (it|by another writer)", failed.error), failed

    assert validate_repository(workspace) == []
    with GitRefsStore(workspace) as store:
        assert release_integrity(store) == []
        by_entity: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
        for o in acked:
            assert o.result is not None
            art = o.result["artifact"]
            by_entity[(art["entity_type"], art["entity_id"])].append(o)
            stored = store.get(art["entity_type"], art["entity_id"])
            assert stored is not None, o
            assert stored.revision >= o.result["revision"], o
            assert store.get("task", o.result["task_id"]) is not None, o

        for (etype, eid), writes in by_entity.items():
            revisions = [w.result["revision"] for w in writes if w.result is not None]
            assert len(revisions) == len(set(revisions)), f"{etype} {eid}: a revision was acknowledged twice"
            stored = store.get(etype, eid)  # type: ignore[arg-type]
            assert stored is not None
            # The seeds wrote revision 1 of the shared artifacts; every later revision is an
            # acknowledged call, and the stored content is the payload of the call acknowledged last.
            assert stored.revision == max(revisions)
            last = next(w for w in writes if w.result is not None and w.result["revision"] == stored.revision)
            assert _marker_of(store, etype, eid) == last.name

        # Each process's own release: every round acknowledged, revisions 1..ROUNDS in order.
        for process in range(PROCESSES):
            own = [o for o in outcomes if o.version == f"1.{process + 1}.0"]
            assert [o.error for o in own] == [None] * ROUNDS
            assert [o.result["revision"] for o in own if o.result] == list(range(1, ROUNDS + 1))

        # One release task and one plan per version, however the writes interleaved.
        for version in [SHARED, *(f"1.{p + 1}.0" for p in range(PROCESSES))]:
            assert len(store.find("task", release=version, kind="release")) == 1, version
            assert len(store.find("context", release=version, kind="release_plan")) == 1, version
        assert len(store.find("reasoning", release=SHARED, kind="rollback_strategy")) == 1

        shared_plan_writes = [o for o in acked if o.version == SHARED and o.tool == "create_release_plan"]
        plan = store.find("context", release=SHARED, kind="release_plan")[0]
        assert plan.revision == 1 + len(shared_plan_writes)
        # One sidecar per stored revision of every entity, and no other ref under its types.
        entities = [e for t in ENTITY_TYPES for e in store.find(t)]
        assert store.problems() == []

    refs = engram_refs(workspace)
    entity_refs = {n for n in refs if n.count("/") == 3 and n.split("/")[2] in ENTITY_TYPES}
    sidecar_refs = {n for n in refs if n.count("/") == 4}
    assert entity_refs == {f"refs/engram/{e.type}/{e.id}" for e in entities}
    assert sidecar_refs == {
        f"refs/engram/{e.type}/v{n}/{e.id}" for e in entities for n in range(1, e.revision + 1)
    }
