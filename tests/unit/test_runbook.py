"""The release runbook (step 5): T-offsets, checks, the rollout schedule, Markdown, round-tripping."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from golden_files import assert_matches_golden
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import runbook as example
from release_planner.tools.review import check_artifact
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.runbook import (
    RunbookSpec,
    display_offset,
    format_minute_offset,
    parse_minute_offset,
)

CTX = ReleaseContext(version="2.5.0")

TIMELINE = [
    {
        "phase": "Internal Dogfooding",
        "percent": 1,
        "start": "2026-03-16T10:00:00+00:00",
        "end": "2026-03-17T10:00:00+00:00",
        "weekday": "Monday",
        "day": 1,
    },
    {
        "phase": "Full Rollout",
        "percent": 100,
        "start": "2026-03-24T11:00:00-04:00",
        "end": None,
        "weekday": "Tuesday",
        "day": 9,
    },
]


class RolloutStandIn:
    """Only ``computed(ctx)["timeline"]`` of the rollout plan is read by the runbook."""

    def __init__(self, timeline: list[dict[str, Any]]) -> None:
        self.timeline = timeline

    def computed(self, ctx: ReleaseContext) -> dict[str, Any]:
        return {"timeline": self.timeline}


def args(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(example.ARGS)
    data.update(changes)
    return data


def spec(data: dict[str, Any] | None = None) -> RunbookSpec:
    return RunbookSpec.model_validate(data if data is not None else example.ARGS)


def codes(s: RunbookSpec, ctx: ReleaseContext = CTX) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.severity, f.field) for f in check_artifact(s, ctx)]


def rollback(rehearsed: bool) -> RollbackSpec:
    data = copy.deepcopy(rollback_example.ARGS)
    if not rehearsed:
        for p in data["procedures"]:
            p.pop("rehearsal", None)
    return RollbackSpec.model_validate(data)


# --- T-offsets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("T", 0),
        ("T+0", 0),
        ("T-0", 0),
        ("T-30min", -30),
        ("T-30 min", -30),
        ("t+10m", 10),
        ("T+2h", 120),
        ("T + 1 hour", 60),
        ("T-1d", -1440),
        (-15, -15),
    ],
)
def test_step_times_are_minutes_around_the_deploy(text, minutes):
    assert parse_minute_offset(text) == minutes


@pytest.mark.parametrize("text", ["T-30", "30min", "T-30weeks", "T+99999min", "", True, "T+-5min"])
def test_ambiguous_or_malformed_step_times_are_refused(text):
    with pytest.raises(ValueError):
        parse_minute_offset(text)


def test_step_times_are_stored_in_one_spelling_and_shown_in_the_skills():
    data = args()
    data["steps"][0]["at"] = "T - 1 h"
    s = spec(data)
    assert s.steps[0].at == "T-60min"
    assert [display_offset(m) for m in (-30, 0, 10, 120, -90)] == [
        "T-30 min",
        "T+0",
        "T+10 min",
        "T+2 h",
        "T-90 min",
    ]


@given(st.integers(-60 * 24 * 30, 60 * 24 * 30))
def test_a_formatted_offset_parses_back_to_the_same_minutes(minutes):
    assert parse_minute_offset(format_minute_offset(minutes)) == minutes


# --- the seed example -----------------------------------------------------------------------------


def test_seed_runbook_has_no_findings_alone_or_beside_the_seed_rollback_and_rollout():
    assert check_artifact(spec(), CTX) == []
    ctx = ReleaseContext(version="2.5.0", rollback=rollback(True), rollout=RolloutStandIn(TIMELINE))
    assert check_artifact(spec(), ctx) == []


def test_seed_as_written_is_warned_about_its_alembic_downgrade():
    assert codes(spec(example.SEED_AS_WRITTEN)) == [
        ("down_migration_in_runbook", "warning", "troubleshooting[1].resolution[1]")
    ]


def test_seed_runbook_counts():
    assert spec().computed(CTX) == {
        "steps": 6,
        "checklist_items": 19,
        "smoke_tests": 7,
        "schedule_from_rollout": False,
        "t": None,
        "t_from": None,
    }
    ctx = ReleaseContext(version="2.5.0", rollout=RolloutStandIn(TIMELINE))
    assert spec().computed(ctx)["schedule_from_rollout"] is True


def test_seed_runbook_markdown_matches_the_golden_file():
    markdown = spec().render(CTX)
    assert_matches_golden(markdown, "runbook_v2.5.0.md")


def test_markdown_follows_the_skill_sections_in_order():
    markdown = spec().render(CTX)
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Pre-Release Checklist",
        "## Deployment Steps",
        "## Smoke Tests",
        "## Rollout Schedule",
        "## Emergency Contacts",
        "## Troubleshooting",
        "## Post-Release Activities",
    ]
    assert "### Step 1: Pre-Deployment (T-30 min)" in markdown
    assert "### Step 3: Application Deployment (T+0)" in markdown


def test_title_and_confidence():
    assert spec().title(CTX) == "Release Runbook: v2.5.0"
    assert spec().confidence(CTX) is None


# --- the rollout schedule -------------------------------------------------------------------------


def test_without_a_rollout_plan_the_schedule_says_to_plan_one_instead_of_inventing_days():
    markdown = spec().render(CTX)
    assert "## Rollout Schedule\n\nRollout schedule: not planned yet — call plan_rollout\n" in markdown
    assert "Day 1" not in markdown


def test_the_schedule_is_read_from_the_rollout_plans_timeline():
    markdown = spec().render(ReleaseContext(version="2.5.0", rollout=RolloutStandIn(TIMELINE)))
    section = markdown.split("## Rollout Schedule\n\n", 1)[1].split("\n\n## ", 1)[0]
    assert section == (
        "From the phased rollout plan:\n\n"
        "- **Day 1 (Monday, 2026-03-16 10:00 UTC):** Internal Dogfooding at 1%, until 2026-03-17 10:00 UTC\n"
        "- **Day 9 (Tuesday, 2026-03-24 11:00 UTC-04:00):** Full Rollout at 100%"
    )


def test_an_empty_rollout_timeline_is_said_plainly():
    markdown = spec().render(ReleaseContext(version="2.5.0", rollout=RolloutStandIn([])))
    assert "Rollout schedule: the rollout plan has no phases yet — call plan_rollout" in markdown


# --- each finding ---------------------------------------------------------------------------------


def _swap_times(d):
    d["steps"][1]["at"] = "T-45min"


def _duplicate_name(d):
    d["steps"][3]["name"] = "application deployment"


def _downgrade_step(d):
    d["steps"][1]["commands"].append("alembic downgrade -1")


def _no_on_call(d):
    d["contacts"] = [c for c in d["contacts"] if "On-Call" not in c["role"]]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_swap_times, [("steps_out_of_order", "warning", "steps[1].at")]),
        (_duplicate_name, [("duplicate_step_name", "error", "steps[3].name")]),
        (lambda d: d.update(smoke_tests=[]), [("no_smoke_tests", "warning", "smoke_tests")]),
        (_no_on_call, [("no_on_call_contact", "warning", "contacts")]),
        (lambda d: d.update(contacts=[]), [("no_on_call_contact", "warning", "contacts")]),
        (_downgrade_step, [("down_migration_in_runbook", "warning", "steps[1].commands[4]")]),
    ],
    ids=["out-of-order", "duplicate-name", "no-smoke-tests", "no-on-call", "no-contacts", "downgrade-step"],
)
def test_each_problem_is_reported_with_its_code_and_field(mutate, expected):
    data = args()
    mutate(data)
    assert codes(spec(data)) == expected


def test_a_step_is_compared_with_the_latest_time_seen_so_far():
    data = args()
    data["steps"][1]["at"] = "T+1h"  # now steps 3..6 (T .. T+30min) all come before it
    assert [f.field for f in check_artifact(spec(data), CTX)] == [f"steps[{i}].at" for i in range(2, 6)]


def _without_rehearsal_item(d):
    for section in d["checklist"]:
        section["items"] = [i for i in section["items"] if "rehearsed" not in i]


def test_a_missing_rehearsal_item_is_reported_when_the_rollback_was_never_rehearsed():
    data = args()
    _without_rehearsal_item(data)
    s = spec(data)
    assert codes(s, ReleaseContext(version="2.5.0", rollback=rollback(False))) == [
        ("rollback_rehearsal_missing", "warning", "checklist")
    ]
    # Rehearsed already, or no rollback strategy to judge: nothing to say.
    assert check_artifact(s, ReleaseContext(version="2.5.0", rollback=rollback(True))) == []
    assert check_artifact(s, CTX) == []
    # Asking for the rehearsal in the checklist is enough.
    assert check_artifact(spec(), ReleaseContext(version="2.5.0", rollback=rollback(False))) == []


# --- input validation -----------------------------------------------------------------------------


def test_a_smoke_test_needs_a_command_or_a_manual_check():
    data = args()
    data["smoke_tests"][0].pop("command")
    with pytest.raises(ValidationError, match="command to run or a manual check"):
        spec(data)


@pytest.mark.parametrize("bad", [{"steps": []}, {"version": "next"}, {"schedule": []}])
def test_invalid_arguments_are_refused(bad):
    with pytest.raises(ValidationError):
        spec(args(**bad))


def test_a_step_time_without_a_unit_is_refused_with_a_hint():
    data = args()
    data["steps"][0]["at"] = "T-30"
    with pytest.raises(ValidationError, match="write T-30min"):
        spec(data)


# --- properties -----------------------------------------------------------------------------------

_words = st.text(alphabet=st.sampled_from("abcXYZ019 -_.:/#%@+"), min_size=1, max_size=12).filter(str.strip)
_prose = st.text(alphabet=st.sampled_from("ab c\n`$*_-|é"), min_size=1, max_size=30).filter(str.strip)
_offset = st.one_of(
    st.integers(-600, 600),
    st.integers(-600, 600).map(format_minute_offset),
    st.integers(-10, 10).map(lambda h: f"T{'+' if h >= 0 else '-'}{abs(h)}h"),
)
_step = st.fixed_dictionaries(
    {"name": _words, "at": _offset, "actions": st.lists(_prose, min_size=1, max_size=3)},
    optional={"owner": _words, "commands": st.lists(_prose, max_size=2)},
)
_smoke = st.one_of(
    st.fixed_dictionaries(
        {"name": _words, "command": _prose, "expected": _prose}, optional={"check": _prose}
    ),
    st.fixed_dictionaries({"name": _words, "check": _prose, "expected": _prose}),
)
_contact = st.fixed_dictionaries(
    {"role": st.one_of(_words, st.just("On-Call Primary")), "name": _words},
    optional={"phone": _words, "slack": _words, "email": _words},
)
_trouble = st.fixed_dictionaries(
    {"issue": _words, "resolution": st.lists(_prose, min_size=1, max_size=3)},
    optional={"check": _prose, "causes": st.lists(_words, max_size=3)},
)
_activity = st.fixed_dictionaries(
    {"when": _words, "what": _words}, optional={"tasks": st.lists(_prose, max_size=3)}
)
_runbook_args = st.fixed_dictionaries(
    {"version": st.sampled_from(["2.5.0", "v2.5.0"]), "steps": st.lists(_step, min_size=1, max_size=4)},
    optional={
        "checklist": st.lists(
            st.fixed_dictionaries({"name": _words, "items": st.lists(_prose, min_size=1, max_size=3)}),
            max_size=3,
        ),
        "smoke_tests": st.lists(_smoke, max_size=3),
        "contacts": st.lists(_contact, max_size=3),
        "troubleshooting": st.lists(_trouble, max_size=2),
        "post_release": st.lists(_activity, max_size=2),
    },
)


@settings(max_examples=150, deadline=None)
@given(_runbook_args, st.sampled_from([None, TIMELINE]))
def test_stored_form_loads_back_equal_and_renders_the_same_bytes(data, timeline):
    ctx = ReleaseContext(version="2.5.0", rollout=None if timeline is None else RolloutStandIn(timeline))
    original = RunbookSpec.model_validate(data)
    loaded = RunbookSpec.model_validate(original.model_dump(mode="json"))
    assert loaded == original
    assert loaded.render(ctx) == original.render(ctx)
    assert check_artifact(loaded, ctx) == check_artifact(original, ctx)


@settings(max_examples=100, deadline=None)
@given(_runbook_args)
def test_steps_sorted_by_time_are_never_reported_out_of_order(data):
    data["steps"].sort(key=lambda s: parse_minute_offset(s["at"]))
    assert "steps_out_of_order" not in {f.code for f in check_artifact(RunbookSpec.model_validate(data), CTX)}


def test_the_schedule_tolerates_numbered_phases_and_times_without_a_zone():
    timeline = [
        {
            "phase": 1,
            "percent": 5.5,
            "start": "2026-03-16T09:30:00",
            "end": None,
            "weekday": "Monday",
            "day": 1,
        }
    ]
    markdown = spec().render(ReleaseContext(version="2.5.0", rollout=RolloutStandIn(timeline)))
    assert "- **Day 1 (Monday, 2026-03-16 09:30):** Phase 1 at 5.5%\n" in markdown


def test_the_schedule_comes_from_the_real_rollout_plan_of_the_seed_example():
    from release_planner.tools.examples import rollout as rollout_example
    from release_planner.tools.rollout import RolloutSpec

    rollout = RolloutSpec.model_validate(rollout_example.ARGS)
    ctx = ReleaseContext(version="2.5.0", rollout=rollout)
    section = spec().render(ctx).split("## Rollout Schedule\n\n", 1)[1].split("\n\n## ", 1)[0]
    lines = section.splitlines()[2:]
    assert [line.split(":** ", 1)[1].split(" at ", 1)[0] for line in lines] == [
        p.name for p in rollout.phases
    ]
    assert spec().computed(ctx)["schedule_from_rollout"] is True
