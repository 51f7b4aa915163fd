"""Size limits: an over-long string, an over-long list or an oversized request is refused with an
error that names the field and the limit, stores nothing, and does not echo the input back."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.args import plan_args
from helpers.checks import structured, text_of
from hostile_session import Session, mcp_session

from release_planner.tools.common import MAX_ITEMS, MAX_LONG, MAX_SHORT, MAX_TEXT
from release_planner.tools.examples import migration, release_plan, rollout, runbook

ERROR_TEXT_BUDGET = 4_000  # an error is for a model to read: it names the problem, not the input


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    with mcp_session("legacy") as s:
        yield s


def _set(args: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(args)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _refused(session: Session, tool: str, args: dict[str, Any]) -> str:
    before = structured(session.call("list_release_plans", {"limit": 100}))
    result = session.call(tool, args)
    text = text_of(result)
    assert result.is_error, f"accepted: {text[:300]}"
    assert structured(session.call("list_release_plans", {"limit": 100})) == before
    return text


STRING_LIMITS = [
    # (tool, base args, path to a string field, its limit, the path as the error spells it)
    ("create_release_plan", release_plan.ARGS, ("name",), MAX_SHORT, "name"),
    ("create_release_plan", release_plan.ARGS, ("objectives", 0), MAX_TEXT, "objectives[0]"),
    ("create_release_plan", release_plan.ARGS, ("features", 0, "reason"), MAX_TEXT, "features[0].reason"),
    (
        "design_migration_path",
        migration.ARGS,
        ("customer_steps", 0, "instructions"),
        MAX_LONG,
        "instructions",
    ),
    ("create_runbook", runbook.ARGS, ("steps", 0, "commands", 0), MAX_LONG, "steps[0].commands[0]"),
    ("plan_rollout", rollout.ARGS, ("start", "timezone"), 64, "start.timezone"),
]


@pytest.mark.parametrize(
    ("tool", "base", "path", "limit", "spelled"), STRING_LIMITS, ids=lambda v: str(v)[:30]
)
def test_a_string_one_character_over_its_limit_is_refused_naming_field_and_limit(
    session: Session, tool: str, base: dict[str, Any], path: tuple[str | int, ...], limit: int, spelled: str
) -> None:
    text = _refused(session, tool, _set(base, path, "x" * (limit + 1)))
    assert spelled in text
    assert re.search(rf"at most {limit} characters", text), text
    assert len(text) < ERROR_TEXT_BUDGET


def test_a_name_exactly_at_its_limit_is_stored_and_read_back_whole(session: Session) -> None:
    name = "N" * (MAX_SHORT - 1) + "é"
    stored = structured(session.call("create_release_plan", plan_args("6.1.0", name)))
    assert stored["artifact"]["title"] == f"Release Plan: v6.1.0 - {name}"
    view = structured(session.call("get_release_plan", {"version": "6.1.0"}))
    assert view["name"] == name


LIST_LIMITS = [
    ("create_release_plan", release_plan.ARGS, ("objectives",), "objective", "objectives"),
    ("create_release_plan", release_plan.ARGS, ("features", 0, "prerequisites"), "thing", "prerequisites"),
    ("create_runbook", runbook.ARGS, ("steps", 0, "actions"), "do it", "steps[0].actions"),
    (
        "link_release_entities",
        {"version": "2.5.0"},
        ("links",),
        {"target_id": "0000", "target_type": "task"},
        "links",
    ),
]


@pytest.mark.parametrize(
    ("tool", "base", "path", "item", "spelled"), LIST_LIMITS, ids=[u[4] for u in LIST_LIMITS]
)
def test_a_list_one_item_over_its_limit_is_refused_naming_field_and_limit(
    session: Session, tool: str, base: dict[str, Any], path: tuple[str | int, ...], item: Any, spelled: str
) -> None:
    text = _refused(session, tool, _set(base, path, [item] * (MAX_ITEMS + 1)))
    assert spelled in text
    assert re.search(rf"at most {MAX_ITEMS} items", text), text
    assert len(text) < ERROR_TEXT_BUDGET


def test_a_request_over_the_total_size_limit_is_refused_naming_the_limit(session: Session) -> None:
    args = plan_args("6.2.0", "Oversized")
    args["features"] = [
        {
            "name": f"Feature {i}",
            "batch": "must_have",
            "reason": "r" * MAX_TEXT,
            "risk": "low",
            "prerequisites": [f"{j} " + "p" * (MAX_TEXT - 4) for j in range(40)],
        }
        for i in range(MAX_ITEMS)
    ]
    assert len(json.dumps(args)) > 8_000_000
    text = _refused(session, "create_release_plan", args)
    assert re.search(r"(request|arguments)\b.*\b(bytes|characters|size)", text, re.IGNORECASE), text
    assert len(text) < ERROR_TEXT_BUDGET


UNBOUNDED = [
    # Strings whose schema has no maxLength: their validators check the format, not the length.
    ("create_release_plan", release_plan.ARGS, ("version",), "2.6.0-" + "a" * 10_000),
    ("create_release_plan", release_plan.ARGS, ("features", 4, "target_version"), "9" * 10_000),
    ("design_migration_path", migration.ARGS, ("phases", 0, "start"), "T-" + "9" * 10_000),
    ("create_runbook", runbook.ARGS, ("steps", 0, "at"), "T-" + "9" * 10_000),
    ("plan_rollout", rollout.ARGS, ("business_hours",), {"start": "0" * 10_000}),
    ("get_release_plan", {}, ("version",), "9" * 10_000),
]


@pytest.mark.parametrize(
    ("tool", "base", "path", "value"),
    UNBOUNDED,
    ids=[f"{u[0]}:{'.'.join(map(str, u[2]))}" for u in UNBOUNDED],
)
def test_a_string_without_a_schema_limit_is_still_refused_briefly_when_huge(
    session: Session, tool: str, base: dict[str, Any], path: tuple[str | int, ...], value: Any
) -> None:
    text = _refused(session, tool, _set(base, path, value))
    assert str(path[-1]) in text
    assert len(text) < ERROR_TEXT_BUDGET, f"{len(text)} characters of error"
