"""The stdio transport, with an answer for requests the SDK cannot parse for their depth.

The SDK's JSON parser gives up past about 255 levels of nesting. Over stdio it then hands the
session an exception instead of a message, the session only logs it, and the client waits forever
for an answer to its request id. ``serve_stdio`` reads such a line again with ``deepjson`` (any
depth, no recursion) and, if it is a request, answers its id with a JSON-RPC error naming the path
and the limit (``MAX_INPUT_DEPTH``, as a tool's own refusal does for 65 to 255 levels). Anything
else that does not parse is passed on as before. Over HTTP ``http.DepthGuard`` gives the same answer.

A JSON-RPC batch (an array of messages) is not MCP since protocol 2025-06-18, and the SDK drops it
the same way; each request in it is answered, by its id, with an Invalid Request error that says
nothing in the batch was run and to send each request as a message of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_PARAMS, INVALID_REQUEST, ErrorData, JSONRPCError

from .arguments import MAX_INPUT_DEPTH, Problem, refusal
from .engram import deepjson

if TYPE_CHECKING:  # pragma: no cover
    from mcp.server.mcpserver import MCPServer


def _first_error(exc: Exception) -> dict[str, Any]:
    """The first error the SDK's parser reported in ``exc`` (its message and input); {} if none."""
    errors = getattr(exc, "errors", None)
    try:
        first = errors()[0] if callable(errors) else {}
    except Exception:
        return {}
    return first if isinstance(first, dict) else {}


def _request_id(message: object) -> int | str | None:
    """The id of a request, which waits for an answer; None for a notification, a response or junk."""
    ident = message.get("id") if isinstance(message, dict) else None
    if not isinstance(message, dict) or "method" not in message or type(ident) not in (int, str):
        return None
    return ident  # type: ignore[return-value]


def too_deep_answer(exc: Exception) -> JSONRPCError | None:
    """The error for a request the parser refused for its depth; None for anything else."""
    first = _first_error(exc)
    text = first.get("input") if "recursion limit" in str(first.get("msg", "")) else None
    if not isinstance(text, str):
        return None
    return too_deep_refusal(text)


def too_deep_refusal(text: str | bytes) -> JSONRPCError | None:
    """The error answering the request ``text`` (too deep for the SDK's parser); None if it is not a
    request (a notification or a response: nobody waits for an answer) or not JSON at all."""
    try:
        message = deepjson.loads(text)
    except ValueError:
        return None
    ident = _request_id(message)
    if ident is None:
        return None
    levels, path = deepjson.deepest_path(message.get("params"))
    if levels <= MAX_INPUT_DEPTH:  # the depth is outside the params: name where it is
        levels, path = deepjson.deepest_path({k: v for k, v in message.items() if k != "params"})
        levels -= 1
    problem = Problem(
        deepjson.path_text(path),
        f"nested {levels} levels deep",
        f"at most {MAX_INPUT_DEPTH} levels of nested lists and objects in the whole call",
    )
    next_step = f"fix the listed argument and send {message['method']} again; nothing was changed"
    return JSONRPCError(
        jsonrpc="2.0", id=ident, error=ErrorData(code=INVALID_PARAMS, message=refusal([problem], next_step))
    )


def batch_answers(exc: Exception) -> list[JSONRPCError]:
    """Errors answering each request of a batch the parser refused; empty for anything else."""
    batch = _first_error(exc).get("input")
    if not isinstance(batch, list):
        return []
    answers = []
    for message in batch:
        ident = _request_id(message)
        if ident is None:
            continue  # a notification or a response: nobody waits for an answer
        text = (
            f"{message['method']} arrived inside a JSON-RPC batch, which MCP does not accept (batches "
            f"were removed in protocol version 2025-06-18); nothing in the batch was run. Send each "
            f"request as a message of its own."
        )
        answers.append(
            JSONRPCError(jsonrpc="2.0", id=ident, error=ErrorData(code=INVALID_REQUEST, message=text))
        )
    return answers


class _AnsweringReader:
    """The SDK's read stream, answering too-deep requests and batches on the write stream instead of
    passing their parse errors on."""

    def __init__(self, inner: Any, write: Any) -> None:
        self._inner = inner
        self._write = write

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            batch = batch_answers(item)
            if batch:
                for refusal_of_one in batch:
                    await self._write.send(SessionMessage(refusal_of_one))
                continue
            # Reading a line of a megabyte again takes a moment: not on the event loop.
            answer = await anyio.to_thread.run_sync(too_deep_answer, item)
            if answer is None:
                return item
            await self._write.send(SessionMessage(answer))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _AnsweringReader:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _AnsweringReader:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


async def serve_stdio(server: MCPServer[Any]) -> None:
    """What ``MCPServer.run_stdio_async`` does, with too-deep requests answered."""
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        await lowlevel.run(
            _AnsweringReader(read_stream, write_stream),
            write_stream,
            lowlevel.create_initialization_options(),
        )
