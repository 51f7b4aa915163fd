"""Git plumbing for tests: read and hand-write refs with the real ``git`` binary, as a foreign tool would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mcp import StdioServerParameters

# stdio_client hands the child only a few variables; it needs PATH for git and HOME for git's config.
CHILD_ENV = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL") if k in os.environ}

# For tests that commit: a fixed author, and no system config to surprise them.
COMMIT_ENV = {
    **CHILD_ENV,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "dev",
    "GIT_AUTHOR_EMAIL": "dev@example.org",
    "GIT_COMMITTER_NAME": "dev",
    "GIT_COMMITTER_EMAIL": "dev@example.org",
}


def git(workspace: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(workspace), *args],
        input=stdin,
        capture_output=True,
        check=True,
        env={**CHILD_ENV, "GIT_CONFIG_NOSYSTEM": "1"},
    )
    return done.stdout.decode("utf-8", "replace").strip()


def all_refs(workspace: Path) -> dict[str, str]:
    """Every ref (loose and packed) with the object it points at."""
    out = git(workspace, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def engram_refs(workspace: Path) -> dict[str, str]:
    return {name: oid for name, oid in all_refs(workspace).items() if name.startswith("refs/engram/")}


def write_blob_ref(workspace: Path, ref: str, payload: bytes) -> str:
    """``git hash-object -w --stdin`` then ``git update-ref``: what a hand-written Engram ref looks like."""
    oid = git(workspace, "hash-object", "-w", "--stdin", stdin=payload)
    git(workspace, "update-ref", ref, oid)
    return oid


def server_params(workspace: Path, *extra: str) -> StdioServerParameters:
    """``python -m release_planner.server serve --workspace W`` as a host launches it."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "release_planner.server", "serve", "--workspace", str(workspace), *extra],
        env=CHILD_ENV,
    )
