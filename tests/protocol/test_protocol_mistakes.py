"""Typical mistakes models make in tool arguments, and the one refusal format every one of them gets.

Each row changes one place of a known-good call the way models often get it wrong (a capitalised
enum, an unknown or misspelt field, a missing required one, text for a number, dates and versions
in other notations, a nested path, ...). Every refusal must read the same way, one line per problem:

    <path in one notation, e.g. phases[2].percent>: <what was wrong>; valid: <what is valid>
    next: <what to do>

with no pydantic wording, no docs URL and no dotted list index (``phases.2.percent``). Forms that are
unambiguous (``"20%"`` for a percentage, a midnight-UTC timestamp for a date, null for an optional
field) are accepted as what they mean.
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from protocol_helpers import error_text, ok

from release_planner.tools.examples import migration, release_plan, rollback, rollout, runbook

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

DROP = object()  # the mistake is leaving the field out
PATH = r"[A-Za-z_]+(?:\[\d+\])*(?:\.[A-Za-z_]+(?:\[\d+\])*)*"
PROBLEM_LINE = re.compile(rf"^(?:(?P<path>{PATH}): )?(?P<wrong>.+?)(?:; valid: (?P<valid>.+))?$")


@dataclass(frozen=True)
class Mistake:
    label: str
    tool: str
    base: dict[str, Any]
    at: tuple[str | int, ...]
    value: Any
    path: str  # the path the refusal names
    wrong: str  # text in what was wrong
    valid: str  # text in what is valid


PLAN, RB, RO, MIG, RUN = release_plan.ARGS, rollback.ARGS, rollout.ARGS, migration.ARGS, runbook.ARGS
V = {"version": "2.5.0"}

MISTAKES = [
    # enums
    Mistake(
        "capitalised enum",
        "create_release_plan",
        PLAN,
        ("release_type",),
        "Minor",
        "release_type",
        "got 'Minor'",
        "one of major, minor, patch (did you mean 'minor'?)",
    ),
    Mistake(
        "hyphen for underscore",
        "create_release_plan",
        PLAN,
        ("features", 0, "batch"),
        "must-have",
        "features[0].batch",
        "got 'must-have'",
        "did you mean 'must_have'?",
    ),
    Mistake(
        "abbreviated enum",
        "design_rollback",
        RB,
        ("procedures", 0, "type"),
        "app",
        "procedures[0].type",
        "got 'app'",
        "did you mean 'application'?",
    ),
    Mistake(
        "words for a comparator",
        "design_rollback",
        RB,
        ("automatic_triggers", 0, "comparator"),
        "greater than",
        "automatic_triggers[0].comparator",
        "got 'greater than'",
        "one of >, >=, <, <=",
    ),
    Mistake(
        "enum without underscore",
        "plan_rollout",
        RO,
        ("phases", 0, "gate"),
        {"type": "noninferiority", "metric": "conversion_rate", "margin": 1.0},
        "phases[0].gate.type",
        "got 'noninferiority'",
        "did you mean 'non_inferiority'?",
    ),
    Mistake(
        "unknown status",
        "list_release_plans",
        {},
        ("status",),
        "open",
        "status",
        "got 'open'",
        "one of todo, inprogress, done, blocked, cancelled",
    ),
    Mistake(
        "capitalised approach",
        "plan_rollout",
        RO,
        ("approach",),
        "Canary",
        "approach",
        "got 'Canary'",
        "did you mean 'canary'?",
    ),
    # unknown and missing fields
    Mistake(
        "misspelt parameter",
        "create_release_plan",
        PLAN,
        ("sucess_metrics",),
        ["x"],
        "sucess_metrics",
        "unknown field 'sucess_metrics'",
        "did you mean 'success_metrics'?",
    ),
    Mistake(
        "misspelt version",
        "get_release_plan",
        V,
        ("versoin",),
        "2.5.0",
        "versoin",
        "unknown field 'versoin'",
        "the fields here are version (did you mean 'version'?)",
    ),
    Mistake(
        "invented nested field",
        "create_release_plan",
        PLAN,
        ("features", 0, "priority"),
        "high",
        "features[0].priority",
        "unknown field 'priority'",
        "the fields here are name, batch, reason",
    ),
    Mistake(
        "camelCase field",
        "plan_rollout",
        RO,
        ("phases", 1, "durationHours"),
        24,
        "phases[1].durationHours",
        "unknown field 'durationHours'",
        "did you mean 'duration_hours'?",
    ),
    Mistake(
        "unknown field in an optional object",
        "design_rollback",
        RB,
        ("procedures", 0, "rehearsal", "duration"),
        0.75,
        "procedures[0].rehearsal.duration",
        "unknown field 'duration'",
        "the fields here are date, measured_minutes",
    ),
    Mistake(
        "missing required",
        "create_release_plan",
        PLAN,
        ("name",),
        DROP,
        "name",
        "missing; this field is required",
        "non-empty text of at most 200 characters",
    ),
    Mistake(
        "missing nested required",
        "plan_rollout",
        RO,
        ("phases", 2, "percent"),
        DROP,
        "phases[2].percent",
        "missing; this field is required",
        "a number > 0 and <= 100",
    ),
    Mistake(
        "missing version", "summarize_release", V, ("version",), DROP, "version", "missing", "e.g. 2.5.0"
    ),
    # types
    Mistake(
        "text for a number",
        "plan_rollout",
        RO,
        ("phases", 1, "percent"),
        "five",
        "phases[1].percent",
        "got 'five', which is not a number",
        "a number > 0 and <= 100",
    ),
    Mistake(
        "word for a confidence",
        "design_migration_path",
        MIG,
        ("confidence",),
        "high",
        "confidence",
        "which is not a number",
        "a number >= 0 and <= 1",
    ),
    Mistake(
        "string for a list",
        "create_release_plan",
        PLAN,
        ("objectives",),
        "Enable enterprise",
        "objectives",
        "which is not a list",
        "a list of at most 100 items",
    ),
    Mistake(
        "object for a list",
        "create_release_plan",
        PLAN,
        ("features",),
        {"name": "x"},
        "features",
        "got an object (name), which is not a list",
        "a list",
    ),
    Mistake(
        "number for a string-or-object",
        "design_migration_path",
        MIG,
        ("exit_criteria", 0),
        5,
        "exit_criteria[0]",
        "got 5",
        "an object with metric, comparator, threshold",
    ),
    Mistake(
        "percent string for a ratio",
        "plan_rollout",
        RO,
        ("phases", 0, "gate"),
        {"type": "sequential", "metric": "error_rate", "alpha": "5%"},
        "phases[0].gate.alpha",
        "got '5%', which is not a number",
        "a number > 0 and < 0.5",
    ),
    Mistake(
        "bare timestamp for an object",
        "plan_rollout",
        RO,
        ("start",),
        "2026-03-16T10:00",
        "start",
        "needs a named time zone",
        '"timezone": "America/New_York"',
    ),
    # bounds
    Mistake(
        "percent over 100",
        "plan_rollout",
        RO,
        ("phases", 1, "percent"),
        150,
        "phases[1].percent",
        "got 150, out of range",
        "a number > 0 and <= 100",
    ),
    Mistake(
        "page too large",
        "list_release_plans",
        {},
        ("limit",),
        500,
        "limit",
        "got 500, out of range",
        "an integer >= 1 and <= 100",
    ),
    Mistake(
        "negative revision",
        "create_release_plan",
        PLAN,
        ("expected_revision",),
        -1,
        "expected_revision",
        "got -1, out of range",
        "an integer >= 0",
    ),
    Mistake(
        "empty name", "create_release_plan", PLAN, ("name",), "", "name", "got 0 characters", "non-empty text"
    ),
    Mistake("empty phases", "plan_rollout", RO, ("phases",), [], "phases", "got 0 items", "at least 1"),
    # dates
    Mistake(
        "day-first date",
        "create_release_plan",
        PLAN,
        ("target_date",),
        "16/03/2026",
        "target_date",
        "got '16/03/2026', not a date",
        "an ISO date YYYY-MM-DD, e.g. 2026-03-16",
    ),
    Mistake(
        "date in words",
        "create_release_plan",
        PLAN,
        ("target_date",),
        "March 16, 2026",
        "target_date",
        "not a date",
        "YYYY-MM-DD",
    ),
    Mistake(
        "timestamp with a time of day",
        "create_release_plan",
        PLAN,
        ("target_date",),
        "2026-03-16T10:30:00Z",
        "target_date",
        "the day is ambiguous",
        "YYYY-MM-DD",
    ),
    Mistake(
        "midnight in another zone",
        "create_release_plan",
        PLAN,
        ("target_date",),
        "2026-03-16T00:00:00+02:00",
        "target_date",
        "the day is ambiguous",
        "YYYY-MM-DD",
    ),
    Mistake(
        "unix time for a date",
        "create_release_plan",
        PLAN,
        ("target_date",),
        1773619200,
        "target_date",
        "got the number 1773619200, not a date",
        "YYYY-MM-DD",
    ),
    Mistake(
        "nested date with a time",
        "create_release_plan",
        PLAN,
        ("dependencies", 0, "due"),
        "2026-03-05T09:00:00Z",
        "dependencies[0].due",
        "the day is ambiguous",
        "YYYY-MM-DD",
    ),
    # versions and offsets
    Mistake(
        "two-part version",
        "create_release_plan",
        PLAN,
        ("version",),
        "2.5",
        "version",
        "'2.5' is not a SemVer version",
        "e.g. 2.5.0 or v2.5.0",
    ),
    Mistake(
        "version with words",
        "get_release_plan",
        V,
        ("version",),
        "version 2.5.0",
        "version",
        "is not a SemVer version",
        "e.g. 2.5.0",
    ),
    Mistake(
        "days in words for a T-offset",
        "design_migration_path",
        MIG,
        ("phases", 0, "start"),
        "90 days before",
        "phases[0].start",
        "is not a T-offset",
        "e.g. 'T-90'",
    ),
    Mistake(
        "words for a minute offset",
        "create_runbook",
        RUN,
        ("steps", 0, "at"),
        "half an hour before",
        "steps[0].at",
        "is not a T-offset",
        "text of at most",
    ),
]


def _apply(base: dict[str, Any], at: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    args = copy.deepcopy(base)
    node: Any = args
    for key in at[:-1]:
        node = node[key]
    if value is DROP:
        del node[at[-1]]
    else:
        node[at[-1]] = value
    return args


@pytest.fixture
async def seeded(server: MCPServer, era: str) -> AsyncIterator[Client]:
    """A client on a store holding the v2.5.0 plan and rollback and the v3.0.0 plan."""
    async with Client(server, mode=era) as client:
        ok(await client.call_tool("create_release_plan", PLAN))
        ok(await client.call_tool("create_release_plan", migration.PLAN_V3_ARGS))
        ok(await client.call_tool("design_rollback", RB))
        yield client


def lines_of(text: str, tool: str) -> list[str]:
    prefix = f"Error executing tool {tool}: "
    assert text.startswith(prefix), text
    return text.removeprefix(prefix).split("\n")


def assert_one_format(text: str, tool: str) -> list[re.Match[str]]:
    """Every line is a problem in the one format, the last says what to do next; no pydantic text."""
    *problems, last = lines_of(text, tool)
    assert problems, text
    assert re.match(r"^next: \S.+", last), text
    matches = [PROBLEM_LINE.match(line) for line in problems]
    assert all(matches), text
    assert not re.search(r"pydantic|https?://|\[type=|input_value|Field required|\b[a-z_]+\.\d+\b", text), (
        text
    )
    return [m for m in matches if m is not None]


def test_the_table_covers_at_least_thirty_mistakes_across_the_tools() -> None:
    assert len(MISTAKES) >= 30
    assert len({m.tool for m in MISTAKES}) >= 7
    assert len({m.label for m in MISTAKES}) == len(MISTAKES)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.label)
async def test_every_typical_mistake_is_refused_in_the_one_format(seeded: Client, mistake: Mistake) -> None:
    text = error_text(await seeded.call_tool(mistake.tool, _apply(mistake.base, mistake.at, mistake.value)))
    matches = assert_one_format(text, mistake.tool)
    named = [m for m in matches if m["path"] == mistake.path]
    assert named, f"no problem at {mistake.path}: {text}"
    problem = named[0]
    assert mistake.wrong in problem["wrong"], text
    assert problem["valid"] and mistake.valid in problem["valid"], text


async def test_several_mistakes_are_reported_together_one_line_each(seeded: Client) -> None:
    args = _apply(_apply(PLAN, ("release_type",), "Major"), ("features", 1, "batch"), "later")
    args["sucess_metrics"] = []
    text = error_text(await seeded.call_tool("create_release_plan", args))
    paths = [m["path"] for m in assert_one_format(text, "create_release_plan")]
    assert sorted(paths) == ["features[1].batch", "release_type", "sucess_metrics"], text
    assert text.endswith(
        "next: fix the listed arguments and call create_release_plan again; nothing was changed"
    )


async def test_an_unknown_tool_is_refused_with_the_tools_that_exist(seeded: Client) -> None:
    text = error_text(await seeded.call_tool("plan_rolout", {"version": "2.5.0"}))
    assert "unknown tool 'plan_rolout'; valid: the tools are create_release_plan, " in text, text
    assert "(did you mean 'plan_rollout'?)" in text, text
    assert "next: " in text


async def test_a_percent_string_for_a_percentage_is_read_as_the_number(seeded: Client) -> None:
    args = _apply(RO, ("phases", 1, "percent"), "5%")
    ok(await seeded.call_tool("plan_rollout", args))
    view = ok(await seeded.call_tool("get_release_plan", {"version": "2.5.0"}))
    assert "5%" in view["markdown"]


async def test_a_percent_string_for_a_threshold_in_percent_is_read_as_the_number(seeded: Client) -> None:
    args = _apply(RB, ("automatic_triggers", 0, "threshold"), f"{RB['automatic_triggers'][0]['threshold']}%")
    assert RB["automatic_triggers"][0].get("unit", "percent") == "percent"
    ok(await seeded.call_tool("design_rollback", args))


@pytest.mark.parametrize(
    "when",
    [
        "2026-03-16T00:00:00Z",
        "2026-03-16T00:00:00.000Z",
        "2026-03-16T00:00:00+00:00",
        "2026-03-16T00:00",
        "2026-03-16",
    ],
)
async def test_a_midnight_utc_timestamp_for_a_date_is_that_day(seeded: Client, when: str) -> None:
    stored = ok(await seeded.call_tool("create_release_plan", _apply(PLAN, ("target_date",), when)))
    assert stored["release"] == "2.5.0"
    view = ok(await seeded.call_tool("get_release_plan", {"version": "2.5.0"}))
    assert view["target_date"] == "2026-03-16"


async def test_null_for_an_optional_field_is_the_field_left_out(seeded: Client) -> None:
    args = {**PLAN, "task_id": None, "expected_revision": None, "risks": None}
    args["features"] = [{**f, "flag": None} for f in PLAN["features"]]
    ok(await seeded.call_tool("create_release_plan", args))


async def test_null_for_a_required_field_is_refused(seeded: Client) -> None:
    text = error_text(await seeded.call_tool("create_release_plan", {**PLAN, "name": None}))
    assert any(m["path"] == "name" for m in assert_one_format(text, "create_release_plan")), text
