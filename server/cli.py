"""Command line: ``engram-release-planner [serve|demo|show VERSION|list|sync|repair] [options]``.

``serve`` (the default) speaks MCP on stdio, or Streamable HTTP with ``--http``. In stdio mode
nothing but the protocol may reach stdout, so every log line goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..tools.errors import PlannerError
from .settings import ENV_PREFIX, Settings, SettingsError, env_var, settings_table

log = logging.getLogger("release_planner.server")

COMMANDS = ("serve", "demo", "show", "list", "sync", "repair")


def _common_options() -> argparse.ArgumentParser:
    # SUPPRESS keeps options that were not given out of the namespace, so a subcommand's parser does
    # not reset what was given before the subcommand, and the environment still applies.
    p = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    g = p.add_argument_group("settings (each also read from " + ENV_PREFIX + "<NAME>)")
    g.add_argument(
        "--workspace",
        metavar="DIR",
        help="git repository holding the Engram data (default: the client's root, else cwd if a repository "
        "or empty)",
    )
    g.add_argument(
        "--init",
        action="store_true",
        help="allow `git init` of a workspace that holds files but is no repository",
    )
    g.add_argument("--store", choices=["git", "engram-cli", "memory"], help="storage backend (default: git)")
    g.add_argument("--engram-binary", metavar="PATH", help="engram executable for --store engram-cli")
    g.add_argument(
        "--agent", help="agent recorded on entities (default: the MCP client's name, else 'default')"
    )
    g.add_argument("--read-only", action="store_true", help="register only the read tools")
    g.add_argument(
        "--toolsets",
        metavar="LIST",
        help="tool groups: plan, read, run, export, manage, all (default: plan,read,export,manage)",
    )
    g.add_argument("--http", action="store_true", help="serve Streamable HTTP instead of stdio")
    g.add_argument("--host", dest="http_host", metavar="HOST", help="HTTP bind address (default: 127.0.0.1)")
    g.add_argument("--port", dest="http_port", type=int, metavar="PORT", help="HTTP port (default: 8765)")
    g.add_argument("--path", dest="http_path", metavar="PATH", help="HTTP endpoint path (default: /mcp)")
    g.add_argument(
        "--http-header-timeout",
        type=float,
        metavar="SECONDS",
        help="close an HTTP connection whose request headers, then body, take longer (408; default: 10)",
    )
    g.add_argument(
        "--http-idle-timeout",
        type=float,
        metavar="SECONDS",
        help="close an idle keep-alive HTTP connection after this long (default: 5)",
    )
    g.add_argument(
        "--http-max-connections",
        type=int,
        metavar="N",
        help="beyond N open HTTP connections close the oldest one waiting for its request, or answer 503 "
        "if all are busy (default: 100)",
    )
    g.add_argument(
        "--token-file", metavar="FILE", help="file holding the bearer token HTTP clients must send"
    )
    g.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        type=str.upper,
        help="stderr log level (default: WARNING)",
    )
    g.add_argument(
        "--max-markdown-chars", type=int, metavar="N", help="trim Markdown in tool results to N chars"
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    table = "\n".join(f"  {flag:<22} {env:<44} {default}" for flag, env, default, _ in settings_table())
    parser = argparse.ArgumentParser(
        prog="engram-release-planner",
        description="MCP server that plans software releases and stores them in Engram.",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="settings (flag, environment variable, default):\n" + table,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", parents=[common], help="serve MCP on stdio (default) or HTTP (--http)")
    sub.add_parser(
        "demo",
        parents=[common],
        help="plan the skill's v2.5.0 example end to end through an MCP client session "
        "(in a new temporary workspace unless --workspace is given)",
    )
    show = sub.add_parser("show", parents=[common], help="print a release as Markdown")
    show.add_argument("version", help="release version, e.g. 2.5.0")
    lst = sub.add_parser("list", parents=[common], help="list the planned releases")
    lst.add_argument("--status", choices=["todo", "inprogress", "done", "blocked", "cancelled"])
    syn = sub.add_parser(
        "sync",
        parents=[common],
        help="share the plans with a team through a git remote: fetch, merge by Engram version, push",
    )
    syn.add_argument(
        "--remote", default="origin", metavar="NAME", help="git remote to sync with (default: origin)"
    )
    syn.add_argument(
        "--prefer",
        choices=["ours", "theirs"],
        help="resolve conflicts by keeping this side's content as a new revision (default: report them)",
    )
    sub.add_parser(
        "repair",
        parents=[common],
        help="put right refs whose objects a `git gc --prune=now` took (git store only)",
    )
    return parser


def settings_from_args(ns: argparse.Namespace, environ: Any = None) -> Settings:
    given = vars(ns)
    overrides: dict[str, Any] = {name: given[name] for name in Settings.model_fields if name in given}
    if given.get("http"):
        overrides["transport"] = "http"
    return Settings.from_sources(overrides, environ)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    command = ns.command or "serve"
    try:
        settings = settings_from_args(ns)
    except SettingsError as exc:
        print(f"engram-release-planner: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if command == "serve":
            return _serve(settings)
        if command == "demo":
            from .demo import run_demo

            chosen = "workspace" in vars(ns) or env_var("workspace") in os.environ
            return run_demo(settings, temporary_workspace=not chosen)
        if command == "show":
            return _show(settings, ns.version)
        if command == "sync":
            return _sync(settings, ns.remote, ns.prefer)
        if command == "repair":
            return _repair(settings)
        return _list(settings, ns.status)
    except SettingsError as exc:
        print(f"engram-release-planner: {exc}", file=sys.stderr)
        return 2
    except PlannerError as exc:  # e.g. no usable workspace
        print(f"engram-release-planner: {exc.describe()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `demo | head` closed the pipe: stop quietly, as a Unix tool killed by SIGPIPE would. Point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _serve(settings: Settings) -> int:
    from .app import build_server

    server = build_server(settings)
    if settings.transport == "http":
        from .http import serve_http

        serve_http(server, settings)
    else:
        server.run("stdio")
    return 0


def _planner(settings: Settings) -> Any:
    from ..tools.service import ReleasePlanner
    from .app import open_store

    store = open_store(settings)
    return store, ReleasePlanner(store, max_markdown_chars=settings.max_markdown_chars)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` for a terminal: control characters other than newline and tab (escape sequences, a
    carriage return that overwrites the line) written as ``\\xNN``; CRLF line ends as newlines."""
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(lambda m: "\\r" if m.group() == "\r" else f"\\x{ord(m.group()):02x}", text)


def _show(settings: Settings, version: str) -> int:
    from ..tools.errors import PlannerError

    store, planner = _planner(settings)
    try:
        sys.stdout.write(printable(planner.release_markdown(version)))
        return 0
    except PlannerError as exc:
        print(f"engram-release-planner: {exc.describe()}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _list(settings: Settings, status: str | None) -> int:
    from ..tools.errors import PlannerError

    store, planner = _planner(settings)
    try:
        cursor = None
        rows = []
        while True:
            page = planner.list_release_plans(status, 100, cursor)
            rows.extend(page.releases)
            cursor = page.next_cursor
            if cursor is None:
                break
    except PlannerError as exc:
        print(f"engram-release-planner: {exc.describe()}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if not rows:
        print(f"No releases planned in {settings.workspace or Path.cwd()}")
        return 0
    print(f"{'VERSION':<14} {'STATUS':<11} {'TARGET':<11} {'TASK':<9} {'NAME':<32} ARTIFACTS")
    for r in rows:
        print(
            f"{r.release:<14} {r.status:<11} {r.target_date or '-':<11} {r.task_id[:8]:<9} "
            f"{printable(r.name[:32]):<32} {', '.join(r.artifacts)}"
        )
    return 0


def _sync(settings: Settings, remote: str, prefer: Any) -> int:
    from .app import workspace_of
    from .engram.sync import sync

    report = sync(workspace_of(settings), remote, prefer=prefer)
    print("\n".join(report.lines()))
    if report.conflicts:
        print(
            "engram-release-planner: conflicts were left as they are on both sides; run sync again with "
            "--prefer ours (keep this clone's content) or --prefer theirs (take the remote's)",
            file=sys.stderr,
        )
        return 1
    return 0


def _repair(settings: Settings) -> int:
    """Exit 0 when every broken ref was put right (or none was found), 1 when some are left."""
    import pygit2

    from ..tools.errors import filesystem_error
    from .app import workspace_of
    from .engram.gitrefs import GitRefsStore

    try:
        with GitRefsStore(workspace_of(settings), create=False) as store:
            done, left = store.repair()
    except (OSError, pygit2.GitError) as exc:  # a full disk or a read-only workspace, as a write names it
        raise filesystem_error(exc, doing="repairing the workspace", stored=None) from exc
    for line in done:
        print(f"repaired {line}")
    for line in left:
        print(f"not repaired: {line}")
    if not done and not left:
        print("every ref under refs/engram/ points at an object in the repository")
    return 1 if left else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
