"""Which directory holds the Engram data, and when a directory may be made a git repository.

Hosts start servers wherever they like: Claude Desktop in ``/``, others in ``$HOME``. So the server
never turns a directory that holds files but is not a repository into one unless told to (``--init``):

- ``--workspace`` given: used as is when it is a repository (bare or not), an empty directory or
  missing (then created and ``git init``-ed, as engram does); anything else is refused.
- not given: the first ``file://`` root the MCP client offers (``roots/list``) that is a repository
  or an empty directory; else the current directory on the same terms; else every call is refused
  with how to configure the host. Roots can only be asked for once a client is connected, so the
  store is then opened at the first call that needs it, never during the handshake.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import anyio
from mcp.shared.exceptions import MCPDeprecationWarning

from ..tools.errors import StorageError
from .engram.refs import is_bare_repository

log = logging.getLogger("release_planner.server")

Kind = Literal["repository", "bare", "empty", "missing", "occupied", "not-a-directory"]
ROOTS_TIMEOUT_S = 5.0

HOW_TO_CONFIGURE = (
    "add the workspace to the server's arguments in the host's MCP configuration, e.g. "
    '"args": ["serve", "--workspace", "/path/to/repo"] (Claude Desktop: claude_desktop_config.json; '
    "VS Code: .vscode/mcp.json with ${workspaceFolder}), or start it with --init to make the current "
    "directory a repository"
)


def classify(path: Path) -> Kind:
    if not path.exists():
        return "missing"
    if not path.is_dir():
        return "not-a-directory"
    if (path / ".git").exists():
        return "repository"
    if is_bare_repository(path):
        return "bare"
    try:
        with os.scandir(path) as entries:
            return "occupied" if any(True for _ in entries) else "empty"
    except OSError:
        return "occupied"


def check_workspace(path: Path, *, init: bool) -> None:
    """Refuse a workspace the server must not (or cannot) make a repository of."""
    kind = classify(path)
    if kind == "not-a-directory":
        raise StorageError(
            f"the workspace {path} is a file, not a directory",
            field="workspace",
            next_step="pass a git repository or an empty directory as --workspace",
        )
    if kind == "occupied" and not init:
        raise StorageError(
            f"the workspace {path} holds files but is not a git repository; it is not made one "
            "without --init",
            field="workspace",
            valid="a git repository (bare or not), an empty directory, or a path that does not exist yet",
            next_step="pass a repository as --workspace, or add --init to run `git init` there",
        )


def path_of_root(uri: str) -> Path | None:
    """The local directory of a ``file://`` root URI, or None for any other URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(unquote(parsed.path)))


def choose_workspace(roots: Sequence[str], cwd: Path, *, init: bool) -> tuple[Path, str]:
    """The workspace when none was configured, and where it came from; raises StorageError."""
    for uri in roots:
        path = path_of_root(uri)
        if path is not None and classify(path) in ("repository", "bare", "empty"):
            return path.resolve(), f"the client's root {uri}"
    kind = classify(cwd)
    if kind in ("repository", "bare", "empty") or (init and kind == "occupied"):
        return cwd.resolve(), "the current directory"
    offered = ", ".join(roots) if roots else "none"
    raise StorageError(
        f"no workspace configured: the server runs in {cwd}, which is neither a git repository nor "
        f"an empty directory, and no root the client offered is one (roots: {offered})",
        field="workspace",
        next_step=HOW_TO_CONFIGURE,
    )


async def client_roots(ctx: Any) -> list[str]:
    """The ``file://`` roots the connected client offers, or [] when it offers none or cannot be asked
    (no roots capability, the stateless 2026-07-28 era, no answer within ``ROOTS_TIMEOUT_S``)."""
    try:
        capabilities = ctx.session.client_capabilities
    except (AttributeError, ValueError):
        return []
    if capabilities is None or getattr(capabilities, "roots", None) is None:
        return []
    try:
        with anyio.move_on_after(ROOTS_TIMEOUT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            result = await ctx.session.list_roots()
            return [str(root.uri) for root in result.roots]
    except Exception as exc:  # any failure to ask means: no roots
        log.info("could not list the client's roots: %s", exc)
    return []


class WorkspaceGate:
    """Opens the store once a workspace is known: at once when configured, else at the first call,
    from the client's roots or the current directory. ``start(workspace)`` opens it (in a thread)."""

    def __init__(self, configured: Path | None, *, init: bool, start: Callable[[Path], None]) -> None:
        self._init = init
        self._start = start
        self._lock = anyio.Lock()
        self.workspace = configured
        if configured is not None:
            start(configured)

    async def ready(self, ctx: Any) -> None:
        """Choose and open the workspace if that has not happened; raises StorageError if none fits.

        A refusal is not remembered: the user may fix the host's configuration or roots meanwhile."""
        if self.workspace is not None:
            return
        async with self._lock:
            if self.workspace is not None:
                return
            roots = await client_roots(ctx)
            chosen, source = choose_workspace(roots, Path.cwd(), init=self._init)
            log.info("workspace %s (from %s)", chosen, source)
            self._start(chosen)
            self.workspace = chosen
