"""Releases show up in engram's default `task list`, which only lists tasks of agent `default`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from interop_helpers import FakeClock, Workspace

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner


def engram_task_list(workspace: Workspace, agent: str = "default") -> list[dict[str, Any]]:
    """What `engram task list` shows (§1.7, §3.2): the task envelopes whose agent is `default`."""
    names = workspace.git("for-each-ref", "--format=%(refname)", "refs/engram/task/").split()
    envelopes = [json.loads(workspace.cat(name)) for name in names if name.count("/") == 3]
    return [env for env in envelopes if env["agent"] == agent]


def test_a_release_planned_by_a_named_client_is_in_engrams_default_task_list(
    tmp_path: Path, clock: FakeClock
) -> None:
    workspace = Workspace(tmp_path / "ws")
    spec = ReleasePlanSpec.model_validate(plan_example.ARGS)
    with GitRefsStore(workspace.path, clock=clock) as store:
        planner = ReleasePlanner(store)
        created = planner.create_release_plan(spec, agent="claude-desktop")
        planner.create_release_plan(
            ReleasePlanSpec.model_validate({**plan_example.ARGS, "name": "Renamed"}),
            expected_revision=created.revision,
            agent="another-client",
        )

    listed = engram_task_list(workspace)
    assert [env["id"] for env in listed] == [created.task_id]
    task = listed[0]
    assert task["data"]["agent"] == "default"
    assert task["data"]["metadata"]["release_planner"]["client"] == "claude-desktop"  # kept on update
    plan = json.loads(
        workspace.cat(f"refs/engram/{created.artifact.entity_type}/{created.artifact.entity_id}")
    )
    assert plan["agent"] == "claude-desktop"  # the artifacts stay under the client that wrote them
