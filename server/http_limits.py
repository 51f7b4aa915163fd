"""Connection limits of the HTTP transport: a header deadline, an idle deadline and a connection cap.

uvicorn alone keeps a connection open for as long as its client likes until the first request has
been read: its keep-alive timer only starts after a response, and any byte received stops it. A
client that opens connections and never finishes their headers ("slowloris") can so hold every file
descriptor the process has, and legitimate clients then cannot connect at all.

``limited_protocol`` makes uvicorn's h11 protocol class with three limits:

- **header timeout**: a connection must deliver a complete request line and headers within this
  many seconds of connecting, or of the first byte of its next request, and then the request's
  body within as many seconds again. If not, it is answered ``408 Request Timeout`` (nothing at
  all if it sent nothing) and closed. The body deadline counts however the body trickles in, and
  also holds after an early answer (a 401 sent before the body was read).
- **idle timeout**: a keep-alive connection with no request in progress is closed after this many
  seconds (uvicorn's ``timeout_keep_alive``).
- **connection cap**: at most this many connections are served at once. When one more arrives, the
  oldest connection still waiting for its client (headers or body not yet complete, or idle between
  requests) is closed to make room, so connections that send nothing useful cannot keep a client
  out however fast they are reopened. Only when every connection is busy (a request being answered,
  an event stream) is the newcomer answered ``503 Service Unavailable`` with ``Retry-After``
  straight away and closed, instead of waiting in a queue that may never move.

A response in progress (such as the server-sent event stream of an MCP session) is never cut: the
deadlines only apply while the server waits for a request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# How long a refused connection is kept to let the 503 reach the client before the socket closes:
# closing a socket with unread request bytes makes the kernel send a reset, which can destroy the
# response. It is short and the refused connection does not count against the cap.
_REFUSAL_LINGER = 1.0
_LOG_EVERY = 60.0


def _response(status: str, body: str, *extra: str) -> bytes:
    payload = body.encode()
    head = [
        f"HTTP/1.1 {status}",
        "content-type: text/plain; charset=utf-8",
        f"content-length: {len(payload)}",
        "connection: close",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class _Throttled:
    """Logs one line per minute at most, counting what it left out: under attack the log must not be
    the next thing to fill up."""

    def __init__(self, message: str) -> None:
        self._message = message
        self._last = -_LOG_EVERY
        self._skipped = 0

    def __call__(self, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last < _LOG_EVERY:
            self._skipped += 1
            return
        suffix = f" ({self._skipped} more since the last report)" if self._skipped else ""
        log.warning(self._message + suffix, *args)
        self._last, self._skipped = now, 0


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline, an idle deadline and a connection cap.

    Subclassed per server by ``limited_protocol``, which sets the three class attributes.
    """

    header_timeout: float = 10.0
    idle_timeout: float = 5.0
    max_connections: int = 100
    _log_refused = _Throttled("refused an HTTP connection: %d are open, the most allowed (503)")
    _log_slow = _Throttled("closed an HTTP connection that did not send its request within %s s (408)")
    _log_evicted = _Throttled("closed the oldest HTTP connection waiting for its client: %d are open")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.idle_timeout  # type: ignore[assignment]
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._opened = time.monotonic()

    # -- the cap -----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        assert isinstance(transport, asyncio.Transport)
        if len(self.connections) >= self.max_connections and not self._evict_one():
            self._refuse(transport)
            return
        super().connection_made(transport)
        self._arm_header_timer()

    def _waiting_for_client(self) -> bool:
        """True while nothing is being answered: the request (headers or body) is incomplete or
        not begun, or it was answered early and its body is still arriving."""
        if self._refused or self.transport is None or self.transport.is_closing():
            return False
        theirs, ours = self.conn.their_state, self.conn.our_state
        if ours is h11.SEND_BODY:
            return False  # a response in progress, such as an event stream, is never cut
        return theirs is h11.IDLE or theirs is h11.SEND_BODY

    def _evict_one(self) -> bool:
        waiting = [
            c for c in self.connections if isinstance(c, LimitedH11Protocol) and c._waiting_for_client()
        ]
        if not waiting:
            return False
        self._log_evicted(len(self.connections))
        min(waiting, key=lambda c: c._opened)._too_slow(
            f"The server has {self.max_connections} open connections, the most it accepts, and closed "
            "this one, the oldest still waiting for its request, to make room; retry.\n"
        )
        return True

    def _refuse(self, transport: asyncio.Transport) -> None:
        self._refused = True
        self.transport = transport
        self._log_refused(len(self.connections))
        transport.write(
            _response(
                "503 Service Unavailable",
                f"The server has {self.max_connections} open connections, the most it accepts; "
                "retry in a few seconds.\n",
                "retry-after: 5",
            )
        )
        try:
            if transport.can_write_eof():
                transport.write_eof()
        except OSError:  # the client already hung up (a reset): nothing more to tell it
            transport.close()
            return
        self._header_timer = self.loop.call_later(_REFUSAL_LINGER, transport.close)

    # -- the header deadline -------------------------------------------------------------------------

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        self._too_slow()

    def _body_too_slow(self) -> None:
        self._body_timer = None
        if self._waiting_for_client() and self.conn.their_state is h11.SEND_BODY:
            self._too_slow()

    def _too_slow(self, why: str = "") -> None:
        """Close a connection waiting for its client, with a 408 if part of a request arrived and
        nothing was answered yet."""
        theirs, ours = self.conn.their_state, self.conn.our_state
        pending, _ = self.conn.trailing_data
        if (theirs is h11.IDLE and pending) or (theirs is h11.SEND_BODY and ours is h11.SEND_RESPONSE):
            self._log_slow(self.header_timeout)
            self.transport.write(
                _response(
                    "408 Request Timeout",
                    why
                    or f"The request did not arrive within {self.header_timeout:g} seconds for its "
                    "headers and as many again for its body.\n",
                )
            )
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped, so closing does not reset the connection under the 503
        if self._header_timer is None and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()  # the first byte of a request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_header_timer()
        if self.conn.their_state is h11.SEND_BODY:
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.header_timeout, self._body_too_slow)
        else:
            self._cancel_body_timer()

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()
            return
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()
        if self._refused:
            return
        super().connection_lost(exc)


def limited_protocol(header_timeout: float, idle_timeout: float, max_connections: int) -> type[H11Protocol]:
    """An h11 protocol class for uvicorn's ``Config(http=...)`` enforcing these limits."""
    return type(
        "LimitedH11Protocol",
        (LimitedH11Protocol,),
        {
            "header_timeout": header_timeout,
            "idle_timeout": idle_timeout,
            "max_connections": max_connections,
        },
    )
