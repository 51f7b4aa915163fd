"""The workspace ref (``refs/engram/config/workspace``) as other tools and other users leave it.

It lives under ``refs/engram/`` like every entity, so whatever a hand, a prune or another tool does to
it must not cost the reads: an unreadable one (not JSON, a symbolic ref, a tree, a blob a prune took,
nested past the parser's recursion) serves every read, refuses each write naming the ref and
``repair``, and ``repair`` writes it again with the project id the version records carry. A
repository owned by another user (a shared, read-only workspace) is read all the same.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.args import plan_args
from helpers.checks import is_unhandled, structured, text_of
from helpers.repo import git, write_blob_ref
from mcp import Client

from release_planner.server.app import build_server
from release_planner.server.engram import format as fmt
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.settings import Settings
from release_planner.tools.errors import StorageError
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(60)]

WS = fmt.WORKSPACE_REF


def _seeded(tmp_path: Path) -> tuple[Path, str]:
    """A workspace with one release; (its path, its project id)."""
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_args("5.0.0", "seed")))
        return workspace, store.id_namespace


def _not_json(ws: Path) -> None:
    write_blob_ref(ws, WS, b"{not json")


def _symbolic(ws: Path) -> None:
    git(ws, "symbolic-ref", WS, "refs/heads/main")


def _tree(ws: Path) -> None:
    git(ws, "update-ref", WS, git(ws, "hash-object", "-w", "-t", "tree", "--stdin", stdin=b""))


def _pruned(ws: Path) -> None:
    oid = git(ws, "rev-parse", WS)
    (ws / ".git" / "objects" / oid[:2] / oid[2:]).unlink()


def _too_deep_without_id(ws: Path) -> None:
    write_blob_ref(ws, WS, b'{"name": ".", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


BREAKS: dict[str, Callable[[Path], None]] = {
    "not-json": _not_json,
    "symbolic": _symbolic,
    "tree": _tree,
    "pruned": _pruned,
    "deep-without-id": _too_deep_without_id,
}


@pytest.mark.parametrize("break_it", list(BREAKS.values()), ids=list(BREAKS))
async def test_an_unreadable_workspace_ref_serves_reads_refuses_writes_by_name_and_is_repaired(
    tmp_path: Path, break_it: Callable[[Path], None]
) -> None:
    workspace, project_id = _seeded(tmp_path)
    break_it(workspace)

    async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
        listed = structured(await client.call_tool("list_release_plans", {}))
        assert [r["release"] for r in listed["releases"]] == ["5.0.0"]
        assert structured(await client.call_tool("get_release_plan", {"version": "5.0.0"}))["name"] == "seed"
        refused = await client.call_tool("create_release_plan", plan_args("6.0.0", "refused"))
    assert refused.is_error and not is_unhandled(refused), text_of(refused)
    assert WS in text_of(refused) and "engram-release-planner repair" in text_of(refused)

    with GitRefsStore(workspace, create=False) as store:
        done, left = store.repair()
        assert left == [] and any(line.startswith(WS) for line in done), done
        # The id the version records carry, so ids stay those of the releases already stored.
        assert store.id_namespace == project_id
        ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_args("6.0.0", "after")))
    assert subprocess.run(["git", "-C", str(workspace), "gc", "--prune=now", "-q"]).returncode == 0


def test_a_workspace_blob_nested_past_the_recursion_limit_is_read(tmp_path: Path) -> None:
    workspace, project_id = _seeded(tmp_path)
    deep = b"[" * 100_000 + b"]" * 100_000
    write_blob_ref(workspace, WS, b'{"name": ".", "project_id": "%s", "x": %s}' % (project_id.encode(), deep))
    with GitRefsStore(workspace) as store:
        assert store.id_namespace == project_id
        ReleasePlanner(store).create_release_plan(ReleasePlanSpec.model_validate(plan_args("6.0.0", "deep")))


def test_a_repair_that_cannot_write_the_workspace_ref_is_named(tmp_path: Path) -> None:
    workspace, _ = _seeded(tmp_path)
    _not_json(workspace)
    (workspace / ".git" / (WS + ".lock")).write_text("0" * 40 + "\n")
    with GitRefsStore(workspace, create=False) as store, pytest.raises(StorageError, match="locked"):
        store.repair()


def test_a_repair_committed_but_not_put_in_place_says_it_was_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from release_planner.server.engram import refs

    workspace, _ = _seeded(tmp_path)
    _not_json(workspace)

    def pending(*_args: object, **_kw: object) -> None:
        raise refs.RefPending(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    with GitRefsStore(workspace, create=False) as store:
        monkeypatch.setattr(refs.RefFiles, "transaction", pending)
        with pytest.raises(StorageError) as refused:
            store.repair()
    assert "disk holding the workspace is full" in refused.value.message
    assert "recorded and is completed by the next read" in refused.value.message
    assert "nothing was repaired" not in refused.value.message


@pytest.mark.skipif(getattr(os, "geteuid", lambda: 1)() != 0, reason="chown to another user needs root")
async def test_a_repository_another_user_owns_is_read(tmp_path: Path) -> None:
    """libgit2 refuses such a repository by default (git's safe.directory), which cost every read."""
    workspace, _ = _seeded(tmp_path)
    for top, dirs, files in os.walk(workspace):
        for name in [top, *(os.path.join(top, n) for n in dirs + files)]:
            os.lchown(name, 65534, 65534)
    async with Client(build_server(Settings(workspace=workspace)), mode="legacy") as client:
        listed = structured(await client.call_tool("list_release_plans", {}))
    assert [r["release"] for r in listed["releases"]] == ["5.0.0"]
