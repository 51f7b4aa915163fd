"""A team for the sync tests: a bare repository on disk as the shared remote and clones of it, driven
with the real git binary (no network: every remote is a path)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from helpers.repo import COMMIT_ENV

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner

ENV = COMMIT_ENV
VERSION = plan_example.ARGS["version"]


def git(where: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(where), *args], capture_output=True, check=True, env={**ENV, **(env or {})}
    )
    return done.stdout.decode().strip()


def refs(where: Path, prefix: str = "refs/") -> dict[str, str]:
    out = git(where, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def blob(where: Path, ref: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(git(where, "cat-file", "blob", ref))
    return loaded


def plan_args(**changes: Any) -> ReleasePlanSpec:
    return ReleasePlanSpec.model_validate({**plan_example.ARGS, **changes})


class Team:
    """``remote.git`` (bare) and the clones made of it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.remote = root / "remote.git"
        git(root, "init", "-q", "--bare", str(self.remote))

    def clone(self, name: str, *extra: str) -> Path:
        path = self.root / name
        git(self.root, "clone", "-q", *extra, str(self.remote), str(path))
        return path

    def founder(self, name: str = "alice") -> Path:
        """The clone that founds the project: a first commit, pushed before anyone else clones."""
        path = self.clone(name)
        (path / "README").write_text("x\n")
        git(path, "add", "README")
        git(path, "commit", "-q", "-m", "first")
        git(path, "push", "-q", "origin", "HEAD:refs/heads/main")
        return path


class Member:
    """One clone with a store and a planner open on it, closed by ``close``."""

    def __init__(self, path: Path, agent: str) -> None:
        self.path = path
        self.agent = agent
        self.store = GitRefsStore(path)
        self.planner = ReleasePlanner(self.store)

    def reopen(self) -> None:
        self.store.close()
        self.store = GitRefsStore(self.path)
        self.planner = ReleasePlanner(self.store)

    def plan(self, expected_revision: int | None = None, **changes: Any) -> int:
        result = self.planner.create_release_plan(
            plan_args(**changes), expected_revision=expected_revision, agent=self.agent
        )
        return result.revision

    def view(self) -> Any:
        return self.planner.get_release_plan(VERSION)

    def plan_entity(self) -> Any:
        view = self.view()
        return next(a for a in view.artifacts if a.kind == "release_plan")

    def close(self) -> None:
        self.store.close()
