"""Streamable HTTP transport with the checks a network-facing server needs.

Rules:
- The default bind is 127.0.0.1, with the SDK's DNS-rebinding protection: the Host header must name a
  loopback address (else 421) and a browser Origin must be a loopback origin (else 403).
- Any other bind (a LAN address, 0.0.0.0, ::) is refused at startup unless a bearer token is configured,
  from ``ENGRAM_RELEASE_PLANNER_TOKEN`` or ``--token-file``. A token file readable or writable by
  other users is refused, as ssh refuses a private key with loose permissions.
- Off loopback, Host and Origin stay checked. A specific address allows that address as Host plus any
  ``allowed_hosts`` from the settings. A wildcard bind cannot know the names clients will use: with
  ``allowed_hosts`` set those are enforced; without, the Host check is off (a warning says so and how to
  turn it on) but browser Origins are still limited to loopback plus ``allowed_origins``.
- The token is compared in constant time and never logged or put in an error message.
- Connections are limited (``server/http_limits.py``): headers, then the body, must arrive within a
  deadline, idle keep-alive connections close, and beyond a cap a newcomer replaces the oldest
  connection still waiting for its request, or is answered 503 at once if every one is busy.

The token check is an ASGI middleware wrapped around the SDK's Starlette app rather than the SDK's
``token_verifier`` hook. The hook must be given to ``MCPServer(...)`` when the server is built, but the
transport is chosen afterwards; it also needs ``AuthSettings`` with an OAuth issuer URL and then serves
OAuth protected-resource metadata, which would send clients looking for an authorization server that
does not exist. A static shared token needs neither.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .settings import Settings, SettingsError, env_var

if TYPE_CHECKING:  # pragma: no cover
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger(__name__)

TOKEN_ENV = env_var("token")
MIN_TOKEN_LENGTH = 16
_LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
_LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "*"})
_REALM = 'Bearer realm="engram-release-planner"'
_GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def _bare(host: str) -> str:
    return host.strip().removeprefix("[").removesuffix("]")


def is_loopback(host: str) -> bool:
    bare = _bare(host)
    if bare.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return _bare(host) in _WILDCARDS


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a bearer token."""
    if is_loopback(host) or token:
        return
    raise SettingsError(
        f"--host {host} makes the server reachable from other machines, so it needs a bearer token: "
        f"set {TOKEN_ENV} or pass --token-file FILE (first line is the token, chmod 600). "
        f"Generate one with: {_GENERATE}. Or bind 127.0.0.1 (the default) to stay local."
    )


def validate_token(token: str, source: str) -> str:
    """A usable token: long enough to resist guessing, and sendable in an HTTP header."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise SettingsError(f"{source}: the token is shorter than {MIN_TOKEN_LENGTH} characters; {_GENERATE}")
    if any(not (0x21 <= ord(ch) <= 0x7E) for ch in token):
        raise SettingsError(f"{source}: the token must be printable ASCII without spaces; {_GENERATE}")
    return token


def load_token(settings: Settings) -> str | None:
    """The bearer token from ``settings.token`` (the environment) or ``settings.token_file``.

    Refuses both at once (which one wins would be a guess), a token file that other users can read or
    write, and a token too short or not sendable in a header. Messages never contain the token.
    """
    secret = settings.token.get_secret_value().strip() if settings.token is not None else ""
    if secret and settings.token_file is not None:
        raise SettingsError(f"both {TOKEN_ENV} and --token-file are set; keep one of them")
    if secret:
        return validate_token(secret, TOKEN_ENV)
    path = settings.token_file
    if path is None:
        return None
    where = f"--token-file {path}"
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            raise SettingsError(f"{where}: other users can read or write it; run chmod 600 {path}")
        if not stat.S_ISREG(mode):
            raise SettingsError(f"{where}: not a regular file")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{where}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{where}: not UTF-8 text") from None
    lines = text.splitlines()
    first = lines[0].strip() if lines else ""
    if not first:
        raise SettingsError(f"{where}: the first line is empty; put the token there")
    return validate_token(first, where)


def _host_name(value: str) -> str:
    """A host as it appears in a Host header: IPv6 addresses in brackets."""
    bare = _bare(value)
    return f"[{bare}]" if ":" in bare else bare


def _host_patterns(values: Iterable[str]) -> list[str]:
    # The SDK matches Host exactly or as "name:*". A name given without a port matches any port, and
    # also the bare name a client sends for port 80/443.
    out: list[str] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        head, sep, port = value.rpartition(":")
        with_port = bool(sep) and (port == "*" or port.isdigit()) and (head.endswith("]") or ":" not in head)
        if with_port:
            out.append(value)
        else:
            name = _host_name(value)
            out.extend((name, f"{name}:*"))
    return out


def _origins_for(host: str) -> list[str]:
    name = _host_name(host)
    return [f"{scheme}://{name}{port}" for scheme in ("http", "https") for port in ("", ":*")]


def _list_setting(settings: Settings, name: str) -> list[str]:
    # Lists may come as a list or, from an environment variable, as one comma-separated string.
    value: Any = getattr(settings, name, None)
    if not value:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip() for v in value if str(v).strip()]


@dataclass(frozen=True)
class HttpPolicy:
    """What the HTTP transport enforces, worked out from the settings before anything listens."""

    host: str
    token: str | None
    transport_security: TransportSecuritySettings
    # Checked by our guard when the SDK's Host/Origin check is off (wildcard bind without allowed hosts).
    origin_allowlist: tuple[str, ...] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def http_policy(settings: Settings) -> HttpPolicy:
    """Check the settings and decide what the HTTP app enforces. Raises SettingsError."""
    host = settings.http_host
    token = load_token(settings)
    check_bind(host, token)
    extra_hosts = _host_patterns(_list_setting(settings, "allowed_hosts"))
    extra_origins = _list_setting(settings, "allowed_origins")
    notes: list[str] = []
    origin_allowlist: tuple[str, ...] | None = None

    if is_loopback(host):
        hosts = [*_LOOPBACK_HOSTS, *_host_patterns([host]), *extra_hosts]
        origins = [*_LOOPBACK_ORIGINS, *_origins_for(host), *extra_origins]
        enabled = True
    elif is_wildcard(host):
        hosts = [*_LOOPBACK_HOSTS, *extra_hosts]
        origins = [*_LOOPBACK_ORIGINS, *extra_origins]
        enabled = bool(extra_hosts)
        if not enabled:
            origin_allowlist = tuple(origins)
            notes.append(
                f"bound to {host or 'all interfaces'} without allowed hosts: the Host header is not checked "
                "(the bearer token still is, and browser Origins are limited to loopback and allowed "
                "origins); set allowed hosts to the names clients use to turn the Host check on"
            )
    else:
        hosts = [*_host_patterns([host]), *extra_hosts]
        origins = [*_origins_for(host), *extra_origins]
        enabled = True

    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=enabled,
        allowed_hosts=_unique(hosts),
        allowed_origins=_unique(origins),
    )
    return HttpPolicy(host, token, security, origin_allowlist, tuple(notes))


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _origin_allowed(origin: str, allowed: Iterable[str]) -> bool:
    for pattern in allowed:
        if origin == pattern or (pattern.endswith(":*") and origin.startswith(pattern[:-1])):
            return True
    return False


def tokens_match(presented: str, expected: str) -> bool:
    """Constant-time comparison; hashing first means even the token's length does not leak."""
    return hmac.compare_digest(
        hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest(),
        hashlib.sha256(expected.encode("utf-8")).digest(),
    )


class HttpGuard:
    """ASGI middleware: the bearer token (when one is configured) and, when the SDK's own check is off,
    the browser Origin. Lifespan and other non-HTTP events pass straight through."""

    def __init__(
        self, app: ASGIApp, token: str | None, origin_allowlist: Sequence[str] | None = None
    ) -> None:
        self.app = app
        self._token = token
        self._origins = tuple(origin_allowlist) if origin_allowlist is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if self._origins is not None and origin and not _origin_allowed(origin, self._origins):
            log.warning("refused a request from origin %r", origin)
            await _plain(send, 403, b"Invalid Origin header")
            return
        if self._token is not None:
            scheme, _, presented = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not presented.strip():
                await _unauthorized(send, None, "send the header Authorization: Bearer <token>")
                return
            if not tokens_match(presented.strip(), self._token):
                log.warning("refused a request with a wrong bearer token")
                await _unauthorized(send, "invalid_token", "the bearer token is not valid")
                return
        await self.app(scope, receive, send)


async def _respond(
    send: Send, status: int, body: bytes, content_type: bytes, *extra: tuple[bytes, bytes]
) -> None:
    """A whole response in one body: status, content type and length, any ``extra`` headers."""
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _plain(send: Send, status: int, body: bytes) -> None:
    await _respond(send, status, body, b"text/plain; charset=utf-8")


async def _unauthorized(send: Send, error: str | None, description: str) -> None:
    challenge = _REALM + (f', error="{error}"' if error else "")
    body = json.dumps({"error": error or "unauthorized", "error_description": description}).encode()
    await _respond(send, 401, body, b"application/json", (b"www-authenticate", challenge.encode()))


def build_http_app(server: MCPServer[Any], settings: Settings, policy: HttpPolicy | None = None) -> ASGIApp:
    """The ASGI app serving ``server`` over Streamable HTTP with every check in place (no socket)."""
    policy = policy or http_policy(settings)
    app = server.streamable_http_app(
        streamable_http_path=settings.http_path,
        transport_security=policy.transport_security,
        host=policy.host,
    )
    guarded: ASGIApp = DepthGuard(app)
    if policy.token is None and policy.origin_allowlist is None:
        return guarded
    return HttpGuard(guarded, policy.token, policy.origin_allowlist)


# Below this many brackets a body cannot be nested past what the SDK parses: no second look.
_DEPTH_HINT = 200


class DepthGuard:
    """ASGI middleware: a POST body nested deeper than the SDK's JSON parser goes (about 200 levels)
    gets the JSON-RPC error stdio gives (naming the path and ``MAX_INPUT_DEPTH``) for its request id,
    instead of the SDK's bare 400 parse error with no id. Everything else passes through unchanged;
    the body is read whole first, as the SDK itself does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        answer = _too_deep_answer(body) if body.count(b"[") + body.count(b"{") >= _DEPTH_HINT else None
        if answer is None:
            await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)
            return
        await _respond(send, 200, answer, b"application/json")


def _too_deep_answer(body: bytes) -> bytes | None:
    import pydantic_core

    from .stdio import too_deep_refusal

    try:
        pydantic_core.from_json(body)
        return None  # the SDK parses it; a tool's own check bounds what is too deep
    except ValueError as exc:
        if "recursion limit" not in str(exc):
            return None
    refusal = too_deep_refusal(body)
    return refusal.model_dump_json(by_alias=True, exclude_none=True).encode() if refusal else None


def _replay(messages: list[Any], receive: Receive) -> Receive:
    """``receive`` with ``messages`` handed out first."""
    pending = list(messages)

    async def replayed() -> Any:
        return pending.pop(0) if pending else await receive()

    return replayed


def uvicorn_server(server: MCPServer[Any], settings: Settings, policy: HttpPolicy | None = None) -> Any:
    """The uvicorn server for ``server`` with every check and connection limit in place, not yet
    running (``.run()`` serves until interrupted; ``.run(sockets=[...])`` on sockets already bound).

    The limits (``server/http_limits.py``): request headers must arrive within
    ``http_header_timeout`` seconds, and then the body within as many again (else 408), an idle
    keep-alive connection closes after ``http_idle_timeout``, and beyond ``http_max_connections``
    open connections the oldest one still waiting for its request is closed to make room, or, if
    all are busy, the newcomer is answered 503 at once instead of queueing.
    """
    import uvicorn

    from .http_limits import limited_protocol

    policy = policy or http_policy(settings)
    app = build_http_app(server, settings, policy)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        http=limited_protocol(
            settings.http_header_timeout, settings.http_idle_timeout, settings.http_max_connections
        ),
        # uvicorn's own logging config would send access logs to stdout; ours go to stderr via root.
        log_config=None,
        log_level=settings.log_level.lower(),
        server_header=False,
    )
    url = endpoint_url(settings)
    token = "a bearer token is required" if policy.token else "no token"

    class Announcing(uvicorn.Server):
        """Says where it listens once the socket is bound (not before: the port may be taken)."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(
                    f"engram-release-planner: MCP (Streamable HTTP) on {url} ({token})",
                    file=sys.stderr,
                    flush=True,
                )

    return Announcing(config)


def serve_http(server: MCPServer[Any], settings: Settings) -> None:
    """Serve until interrupted. Raises SettingsError before listening if the settings are unsafe."""
    policy = http_policy(settings)
    for note in policy.notes:
        log.warning("%s", note)
    log.info(
        "serving MCP over HTTP on %s:%s%s (bearer token %s; headers within %gs, idle %gs, at most %d "
        "connections)",
        settings.http_host,
        settings.http_port,
        settings.http_path,
        "required" if policy.token else "not required",
        settings.http_header_timeout,
        settings.http_idle_timeout,
        settings.http_max_connections,
    )
    uvicorn_server(server, settings, policy).run()


def endpoint_url(settings: Settings) -> str:
    """The URL clients use: ``http://127.0.0.1:8765/mcp``; IPv6 hosts in brackets."""
    host = settings.http_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}{settings.http_path}"
