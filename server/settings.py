"""Server settings: one immutable object built from defaults, environment variables and CLI flags.

Precedence, highest first: CLI flag, ``ENGRAM_RELEASE_PLANNER_<FIELD>`` environment variable, default.
Nothing here is global; ``build_server`` takes a ``Settings`` and the CLI builds one per run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "ENGRAM_RELEASE_PLANNER_"

StoreName = Literal["git", "engram-cli", "memory"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
Transport = Literal["stdio", "http"]

# Tool groups, as github-mcp-server keeps its surface lean: an agent planning a release does not pay
# for the tools that run it, and the reverse. The default fits the context budget (bench/surface.py).
TOOLSETS = ("plan", "read", "run", "export", "manage")
DEFAULT_TOOLSETS = ("plan", "read", "export", "manage")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the flag and the variable."""


class Settings(BaseModel):
    """Everything the server can be configured with. Field descriptions double as the settings table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workspace: Path | None = Field(
        default=None,
        description="Git repository (bare or not) holding the Engram data; created with `git init` if "
        "missing or empty. Default: the MCP client's first root that is a repository or empty, else "
        "the current directory on the same terms",
    )
    init: bool = Field(
        default=False,
        description="Allow `git init` of a workspace directory that holds files but is not a repository",
    )
    store: StoreName = Field(
        default="git",
        description="Storage backend: git (Engram's git refs, no binary needed), engram-cli (shells out to "
        "`engram`), memory (throwaway, for tests and demos)",
    )
    agent: str | None = Field(
        default=None,
        max_length=200,
        description="Agent name recorded on every entity but the release task (always `default`); default: "
        "the MCP client's name, else `default`",
    )
    read_only: bool = Field(default=False, description="Register only the read tools; nothing can be written")
    toolsets: str = Field(
        default="default",
        description="Tool groups to list, comma-separated: plan, read, run (gate evaluation, decisions, "
        "status), export, manage (retire), all; default = plan, read, export, manage",
    )
    engram_binary: str = Field(
        default="engram", description="The engram executable used by --store engram-cli"
    )
    transport: Transport = Field(default="stdio", description="stdio, or http (Streamable HTTP)")
    http_host: str = Field(default="127.0.0.1", description="Interface the HTTP transport binds to")
    http_port: int = Field(default=8765, ge=1, le=65535, description="Port of the HTTP transport")
    http_path: str = Field(default="/mcp", description="URL path of the MCP endpoint over HTTP")
    http_header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds an HTTP request has for its headers, and again for its body; then 408, closed",
    )
    http_idle_timeout: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds an idle keep-alive HTTP connection stays open between requests",
    )
    http_max_connections: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Open HTTP connections at most; then the oldest slow one makes room, or 503 if all busy",
    )
    token: SecretStr | None = Field(
        default=None,
        description="Bearer token HTTP clients must send (prefer token_file: env is visible to ps)",
    )
    token_file: Path | None = Field(
        default=None, description="File whose first line is the HTTP bearer token"
    )
    log_level: LogLevel = Field(default="WARNING", description="Level of the logs written to stderr")
    max_markdown_chars: int = Field(
        default=12_000,
        ge=500,
        le=1_000_000,
        description="Markdown returned by a tool is trimmed to this size; the resource has it whole",
    )

    @field_validator("http_path")
    @classmethod
    def _path_starts_with_slash(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/', e.g. /mcp")
        return value

    @field_validator("toolsets")
    @classmethod
    def _known_toolsets(cls, value: str) -> str:
        names = [n.strip().lower() for n in value.split(",") if n.strip()]
        unknown = [n for n in names if n not in (*TOOLSETS, "all", "default")]
        if unknown or not names:
            raise ValueError(
                f"unknown toolset(s) {unknown or value!r}; use a comma-separated list of "
                f"{', '.join(TOOLSETS)}, or all, or default"
            )
        return ",".join(names)

    def enabled_toolsets(self) -> frozenset[str]:
        """The tool groups this server lists ("read" is always on: nothing else makes sense alone)."""
        chosen: set[str] = {"read"}
        for name in self.toolsets.split(","):
            chosen |= (
                set(TOOLSETS) if name == "all" else set(DEFAULT_TOOLSETS) if name == "default" else {name}
            )
        return frozenset(chosen)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("workspace", mode="after")
    @classmethod
    def _absolute_workspace(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @classmethod
    def from_sources(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Defaults, then ``ENGRAM_RELEASE_PLANNER_*`` from ``environ``, then ``overrides`` (CLI flags).

        ``None`` values in ``overrides`` mean "not given" and do not hide the environment.
        Raises ``SettingsError`` naming the flag and variable of every bad value.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            raw = environ.get(env_var(name))
            if raw is None:
                continue
            if field.annotation is bool:
                values[name] = _parse_bool(name, raw)
            elif raw != "":
                values[name] = raw
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else "?"
                problems.append(f"{flag_of(name)} / {env_var(name)}: {err['msg']}")
            raise SettingsError("invalid settings: " + "; ".join(problems)) from None


def env_var(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def flag_of(field_name: str) -> str:
    return FLAGS.get(field_name, f"--{field_name.replace('_', '-')}")


def _parse_bool(name: str, raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{env_var(name)}={raw!r}: use 1/0, true/false, yes/no or on/off")


def settings_table() -> list[tuple[str, str, str, str]]:
    """(flag, environment variable, default, meaning) for each setting, for the README and --help."""
    rows = []
    for name, field in Settings.model_fields.items():
        if name == "workspace":
            default = "client root, else current directory"
        elif field.default_factory is not None:
            default = "(computed)"
        else:
            default = "unset" if field.default is None else str(field.default)
        rows.append((flag_of(name), env_var(name), default, field.description or ""))
    return rows


# Settings whose CLI flag is not simply --<field-name>.
FLAGS = {
    "transport": "--http",
    "token": "(environment only)",
    "http_host": "--host",
    "http_port": "--port",
    "http_path": "--path",
    "max_markdown_chars": "--max-markdown-chars",
}
