"""Resources and prompts: the stored releases as documents, and the skill's steps as prompts.

``register_resources`` and ``register_prompts`` add to a server built by ``app.build_server``; errors
use the one refusal format (``server/arguments.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pydantic_core
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument, UserMessage
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from ..tools.errors import InvalidInput, NotFound, PlannerError
from .arguments import planner_refusal
from .registration import _state

# --------------------------------------------------------------------------------------------------
# Resources.


def _resource_error(exc: PlannerError) -> ResourceError:
    if isinstance(exc, NotFound | InvalidInput):
        return ResourceNotFoundError(planner_refusal(exc))
    return ResourceError(planner_refusal(exc))


async def _read(ctx: Context, method: str, *args: str) -> Any:
    try:
        planner = await _state(ctx).ready(ctx)
        return await anyio.to_thread.run_sync(getattr(planner, method), *args)
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
        result = await _read(ctx, "export_rollout", version, target)
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
                code=INVALID_PARAMS,
                message=planner_refusal(exc),
                data={"prompt": self.name, "field": exc.field},
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
