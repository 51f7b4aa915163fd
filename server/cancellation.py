"""What ``notifications/cancelled`` means for a write, and how the client learns what happened.

MCP forbids answering a cancelled request, so a write cancelled in flight used to end in silence:
stored or not, the client could not tell without reading. The rule is now:

- **Not started**: a write cancelled while it waits for the server's write lock (another write is
  running) or before it is handed to its worker thread stores nothing.
- **Started**: once handed to its worker thread a write runs to its end, as it would have
  without the cancel; the store's commit is atomic, so it is stored whole or, if refused, not at all.
  The cancel only drops the response.
- Either way the server sends a ``notifications/message`` (level ``warning``, logger
  ``release_planner``, not tied to the cancelled request) saying which it was and, for a
  started write, what was stored at which revision or why it was refused. Clients that do not
  receive log messages read the release (``get_release_plan``): its revisions tell.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
from mcp.shared.exceptions import MCPDeprecationWarning

from .host import LEVELS

log = logging.getLogger("release_planner.server")

R = TypeVar("R")
NOTICE_LEVEL = "warning"
_NOTICE_TIMEOUT = 5.0  # a stuck transport must not keep a cancelled call alive


@dataclass
class _Call:
    """One write tool call, as ``settled_write`` leaves it for ``guard_write``."""

    started: bool = False
    outcome: str = ""  # once the write has run: what a later cancel reports
    told: bool = False  # the client has been told already


# Set by ``guard_write`` for one tool call; ``settled_write`` records how its write went.
_call: ContextVar[_Call | None] = ContextVar("release_planner_write_call", default=None)


async def guard_write(ctx: Any, tool: str, version: object, call: Callable[[], Awaitable[R]]) -> R:
    """Run one write tool call; if it is cancelled before its write started, say so (nothing was
    stored), and if after the write returned (the tool still reporting), say how it went. Wraps the
    whole call, so a cancel during argument checks is reported as well."""
    state = _Call()
    token = _call.set(state)
    try:
        return await call()
    except anyio.get_cancelled_exc_class():
        if not state.started:
            where = f" (release {version})" if isinstance(version, str) and version else ""
            await notice(ctx, f"{tool}: cancelled before it started; nothing was stored{where}")
        elif not state.told and state.outcome:
            await notice(ctx, f"{tool}: {state.outcome}")
        raise
    finally:
        _call.reset(token)


async def settled_write(
    ctx: Any,
    lock: anyio.Lock,
    tool: str,
    subject: str,
    run: Callable[[], Awaitable[R]],
    done: Callable[[R], str],
) -> R:
    """Take the write lock and run ``run`` (the worker-thread call) by the rule above, reporting
    progress as ``{tool}: {subject}`` then ``{tool}: {done(result)}``."""
    cancelled = anyio.get_cancelled_exc_class()
    state = _call.get()
    started = False
    result: Any = None
    refusal: Exception | None = None
    try:
        async with lock:
            await ctx.report_progress(0, 1, f"{tool}: {subject}")
            started = True  # no checkpoint between here and the shield: a cancel cannot land between
            if state is not None:
                state.started = True
            with anyio.CancelScope(shield=True):
                try:
                    result = await run()
                except Exception as exc:
                    refusal = exc
            if state is not None:
                state.outcome = _outcome(subject, refusal, done, result)
            # Progress is a no-op without a progress token, so look for a cancel here explicitly.
            await anyio.lowlevel.checkpoint_if_cancelled()
            if refusal is not None:
                raise refusal
            await ctx.report_progress(1, 1, f"{tool}: {done(result)}")
        return result  # type: ignore[no-any-return]
    except cancelled:
        if not started:
            if state is not None:
                raise  # guard_write reports it, once, for the whole call
            outcome = f"cancelled before it started; nothing was stored ({subject})"
        else:
            outcome = _outcome(subject, refusal, done, result)
        if state is not None:
            state.told = True
        await notice(ctx, f"{tool}: {outcome}")
        raise


def _outcome(subject: str, refusal: Exception | None, done: Callable[[Any], str], result: Any) -> str:
    if refusal is not None:
        reason = str(refusal).split("\n", 1)[0]
        return f"cancelled after it started ({subject}); refused, nothing was stored: {reason}"
    return f"cancelled after it started ({subject}), and completed: {done(result)}"


async def notice(ctx: Any, message: str) -> None:
    """A log message to the client outside the (cancelled) request, and to our own log."""
    log.warning("%s", message)
    request = getattr(ctx, "request_context", ctx)  # a tool's Context, or the request context itself
    state = request.lifespan_context
    if LEVELS.index(NOTICE_LEVEL) < LEVELS.index(getattr(state, "log_level", "info")):
        return
    with anyio.CancelScope(shield=True), anyio.move_on_after(_NOTICE_TIMEOUT):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                await request.session.send_log_message(
                    level=NOTICE_LEVEL, data=message, logger="release_planner", related_request_id=None
                )
        except Exception as exc:  # a lost notice never turns into a crash
            log.debug("cancellation notice not sent: %s", exc)
