"""Tool, resource and prompt wiring: thin adapters from MCP requests to the use cases.

Nothing is registered at import. ``build_tools`` returns ``Tool`` objects for ``MCPServer(tools=...)``;
``register_resources`` and ``register_prompts`` add to a server built by ``app.build_server``.

The five write tools are generated from their spec models (see ``write_tool``): each spec field
becomes one keyword-only parameter, so an agent sees flat, described parameters instead of one
nested ``spec`` object, and the spec model stays the single source of truth.
"""

from __future__ import annotations

import functools
import inspect
import logging
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
import pydantic_core
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument, UserMessage
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, ToolAnnotations
from pydantic import ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ..tools.common import Version
from ..tools.errors import InvalidInput, NotFound, PlannerError
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
    WriteTool,
)
from .settings import Settings

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
# Linking only adds links that are missing; a second identical call changes nothing.
LINK = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

READ_TOOL_NAMES = ("get_release_plan", "list_release_plans", "summarize_release", "export_rollout")
RUN_READ_TOOL_NAMES = ("evaluate_gate", "get_release_status")
MAX_AGENT_CHARS = 100


@dataclass
class AppState:
    """What the lifespan yields: one planner per server, and a lock that serializes writes."""

    planner: ReleasePlanner
    settings: Settings
    write_lock: anyio.Lock = field(default_factory=anyio.Lock)


# --------------------------------------------------------------------------------------------------
# Descriptions: product copy for the model that picks and calls the tools.

WRITE_DESCRIPTIONS: dict[str, str] = {
    "create_release_plan": """\
Step 1 of planning a release: store the release plan for one version. Call this first; every other
write tool needs the release it creates.

It records the scope and goals (name, target date, release type, objectives, success metrics), every
feature considered with its batch (must_have / nice_to_have / deferred), breaking changes,
dependencies and risks. The server checks the plan (release type against the version number and the
breaking changes, dependency cycles and batch order between features, deferred features pointing at
a later version, dependencies due after the target date, weekend release dates, high-risk features
without a flag) and works out the batch order. Errors reject the call, store nothing and name the
field; warnings are stored with the plan and returned for you to review with the user.

It creates the release task in Engram (the hub every other artifact links to), reuses the one
already stored for this version, or adopts the existing Engram task you pass as task_id.

Calling it again for the same version updates the plan in place (same entity id, next revision).
Pass the artifact.revision you last read as expected_revision to refuse overwriting someone else's
change. Returns task_id, artifact (entity_id, revision), markdown, warnings and next_steps.
Next: design_migration_path once per breaking change, then design_rollback.""",
    "design_migration_path": """\
Step 2, once per breaking change of the release plan: store how users move from the old behaviour to
the new one. Needs create_release_plan for the same version first, with the change listed in its
breaking_changes (`change` must match that entry's name).

Give the rationale, who is affected, the phases in time order with T-offsets in days from the
release's target date (announce T-90, dual_support T-60..T+30, sunset_warning, shutdown T+60; or
expand, migrate, contract for a database change), the customers' steps, what stays backward
compatible, the rollback plan, measurable exit criteria that gate the shutdown, and your confidence.
The server turns the offsets into calendar dates and checks the path (phase order, deprecation period
against the plan, shutdown without exit criteria, database changes without expand/contract).

Calling it again with the same change updates that migration path in place; another change adds
another path. Returns the artifact (entity_id, revision), the dated timeline and Markdown.
Next: design_migration_path for the next breaking change, else design_rollback.""",
    "design_rollback": """\
Step 3: store how the release is undone if it goes wrong. Needs create_release_plan first.

Give the automatic triggers as metric conditions with a sustained window (e.g. error_rate > 5
percent for 5 minutes), the manual triggers, the rollback procedures (at most one per type:
application, database, feature flag, infrastructure; the first is the preferred path) with their
time to roll back and rehearsal evidence, and the communication plan. Omit confidence to have it
computed from the procedures and their rehearsals. The server checks, among others, that a trigger
is sustained, that every flagged feature of the plan can be switched off, and that rehearsals back
the stated times.

Calling it again for the same version updates the strategy in place; pass expected_revision to
guard against concurrent edits. Returns the artifact (entity_id, revision) and Markdown.
Next: plan_rollout, with a halt threshold equal to these automatic triggers.""",
    "plan_rollout": """\
Step 4: store the phased rollout. Needs create_release_plan first; with design_rollback done before,
the server also checks the halt threshold against the rollback triggers.

Give the approach (canary, blue_green, rolling or feature_flag), the start as {"at", "timezone"},
the phases in order (audience, traffic percentage never falling and ending at 100, targeting,
duration, success criteria, metric targets, go/no-go owner), the feature flags and the halt
threshold. The server checks that cohorts are nested, gates are reachable and sound, and phase
changes fall in business hours on weekdays, and computes the calendar timeline (as a Mermaid gantt
at the resource release://{version}/timeline).

Calling it again for the same version updates the rollout in place. Returns the artifact
(entity_id, revision), the computed timeline and Markdown. Next: create_runbook.""",
    "create_runbook": """\
Step 5: store the release runbook, the procedure people follow on deployment day. Needs
create_release_plan first; the rollout schedule is taken from the stored rollout plan (plan_rollout),
never typed here.

Give the pre-release checklist by section, the deployment steps in time order at minute offsets from
the deploy (T-30min, T, T+10min) with owner, actions and commands, smoke tests, contacts (include the
on-call engineer), troubleshooting entries and post-release tasks. The server checks step order and
names, and warns about missing smoke tests or on-call contact.

Calling it again for the same version updates the runbook in place. Returns the artifact
(entity_id, revision) and Markdown. Next: link_release_entities, then summarize_release.""",
    "record_decision": """\
While the rollout runs: store a go, hold or rollback decision at one phase's gate, with who decided,
when, and the evidence (the evaluate_gate result as returned, or the decider's reasons). Phases are
decided in order: the phase under way is the first whose gate has not said go.

The release task moves in the same commit: inprogress at the first decision, done after a go at the
last phase, cancelled on a rollback (name the rollback strategy's procedure used). Returns the stored
decision; then call get_release_status.""",
}

LINK_DESCRIPTION = """\
Step 6: link the release task to every artifact of the release, so `engram task show <task_id>` and
graph queries find the whole plan. Call it after the write steps (create_release_plan ... create_runbook).

Safe to call any number of times: links that already exist are reported under `existing`, only
missing ones are created. Pass `links` to also connect the release to other Engram entities (an
epic task, an ADR context, a design reasoning) by id or unique id prefix.
Returns the links created and existing. Next: summarize_release."""

GET_DESCRIPTION = """\
Read one whole release: every stored artifact (kind, Engram entity id, revision), the links, the
Markdown of the full plan (trimmed if long; the resource release://{version} has all of it), the
kinds still `missing`, cross-artifact warnings and next steps.

Use it before revising an artifact (its revision is what you pass as expected_revision), to resume
planning where someone left off, or to answer questions about a release. Releases written by hand
with the Engram skill are shown too (typed: false)."""

LIST_DESCRIPTION = """\
List the releases stored in Engram, newest version first, one summary line each (version, name,
status, target date, task id, which artifacts exist). Filter by the release task's status.

Call it to find out which versions exist before planning or reading one. Results are paged: pass the
returned next_cursor as cursor to get the next page; next_cursor is null on the last page."""

SUMMARY_DESCRIPTION = """\
The stakeholder summary of one release: a paragraph covering scope (features per batch), rollout
(phases and duration), rollback readiness and overall confidence, plus the key facts as data and any
warnings. Computed from the stored artifacts, so call it last, after link_release_entities, or any
time someone asks "where does release X stand"."""

INSTRUCTIONS = """\
Plans software releases and stores every artifact in Engram (the git-backed knowledge graph), where
people and other agents find them later with the `engram` CLI.

Plan a release in this order, one tool call per step, all for the same version:
1. create_release_plan - scope, goals, feature batches, breaking changes, dependencies, risks. Always
   first: it creates the release task the other artifacts hang on.
2. design_migration_path - once per breaking change (skip if there are none).
3. design_rollback - triggers and procedures to undo the release.
4. plan_rollout - phases with traffic percentages, criteria and a halt threshold.
5. create_runbook - the deployment day procedure.
6. link_release_entities - links the release task to every artifact (safe to repeat).
Then summarize_release for stakeholders.

Every write returns warnings (fix them or tell the user) and next_steps. Calling a write tool again
for the same version updates that artifact in place; pass the revision you read as
expected_revision to avoid overwriting someone else's edit. Read with get_release_plan and
list_release_plans. The prompt plan_release walks through the whole skill. Ask the user for facts
you do not have; leave optional fields out rather than inventing values."""


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


def describe_validation_error(exc: ValidationError, what: str) -> str:
    """Field paths and messages of a pydantic error, one clause each, for a model to act on."""
    clauses = []
    errors = exc.errors(include_url=False)
    for err in errors[:10]:
        path = ".".join(str(part) for part in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        clauses.append(f"{path}: {message}" if path else message)
    if len(errors) > 10:
        clauses.append(f"... and {len(errors) - 10} more")
    return f"invalid {what}: " + "; ".join(clauses)


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a use case in a worker thread (git I/O blocks) and turn expected failures into ToolError.

    ``to_thread.run_sync`` waits for the thread even when the request is cancelled, so a store
    commit is never abandoned halfway; the store's commit is atomic on its own as well.
    """
    try:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
    except PlannerError as exc:
        raise ToolError(exc.describe()) from exc


# --------------------------------------------------------------------------------------------------
# Write tools, generated from the spec models.

EXPECTED_REVISION = Annotated[
    int | None,
    Field(
        ge=0,
        description="The artifact's revision you last read (artifact.revision from a write result or "
        "get_release_plan). If the stored artifact has moved on, the call fails instead of overwriting "
        "someone else's change. Omit to create, or to update whatever is stored.",
    ),
]
TASK_ID = Annotated[
    str | None,
    Field(
        min_length=4,
        max_length=36,
        description="An existing Engram task (UUID or unique prefix) to use as the release task, e.g. one "
        "your team already tracks the release with. Omit to create one (or reuse the one stored for "
        "this version).",
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


def write_tool(spec: WriteTool) -> Tool:
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

    what = spec.name.split("_", 1)[1].replace("_", " ")  # "release plan", "migration path", ...
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
            raise ToolError(describe_validation_error(exc, what)) from exc
        options: dict[str, Any] = {
            "expected_revision": arguments.get("expected_revision"),
            "agent": agent_for(ctx, state.settings),
        }
        if spec.accepts_task_id:
            options["task_id"] = arguments.get("task_id")
        method = getattr(state.planner, spec.method)
        version = getattr(built, "version", "")
        async with state.write_lock:
            await ctx.report_progress(0, 1, f"{spec.name}: checking and storing release {version}")
            result: WriteResult = await _run(method, built, **options)
            await ctx.report_progress(1, 1, f"{spec.name}: stored revision {result.revision}")
        return result

    call.__name__ = call.__qualname__ = spec.name
    call.__doc__ = WRITE_DESCRIPTIONS[spec.name]
    call.__signature__ = inspect.Signature(params, return_annotation=WriteResult)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": WriteResult}
    return _finish(
        Tool.from_function(call, name=spec.name, title=spec.title, annotations=WRITE, context_kwarg="ctx")
    )


# --------------------------------------------------------------------------------------------------
# Step 6 and the read tools.

VersionArg = Annotated[Version, Field(description="Release version, e.g. 2.5.0 or v2.5.0")]

# Every field is bounded, but their product is not (100 features x 40 prerequisites x 2,000 characters
# is 8 MB): a whole request over this size is refused before anything is checked, rendered or stored.
MAX_REQUEST_BYTES = 1_000_000


def check_request_size(arguments: Any, tool: str) -> None:
    size = len(pydantic_core.to_json(arguments))
    if size > MAX_REQUEST_BYTES:
        raise ToolError(
            f"{tool}: the request arguments are {size:,} bytes, over the limit of "
            f"{MAX_REQUEST_BYTES:,} bytes of JSON; shorten the longest texts or split the plan "
            "(e.g. fewer prerequisites per feature)"
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
    async with state.write_lock:
        await ctx.report_progress(0, 1, f"link_release_entities: linking release {version}")
        result: LinkResult = await _run(
            state.planner.link_release_entities, version, links, agent=agent_for(ctx, state.settings)
        )
        await ctx.report_progress(1, 1, f"link_release_entities: {len(result.created)} links created")
    return result


async def get_release_plan(version: VersionArg, ctx: Context) -> ReleaseView:
    return await _run(_state(ctx).planner.get_release_plan, version)


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
    return await _run(_state(ctx).planner.list_release_plans, status, limit, cursor)


async def summarize_release(version: VersionArg, ctx: Context) -> StakeholderSummary:
    return await _run(_state(ctx).planner.summarize_release, version)


EXPORT_DESCRIPTION = """\
After plan_rollout: the stored rollout as configuration for the engine the team runs (read-only,
stores nothing). target unleash, launchdarkly or flagd: one flag document per phase, every flag at the
phase's share hashed in one group (seed), so the users in at 5% stay in at 20%, and the segments as
that engine's segments or rules. argo_rollouts: a Rollout with setWeight, pause and analysis steps and
AnalysisTemplates for the gates and the halt threshold. flagger: a Canary with stepWeights, interval,
threshold and metrics. Returns the documents, warnings for what the engine cannot express as planned,
and notes on what to fill in. Also served as the resource release://{version}/export/{target}."""


async def export_rollout(
    version: VersionArg,
    target: Annotated[
        Target, Field(description="The engine: unleash, launchdarkly, flagd, argo_rollouts or flagger")
    ],
    ctx: Context,
) -> ExportResult:
    return await _run(_state(ctx).planner.export_rollout, version, target)


STATUS_DESCRIPTION = """\
While the rollout runs: where the release stands. The phase under way, the next gate and when it is
due, the decisions recorded so far, each phase's state, and what is late against the timeline (by the
server's clock). Read-only; call it before evaluate_gate and after record_decision."""


async def get_release_status(version: VersionArg, ctx: Context) -> ReleaseStatusView:
    return await _run(_state(ctx).planner.get_release_status, version)


EVALUATE_DESCRIPTION = """\
While the rollout runs: judge one phase's gate from observed data (read-only, stores nothing). Give
the counts per arm for the gate's metric, and for any halt-threshold or target metric you have.

Checks the sample ratio against the phase's planned split (p < 0.001: hold, the data cannot be
trusted), the halt thresholds (crossed: rollback), then the gate's effect with its interval at the
alpha the plan spends at this look: go, rollback, or hold with how many more exposures each arm needs
and when the phase's traffic reaches them. Pass the result as record_decision's evidence."""


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
    return await _run(_state(ctx).planner.evaluate_gate, version, phase, observations, look)


def run_read_tools() -> list[Tool]:
    """The read-only tools for running a planned release."""
    return [
        _finish(
            Tool.from_function(
                evaluate_gate,
                title="Evaluate a phase's gate",
                description=EVALUATE_DESCRIPTION,
                annotations=READ,
            )
        ),
        _finish(
            Tool.from_function(
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
            Tool.from_function(
                get_release_plan, title="Get a release plan", description=GET_DESCRIPTION, annotations=READ
            )
        ),
        _finish(
            Tool.from_function(
                list_release_plans, title="List release plans", description=LIST_DESCRIPTION, annotations=READ
            )
        ),
        _finish(
            Tool.from_function(
                summarize_release,
                title="Summarize a release for stakeholders",
                description=SUMMARY_DESCRIPTION,
                annotations=READ,
            )
        ),
        _finish(
            Tool.from_function(
                export_rollout,
                title="Export the rollout to a flag or delivery engine",
                description=EXPORT_DESCRIPTION,
                annotations=READ,
            )
        ),
    ]


def build_tools(settings: Settings) -> list[Tool]:
    """Every tool in the order an agent uses them; only the read tools when read_only is set."""
    if settings.read_only:
        return [*read_tools(), *run_read_tools()]
    link = _finish(
        Tool.from_function(
            link_release_entities,
            title="Link the release's entities",
            description=LINK_DESCRIPTION,
            annotations=LINK,
        )
    )
    runs = [*run_read_tools(), *(write_tool(w) for w in RUN_TOOLS)]
    return [*(write_tool(w) for w in PLAN_TOOLS), link, *read_tools(), *runs]


# --------------------------------------------------------------------------------------------------
# Schema post-processing.


def _finish(tool: Tool) -> Tool:
    """Refuse unknown arguments and publish schemas without ``$ref``/``$defs``.

    The SDK's argument model ignores unknown keys, so a misspelt optional parameter would be dropped
    silently; forbidding extras reports it instead, as the spec models do for nested fields.
    Several hosts mishandle ``$ref`` in tool schemas, so every schema is inlined.
    """
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
    # extra="forbid" changes the schema only by this key; regenerating it would cost start-up time.
    tool.parameters = inline_refs({**tool.parameters, "additionalProperties": False})
    if meta.output_schema is not None:
        meta.output_schema = inline_refs(meta.output_schema)
        tool.__dict__.pop("output_schema", None)  # cached_property computed before we changed it
    return tool


def inline_refs(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Replace every local ``$ref`` with the definition it points to and drop ``$defs``.

    Raises ValueError for a recursive model, which cannot be inlined (and must not be a tool input).
    """
    defs: Mapping[str, Any] = schema.get("$defs", {})

    def resolve(node: Any, trail: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith("#/$defs/"):
                    raise ValueError(f"cannot inline non-local $ref {ref!r}")
                name = ref.removeprefix("#/$defs/")
                if name in trail:
                    raise ValueError(f"recursive schema through {' -> '.join((*trail, name))}")
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                return resolve({**defs[name], **siblings}, (*trail, name))
            return {k: resolve(v, trail) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item, trail) for item in node]
        return node

    return resolve(dict(schema), ())


# --------------------------------------------------------------------------------------------------
# Resources.


def _resource_error(exc: PlannerError) -> ResourceError:
    if isinstance(exc, NotFound | InvalidInput):
        return ResourceNotFoundError(exc.describe())
    return ResourceError(exc.describe())


async def _read(ctx: Context, method: str, version: str) -> Any:
    planner = _state(ctx).planner
    try:
        return await anyio.to_thread.run_sync(getattr(planner, method), version)
    except PlannerError as exc:
        raise _resource_error(exc) from exc


def register_resources(server: MCPServer, skill_text: Callable[[], str]) -> None:
    @server.resource(
        "release://{version}",
        name="release",
        title="Release plan (Markdown)",
        mime_type="text/markdown",
        description="The whole release as Markdown: every artifact in the skill's layout, never trimmed.",
    )
    async def release_markdown(version: str, ctx: Context) -> str:
        return str(await _read(ctx, "release_markdown", version))

    @server.resource(
        "release://{version}/plan.json",
        name="release_json",
        title="Release plan (JSON)",
        mime_type="application/json",
        description="The whole release as JSON: each artifact's structured spec, computed figures, "
        "Engram ids, revisions and links.",
    )
    async def release_json(version: str, ctx: Context) -> str:
        data = await _read(ctx, "release_json", version)
        return pydantic_core.to_json(data, indent=2).decode()

    @server.resource(
        "release://{version}/timeline",
        name="release_timeline",
        title="Rollout timeline (Mermaid)",
        mime_type="text/plain",
        description="The rollout's calendar as a Mermaid gantt chart (needs plan_rollout).",
    )
    async def release_timeline(version: str, ctx: Context) -> str:
        return str(await _read(ctx, "release_timeline", version))

    @server.resource(
        "release://{version}/export/{target}",
        name="release_export",
        title="Rollout as an engine's configuration (JSON)",
        mime_type="application/json",
        description="The rollout as export_rollout returns it for target unleash, launchdarkly, flagd, "
        "argo_rollouts or flagger: the documents, warnings and notes.",
    )
    async def release_export(version: str, target: str, ctx: Context) -> str:
        planner = _state(ctx).planner
        try:
            result = await anyio.to_thread.run_sync(planner.export_rollout, version, target)
        except PlannerError as exc:
            raise _resource_error(exc) from exc
        return str(result.model_dump_json(indent=2))

    @server.resource(
        "skill://release-planning",
        name="release_planning_skill",
        title="Release-planning skill",
        mime_type="text/markdown",
        description="The release-planning skill: the steps, which tool does each, and what to ask "
        "the user (the text of the plan_release prompt).",
    )
    def skill() -> str:
        return skill_text()


# --------------------------------------------------------------------------------------------------
# Prompts.


class CheckedPrompt(Prompt):
    """A prompt whose arguments are checked before rendering.

    The SDK's own check raises a plain error that reaches the client as code 0 (2025 era) or a bare
    -32603 (2026 era); an agent needs INVALID_PARAMS with the argument named on both.
    """

    renderer: Any = None  # the PromptDef from prompts.loader

    async def render(self, arguments: dict[str, Any] | None, context: Any) -> Any:
        try:
            text = self.renderer.render(**(arguments or {}))
        except PlannerError as exc:
            raise MCPError(
                code=INVALID_PARAMS, message=exc.describe(), data={"prompt": self.name, "field": exc.field}
            ) from exc
        return [UserMessage(text)]


def register_prompts(server: MCPServer, prompts: list[Any]) -> None:
    for prompt in prompts:
        server.add_prompt(
            CheckedPrompt(
                name=prompt.name,
                title=prompt.title,
                description=prompt.description,
                arguments=[
                    PromptArgument(name=a.name, description=a.description, required=a.required)
                    for a in prompt.arguments
                ],
                fn=prompt.render,
                context_kwarg=None,
                renderer=prompt,
            )
        )


def tool_names(read_only: bool = False) -> list[str]:
    """The registered tool names, in order, without building a server."""
    reads = [*READ_TOOL_NAMES, *RUN_READ_TOOL_NAMES]
    if read_only:
        return reads
    plan = [*(w.name for w in PLAN_TOOLS), "link_release_entities"]
    return [*plan, *READ_TOOL_NAMES, *RUN_READ_TOOL_NAMES, *(w.name for w in RUN_TOOLS)]
