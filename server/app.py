"""The composition root: ``build_server(settings, store=None)`` wires settings, store and use cases.

There is no module-level server. Each call builds a fresh ``MCPServer``; tests pass a ready store
(used as is, never closed here), everyone else gets the store the settings name, opened when the
server starts and closed when it stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING

import anyio.to_thread
from mcp.server.mcpserver import MCPServer

from ..prompts.loader import load_prompts
from ..tools.service import ReleasePlanner
from .registration import INSTRUCTIONS, AppState, build_tools, register_prompts, register_resources
from .settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from ..tools.ports import Store

log = logging.getLogger("release_planner.server")

SERVER_NAME = "engram-release-planner"


def server_version() -> str:
    try:
        return dist_version("engram-release-planner")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def open_store(settings: Settings) -> Store:
    """The store the settings name. Imported lazily: pygit2 and subprocess plumbing cost start-up time."""
    if settings.store == "memory":
        from .engram.memory import MemoryStore

        return MemoryStore()
    if settings.store == "engram-cli":
        from .engram.cli import EngramCliStore

        # engram's `task list` shows only one agent's tasks, so name ours or it misses release tasks.
        agents = (settings.agent,) if settings.agent else ()
        return EngramCliStore(settings.workspace, binary=settings.engram_binary, agents=agents)
    from .engram.gitrefs import GitRefsStore

    return GitRefsStore(settings.workspace)


def _warm_in_background(store: Store) -> None:
    """Build the store's index while the client is still handshaking, so a large workspace does not
    make the first tool call wait for it (calls that arrive earlier wait on the store's lock)."""
    warm = getattr(store, "warm", None)
    if warm is None:
        return

    def run() -> None:
        try:
            warm()
        except Exception as exc:  # the first real call reports the same problem properly
            log.warning("could not index the workspace in the background: %s", exc)

    threading.Thread(target=run, name="release-planner-warm", daemon=True).start()


def build_server(settings: Settings | None = None, store: Store | None = None) -> MCPServer:
    """A ready-to-run server. ``store``: use this store instead of opening one (it is not closed)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[AppState]:
        opened = None
        if store is None:
            opened = await anyio.to_thread.run_sync(open_store, settings)
            log.info("opened %s store at %s", settings.store, settings.workspace)
        active = store if store is not None else opened
        assert active is not None
        if opened is not None:
            _warm_in_background(opened)
        try:
            yield AppState(ReleasePlanner(active, max_markdown_chars=settings.max_markdown_chars), settings)
        finally:
            if opened is not None:
                await anyio.to_thread.run_sync(opened.close)

    prompts = load_prompts()
    skill = next(p for p in prompts if p.name == "plan_release")
    server = MCPServer(
        SERVER_NAME,
        title="Engram Release Planner",
        version=server_version(),
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=settings.log_level,
        tools=build_tools(settings),
    )
    register_resources(server, skill_text=lambda: skill.body)
    register_prompts(server, prompts)
    return server
