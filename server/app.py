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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from ..prompts.loader import load_prompts
from ..tools.errors import PlannerError, StorageError
from ..tools.service import ReleasePlanner
from .arguments import Problem, closest, refusal
from .cancellation import guard_write
from .descriptions import instructions
from .documents import register_prompts, register_resources
from .host import register_host_features
from .registration import AppState, build_tools, tool_names
from .settings import Settings
from .workspace import WorkspaceGate, check_workspace, choose_workspace

if TYPE_CHECKING:  # pragma: no cover
    from ..tools.ports import Store

log = logging.getLogger("release_planner.server")

SERVER_NAME = "engram-release-planner"


def server_version() -> str:
    try:
        return dist_version("engram-release-planner")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def workspace_of(settings: Settings) -> Path:
    """The configured workspace, else the current directory if it may be used (no client roots here:
    this is for the CLI's own commands; the server asks the client, see ``server/workspace.py``)."""
    if settings.workspace is not None:
        return settings.workspace
    return choose_workspace([], Path.cwd(), init=settings.init)[0]


def open_store(settings: Settings) -> Store:
    """The store the settings name. Imported lazily: pygit2 and subprocess plumbing cost start-up time."""
    if settings.store == "memory":
        from .engram.memory import MemoryStore

        return MemoryStore()
    workspace = workspace_of(settings)
    check_workspace(workspace, init=settings.init)
    if settings.store == "engram-cli":
        from .engram.cli import EngramCliStore

        # engram's `task list` shows only one agent's tasks, so name ours or it misses release tasks.
        agents = (settings.agent,) if settings.agent else ()
        return EngramCliStore(workspace, binary=settings.engram_binary, agents=agents)
    from .engram.gitrefs import GitRefsStore

    return GitRefsStore(workspace)


class OpeningStore:
    """The configured store, opened on a background thread once ``start`` names its settings.

    Importing pygit2 and checking the workspace take ~40 ms, and indexing a large workspace far
    more; none of it should keep the client's handshake waiting. Every store call waits until the
    store is open (and indexed). A failed opening is tried again by the next call (a lock another
    server held, a repository another server was still creating), and its error, naming what to fix,
    is raised only if it fails again, so a fixed workspace never needs a restart.
    Calls are only made once ``AppState.ready`` has chosen the workspace and started the opening.
    """

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._started = False
        self._store: Store | None = None
        self._error: PlannerError | None = None
        self._settings: Settings | None = None
        self._reopening = threading.Lock()

    def start(self, settings: Settings) -> None:
        self._started = True
        self._settings = settings
        threading.Thread(
            target=self._open, args=(settings,), name="release-planner-open", daemon=True
        ).start()

    def _open(self, settings: Settings) -> None:
        try:
            self._store = open_store(settings)
            log.info("opened %s store at %s", settings.store, settings.workspace)
        except PlannerError as exc:
            self._error = exc
        except Exception as exc:  # an unexpected failure still has to reach the caller, named
            self._error = StorageError(
                f"cannot open the {settings.store} store at {settings.workspace}: {exc}"
            )
        if self._error is not None:
            log.error("%s", self._error)
            self._ready.set()
            return
        warm = getattr(self._store, "warm", None)
        try:
            if warm is not None:
                warm()
        except Exception as exc:  # the first real call reports the same problem properly
            log.warning("could not index the workspace in the background: %s", exc)
        finally:
            self._ready.set()

    def opened(self) -> Store:
        if not self._started:  # pragma: no cover - AppState.ready always starts it first
            raise StorageError("the store is not open: no workspace has been chosen yet", field="workspace")
        self._ready.wait()
        store, error = self._store, self._error
        if store is None:
            store, error = self._reopen()
        if store is None:
            error = error or StorageError("the store could not be opened", field="workspace")
            raise type(error)(error.message, field=error.field, valid=error.valid, next_step=error.next_step)
        return store

    def _reopen(self) -> tuple[Store | None, PlannerError | None]:
        with self._reopening:
            if self._store is None and self._settings is not None:  # else reopened meanwhile
                self._error = None
                self._open(self._settings)
            return self._store, self._error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.opened(), name)

    def close(self) -> None:
        if not self._started:
            return
        self._ready.wait()
        if self._store is not None:
            self._store.close()


class PlannerServer(MCPServer):
    """``MCPServer`` whose refusal of an unknown tool name says which tools exist, like every other
    refusal (``server/arguments.py``)."""

    read_only = False
    write_tools: frozenset[str] = frozenset()  # the listed tools that write: a cancel means something

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        names = [tool.name for tool in await self.list_tools()]
        if name not in names:
            valid = "the tools are " + ", ".join(names)
            if self.read_only and name in tool_names():
                problem = Problem("", f"{name} writes, and this server is read-only (--read-only)", valid)
                next_step = "ask the user to run a server without --read-only to write"
            elif name in tool_names():
                problem = Problem("", f"{name} is in a toolset this server does not list", valid)
                next_step = (
                    "ask the user to add it to the server's arguments, e.g. --toolsets default,run "
                    "(or --toolsets all)"
                )
            else:
                problem = Problem("", f"unknown tool {name!r}", valid + closest(name, names))
                next_step = "call one of the listed tools (tools/list describes each)"
            raise ToolError(refusal([problem], next_step))
        if name not in self.write_tools or context is None:
            return await super().call_tool(name, arguments, context)
        version = arguments.get("version") if isinstance(arguments, dict) else None
        return await guard_write(
            context, name, version, lambda: super(PlannerServer, self).call_tool(name, arguments, context)
        )

    async def run_stdio_async(self) -> None:
        from .stdio import serve_stdio  # answers requests too deep for the SDK's parser

        await serve_stdio(self)

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Any = None
    ) -> Any:
        names = [prompt.name for prompt in await self.list_prompts()]
        if name not in names:
            problem = Problem(
                "", f"unknown prompt {name!r}", "the prompts are " + ", ".join(names) + closest(name, names)
            )
            raise MCPError(
                code=INVALID_PARAMS,
                message=refusal([problem], "ask for one of the listed prompts (prompts/list)"),
                data={"prompt": name},
            )
        return await super().get_prompt(name, arguments, context)


def build_server(settings: Settings | None = None, store: Store | None = None) -> MCPServer:
    """A ready-to-run server. ``store``: use this store instead of opening one (it is not closed)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[AppState]:
        opened = OpeningStore() if store is None else None
        gate: WorkspaceGate | None = None
        if opened is not None and settings.store == "memory":
            opened.start(settings)
        elif opened is not None:
            # A configured workspace opens now; otherwise the first call chooses one (client roots).
            def start(workspace: Path) -> None:
                opened.start(settings.model_copy(update={"workspace": workspace}))

            gate = WorkspaceGate(settings.workspace, init=settings.init, start=start)
        active: Any = store if store is not None else opened
        planner = ReleasePlanner(active, max_markdown_chars=settings.max_markdown_chars)
        try:
            yield AppState(planner, settings, gate=gate)
        finally:
            if opened is not None:
                await anyio.to_thread.run_sync(opened.close)

    toolsets = settings.enabled_toolsets()
    every_prompt = load_prompts()
    # A prompt that walks through a tool this server does not list would only mislead the agent.
    listed = set(tool_names(settings.read_only, settings.toolsets))
    unlisted = set(tool_names()) - listed
    prompts = [p for p in every_prompt if not any(name in p.body for name in unlisted)]
    skill = next(p for p in every_prompt if p.name == "plan_release")
    server = PlannerServer(
        SERVER_NAME,
        title="Engram Release Planner",
        version=server_version(),
        instructions=instructions(settings.read_only, "run" in toolsets),
        lifespan=lifespan,
        log_level=settings.log_level,
        tools=build_tools(settings),
    )
    server.read_only = settings.read_only
    server.write_tools = frozenset(
        set(tool_names(settings.read_only, settings.toolsets)) - set(tool_names(True))
    )
    register_resources(server, skill_text=lambda: skill.body)
    register_prompts(server, prompts)
    register_host_features(server)
    return server
