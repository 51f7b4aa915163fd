"""Where the Engram data goes when a host starts the server without --workspace, and what is never
made a repository: Claude Desktop starts servers in /, other hosts in $HOME.

Without a configured workspace the first call that needs the store takes the client's first
``file://`` root that is a repository or an empty directory, else the current directory on the same
terms, else refuses saying how to configure the host. Nothing that holds files is ``git init``-ed
without --init, and a bare repository is written into as the repository it is.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import ListRootsResult, Root
from protocol_helpers import error_text, ok

from release_planner.server import app
from release_planner.server.app import build_server
from release_planner.server.cli import main
from release_planner.server.settings import Settings
from release_planner.server.workspace import choose_workspace, classify, path_of_root
from release_planner.tools.errors import StorageError
from release_planner.tools.examples import release_plan as plan_example

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory like $HOME: holds files, is no repository; the server is started in it."""
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / ".bashrc").write_text("# mine\n")
    monkeypatch.chdir(home)
    return home


def git_repo(path: Path, *, bare: bool = False) -> Path:
    subprocess.run(["git", "init", "-q", *(["--bare"] if bare else []), str(path)], check=True)
    return path


def engram_refs(git_dir: Path) -> list[str]:
    out = subprocess.run(
        ["git", "--git-dir", str(git_dir), "for-each-ref", "--format=%(refname)", "refs/engram"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()


def roots_of(*paths: Path) -> Any:
    async def list_roots(_context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=p.as_uri(), name=p.name) for p in paths])  # type: ignore[arg-type]

    return list_roots


async def test_a_home_directory_is_never_made_a_repository_and_the_refusal_says_how_to_configure(
    home: Path,
) -> None:
    async with Client(build_server(Settings()), mode="legacy") as client:
        text = error_text(await client.call_tool("list_release_plans", {}))
    assert f"no workspace configured: the server runs in {home}" in text
    assert '"args": ["serve", "--workspace", "/path/to/repo"]' in text and "--init" in text
    assert not (home / ".git").exists()
    assert sorted(p.name for p in home.iterdir()) == [".bashrc", "Documents"]


async def test_the_first_root_that_is_a_repository_is_the_workspace(home: Path, tmp_path: Path) -> None:
    project = git_repo(tmp_path / "project")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("x")
    server = build_server(Settings())
    async with Client(server, mode="legacy", list_roots_callback=roots_of(notes, project)) as client:
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    assert engram_refs(project / ".git")
    assert not (notes / ".git").exists() and not (home / ".git").exists()


async def test_an_empty_root_is_made_the_repository(home: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    async with Client(build_server(Settings()), mode="legacy", list_roots_callback=roots_of(fresh)) as client:
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    assert engram_refs(fresh / ".git")


async def test_without_roots_a_repository_as_current_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, era: str
) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / "README").write_text("code")
    monkeypatch.chdir(repo)
    async with Client(build_server(Settings()), mode=era) as client:
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    assert engram_refs(repo / ".git")


async def test_init_allows_making_the_current_directory_a_repository(home: Path) -> None:
    async with Client(build_server(Settings(init=True)), mode="legacy") as client:
        ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    assert engram_refs(home / ".git")


async def test_a_configured_directory_that_holds_files_is_refused_without_init(tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "data.csv").write_text("a,b\n")
    async with Client(build_server(Settings(workspace=occupied)), mode="legacy") as client:
        text = error_text(await client.call_tool("list_release_plans", {}))
    assert f"workspace: the workspace {occupied} holds files but is not a git repository" in text
    assert "next: pass a repository as --workspace, or add --init" in text
    assert not (occupied / ".git").exists()
    async with Client(build_server(Settings(workspace=occupied, init=True)), mode="legacy") as client:
        ok(await client.call_tool("list_release_plans", {}))
    assert (occupied / ".git").is_dir()


async def test_a_bare_repository_is_written_into_not_shadowed_by_a_nested_git(tmp_path: Path) -> None:
    bare = git_repo(tmp_path / "plans.git", bare=True)
    async with Client(build_server(Settings(workspace=bare)), mode="legacy") as client:
        plan = ok(await client.call_tool("create_release_plan", plan_example.ARGS))
    assert not (bare / ".git").exists()
    refs = engram_refs(bare)
    assert f"refs/engram/task/{plan['task_id']}" in refs
    async with Client(build_server(Settings(workspace=bare)), mode="legacy") as client:
        view = ok(await client.call_tool("get_release_plan", {"version": "2.5.0"}))
    assert view["task_id"] == plan["task_id"]


async def test_without_a_workspace_nothing_is_opened_during_the_handshake(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Path] = []
    real = app.open_store

    def recording(settings: Settings) -> Any:
        opened.append(settings.workspace)  # type: ignore[arg-type]
        return real(settings)

    monkeypatch.setattr(app, "open_store", recording)
    project = git_repo(tmp_path / "project")
    async with Client(
        build_server(Settings()), mode="legacy", list_roots_callback=roots_of(project)
    ) as client:
        await client.list_tools()
        await client.list_prompts()
        assert opened == []
        ok(await client.call_tool("list_release_plans", {}))
        ok(await client.call_tool("list_release_plans", {}))
    assert opened == [project.resolve()]


def test_the_cli_refuses_a_home_directory_too(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 1
    assert "no workspace configured" in capsys.readouterr().err
    assert not (home / ".git").exists()


def test_root_uris_are_local_directories_only(tmp_path: Path) -> None:
    assert path_of_root(tmp_path.as_uri()) == tmp_path
    assert path_of_root("file:///a%20b/c") == Path("/a b/c")
    assert path_of_root("https://example.com/x") is None
    assert path_of_root("file://otherhost/x") is None


def test_what_each_kind_of_directory_is(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    assert classify(tmp_path / "missing") == "missing"
    assert classify(tmp_path / "file") == "not-a-directory"
    assert classify(tmp_path / "empty") == "empty"
    assert classify(git_repo(tmp_path / "r")) == "repository"
    assert classify(git_repo(tmp_path / "b.git", bare=True)) == "bare"
    assert classify(tmp_path) == "occupied"


def test_roots_are_tried_in_order_before_the_current_directory(tmp_path: Path) -> None:
    first, second = git_repo(tmp_path / "first"), git_repo(tmp_path / "second")
    assert choose_workspace([first.as_uri(), second.as_uri()], second, init=False)[0] == first
    assert choose_workspace(["https://x/y"], second, init=False)[0] == second
    with pytest.raises(StorageError):
        choose_workspace([], tmp_path, init=False)
