"""What hosts expect beyond tools: stored releases as resources, completion, logging, list changes.

- ``resources/list`` lists the static resources and then one ``release://{version}`` per stored
  release, newest first, paged with an opaque cursor; a write that adds a release (or a retirement
  that removes one) sends ``notifications/resources/list_changed``.
- ``completion/complete`` offers the stored versions that start with what was typed, for every prompt
  argument and resource-template variable named ``version``.
- ``logging/setLevel`` sets the level of the log notifications the server sends about writes.
- An unknown prompt is ``-32602`` (``server/app.py``, ``PlannerServer.get_prompt``).

The SDK's ``MCPServer`` has no hooks for these, so the handlers are registered on its low-level
server (``MCPServer._lowlevel_server``), the same way ``MCPServer.completion()`` does it.
"""

from __future__ import annotations

import functools
import logging
import warnings
from typing import Any

import anyio.to_thread
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.types import (
    INVALID_PARAMS,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    EmptyResult,
    ListResourcesResult,
    PaginatedRequestParams,
    Resource,
    SetLevelRequestParams,
)

from ..tools.errors import PlannerError
from .arguments import planner_refusal

log = logging.getLogger("release_planner.server")

RESOURCES_PAGE = 50
MAX_COMPLETIONS = 100  # the spec's cap on values in one completion result
LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


def _state(ctx: Any) -> Any:
    return ctx.lifespan_context


async def _planner(ctx: Any) -> Any:
    """The planner once its workspace is chosen, or None when none can be (listing still works)."""
    try:
        return await _state(ctx).ready(ctx)
    except PlannerError as exc:
        log.info("no stored releases to list: %s", exc.message)
        return None


async def list_resources(
    server: MCPServer, ctx: Any, params: PaginatedRequestParams | None
) -> ListResourcesResult:
    cursor = params.cursor if params is not None else None
    static = [] if cursor else await server.list_resources()
    planner = await _planner(ctx)
    if planner is None:
        return ListResourcesResult(resources=static)
    try:
        page = await anyio.to_thread.run_sync(
            functools.partial(planner.list_release_plans, None, RESOURCES_PAGE, cursor)
        )
    except PlannerError as exc:
        raise MCPError(code=INVALID_PARAMS, message=planner_refusal(exc), data={"cursor": cursor}) from exc
    releases = [
        Resource(
            uri=f"release://{row.release}",
            name=f"release-{row.release}",
            title=f"Release {row.release} - {row.name}" if row.name else f"Release {row.release}",
            description=f"{row.status}, target {row.target_date or 'not set'}; "
            f"artifacts: {', '.join(row.artifacts) or 'none yet'}",
            mime_type="text/markdown",
        )
        for row in page.releases
    ]
    return ListResourcesResult(resources=[*static, *releases], next_cursor=page.next_cursor)


async def complete(ctx: Any, params: CompleteRequestParams) -> CompleteResult:
    """Stored versions for any argument or template variable named ``version``, by prefix."""
    if params.argument.name != "version":
        return CompleteResult(completion=Completion(values=[], total=0, has_more=False))
    planner = await _planner(ctx)
    versions: list[str] = [] if planner is None else await anyio.to_thread.run_sync(planner.release_versions)
    typed = params.argument.value.strip().removeprefix("v")
    matches = [v for v in versions if v.startswith(typed)]
    return CompleteResult(
        completion=Completion(
            values=matches[:MAX_COMPLETIONS], total=len(matches), has_more=len(matches) > MAX_COMPLETIONS
        )
    )


async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
    _state(ctx).log_level = params.level
    return EmptyResult()


async def notify_log(ctx: Any, level: str, message: str) -> None:
    """A ``notifications/message`` about what a call did, when the client's level lets it through
    (``logging/setLevel``; on 2026-07-28 connections the request's own opt-in decides)."""
    state = ctx.request_context.lifespan_context
    if LEVELS.index(level) < LEVELS.index(getattr(state, "log_level", "info")):
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await ctx.request_context.session.send_log_message(
                level=level, data=message, logger="release_planner", related_request_id=ctx.request_id
            )
    except Exception as exc:  # a lost notification never fails the call
        log.debug("log notification not sent: %s", exc)


async def notify_resources_changed(ctx: Any) -> None:
    """``notifications/resources/list_changed`` on both eras: the session (handshake era) and the
    subscription bus (``subscriptions/listen``, 2026-07-28)."""
    try:
        await ctx.request_context.session.send_resource_list_changed()
    except Exception as exc:
        log.debug("resources/list_changed not sent on the session: %s", exc)
    try:
        await ctx.notify_resources_changed()
    except Exception as exc:
        log.debug("resources/list_changed not published: %s", exc)


def register_host_features(server: MCPServer) -> None:
    low = server._lowlevel_server  # MCPServer has no public way to add these handlers
    low.add_request_handler(
        "resources/list", PaginatedRequestParams, functools.partial(list_resources, server)
    )
    low.add_request_handler("completion/complete", CompleteRequestParams, complete)
    low.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    create = low.create_initialization_options

    @functools.wraps(create)
    def with_list_changed(notification_options: Any = None, *args: Any, **kwargs: Any) -> Any:
        # Advertise resources.listChanged: writes that add a release send the notification.
        options = notification_options or NotificationOptions(resources_changed=True)
        return create(options, *args, **kwargs)

    low.create_initialization_options = with_list_changed  # type: ignore[method-assign]
