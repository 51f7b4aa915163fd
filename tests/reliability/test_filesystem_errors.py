"""The file system's refusals reach the client named, with the fix (issue 14, item 2).

ENOSPC, EROFS and EACCES are injected where they happen: pygit2 writing an object (it raises them as
a bare ``OSError`` carrying libgit2's text), git's lock files, and a whole workspace made read-only
(simulated, since CI runs as root where ``chmod`` stops nothing; the real ``chmod`` variant runs when
the tests do not). A read-only workspace still serves every read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pygit2
import pytest
from helpers.args import plan_args
from helpers.checks import is_unhandled, structured, text_of
from helpers.faults import Fault, injected, is_lock, read_only
from helpers.repo import engram_refs
from mcp import Client

from release_planner.server.app import build_server
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.settings import Settings
from release_planner.tools.errors import StorageError
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(60)]

# What the client must read for each cause: the cause, and the fix.
CAUSES = {
    errno.ENOSPC: ("disk holding the workspace is full", "free space"),
    errno.EROFS: ("read-only file system", "--read-only"),
    errno.EACCES: ("permission denied", "write access"),
}


def _seeded(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "seed")))
    return workspace


@pytest.mark.parametrize("number", sorted(CAUSES), ids=errno.errorcode.get)
async def test_an_object_write_refused_by_the_file_system_is_named_to_the_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int
) -> None:
    workspace = _seeded(tmp_path)
    before = engram_refs(workspace)

    def refused(*_args: object, **_kw: object) -> object:
        raise OSError(f"failed to write object: {os.strerror(number)}")  # pygit2's shape: no errno

    async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
        monkeypatch.setattr(pygit2.Repository, "create_blob", refused)
        result = await client.call_tool("create_release_plan", plan_args("5.0.0", "refused"))
    assert result.is_error and not is_unhandled(result), text_of(result)
    cause, fix = CAUSES[number]
    text = text_of(result)
    assert cause in text and fix in text and "nothing was stored" in text
    assert engram_refs(workspace) == before


@pytest.mark.parametrize("number", sorted(CAUSES), ids=errno.errorcode.get)
def test_a_lock_the_file_system_refuses_is_named_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int
) -> None:
    workspace = _seeded(tmp_path)
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)
        fault = Fault(is_lock, number, at="open")
        with injected(monkeypatch, fault), pytest.raises(StorageError) as refused:
            planner.create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "refused")))
    cause, fix = CAUSES[number]
    assert refused.value.field == "workspace"
    assert cause in refused.value.message
    assert refused.value.next_step is not None and fix in refused.value.next_step


async def _reads_and_refused_write(workspace: Path) -> str:
    async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
        listed = structured(await client.call_tool("list_release_plans", {}))
        assert "5.0.0" in str(listed)
        shown = structured(await client.call_tool("get_release_plan", {"version": "5.0.0"}))
        assert "seed" in str(shown)
        result = await client.call_tool("create_release_plan", plan_args("5.0.0", "refused"))
    assert result.is_error and not is_unhandled(result), text_of(result)
    return text_of(result)


@pytest.mark.parametrize("number", [errno.EROFS, errno.EACCES], ids=errno.errorcode.get)
async def test_a_read_only_workspace_serves_reads_and_refuses_writes_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int
) -> None:
    workspace = _seeded(tmp_path)
    before = engram_refs(workspace)
    with read_only(monkeypatch, workspace, number):
        text = await _reads_and_refused_write(workspace)
    cause, fix = CAUSES[number]
    assert cause in text and fix in text
    assert engram_refs(workspace) == before


async def test_a_new_read_only_workspace_refuses_writes_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No workspace ref yet (the repository came from elsewhere): opening works, the write says why not."""
    workspace = tmp_path / "ws"
    pygit2.init_repository(str(workspace))
    with read_only(monkeypatch, workspace, errno.EROFS):
        async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
            assert structured(await client.call_tool("list_release_plans", {})) is not None
            result = await client.call_tool("create_release_plan", plan_args("5.0.0", "refused"))
    assert result.is_error and not is_unhandled(result), text_of(result)
    assert "read-only file system" in text_of(result) and "--read-only" in text_of(result)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod; the simulated variant covers it")
async def test_a_chmod_read_only_workspace_serves_reads_and_refuses_writes_by_name(tmp_path: Path) -> None:
    workspace = _seeded(tmp_path)
    git_dir = workspace / ".git"
    modes = {}
    for top, dirs, files in os.walk(git_dir):
        for name in [*dirs, *files]:
            path = os.path.join(top, name)
            modes[path] = os.stat(path).st_mode
    modes[str(git_dir)] = git_dir.stat().st_mode
    try:
        for path, mode in modes.items():
            os.chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        text = await _reads_and_refused_write(workspace)
    finally:
        for path, mode in modes.items():
            os.chmod(path, mode)
    assert "permission denied" in text and "write access" in text


def test_a_workspace_ref_committed_but_not_put_in_place_is_named_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creating the workspace ref can be journaled and then fail to land (RefPending): the store still
    opens and reads, a write names the file system's cause, and the next write creates the ref."""
    from release_planner.server.engram import refs as refs_module
    from release_planner.server.engram.format import WORKSPACE_REF

    workspace = tmp_path / "ws"
    pygit2.init_repository(str(workspace))
    real = refs_module.RefFiles.transaction

    def pending(
        self: refs_module.RefFiles, updates: list[refs_module.RefUpdate], *a: object, **kw: object
    ) -> object:
        if any(u.name == WORKSPACE_REF for u in updates):
            raise refs_module.RefPending(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        return real(self, updates, *a, **kw)

    monkeypatch.setattr(refs_module.RefFiles, "transaction", pending)
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)
        assert planner.list_release_plans().releases == []
        with pytest.raises(StorageError) as refused:
            planner.create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "refused")))
        assert "disk holding the workspace is full" in refused.value.message
        monkeypatch.setattr(refs_module.RefFiles, "transaction", real)
        planner.create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "stored")))
    assert any(name.startswith("refs/engram/task/") for name in engram_refs(workspace))
