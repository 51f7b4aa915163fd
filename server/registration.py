"""Tool wiring: thin adapters from MCP tool calls to the use cases.

Nothing is registered at import. ``build_tools`` returns ``Tool`` objects for ``MCPServer(tools=...)``;
resources and prompts are added by ``server/documents.py``, the host features by ``server/host.py``.

The five write tools are generated from their spec models (see ``write_tool``): each spec field
becomes one keyword-only parameter, so an agent sees flat, described parameters instead of one
nested ``spec`` object, and the spec model stays the single source of truth.
"""

from __future__ import annotations

import functools
import inspect
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
import pydantic_core
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ..tools.common import Version
from ..tools.errors import PlannerError, filesystem_error
from ..tools.evaluating import Observation
from ..tools.exporting import ExportResult, Target
from ..tools.results import (
    GateEvaluation,
    LinkResult,
    ReleasePage,
    ReleaseStatusView,
    ReleaseView,
    StakeholderSummary,
    WriteResult,
)
from ..tools.service import (
    PLAN_TOOLS,
    RUN_TOOLS,
    ExtraLink,
    ReleasePlanner,
    ReleaseStatus,
    RetirableKind,
    RetireResult,
    WriteTool,
)
from .arguments import CheckedTool, Problem, planner_refusal, refusal, validation_problems
from .cancellation import settled_write
from .descriptions import (
    EVALUATE_DESCRIPTION,
    EXPORT_DESCRIPTION,
    GET_DESCRIPTION,
    LINK_DESCRIPTION,
    LIST_DESCRIPTION,
    RETIRE_DESCRIPTION,
    STATUS_DESCRIPTION,
    SUMMARY_DESCRIPTION,
    WRITE_DESCRIPTIONS,
)
from .host import notify_log, notify_resources_changed
from .schemas import inline_refs, lean_input_schema, lean_output_schema
from .settings import Settings
from .workspace import WorkspaceGate

log = logging.getLogger("release_planner.server")

T = TypeVar("T")

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# Writes replace the artifact in place and bump its revision, so the same call twice is not a no-op
# in the store (the revision moves): not idempotent. They never delete anything.
WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
# Retiring deletes entities (their sidecars stay); a second identical call finds nothing more to do.
RETIRE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
# Linking only adds links that are missing; a second identical call changes nothing.
LINK = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

READ_TOOL_NAMES = ("get_release_plan", "list_release_plans", "summarize_release")
RUN_READ_TOOL_NAMES = ("evaluate_gate", "get_release_status")
MAX_AGENT_CHARS = 100


@dataclass
class AppState:
    """What the lifespan yields: one planner per server, a lock that serializes writes, and the gate
    that chooses and opens the workspace when none was configured (``server/workspace.py``)."""

    planner: ReleasePlanner
    settings: Settings
    write_lock: anyio.Lock = field(default_factory=anyio.Lock)
    gate: WorkspaceGate | None = None
    log_level: str = "info"  # of the log notifications sent to the client (logging/setLevel)

    async def ready(self, ctx: Context) -> ReleasePlanner:
        """The planner, once its store has a workspace; a PlannerError names what to configure."""
        if self.gate is not None:
            await self.gate.ready(ctx)
        return self.planner


# --------------------------------------------------------------------------------------------------
# Helpers shared by the tools.


def _state(ctx: Context) -> AppState:
    state = ctx.request_context.lifespan_context
    if not isinstance(state, AppState):  # pragma: no cover - only if the lifespan was replaced
        raise RuntimeError("server lifespan did not provide AppState")
    return state


def client_name(ctx: Context) -> str | None:
    """The connecting client's ``clientInfo.name``: from the initialize handshake on 2025-era
    connections, from the request envelope on 2026-07-28; None when the client sent none."""
    try:
        params = ctx.session.client_params
    except (AttributeError, ValueError):
        return None
    info = getattr(params, "client_info", None) if params is not None else None
    name = getattr(info, "name", None)
    if not isinstance(name, str):
        return None
    # The name is peer-supplied and lands in every entity: keep it printable and short.
    cleaned = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return cleaned[:MAX_AGENT_CHARS] or None


def agent_for(ctx: Context, settings: Settings) -> str:
    return settings.agent or client_name(ctx) or "default"


async def _planner(ctx: Context) -> ReleasePlanner:
    """The planner, once a workspace is chosen; a refusal names how to configure one."""
    try:
        return await _state(ctx).ready(ctx)
    except PlannerError as exc:
        raise ToolError(planner_refusal(exc)) from exc


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a use case in a worker thread (git I/O blocks) and turn expected failures into ToolError.

    ``to_thread.run_sync`` waits for the thread even when the request is cancelled, so a store
    commit is never abandoned halfway; the store's commit is atomic on its own as well. What a cancel
    means for a write, and how the client learns of it: ``server/cancellation.py``.
    """
    try:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
    except PlannerError as exc:
        raise ToolError(planner_refusal(exc)) from exc
    except OSError as exc:  # a store that let the file system's refusal through: still name it
        raise ToolError(planner_refusal(filesystem_error(exc, doing="the call", stored=None))) from exc


# --------------------------------------------------------------------------------------------------
# Write tools, generated from the spec models.

EXPECTED_REVISION = Annotated[
    int | None,
    Field(
        ge=0,
        description="The artifact.revision you last read; a newer stored one refuses the write",
    ),
]
TASK_ID = Annotated[
    str | None,
    Field(
        min_length=4,
        max_length=36,
        description="An existing Engram task (id or unique prefix) to adopt as the release task",
    ),
]


def _wire_name(name: str, info: FieldInfo) -> str:
    # A spec may rename a field on the wire (migration's ``confidence_level`` is ``confidence``,
    # because the spec protocol has a ``confidence()`` method); callers use the alias.
    return info.alias or name


def _parameter(name: str, info: FieldInfo) -> inspect.Parameter:
    """One spec field as a keyword-only parameter named as on the wire: same type, constraints and
    description.

    The field's own metadata (length limits, validators, ``ge``/``le`` ...) is kept; the default moves
    from the FieldInfo onto the parameter, where the SDK's argument model expects it.
    """
    if info.validation_alias not in (None, info.alias):
        raise TypeError(f"spec field {name!r} has a validation alias the MCP layer cannot expose")
    described = Field(
        description=info.description,
        title=info.title,
        examples=info.examples,
        json_schema_extra=info.json_schema_extra,
        discriminator=info.discriminator,
    )
    annotation: Any = Annotated[(info.annotation, *info.metadata, described)]  # type: ignore[name-defined,valid-type]
    if info.is_required():
        default: Any = inspect.Parameter.empty
    elif info.default_factory is not None:
        default = info.get_default(call_default_factory=True, validated_data={})
    else:
        default = info.default
    if default is PydanticUndefined:  # pragma: no cover - is_required() covers it
        default = inspect.Parameter.empty
    return inspect.Parameter(
        _wire_name(name, info), inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def write_tool(spec: WriteTool) -> CheckedTool:
    """An MCP tool whose parameters are the spec model's fields plus expected_revision (and task_id).

    The function gets a generated ``__signature__``, which the SDK reads (``inspect.signature``) to
    build its argument model and input schema; the body rebuilds the spec model from the arguments,
    so the model's cross-field validators run exactly as they would on a direct call.
    """
    model = spec.spec
    spec_fields = tuple(_wire_name(name, info) for name, info in model.model_fields.items())
    reserved = {"expected_revision", "task_id", "ctx"} & set(spec_fields)
    if reserved:
        raise TypeError(f"{model.__name__} uses reserved parameter names {sorted(reserved)}")

    params = [_parameter(name, info) for name, info in model.model_fields.items()]
    params.append(
        inspect.Parameter(
            "expected_revision", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=EXPECTED_REVISION
        )
    )
    if spec.accepts_task_id:
        params.append(
            inspect.Parameter("task_id", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=TASK_ID)
        )
    params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))

    async def call(*, ctx: Context, **arguments: Any) -> WriteResult:
        state = _state(ctx)
        # The argument model has already validated each field; building the spec from plain JSON
        # runs the model's own cross-field checks on exactly what the caller sent.
        raw = {name: pydantic_core.to_jsonable_python(arguments[name]) for name in spec_fields}
        check_request_size(raw, spec.name)
        try:
            built = model.model_validate(raw)
        except ValidationError as exc:
            problems = validation_problems(exc, tool.full_schema, raw)
            raise ToolError(tool.refuse(problems)) from exc
        options: dict[str, Any] = {
            "expected_revision": arguments.get("expected_revision"),
            "agent": agent_for(ctx, state.settings),
        }
        if spec.accepts_task_id:
            options["task_id"] = arguments.get("task_id")
        method = getattr(await _planner(ctx), spec.method)
        version = getattr(built, "version", "")
        result: WriteResult = await settled_write(
            ctx,
            state.write_lock,
            spec.name,
            f"checking and storing release {version}",
            lambda: _run(method, built, **options),
            lambda r: f"stored revision {r.revision}",
        )
        art = result.artifact
        verb = "created" if result.created else "updated"
        await notify_log(
            ctx,
            "info",
            f"{spec.name}: {verb} {art.title} ({art.entity_type} {art.entity_id}, rev. {result.revision})",
        )
        if result.created and spec.name == "create_release_plan":  # a new release: resources/list grew
            await notify_resources_changed(ctx)
        return result

    call.__name__ = call.__qualname__ = spec.name
    call.__doc__ = WRITE_DESCRIPTIONS[spec.name]
    call.__signature__ = inspect.Signature(params, return_annotation=WriteResult)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": WriteResult}
    tool = _finish(
        CheckedTool.from_function(
            call, name=spec.name, title=spec.title, annotations=WRITE, context_kwarg="ctx"
        )
    )
    return tool


# --------------------------------------------------------------------------------------------------
# Step 6 and the read tools.

VersionArg = Annotated[Version, Field(description="Release version, e.g. 2.5.0")]

# Every field is bounded, but their product is not (100 features x 40 prerequisites x 2,000 characters
# is 8 MB): a whole request over this size is refused before anything is checked, rendered or stored.
MAX_REQUEST_BYTES = 1_000_000


def check_request_size(arguments: Any, tool: str) -> None:
    size = len(pydantic_core.to_json(arguments))
    if size > MAX_REQUEST_BYTES:
        problem = Problem(
            "", f"the arguments are {size:,} bytes of JSON", f"at most {MAX_REQUEST_BYTES:,} bytes"
        )
        raise ToolError(
            refusal(
                [problem],
                f"shorten the longest texts or split the plan (e.g. fewer prerequisites "
                f"per feature) and call {tool} again",
            )
        )


async def link_release_entities(
    version: VersionArg,
    ctx: Context,
    links: Annotated[
        list[ExtraLink] | None,
        Field(
            max_length=100,
            description="Extra links from the release task to other Engram entities. "
            "Omit to link just the release's own artifacts.",
        ),
    ] = None,
) -> LinkResult:
    state = _state(ctx)
    planner = await _planner(ctx)
    result: LinkResult = await settled_write(
        ctx,
        state.write_lock,
        "link_release_entities",
        f"linking release {version}",
        lambda: _run(planner.link_release_entities, version, links, agent=agent_for(ctx, state.settings)),
        lambda r: f"{len(r.created)} links created",
    )
    await notify_log(ctx, "info", f"link_release_entities: {len(result.created)} links created for {version}")
    return result


async def retire_release_artifact(
    version: VersionArg,
    ctx: Context,
    kind: Annotated[
        RetirableKind | None, Field(description="The artifact to retire; omit to retire the release")
    ] = None,
    entity_id: Annotated[
        str | None, Field(min_length=4, max_length=36, description="Which one (id or unique prefix)")
    ] = None,
    expected_revision: Annotated[
        int | None,
        Field(ge=0, description="Its revision you last read (the release task's without kind)"),
    ] = None,
) -> RetireResult:
    state = _state(ctx)
    planner = await _planner(ctx)
    what = kind or "whole release"
    result: RetireResult = await settled_write(
        ctx,
        state.write_lock,
        "retire_release_artifact",
        f"retiring the {what} of {version}",
        lambda: _run(
            planner.retire_release_artifact,
            version,
            kind,
            entity_id,
            expected_revision=expected_revision,
            agent=agent_for(ctx, state.settings),
        ),
        lambda r: f"{len(r.retired)} artifacts retired",
    )
    retired = ", ".join(a.title for a in result.retired) or "nothing left to retire"
    await notify_log(ctx, "notice", f"retire_release_artifact: {result.release}: {retired}")
    if kind is None and result.retired:
        await notify_resources_changed(ctx)
    return result


async def get_release_plan(version: VersionArg, ctx: Context) -> ReleaseView:
    return await _run((await _planner(ctx)).get_release_plan, version)


async def list_release_plans(
    ctx: Context,
    status: Annotated[
        ReleaseStatus | None, Field(description="Only releases whose task has this status; omit for all")
    ] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Releases per page, 1 to 100")] = 20,
    cursor: Annotated[
        str | None,
        Field(max_length=200, description="next_cursor from the previous page; omit for the first"),
    ] = None,
) -> ReleasePage:
    return await _run((await _planner(ctx)).list_release_plans, status, limit, cursor)


async def summarize_release(version: VersionArg, ctx: Context) -> StakeholderSummary:
    return await _run((await _planner(ctx)).summarize_release, version)


async def export_rollout(
    version: VersionArg,
    target: Annotated[
        Target, Field(description="The engine: unleash, launchdarkly, flagd, argo_rollouts or flagger")
    ],
    ctx: Context,
) -> ExportResult:
    return await _run((await _planner(ctx)).export_rollout, version, target)


async def get_release_status(version: VersionArg, ctx: Context) -> ReleaseStatusView:
    return await _run((await _planner(ctx)).get_release_status, version)


async def evaluate_gate(
    version: VersionArg,
    phase: Annotated[
        int | str, Field(description="The phase whose gate to judge: its name, or its number (1 = first)")
    ],
    observations: Annotated[
        list[Observation],
        Field(min_length=1, max_length=100, description="One entry per observed metric"),
    ],
    ctx: Context,
    look: Annotated[
        int | None,
        Field(ge=1, le=100, description="Which look at this gate's metric this is; default the plan's"),
    ] = None,
) -> GateEvaluation:
    return await _run((await _planner(ctx)).evaluate_gate, version, phase, observations, look)


def run_read_tools() -> list[Tool]:
    """The read-only tools for running a planned release."""
    return [
        _finish(
            CheckedTool.from_function(
                evaluate_gate,
                title="Evaluate a phase's gate",
                description=EVALUATE_DESCRIPTION,
                annotations=READ,
            )
        ),
        _finish(
            CheckedTool.from_function(
                get_release_status,
                title="Get where a release stands",
                description=STATUS_DESCRIPTION,
                annotations=READ,
            )
        ),
    ]


def read_tools() -> list[Tool]:
    return [
        _finish(
            CheckedTool.from_function(
                get_release_plan, title="Get a release plan", description=GET_DESCRIPTION, annotations=READ
            )
        ),
        _finish(
            CheckedTool.from_function(
                list_release_plans, title="List release plans", description=LIST_DESCRIPTION, annotations=READ
            )
        ),
        _finish(
            CheckedTool.from_function(
                summarize_release,
                title="Summarize a release for stakeholders",
                description=SUMMARY_DESCRIPTION,
                annotations=READ,
            )
        ),
    ]


def export_tool() -> Tool:
    return _finish(
        CheckedTool.from_function(
            export_rollout,
            title="Export the rollout to a delivery engine",
            description=EXPORT_DESCRIPTION,
            annotations=READ,
        )
    )


def build_tools(settings: Settings) -> list[Tool]:
    """The tools of the enabled toolsets, in the order an agent uses them; no writes when read_only."""
    groups = settings.enabled_toolsets()
    writes = not settings.read_only
    tools: list[Tool] = []
    if "plan" in groups and writes:
        tools += [write_tool(w) for w in PLAN_TOOLS]
        tools.append(
            _finish(
                CheckedTool.from_function(
                    link_release_entities,
                    title="Link the release's entities",
                    description=LINK_DESCRIPTION,
                    annotations=LINK,
                )
            )
        )
    if "manage" in groups and writes:
        tools.append(
            _finish(
                CheckedTool.from_function(
                    retire_release_artifact,
                    title="Retire a release or one of its artifacts",
                    description=RETIRE_DESCRIPTION,
                    annotations=RETIRE,
                )
            )
        )
    tools += read_tools()
    if "export" in groups:
        tools.append(export_tool())
    if "run" in groups:
        tools += run_read_tools()
        if writes:
            tools += [write_tool(w) for w in RUN_TOOLS]
    return tools


# --------------------------------------------------------------------------------------------------
# Schema post-processing.


def _finish(tool: Tool) -> CheckedTool:
    """Refuse unknown arguments and publish lean schemas (``server/schemas.py``).

    The SDK's argument model ignores unknown keys, so a misspelt optional parameter would be dropped
    silently; forbidding extras reports it instead, as the spec models do for nested fields.
    """
    assert isinstance(tool, CheckedTool), "build tools with CheckedTool.from_function"
    meta = tool.fn_metadata
    strict = type(
        meta.arg_model.__name__,
        (meta.arg_model,),
        {
            "model_config": ConfigDict(extra="forbid"),
            "__module__": __name__,
        },
    )
    meta.arg_model = strict
    tool.full_schema = inline_refs({**tool.parameters, "additionalProperties": False})
    tool.parameters = lean_input_schema(tool.parameters)
    if meta.output_schema is not None:
        meta.output_schema = lean_output_schema(meta.output_schema)
        tool.__dict__.pop("output_schema", None)  # cached_property computed before we changed it
    return tool


def tool_names(read_only: bool = False, toolsets: str = "all") -> list[str]:
    """The registered tool names, in order, without building a server (every toolset by default)."""
    groups = Settings(toolsets=toolsets).enabled_toolsets()
    writes = not read_only
    names: list[str] = []
    if "plan" in groups and writes:
        names += [*(w.name for w in PLAN_TOOLS), "link_release_entities"]
    if "manage" in groups and writes:
        names.append("retire_release_artifact")
    names += READ_TOOL_NAMES
    if "export" in groups:
        names.append("export_rollout")
    if "run" in groups:
        names += RUN_READ_TOOL_NAMES
        if writes:
            names += [w.name for w in RUN_TOOLS]
    return names
