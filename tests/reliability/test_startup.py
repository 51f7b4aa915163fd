"""Start-up (issue 14, item 5): a stale lock, or servers racing to initialise a new directory, must
not leave a server broken until it is restarted.

* A lock left on the workspace ref by a crashed writer: reads are served, a write names the lock and
  how to remove it, and once it is removed the same server writes.
* An *empty* lock older than ``STALE_LOCK_S`` holds no value and is timed out.
* A failed opening is tried again by the next call instead of being kept.
* Eight processes opening one new directory at once all open it and write, under one project id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pygit2
import pytest
from helpers.args import plan_args
from helpers.checks import is_unhandled, structured, text_of
from helpers.repo import CHILD_ENV
from mcp import Client

from release_planner.server import app
from release_planner.server.app import build_server
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.settings import Settings
from release_planner.tools.errors import StorageError
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]

WORKSPACE_LOCK = Path(".git", "refs", "engram", "config", "workspace.lock")
AN_HOUR_AGO = time.time() - 3600


def _fresh_repository(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    pygit2.init_repository(str(workspace))
    (workspace / WORKSPACE_LOCK).parent.mkdir(parents=True)
    return workspace


async def test_a_stale_workspace_lock_is_named_and_once_removed_the_same_server_writes(
    tmp_path: Path,
) -> None:
    workspace = _fresh_repository(tmp_path)
    lock = workspace / WORKSPACE_LOCK
    lock.write_text("1" * 40 + "\n")  # what a crashed `git update-ref` leaves: filled, so never removed
    os.utime(lock, (AN_HOUR_AGO, AN_HOUR_AGO))
    async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
        assert structured(await client.call_tool("list_release_plans", {}))["releases"] == []

        refused = await client.call_tool("create_release_plan", plan_args("5.0.0", "while locked"))
        assert refused.is_error and not is_unhandled(refused), text_of(refused)
        assert str(lock) in text_of(refused) and f"rm {lock}" in text_of(refused)

        lock.unlink()
        written = structured(await client.call_tool("create_release_plan", plan_args("5.0.0", "after")))
        assert written["artifact"]["revision"] == 1


def test_an_old_empty_lock_is_timed_out(tmp_path: Path) -> None:
    workspace = _fresh_repository(tmp_path)
    lock = workspace / WORKSPACE_LOCK
    lock.touch()  # a writer killed between creating its lock and filling it, an hour ago
    os.utime(lock, (AN_HOUR_AGO, AN_HOUR_AGO))
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "first")))
        (task,) = store.find("task", release="5.0.0", kind="release")
        entity_lock = workspace / ".git" / "refs" / "engram" / "task" / f"{task.id}.lock"
        entity_lock.touch()
        os.utime(entity_lock, (AN_HOUR_AGO, AN_HOUR_AGO))
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "second")))
    assert not lock.exists() and not entity_lock.exists()


def test_a_fresh_empty_lock_is_left_to_its_writer(tmp_path: Path) -> None:
    """Only an old empty lock is timed out: a new one may be a live writer's, between create and fill."""
    workspace = _fresh_repository(tmp_path)
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "first")))
        (task,) = store.find("task", release="5.0.0", kind="release")
        entity_lock = workspace / ".git" / "refs" / "engram" / "task" / f"{task.id}.lock"
        entity_lock.touch()
        with pytest.raises(StorageError) as refused:
            planner.create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "second")))
    assert f"rm {entity_lock}" in str(refused.value)
    assert entity_lock.exists()


async def test_a_failed_opening_is_tried_again_by_the_next_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws"
    real_open = app.open_store
    attempts: list[int] = []

    def failing_twice(settings: Settings) -> Any:
        attempts.append(1)
        if len(attempts) <= 2:  # the opening at start-up, and the first call's new attempt
            raise StorageError("cannot open the git repository: another server is creating it")
        return real_open(settings)

    monkeypatch.setattr(app, "open_store", failing_twice)
    async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
        first = await client.call_tool("list_release_plans", {})
        assert first.is_error and "another server is creating it" in text_of(first)
        assert structured(await client.call_tool("list_release_plans", {}))["releases"] == []
        assert structured(await client.call_tool("list_release_plans", {}))["releases"] == []
    assert len(attempts) == 3  # opened once it worked, not again


_OPENER = """
import json, os, sys, time
sys.path.insert(0, sys.argv[3])
from helpers.args import plan_args
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner

workspace, go = sys.argv[1], sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.0005)
store = GitRefsStore(workspace)
ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_args(sys.argv[4], "racer")))
print(json.dumps({"project": store.id_namespace}))
store.close()
"""


@pytest.mark.parametrize("trial", range(3))
def test_eight_servers_initialising_a_new_directory_at_once_all_open_it(tmp_path: Path, trial: int) -> None:
    workspace = tmp_path / "new"
    go = tmp_path / "go"
    tests_dir = str(Path(__file__).resolve().parents[1])
    env = {**CHILD_ENV, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, str(workspace), str(go), tests_dir, f"{trial + 1}.{i}.0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for i in range(8)
    ]
    time.sleep(0.5)  # let every interpreter start and wait at the line (only spreads the start)
    go.touch()
    outcomes = [(proc.wait(timeout=90), *proc.communicate()) for proc in racers]
    failures = [err.decode()[-1500:] for code, _out, err in outcomes if code != 0]
    assert failures == []
    projects = {json.loads(out)["project"] for _code, out, _err in outcomes}
    assert len(projects) == 1
    with GitRefsStore(workspace) as store:
        assert sorted(store.releases("task")) == sorted(f"{trial + 1}.{i}.0" for i in range(8))


async def test_a_repository_whose_initialisation_the_full_disk_cut_short_is_completed_once_space_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`git init` on a full disk leaves a .git without HEAD. It was then "not a repository" to every
    later call and every restart ("Repository not found", with "correct the call" as the fix) until
    someone removed it by hand; the disk being full was never named."""
    workspace = tmp_path / "new"
    real_init = pygit2.init_repository

    full = [True]  # from before the server starts: its opening thread may run before the first call

    def disk_full(path: str, *args: Any, **kwargs: Any) -> Any:
        if not full[0]:
            return real_init(path, *args, **kwargs)
        for part in ("objects/pack", "refs/heads", "info"):
            os.makedirs(os.path.join(path, ".git", part), exist_ok=True)
        raise OSError(f"failed to write out file: {os.strerror(28)}")  # libgit2's words, no errno

    monkeypatch.setattr(pygit2, "init_repository", disk_full)
    async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
        refused = await client.call_tool("list_release_plans", {})
        full[0] = False
        assert refused.is_error and not is_unhandled(refused)
        assert "disk holding the workspace is full" in text_of(refused) and "free space" in text_of(refused)
        assert not (workspace / ".git" / "HEAD").exists()
        # Space is back: the same server completes the repository at its next call.
        assert structured(await client.call_tool("create_release_plan", plan_args("5.0.0", "after")))
    with GitRefsStore(workspace) as store:
        assert store.find("context", release="5.0.0", kind="release_plan")
