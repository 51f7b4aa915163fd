"""``engram-release-planner demo``: plan the skill's v2.5.0 example through a real MCP client session.

The demo drives the in-process server with ``mcp.Client`` exactly as an agent would (tool calls in
step order with the arguments in ``tools/examples``), then prints the stakeholder summary, the
warnings, and where the entities are stored with the commands to look at them.
"""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, TextIO

import anyio

from ..tools.common import normalize_version
from ..tools.service import PLAN_TOOLS
from .settings import Settings

DEMO_VERSION = "2.5.0"
CLIENT_NAME = "release-planner-demo"

# The example module (tools/examples/<name>.py, variable ARGS) for each write tool.
EXAMPLE_MODULE = {
    "create_release_plan": "release_plan",
    "design_migration_path": "migration",
    "design_rollback": "rollback",
    "plan_rollout": "rollout",
    "create_runbook": "runbook",
}


class DemoFailed(Exception):
    pass


def example_args(tool: str) -> dict[str, Any] | None:
    """``ARGS`` of the example module for ``tool``, or None if the module has none."""
    module = importlib.import_module(f"..tools.examples.{EXAMPLE_MODULE[tool]}", __package__)
    args = getattr(module, "ARGS", None)
    return dict(args) if isinstance(args, dict) else None


class Output:
    """Where the demo prints; a reader that goes away (``demo | head``) just ends the printing."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.closed = False

    def say(self, text: str = "") -> None:
        if self.closed:
            return
        try:
            print(text, file=self.out, flush=True)
        except BrokenPipeError:
            self.closed = True


def run_demo(settings: Settings, *, temporary_workspace: bool, out: TextIO | None = None) -> int:
    output = Output(out or sys.stdout)
    if temporary_workspace and settings.store != "memory":  # the memory store writes nothing to disk
        workspace = Path(tempfile.mkdtemp(prefix="release-planner-demo-"))
        settings = settings.model_copy(update={"workspace": workspace})
    try:
        anyio.run(_demo, settings, output)
    except DemoFailed as exc:
        print(f"demo stopped: {exc}", file=sys.stderr)
        return 1
    if output.closed:
        raise BrokenPipeError  # the CLI ends quietly, as a Unix tool does on SIGPIPE
    return 0


async def _call(client: Any, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise DemoFailed(f"{name} failed: {text}")
    return dict(result.structured_content or {})


async def _demo(settings: Settings, output: Output) -> None:
    from mcp import Client
    from mcp.types import Implementation

    from .app import build_server, server_version

    say = output.say

    server = build_server(settings)
    client_info = Implementation(name=CLIENT_NAME, version=server_version())
    where = (
        "in memory (gone when the demo ends)" if settings.store == "memory" else f"in {settings.workspace}"
    )
    say(f"Planning release {DEMO_VERSION} through MCP, {settings.store} store {where}")
    say()
    artifacts: list[tuple[str, str, str, str]] = []  # kind, entity type, id, title
    task_id = ""
    warnings: list[dict[str, Any]] = []
    breaking_changes: list[Any] = []
    async with Client(server, client_info=client_info) as client:
        for step, tool in enumerate(PLAN_TOOLS, start=1):
            args = example_args(tool.name)
            if tool.name == "design_migration_path" and not breaking_changes:
                say(f"{step}. {tool.name:<22} skipped: {DEMO_VERSION} has no breaking changes")
                continue
            if args is None or normalize_version(str(args.get("version", ""))) != DEMO_VERSION:
                say(f"{step}. {tool.name:<22} skipped: no example arguments for {DEMO_VERSION}")
                continue
            if tool.name == "create_release_plan":
                breaking_changes = list(args.get("breaking_changes") or [])
            res = await _call(client, tool.name, args)
            art = res["artifact"]
            task_id = res["task_id"]
            artifacts.append((art["kind"], art["entity_type"], art["entity_id"], art["title"]))
            warnings.extend({"step": tool.name, **w} for w in res.get("warnings", []))
            verb = "created" if res.get("created") else "updated"
            say(
                f"{step}. {tool.name:<22} {verb} {art['entity_type']} {art['entity_id']} "
                f"(revision {res['revision']}, {len(res.get('warnings', []))} warnings)"
            )
        linked = await _call(client, "link_release_entities", {"version": DEMO_VERSION})
        say(
            f"6. {'link_release_entities':<22} {len(linked['created'])} links created, "
            f"{len(linked['existing'])} already there"
        )
        view = await _call(client, "get_release_plan", {"version": DEMO_VERSION})
        summary = await _call(client, "summarize_release", {"version": DEMO_VERSION})

    say()
    say(f"Release {view['release']} - {view['name']} (status {view['status']}, target {view['target_date']})")
    if view.get("missing"):
        say(f"Not planned yet: {', '.join(view['missing'])}")
    say()
    say("Stakeholder summary:")
    say(textwrap.indent(textwrap.fill(summary["summary"], width=100), "  "))
    say()
    seen = {(w["step"], w["code"]) for w in warnings}
    cross = [w for w in view.get("warnings", []) if not any(code == w["code"] for _, code in seen)]
    all_warnings = [*warnings, *({"step": "release", **w} for w in cross)]
    say(f"Warnings ({len(all_warnings)}):" if all_warnings else "Warnings: none")
    for w in all_warnings:
        say(
            textwrap.fill(f"- [{w['step']}] {w['code']}: {w['message']}", width=100, subsequent_indent="    ")
        )
    say()
    say("Where it lives:")
    if settings.store == "memory":
        say("  the memory store: nothing was written to disk (use --store git to keep the entities)")
    else:
        say(f"  {'workspace':<18} {settings.workspace}")
    say(f"  {'release task':<18} task {task_id}")
    for kind, entity_type, entity_id, title in artifacts:
        say(f"  {kind:<18} {entity_type} {entity_id}  {title}")
    if settings.store != "memory":
        say()
        say("Look at it (no venv or engram binary needed):")
        for line in look_commands(str(settings.workspace), task_id, artifacts):
            say(f"  {line}")


def planner_command() -> list[str]:
    """How to run this tool again from any shell: the console script beside this interpreter, by its
    full path (works without an activated venv), else ``python -m release_planner.server``."""
    script = Path(sys.executable).parent / "engram-release-planner"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "release_planner.server"]


def look_commands(workspace: str, task_id: str, artifacts: list[tuple[str, str, str, str]]) -> list[str]:
    """Commands that show what the demo stored: this tool and plain git always; engram if installed."""
    git = ["git", "-C", workspace]
    lines = [
        shlex.join([*planner_command(), "show", DEMO_VERSION, "--workspace", workspace]),
        shlex.join([*git, "for-each-ref", "refs/engram"]),
        shlex.join([*git, "cat-file", "-p", f"refs/engram/task/{task_id}"]),
    ]
    lines += [
        shlex.join([*git, "cat-file", "-p", f"refs/engram/{entity_type}/{entity_id}"])
        for _, entity_type, entity_id, _ in artifacts
    ]
    engram = shutil.which("engram")
    if engram is not None:
        lines.append(f"cd {shlex.quote(workspace)} && {shlex.quote(engram)} task show {task_id}")
    return lines
