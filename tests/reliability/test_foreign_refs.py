"""Refs written by hand under ``refs/engram/`` never break a tool call.

Other tools (the engram CLI, sync, people with ``git update-ref``) write into the same namespace.
Whatever they leave there (bad JSON, wrong types, unknown entity types, remote staging refs, huge or
non-UTF-8 blobs, refs to commits, trees or other refs), the server keeps answering through a real
stdio MCP session, and the store's diagnostics name each unreadable ref.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from helpers.checks import is_unhandled, structured, text_of
from helpers.repo import git, server_params, write_blob_ref
from mcp import Client

from release_planner.server.app import build_server
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.validate import validate_repository
from release_planner.server.settings import Settings
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.ports import is_entity_id
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner

pytestmark = [pytest.mark.anyio, pytest.mark.reliability, pytest.mark.timeout(90)]

STAMP = "2026-03-02T09:15:00.120000000Z"
FIVE_MB = 5 * 1024 * 1024


def _envelope(entity_type: str, entity_id: str, data: Any) -> bytes:
    """An Engram envelope as a foreign tool might write it (no sidecar, any layout)."""
    body = {"id": entity_id, "entity_type": entity_type, "agent": "someone", "timestamp": STAMP, "data": data}
    return json.dumps(body, indent=2).encode()


def _context_data(entity_id: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "id": entity_id,
        "title": "Notes",
        "content": "text",
        "source": "hand",
        "relevance": "medium",
        "agent": "someone",
        "created_at": STAMP,
        "updated_at": STAMP,
        "source_id": None,
        "citation_count": 0,
        "decay_weight": 1.0,
    }
    return {**data, **overrides}


def _relationship_data(entity_id: str, source: str, target: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "id": entity_id,
        "agent": "someone",
        "timestamp": STAMP,
        "source_id": source,
        "source_type": "task",
        "target_id": target,
        "target_type": "context",
        "relationship_type": "References",
        "direction": "Unidirectional",
        "strength": "Medium",
        "constraints": {
            "max_outbound": None,
            "max_inbound": None,
            "allow_cycles": True,
            "source_types": None,
            "target_types": None,
        },
        "metadata": {},
        "description": None,
        "active": True,
    }
    return {**data, **overrides}


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def write_foreign_refs(workspace: Path, task_id: str, round_: int) -> tuple[set[str], set[str]]:
    """Hand-written refs; returns (refs the store must report as unreadable, all refs written)."""
    u = _ids(14)
    head = git(workspace, "rev-parse", "refs/heads/main")
    empty_tree = git(workspace, "hash-object", "-w", "-t", "tree", "--stdin", stdin=b"")
    unreadable = {
        f"refs/engram/task/{u[0]}": b"{not json",
        f"refs/engram/context/{u[1]}": _envelope(
            "context", u[1], _context_data(u[1], title=5, relevance="urgent")
        ),
        f"refs/engram/reasoning/{u[2]}": _envelope("reasoning", u[2], [1, 2, 3]),
        f"refs/engram/relationship/{u[3]}": _envelope(
            "relationship", u[3], _relationship_data(u[3], task_id, u[1], source_id=42)
        ),
        f"refs/engram/task/{u[4]}": b'{"id": "' + b"a" * FIVE_MB,
        f"refs/engram/context/{u[5]}": b"\xff\xfe\x00\x80 not utf-8 \xc3\x28",
        f"refs/engram/task/{u[6]}": _envelope("task", u[6], {"id": u[6], "title": None}),
        "refs/engram/task/NOT-A-UUID": _envelope("task", "NOT-A-UUID", {"id": "NOT-A-UUID"}),
        f"refs/engram/context/{u[7].upper()}": _envelope(
            "context", u[7].upper(), _context_data(u[7].upper())
        ),
    }
    readable_foreign = {
        # A relationship from the release task to an entity nobody stored: valid Engram, dangling.
        f"refs/engram/relationship/{u[8]}": _envelope(
            "relationship", u[8], _relationship_data(u[8], task_id, u[9])
        ),
        # A hand-made release whose plan is 5 MB of Markdown.
        f"refs/engram/context/{u[10]}": _envelope(
            "context",
            u[10],
            _context_data(
                u[10], title=f"Release Plan: v7.7.{round_} - Huge", content="# Huge\n" + "x" * FIVE_MB
            ),
        ),
    }
    other_namespaces = {
        f"refs/engram/knowledge/{u[11]}": b"{not json either",
        f"refs/engram/remote/origin/task/{u[12]}": b"\x00\x01 remote staging garbage",
        f"refs/engram/adr/{u[13]}": _envelope("adr", u[13], "not an object"),
    }
    for ref, payload in {**unreadable, **readable_foreign, **other_namespaces}.items():
        write_blob_ref(workspace, ref, payload)
    # Refs to a commit, a tree, and a symbolic ref: not blobs at all.
    odd = _ids(3)
    git(workspace, "update-ref", f"refs/engram/task/{odd[0]}", head)
    git(workspace, "update-ref", f"refs/engram/context/{odd[1]}", empty_tree)
    git(workspace, "symbolic-ref", f"refs/engram/reasoning/{odd[2]}", "refs/heads/main")
    unreadable |= {
        f"refs/engram/task/{odd[0]}": b"",
        f"refs/engram/context/{odd[1]}": b"",
        f"refs/engram/reasoning/{odd[2]}": b"",
    }
    written = set(unreadable) | set(readable_foreign) | set(other_namespaces)
    return set(unreadable), written


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
async def test_hand_written_refs_never_break_a_tool_call(tmp_path: Path, packed: bool) -> None:
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        planned = ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    task_id = planned.task_id
    unreadable, written = write_foreign_refs(workspace, task_id, 0)
    if packed:
        git(workspace, "pack-refs", "--all")

    async with Client(server_params(workspace), mode="legacy") as client:

        async def check_reads(huge: list[str]) -> None:
            page = structured(await client.call_tool("list_release_plans", {"limit": 100}))
            assert {r["release"] for r in page["releases"]} == {"2.5.0", *huge}
            view = structured(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
            assert view["task_id"] == task_id
            assert [a["kind"] for a in view["artifacts"]][:2] == ["release", "release_plan"]
            for version in huge:
                hand = structured(await client.call_tool("get_release_plan", {"version": version}))
                assert hand["typed"] is False and hand["markdown_truncated"] is True
                assert len(hand["markdown"]) < 20_000
            structured(await client.call_tool("summarize_release", {"version": "2.5.0"}))

        await check_reads(["7.7.0"])
        # Writes still work beside the foreign refs, and new foreign refs appear while the server runs.
        rollback = structured(
            await client.call_tool(
                "design_rollback",
                {**rollback_example.ARGS, "version": "2.5.0"},
            )
        )
        more_unreadable, more_written = write_foreign_refs(workspace, task_id, 1)
        unreadable |= more_unreadable
        written |= more_written
        await check_reads(["7.7.0", "7.7.1"])
        view = structured(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
        assert rollback["artifact"]["entity_id"] in {a["entity_id"] for a in view["artifacts"]}
        # A link to an entity that is there but unreadable is refused, naming the link.
        bad_context = min(
            r for r in unreadable if r.startswith("refs/engram/context/") and is_entity_id(r[20:])
        )
        refused = await client.call_tool(
            "link_release_entities",
            {"version": "2.5.0", "links": [{"target_id": bad_context[20:], "target_type": "context"}]},
        )
        assert refused.is_error and "links[0].target_id" in refused.content[0].text  # type: ignore[union-attr]

    # Diagnostics: the store names every unreadable ref under its entity types, and nothing of ours.
    with GitRefsStore(workspace) as store:
        reported = {p.ref for p in store.problems()}
    assert unreadable <= reported
    assert reported - written == set()
    problems = validate_repository(workspace)
    for ref in sorted(unreadable):
        assert any(line.startswith(ref) for line in problems), (ref, problems)


@pytest.mark.parametrize("how", ["not-json", "symbolic"])
async def test_planning_again_over_an_unreadable_artifact_names_its_ref_and_the_way_out(
    tmp_path: Path, how: str
) -> None:
    """It was refused as "already exists at revision 1; pass expected_revision=1", which the
    unreadable entity can never satisfy."""
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
        (task,) = store.find("task", release=plan_example.ARGS["version"], kind="release")
    ref = f"refs/engram/task/{task.id}"
    if how == "symbolic":
        git(workspace, "symbolic-ref", ref, "refs/heads/main")
    else:
        write_blob_ref(workspace, ref, b"{broken")
    async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
        refused = await client.call_tool("create_release_plan", plan_example.ARGS)
        text = text_of(refused)
        assert refused.is_error and not is_unhandled(refused), text
        assert "unreadable" in text and ref in text and f"git update-ref --no-deref -d {ref}" in text, text
        assert "already exists" not in text
        git(workspace, "update-ref", "--no-deref", "-d", ref)
        assert git(workspace, "rev-parse", "refs/heads/main")
        structured(await client.call_tool("create_release_plan", plan_example.ARGS))
