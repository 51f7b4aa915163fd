"""How a write tool is generated from a spec model, shown on a small spec and a recording planner.

The real specs are covered end to end in test_protocol_tools.py; here each rule of the generation is pinned
on a model small enough to read: defaults, aliases, nested models inlined, the spec's own validators
reported as a ToolError, and the keyword arguments the planner receives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import Implementation
from protocol_helpers import error_text, ok
from pydantic import BaseModel, Field, model_validator

from release_planner.server.registration import AppState, write_tool
from release_planner.server.settings import Settings
from release_planner.tools.base import SpecModel
from release_planner.tools.common import Version
from release_planner.tools.errors import Conflict
from release_planner.tools.results import ArtifactRef, WriteResult
from release_planner.tools.service import WriteTool

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


class Step(BaseModel):
    title: str = Field(min_length=1, description="What to do")
    minutes: int = Field(default=5, ge=1, description="How long it takes")


class ToySpec(SpecModel):
    version: Version = Field(description="The release")
    steps: list[Step] = Field(default_factory=list, description="The steps, in order")
    level: float = Field(alias="confidence", ge=0, le=1, description="How sure we are")
    owner: str | None = Field(default=None, description="Who owns it")

    @model_validator(mode="after")
    def _owner_needed_for_long_runs(self) -> ToySpec:
        if sum(s.minutes for s in self.steps) > 60 and self.owner is None:
            raise ValueError("runs over an hour need an owner")
        return self


class RecordingPlanner:
    def __init__(self) -> None:
        self.calls: list[tuple[ToySpec, dict[str, Any]]] = []

    def create_release_plan(self, spec: ToySpec, **options: Any) -> WriteResult:
        if options.get("expected_revision") == 7:
            raise Conflict("the plan is at revision 8", field="expected_revision", next_step="re-read it")
        self.calls.append((spec, options))
        ref = ArtifactRef(
            kind="release_plan",
            entity_type="context",
            entity_id="e",
            title="t",
            revision=1,
            typed=True,
            updated_at="2026-01-01T00:00:00Z",
        )
        return WriteResult(
            release=spec.version,
            task_id="t",
            artifact=ref,
            revision=1,
            created=True,
            markdown="",
            resource_uri=f"release://{spec.version}",
        )


TOY = WriteTool("create_release_plan", "Toy write", ToySpec, "create_release_plan", accepts_task_id=True)


@pytest.fixture
def planner() -> RecordingPlanner:
    return RecordingPlanner()


@pytest.fixture
async def toy_client(planner: RecordingPlanner, tmp_path: Any) -> AsyncIterator[Client]:
    settings = Settings(workspace=tmp_path, store="memory")

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        yield AppState(planner, settings)  # type: ignore[arg-type]

    server = MCPServer("toy", lifespan=lifespan, tools=[write_tool(TOY)])
    async with Client(server, client_info=Implementation(name="toy-client", version="1")) as client:
        yield client


def test_the_spec_fields_become_flat_described_parameters_without_refs() -> None:
    schema = write_tool(TOY).parameters
    assert list(schema["properties"]) == [
        "version",
        "steps",
        "confidence",
        "owner",
        "expected_revision",
        "task_id",
    ]
    assert schema["required"] == ["version", "confidence"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["confidence"] == {
        "description": "How sure we are",
        "maximum": 1,
        "minimum": 0,
        "type": "number",
    }
    # Nested fields are said by name, type and constraints; generated titles and defaults go.
    assert schema["properties"]["steps"] == {
        "description": "The steps, in order",
        "items": {
            "properties": {
                "title": {"minLength": 1, "type": "string"},
                "minutes": {"default": 5, "minimum": 1, "type": "integer"},
            },
            "required": ["title"],
            "type": "object",
        },
        "type": "array",
    }
    assert schema["properties"]["owner"] == {"description": "Who owns it", "type": "string"}


async def test_the_planner_gets_the_spec_and_the_call_options(
    toy_client: Client, planner: RecordingPlanner
) -> None:
    ok(
        await toy_client.call_tool(
            "create_release_plan",
            {
                "version": "v1.2.0",
                "steps": [{"title": "deploy"}],
                "confidence": 0.5,
                "task_id": "abcd1234",
            },
        )
    )
    ((spec, options),) = planner.calls
    assert spec == ToySpec(version="1.2.0", steps=[Step(title="deploy")], confidence=0.5)
    assert options == {"expected_revision": None, "agent": "toy-client", "task_id": "abcd1234"}


async def test_the_specs_own_validator_is_a_tool_error_naming_the_problem(
    toy_client: Client, planner: RecordingPlanner
) -> None:
    steps = [{"title": "migrate", "minutes": 90}]
    text = error_text(
        await toy_client.call_tool(
            "create_release_plan",
            {
                "version": "1.2.0",
                "steps": steps,
                "confidence": 0.5,
            },
        )
    )
    assert text == (
        "Error executing tool create_release_plan: runs over an hour need an owner\n"
        "next: fix the listed argument and call create_release_plan again; nothing was changed"
    )
    assert planner.calls == []


async def test_a_planner_error_is_a_tool_error_with_its_field_and_next_step(toy_client: Client) -> None:
    text = error_text(
        await toy_client.call_tool(
            "create_release_plan",
            {
                "version": "1.2.0",
                "confidence": 0.5,
                "expected_revision": 7,
            },
        )
    )
    assert text == (
        "Error executing tool create_release_plan: "
        "expected_revision: the plan is at revision 8\nnext: re-read it"
    )


async def test_a_nested_field_out_of_range_is_refused_before_the_planner_runs(
    toy_client: Client, planner: RecordingPlanner
) -> None:
    text = error_text(
        await toy_client.call_tool(
            "create_release_plan",
            {
                "version": "1.2.0",
                "confidence": 0.5,
                "steps": [{"title": "x", "minutes": 0}],
            },
        )
    )
    assert "steps[0].minutes: got 0" in text and "valid: an integer >= 1" in text
    assert planner.calls == []
