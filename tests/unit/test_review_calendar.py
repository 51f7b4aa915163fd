"""Calendar rules: the release day, rollout phase changes, migration phases and runbook steps land on
working days, off the plan's public holidays and outside its freeze windows."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools import review
from release_planner.tools.base import Finding, ReleaseContext
from release_planner.tools.errors import InvalidInput
from release_planner.tools.examples import migration as migration_example
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.examples import runbook as runbook_example
from release_planner.tools.migration import MigrationPathSpec
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.review import calendar_rules
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.runbook import RunbookSpec
from release_planner.tools.service import ReleasePlanner

CALENDAR_CODES = {rule.code for rule in calendar_rules.RULES}
YEAR_END = {"start": "2026-12-18", "end": "2027-01-04", "reason": "Year-end change freeze"}


def plan(target_date: str = "2026-03-16", calendar: dict[str, Any] | None = None) -> ReleasePlanSpec:
    args = copy.deepcopy(plan_example.ARGS)
    args["target_date"] = target_date
    if calendar is not None:
        args["calendar"] = calendar
    return ReleasePlanSpec.model_validate(args)


def v3_plan(calendar: dict[str, Any] | None = None) -> ReleasePlanSpec:
    """The v3.0.0 plan of the migration example: T is Monday, July 13, 2026."""
    args = copy.deepcopy(migration_example.PLAN_V3_ARGS)
    if calendar is not None:
        args["calendar"] = calendar
    return ReleasePlanSpec.model_validate(args)


def rollout(
    start: str = "2026-03-16T10:00", zone: str = "America/New_York", **durations: float
) -> RolloutSpec:
    """The example rollout, starting at ``start``; ``p0=72`` sets the first phase's duration_hours."""
    args = copy.deepcopy(rollout_example.ARGS)
    args["start"] = {"at": start, "timezone": zone}
    for key, hours in durations.items():
        args["phases"][int(key[1:])]["duration_hours"] = hours
    return RolloutSpec.model_validate(args)


def migration(**starts: str) -> MigrationPathSpec:
    """The example migration path; ``p3="T+56"`` moves the fourth phase's start."""
    args = copy.deepcopy(migration_example.ARGS)
    for key, start in starts.items():
        args["phases"][int(key[1:])]["start"] = start
    return MigrationPathSpec.model_validate(args)


def runbook(*offsets: str) -> RunbookSpec:
    args = copy.deepcopy(runbook_example.ARGS)
    args["steps"] += [
        {"name": f"Follow-up {at}", "at": at, "actions": ["Check the dashboards"]} for at in offsets
    ]
    return RunbookSpec.model_validate(args)


def findings(ctx: ReleaseContext, code: str | None = None) -> list[Finding]:
    found = [f.finding for f in review.review(ctx)]
    return [f for f in found if (f.code == code if code else f.code in CALENDAR_CODES)]


def seed_slots(calendar: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "version": "2.5.0",
        "plan": plan(calendar=calendar),
        "rollback": RollbackSpec.model_validate(rollback_example.ARGS),
        "rollout": RolloutSpec.model_validate(rollout_example.ARGS),
        "runbook": RunbookSpec.model_validate(runbook_example.ARGS),
    }


def v3(calendar: dict[str, Any] | None = None, **slots: Any) -> ReleaseContext:
    return ReleaseContext("3.0.0", **{"plan": v3_plan(calendar), "migrations": [migration()], **slots})


# ------------------------------------------------------------------ sound plans are left alone


@pytest.mark.parametrize(
    "calendar",
    [
        None,
        {"country": "US"},
        {"country": "US", "subdivision": "NY", "freeze_windows": [YEAR_END]},
        {"country": "GB", "subdivision": "ENG"},
        {"country": "DE", "subdivision": "BY"},
    ],
    ids=["no calendar", "US", "US-NY with a year-end freeze", "GB-ENG", "DE-BY"],
)
def test_the_seed_release_has_no_calendar_finding(calendar: dict[str, Any] | None) -> None:
    assert findings(ReleaseContext(**seed_slots(calendar))) == []


@pytest.mark.parametrize("calendar", [None, {"country": "US", "freeze_windows": [YEAR_END]}])
def test_the_v3_migration_example_has_no_calendar_finding(calendar: dict[str, Any] | None) -> None:
    assert findings(v3(calendar)) == []


def test_a_plan_without_a_calendar_gets_no_holiday_or_freeze_findings() -> None:
    # Monday May 25, 2026 is Memorial Day; without a calendar nothing says so.
    ctx = ReleaseContext(
        "2.5.0",
        plan=plan("2026-05-25"),
        rollout=rollout("2026-05-25T10:00", p0=72),
        runbook=runbook("T+1d"),
    )

    assert findings(ctx) == []


def test_a_runbook_step_is_dated_from_the_real_deploy_time_when_one_is_given() -> None:
    # Release day Friday 2026-03-20. With T at an unknown hour, T+10h may fall on Friday or
    # Saturday, so nothing can be said; deploying at 16:00 New York time puts it on Saturday.
    unknown = ReleaseContext("2.5.0", plan=plan("2026-03-20"), runbook=runbook("T+10h"))
    assert findings(unknown, "runbook_step_on_weekend") == []
    args = copy.deepcopy(runbook_example.ARGS)
    args["deploy"] = {"at": "2026-03-20T16:00", "timezone": "America/New_York"}
    args["steps"].append({"name": "Late check", "at": "T+10h", "actions": ["Check the dashboards"]})
    dated = ReleaseContext("2.5.0", plan=plan("2026-03-20"), runbook=RunbookSpec.model_validate(args))

    [finding] = findings(dated, "runbook_step_on_weekend")

    assert finding.field == f"steps[{len(args['steps']) - 1}].at"
    assert "falls on Saturday 2026-03-21 (the release is on Friday 2026-03-20)" in finding.message
    args["deploy"] = {"at": "2026-03-20T09:00", "timezone": "America/New_York"}
    morning = ReleaseContext("2.5.0", plan=plan("2026-03-20"), runbook=RunbookSpec.model_validate(args))
    assert findings(morning, "runbook_step_on_weekend") == []


# ------------------------------------------------------------------ the release day


def test_a_release_day_on_a_public_holiday_is_a_warning_on_target_date() -> None:
    ctx = ReleaseContext("2.5.0", plan=plan("2026-05-25", {"country": "US"}))

    [finding] = findings(ctx)

    assert (finding.code, finding.severity, finding.field) == (
        "release_day_on_holiday",
        "warning",
        "target_date",
    )
    assert "Monday 2026-05-25 is Memorial Day, a public holiday in US" in finding.message
    assert "Tuesday 2026-05-26 (the next working day)" in finding.message


def test_the_release_day_is_judged_by_the_subdivisions_holidays() -> None:
    # Friday January 2, 2026 is a bank holiday in Scotland, not in England.
    england = ReleaseContext("2.5.0", plan=plan("2026-01-02", {"country": "GB", "subdivision": "ENG"}))
    scotland = ReleaseContext("2.5.0", plan=plan("2026-01-02", {"country": "GB", "subdivision": "SCT"}))

    assert findings(england) == []
    [finding] = findings(scotland)
    assert "a public holiday in GB-SCT" in finding.message
    assert "Monday 2026-01-05" in finding.message


def test_a_holiday_on_a_weekend_release_day_is_left_to_the_weekend_check() -> None:
    ctx = ReleaseContext("2.5.0", plan=plan("2026-07-04", {"country": "US"}))  # a Saturday

    assert [f.code for f in findings(ctx)] == ["target_date_on_weekend"]


def test_a_release_day_in_a_freeze_is_an_error_naming_the_reason_and_the_first_day_after() -> None:
    ctx = ReleaseContext("2.5.0", plan=plan("2026-12-21", {"country": "US", "freeze_windows": [YEAR_END]}))

    [finding] = findings(ctx)

    assert (finding.code, finding.severity, finding.field) == (
        "release_day_in_freeze",
        "error",
        "target_date",
    )
    assert "'Year-end change freeze' (2026-12-18 to 2027-01-04)" in finding.message
    assert "Tuesday 2027-01-05 (the next working day)" in finding.message


def test_a_release_day_just_outside_a_freeze_is_sound() -> None:
    for day in ("2026-12-17", "2027-01-05"):
        assert findings(ReleaseContext("2.5.0", plan=plan(day, {"freeze_windows": [YEAR_END]}))) == []


def test_a_timed_freeze_covers_the_release_day_only_within_the_rollouts_working_hours() -> None:
    evening = {"start": "2026-03-16T17:00", "end": "2026-03-17T09:00", "timezone": "America/New_York",
               "reason": "Datacenter maintenance"}  # fmt: skip
    ctx = ReleaseContext("2.5.0", plan=plan(calendar={"freeze_windows": [evening]}), rollout=rollout())
    assert findings(ctx, "release_day_in_freeze") == []

    afternoon = {**evening, "start": "2026-03-16T16:00"}
    ctx = ReleaseContext("2.5.0", plan=plan(calendar={"freeze_windows": [afternoon]}), rollout=rollout())
    [finding] = findings(ctx, "release_day_in_freeze")
    assert "from 2026-03-16 16:00 America/New_York until 2026-03-17 09:00 America/New_York" in finding.message


def test_a_timed_freeze_is_read_in_the_teams_zone_when_judging_a_day() -> None:
    # 19:00-05:00 in London is 15:00-01:00 in New York (GMT and EDT): it reaches into a New York team's
    # working day, not a London one.
    maintenance = {"start": "2026-03-16T19:00", "end": "2026-03-17T05:00", "timezone": "Europe/London",
                   "reason": "Database maintenance"}  # fmt: skip
    calendar = {"freeze_windows": [maintenance]}
    london_team = ReleaseContext("2.5.0", plan=plan(calendar=calendar), rollout=rollout(zone="Europe/London"))
    new_york_team = ReleaseContext("2.5.0", plan=plan(calendar=calendar), rollout=rollout())

    assert findings(london_team, "release_day_in_freeze") == []
    assert [f.field for f in findings(new_york_team, "release_day_in_freeze")] == ["target_date"]


# ------------------------------------------------------------------ rollout phase changes


def test_a_phase_change_on_a_holiday_points_at_the_duration_that_puts_it_there() -> None:
    # Friday May 22 10:00 + 72 hours = Memorial Day, Monday May 25 10:00.
    ctx = ReleaseContext(
        "2.5.0", plan=plan("2026-05-22", {"country": "US"}), rollout=rollout("2026-05-22T10:00", p0=72)
    )

    [finding] = findings(ctx)

    assert (finding.code, finding.severity) == ("phase_change_on_holiday", "warning")
    assert finding.field == "phases[0].duration_hours"
    assert "Monday 2026-05-25 10:00 EDT, Memorial Day, a public holiday in US" in finding.message
    assert "Tuesday 2026-05-26" in finding.message


def test_a_first_phase_on_a_holiday_points_at_the_start() -> None:
    ctx = ReleaseContext(
        "2.5.0", plan=plan("2026-05-26", {"country": "US"}), rollout=rollout("2026-05-25T10:00")
    )

    assert [f.field for f in findings(ctx, "phase_change_on_holiday")] == ["start.at"]


def test_a_holiday_phase_change_on_a_weekend_is_left_to_the_rollouts_weekend_check() -> None:
    # Thursday July 2 10:00 + 48 hours = Saturday July 4.
    spec = rollout("2026-07-02T10:00", p0=48)
    ctx = ReleaseContext("2.5.0", plan=plan("2026-07-02", {"country": "US"}), rollout=spec)

    assert findings(ctx) == []
    assert "phases[0].duration_hours" in [
        f.field for f in spec.check(ctx) if f.code == "phase_change_on_weekend"
    ]


def test_phase_changes_are_checked_against_the_plans_holidays_in_the_rollouts_local_day() -> None:
    # Easter Monday is a holiday in England but not in Scotland.
    spec = rollout("2026-04-02T10:00", "Europe/London", p0=96)  # Thursday + 96 h = Monday April 6
    england = ReleaseContext(
        "2.5.0", plan=plan("2026-04-02", {"country": "GB", "subdivision": "ENG"}), rollout=spec
    )
    scotland = ReleaseContext(
        "2.5.0", plan=plan("2026-04-02", {"country": "GB", "subdivision": "SCT"}), rollout=spec
    )

    assert [f.message.split(", ")[1] for f in findings(england, "phase_change_on_holiday")] == [
        "Easter Monday"
    ]
    assert findings(scotland, "phase_change_on_holiday") == []


def test_a_phase_change_in_a_freeze_is_an_error_even_across_zones() -> None:
    # London is on GMT and New York on EDT on March 19: 14:00 in London is 10:00 in New York.
    demo = {"start": "2026-03-19T14:00", "end": "2026-03-19T15:30", "timezone": "Europe/London",
            "reason": "Board demo"}  # fmt: skip
    ctx = ReleaseContext("2.5.0", plan=plan(calendar={"freeze_windows": [demo]}), rollout=rollout())

    [finding] = findings(ctx)

    assert (finding.code, finding.severity) == ("phase_change_in_freeze", "error")
    assert finding.field == "phases[1].duration_hours"  # Beta Users ends, Early Adopters starts
    assert "'Board demo'" in finding.message and "Thursday 2026-03-19 10:00 EDT" in finding.message


def test_a_freeze_that_lifts_exactly_at_a_phase_change_does_not_hold_it() -> None:
    lifted = {"start": "2026-03-19T12:00", "end": "2026-03-19T14:00", "timezone": "Europe/London",
              "reason": "Board demo"}  # fmt: skip
    ctx = ReleaseContext("2.5.0", plan=plan(calendar={"freeze_windows": [lifted]}), rollout=rollout())

    assert findings(ctx) == []


def test_a_phase_that_spans_a_freeze_without_changing_in_it_is_sound() -> None:
    # Majority Rollout runs from March 23 to March 25; a freeze on March 24 changes nothing.
    ctx = ReleaseContext(
        "2.5.0",
        plan=plan(
            calendar={"freeze_windows": [{"start": "2026-03-24", "end": "2026-03-24", "reason": "Audit"}]}
        ),
        rollout=rollout(),
    )

    assert findings(ctx) == []


# ------------------------------------------------------------------ migration phases


def test_a_migration_phase_on_a_weekend_is_a_warning_without_any_calendar() -> None:
    ctx = v3(migrations=[migration(p2="T+33")])  # Saturday August 15, 2026

    [finding] = findings(ctx)

    assert (finding.code, finding.severity, finding.field) == (
        "migration_phase_on_weekend",
        "warning",
        "phases[2].start",
    )
    assert "starts at T+33, Saturday 2026-08-15, a weekend" in finding.message
    assert "Monday 2026-08-17 (T+35, the next working day)" in finding.message


def test_migration_working_days_follow_the_rollouts_business_hours() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["version"] = "3.0.0"
    args["business_hours"] = {"days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]}
    ctx = v3(migrations=[migration(p2="T+33")], rollout=RolloutSpec.model_validate(args))

    assert findings(ctx, "migration_phase_on_weekend") == []


def test_a_migration_phase_on_a_holiday_names_it_and_the_next_working_day() -> None:
    ctx = v3({"country": "US"}, migrations=[migration(p3="T+56")])  # Labor Day, Monday September 7

    [finding] = findings(ctx)

    assert (finding.code, finding.field) == ("migration_phase_on_holiday", "phases[3].start")
    assert "Labor Day, a public holiday in US" in finding.message
    assert "Tuesday 2026-09-08 (T+57, the next working day)" in finding.message


def test_a_migration_phase_at_t_shares_the_release_days_finding() -> None:
    args = copy.deepcopy(migration_example.PLAN_V3_ARGS)
    args["target_date"] = "2026-09-07"  # Labor Day
    args["calendar"] = {"country": "US"}
    ctx = ReleaseContext("3.0.0", plan=ReleasePlanSpec.model_validate(args), migrations=[migration(p2="T")])

    assert [f.code for f in findings(ctx)] == ["release_day_on_holiday"]


def test_a_change_in_a_freeze_is_an_error_and_a_notice_in_one_a_warning() -> None:
    freezes = [
        {"start": "2026-08-10", "end": "2026-08-14", "reason": "Quarter close"},  # sunset warning T+30
        {"start": "2026-09-07", "end": "2026-09-11", "reason": "Platform upgrade"},  # shutdown T+60
    ]
    ctx = v3({"freeze_windows": freezes})

    found = {f.code: f for f in findings(ctx)}

    assert set(found) == {"migration_notice_in_freeze", "migration_change_in_freeze"}
    assert found["migration_notice_in_freeze"].severity == "warning"
    assert found["migration_notice_in_freeze"].field == "phases[2].start"
    assert found["migration_change_in_freeze"].severity == "error"
    assert found["migration_change_in_freeze"].field == "phases[3].start"
    assert "'Platform upgrade'" in found["migration_change_in_freeze"].message
    assert "Monday 2026-09-14 (T+63, the next working day)" in found["migration_change_in_freeze"].message


# ------------------------------------------------------------------ runbook steps


def test_runbook_steps_on_the_release_day_are_sound() -> None:
    ctx = ReleaseContext("2.5.0", plan=plan("2026-03-20"), runbook=runbook("T+30min", "T+6h", "T-2h"))

    assert findings(ctx) == []


def test_runbook_steps_on_a_holiday_release_day_share_the_release_days_finding() -> None:
    # T-30min may be Sunday May 24 or Memorial Day itself; T+30min Memorial Day or Tuesday.
    ctx = ReleaseContext("2.5.0", plan=plan("2026-05-25", {"country": "US"}), runbook=runbook("T+2h"))

    assert [f.code for f in findings(ctx)] == ["release_day_on_holiday"]


def test_a_runbook_step_a_day_after_a_friday_release_falls_on_the_weekend() -> None:
    ctx = ReleaseContext("2.5.0", plan=plan("2026-03-20"), runbook=runbook("T+1d"))

    [finding] = findings(ctx)

    assert (finding.code, finding.severity) == ("runbook_step_on_weekend", "warning")
    assert finding.field == f"steps[{len(runbook_example.ARGS['steps'])}].at"
    assert "falls on Saturday 2026-03-21 (the release is on Friday 2026-03-20)" in finding.message
    assert "Monday 2026-03-23" in finding.message


def test_a_runbook_step_is_flagged_only_when_every_day_it_can_fall_on_is_off() -> None:
    friday = plan("2026-03-20")
    # T+12h is Friday or Saturday depending on the deploy's hour; T+36h is Saturday or Sunday.
    maybe = ReleaseContext("2.5.0", plan=friday, runbook=runbook("T+12h"))
    surely = ReleaseContext("2.5.0", plan=friday, runbook=runbook("T+36h"))
    before_monday = ReleaseContext("2.5.0", plan=plan("2026-03-23"), runbook=runbook("T-1d"))

    assert findings(maybe) == []
    [finding] = findings(surely)
    assert "Saturday 2026-03-21 or Sunday 2026-03-22" in finding.message
    assert [f.code for f in findings(before_monday)] == ["runbook_step_on_weekend"]


def test_a_runbook_step_on_a_holiday_names_it() -> None:
    # The day after Wednesday November 25, 2026 is Thanksgiving.
    ctx = ReleaseContext("2.5.0", plan=plan("2026-11-25", {"country": "US"}), runbook=runbook("T+1d"))

    [finding] = findings(ctx)

    assert (finding.code, finding.severity) == ("runbook_step_on_holiday", "warning")
    assert "Thanksgiving Day, a public holiday in US" in finding.message


def test_a_runbook_step_in_a_freeze_is_an_error() -> None:
    freeze = {"start": "2026-03-24", "end": "2026-03-27", "reason": "Audit"}
    ctx = ReleaseContext(
        "2.5.0", plan=plan("2026-03-23", {"freeze_windows": [freeze]}), runbook=runbook("T+2d")
    )

    [finding] = findings(ctx)

    assert (finding.code, finding.severity) == ("runbook_step_in_freeze", "error")
    assert "'Audit'" in finding.message and "Monday 2026-03-30" in finding.message


# ------------------------------------------------------------------ through the service


def test_a_freeze_blocks_the_rollout_write_but_only_warns_the_plan() -> None:
    freeze = {"start": "2026-03-19", "end": "2026-03-19", "reason": "Board demo"}
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(plan(calendar={"country": "US", "freeze_windows": [freeze]}))

    with pytest.raises(InvalidInput, match=r"phase_change_in_freeze.*Board demo"):
        planner.write(RolloutSpec.model_validate(rollout_example.ARGS))

    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(plan())
    planner.write(RolloutSpec.model_validate(rollout_example.ARGS))
    result = planner.create_release_plan(plan(calendar={"freeze_windows": [freeze]}), expected_revision=1)
    assert [w.code for w in result.warnings if w.code in CALENDAR_CODES] == ["phase_change_in_freeze"]


def test_a_release_on_a_weekday_the_team_does_not_work_is_reported_with_the_next_working_day() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["business_hours"] = {"days": ["sunday", "monday", "tuesday", "wednesday", "thursday"]}
    friday = ReleaseContext(
        "2.5.0", plan=plan(target_date="2026-03-20"), rollout=RolloutSpec.model_validate(args)
    )

    [finding] = findings(friday, "release_day_off")

    assert (finding.severity, finding.field) == ("warning", "target_date")
    assert "Friday 2026-03-20" in finding.message
    assert "Sunday 2026-03-22 (the next working day)" in finding.message
    monday = ReleaseContext(
        "2.5.0", plan=plan(target_date="2026-03-16"), rollout=RolloutSpec.model_validate(args)
    )
    assert findings(monday, "release_day_off") == []
    standard = ReleaseContext("2.5.0", plan=plan(target_date="2026-03-20"), rollout=rollout())
    assert findings(standard, "release_day_off") == []


def test_a_weekend_day_is_judged_by_the_teams_week_not_by_the_calendar_alone() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["business_hours"] = {"days": ["sunday", "monday", "tuesday", "wednesday", "thursday"]}
    sunday_thursday = RolloutSpec.model_validate(args)

    def codes(day: str, rollout_spec: RolloutSpec | None) -> list[str]:
        ctx = ReleaseContext("2.5.0", plan=plan(target_date=day), rollout=rollout_spec)
        return [f.code for f in findings(ctx)]

    # Sunday March 22 is a working day for a Sunday-Thursday team, Saturday March 21 is not.
    assert codes("2026-03-22", sunday_thursday) == []
    assert codes("2026-03-21", sunday_thursday) == ["target_date_on_weekend"]
    # With no rollout, or a Monday-Friday one, both are weekend days.
    assert codes("2026-03-22", None) == ["target_date_on_weekend"]
    assert codes("2026-03-22", rollout()) == ["target_date_on_weekend"]
    # A holiday on a Sunday the team works is reported as a holiday: Sunday, July 4, 2027.
    [finding] = findings(
        ReleaseContext("2.5.0", plan=plan("2027-07-04", {"country": "US"}), rollout=sunday_thursday)
    )
    assert finding.code == "release_day_on_holiday"
    assert "Independence Day" in finding.message


def test_a_sunday_release_written_for_a_sunday_thursday_team_comes_back_without_a_weekend_warning() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["business_hours"] = {"days": ["sunday", "monday", "tuesday", "wednesday", "thursday"]}
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(plan())
    planner.write(RolloutSpec.model_validate(args))

    sunday = planner.create_release_plan(plan(target_date="2026-03-15"), expected_revision=1)
    saturday = planner.create_release_plan(plan(target_date="2026-03-14"), expected_revision=2)

    assert "target_date_on_weekend" not in {w.code for w in sunday.warnings}
    assert "target_date_on_weekend" in {w.code for w in saturday.warnings}
