"""Rules of the release calendar: every dated step on a working day, off public holidays and freezes.

The calendar (country, subdivision, freeze windows) is the release plan's; the dated steps are the
release day itself, the rollout's phase changes (real moments in the rollout's zone), the migration
phases (days, T-offsets from the release day) and the runbook's steps (minutes from the deploy T: a
real time when the runbook's ``deploy`` or the rollout's start gives one, else the release day at an
unstated time of day, so a step is judged on the days it can fall on). Working days and hours are
the rollout's business hours when there is a rollout, else Monday to Friday, 09:00-17:00.

The release day off is judged here, against the team's week: a Saturday or Sunday it does not work
is ``target_date_on_weekend``, another day it does not work ``release_day_off`` (a Sunday is a working
day for a Sunday-Thursday team, a Friday is not). What the rollout's own checks already report is not
repeated: a phase change on a weekend or after hours (``phase_change_on_weekend`` and
``phase_change_outside_business_hours``). A step on the release day itself (a T+0 migration phase, a
runbook step that can only fall on that day) shares the release day's findings, which point at
``target_date``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..base import ReleaseContext
from ..calendar import (
    STANDARD_WEEK,
    Problem,
    ReleaseCalendar,
    WorkWeek,
    describe_day,
    next_working_day,
    problems_on,
)
from ..common import format_t_offset
from ..rollout.clock import DAY_NAMES, fmt_time
from ..runbook import display_offset
from .engine import MIGRATION, RELEASE_PLAN, ROLLOUT, RUNBOOK, Issue, RuleSet, migration_id

RULES = RuleSet()

# Migration phases that tell people something (or whose effect is unknown, "other"): a freeze may
# allow them, so it is a warning; every other kind changes a running system, an error in a freeze.
_NOTICE_KINDS = frozenset({"announce", "sunset_warning", "other"})
_DAY_MINUTES = 24 * 60


def _calendar(ctx: ReleaseContext) -> ReleaseCalendar | None:
    return getattr(ctx.plan, "calendar", None)


def _release_day(ctx: ReleaseContext) -> date | None:
    return getattr(ctx.plan, "target_date", None)


def _week(ctx: ReleaseContext) -> WorkWeek:
    """The team's working week: the rollout's business hours and zone, else Monday-Friday 09-17."""
    hours = getattr(ctx.rollout, "business_hours", None)
    start = getattr(ctx.rollout, "start", None)
    if hours is None or start is None:
        return STANDARD_WEEK
    return WorkWeek(
        days=frozenset(DAY_NAMES.index(d) for d in hours.days),
        opens=time.fromisoformat(hours.start),
        closes=time.fromisoformat(hours.end),
        zone=start.aware().tzinfo,
    )


def _suggest(ctx: ReleaseContext, day: date, week: WorkWeek, *, offset: bool = False) -> str:
    """Where to move a step off ``day``: the next working day, as a T-offset too if asked."""
    nxt = next_working_day(_calendar(ctx), day, week)
    if nxt is None:
        return "a working day outside the freeze"
    release = _release_day(ctx)
    if offset and release is not None:
        return f"{describe_day(nxt)} ({format_t_offset((nxt - release).days)}, the next working day)"
    return f"{describe_day(nxt)} (the next working day)"


def _first(problems: list[Problem], kind: str) -> Problem | None:
    return next((p for p in problems if p.kind == kind), None)


def _freezes(problems: list[Problem]) -> str:
    return "; ".join(p.text for p in problems if p.kind == "freeze")


# ------------------------------------------------------------------ the release day


@RULES.rule(
    "release_day_on_holiday",
    "warning",
    reads={RELEASE_PLAN, ROLLOUT},
    points_at=RELEASE_PLAN,
    fix="move target_date to a working day that is not a public holiday",
)
def _release_day_on_holiday(ctx: ReleaseContext) -> Iterator[Issue]:
    day, calendar = _release_day(ctx), _calendar(ctx)
    week = _week(ctx)
    if day is None or calendar is None or day.weekday() not in week.days:  # a day off is said below
        return
    holiday = _first(problems_on(calendar, day, week), "holiday")
    if holiday is not None:
        yield Issue(
            f"target_date {describe_day(day)} is {holiday.text}, when few people are at hand to watch the "
            f"release or roll it back; move the release to {_suggest(ctx, day, week)}",
            "target_date",
            frozenset({RELEASE_PLAN}),
        )


@RULES.rule(
    "target_date_on_weekend",
    "warning",
    reads={RELEASE_PLAN, ROLLOUT},
    points_at=RELEASE_PLAN,
    fix="move target_date to a weekday the team works",
)
def _target_date_on_weekend(ctx: ReleaseContext) -> Iterator[Issue]:
    """A Saturday or Sunday outside the team's week (Monday to Friday unless the rollout says)."""
    day = _release_day(ctx)
    week = _week(ctx)
    if day is None or day.weekday() < 5 or day.weekday() in week.days:
        return
    yield Issue(
        f"target_date {describe_day(day)} is on a weekend, when fewer people are at hand to watch the "
        f"release or roll it back; move the release to {_suggest(ctx, day, week)}",
        "target_date",
        frozenset({RELEASE_PLAN}),
    )


@RULES.rule(
    "release_day_off",
    "warning",
    reads={RELEASE_PLAN, ROLLOUT},
    points_at=RELEASE_PLAN,
    fix="move target_date to one of the rollout's business_hours days, or correct those days",
)
def _release_day_off(ctx: ReleaseContext) -> Iterator[Issue]:
    """A weekday the team does not work (a Friday for a Sunday-Thursday team); a Saturday or Sunday it
    does not work is target_date_on_weekend."""
    day = _release_day(ctx)
    week = _week(ctx)
    if day is None or day.weekday() >= 5 or day.weekday() in week.days:
        return
    days = ", ".join(DAY_NAMES[d].capitalize() for d in sorted(week.days))
    yield Issue(
        f"target_date {describe_day(day)} is not a working day of the rollout's business_hours ({days}), "
        f"when few people are at hand to watch the release or roll it back; move the release to "
        f"{_suggest(ctx, day, week)}",
        "target_date",
        frozenset({RELEASE_PLAN}),
    )


@RULES.rule(
    "release_day_in_freeze",
    "error",
    reads={RELEASE_PLAN, ROLLOUT},
    points_at=RELEASE_PLAN,
    fix="move target_date out of the freeze window, or change the window",
)
def _release_day_in_freeze(ctx: ReleaseContext) -> Iterator[Issue]:
    day, calendar = _release_day(ctx), _calendar(ctx)
    if day is None or calendar is None:
        return
    week = _week(ctx)
    frozen = _freezes(problems_on(calendar, day, week))
    if frozen:
        yield Issue(
            f"target_date {describe_day(day)} is {frozen}, in which nothing may be released; move the "
            f"release to {_suggest(ctx, day, week)}, or change the freeze window if it is wrong",
            "target_date",
            frozenset({RELEASE_PLAN}),
        )


# ------------------------------------------------------------------ rollout phase changes


def _phase_changes(ctx: ReleaseContext) -> list[tuple[datetime, str, str]]:
    changes = getattr(ctx.rollout, "phase_changes", None)
    return list(changes()) if changes is not None else []


@RULES.rule(
    "phase_change_on_holiday",
    "warning",
    reads={ROLLOUT, RELEASE_PLAN},
    points_at=ROLLOUT,
    fix="move the phase change to a working day that is not a public holiday",
)
def _phase_change_on_holiday(ctx: ReleaseContext) -> Iterator[Issue]:
    calendar = _calendar(ctx)
    if calendar is None or calendar.country is None:
        return
    week = _week(ctx)
    for when, field, what in _phase_changes(ctx):
        problems = problems_on(calendar, when, week)
        holiday = _first(problems, "holiday")
        # On a day off the rollout's own phase_change_on_weekend / _outside_business_hours speaks.
        if holiday is None or _first(problems, "day_off") is not None:
            continue
        yield Issue(
            f"{what} on {fmt_time(when)}, {holiday.text}, when few people are around to watch the "
            f"metrics and decide; move it to {_suggest(ctx, when.date(), week)} by changing {field}",
            field,
            frozenset({ROLLOUT, RELEASE_PLAN}),
        )


@RULES.rule(
    "phase_change_in_freeze",
    "error",
    reads={ROLLOUT, RELEASE_PLAN},
    points_at=ROLLOUT,
    fix="move the phase change out of the release plan's freeze window",
)
def _phase_change_in_freeze(ctx: ReleaseContext) -> Iterator[Issue]:
    calendar = _calendar(ctx)
    if calendar is None or not calendar.freeze_windows:
        return
    week = _week(ctx)
    for when, field, what in _phase_changes(ctx):
        frozen = _freezes(problems_on(calendar, when, week))
        if frozen:
            yield Issue(
                f"{what} on {fmt_time(when)}, {frozen}, in which no traffic may be moved; move it to "
                f"{_suggest(ctx, when.date(), week)} by changing {field}",
                field,
                frozenset({ROLLOUT, RELEASE_PLAN}),
            )


# ------------------------------------------------------------------ migration phases


def _migration_days(ctx: ReleaseContext) -> Iterator[tuple[Any, int, Any, date]]:
    """(migration, index, phase, day) for each phase that starts on a day other than the release day."""
    release = _release_day(ctx)
    if release is None:
        return
    for m in ctx.migrations:
        for i, p in enumerate(m.phases):
            offset = p.start_days()
            if offset != 0:  # a phase at T shares the release day's findings
                yield m, i, p, release + timedelta(days=offset)


def _migration_issue(ctx: ReleaseContext, m: Any, i: int, p: Any, day: date, what: str) -> Issue:
    return Issue(
        f"phase {i + 1} {p.name!r} ({p.kind}) of {m.change!r} starts at {p.start}, {describe_day(day)}, "
        f"{what}; move its start to {_suggest(ctx, day, _week(ctx), offset=True)}",
        f"phases[{i}].start",
        frozenset({migration_id(m), RELEASE_PLAN}),
    )


@RULES.rule(
    "migration_phase_on_weekend",
    "warning",
    reads={MIGRATION, RELEASE_PLAN, ROLLOUT},
    points_at=MIGRATION,
    fix="start the phase on a working day",
)
def _migration_phase_on_weekend(ctx: ReleaseContext) -> Iterator[Issue]:
    week = _week(ctx)
    for m, i, p, day in _migration_days(ctx):
        off = _first(problems_on(None, day, week), "day_off")
        if off is not None:
            yield _migration_issue(ctx, m, i, p, day, f"{off.text}, when nobody is at work to act on it")


@RULES.rule(
    "migration_phase_on_holiday",
    "warning",
    reads={MIGRATION, RELEASE_PLAN, ROLLOUT},
    points_at=MIGRATION,
    fix="start the phase on a working day that is not a public holiday",
)
def _migration_phase_on_holiday(ctx: ReleaseContext) -> Iterator[Issue]:
    calendar, week = _calendar(ctx), _week(ctx)
    if calendar is None or calendar.country is None:
        return
    for m, i, p, day in _migration_days(ctx):
        problems = problems_on(calendar, day, week)
        holiday = _first(problems, "holiday")
        if holiday is not None and _first(problems, "day_off") is None:
            yield _migration_issue(ctx, m, i, p, day, f"{holiday.text}, when few people are at work")


def _migration_freezes(ctx: ReleaseContext, notices: bool) -> Iterator[Issue]:
    calendar, week = _calendar(ctx), _week(ctx)
    if calendar is None or not calendar.freeze_windows:
        return
    for m, i, p, day in _migration_days(ctx):
        if (p.kind in _NOTICE_KINDS) != notices:
            continue
        frozen = _freezes(problems_on(calendar, day, week))
        if frozen:
            yield _migration_issue(ctx, m, i, p, day, frozen)


@RULES.rule(
    "migration_change_in_freeze",
    "error",
    reads={MIGRATION, RELEASE_PLAN, ROLLOUT},
    points_at=MIGRATION,
    fix="start the phase, which changes a running system, outside the freeze window",
)
def _migration_change_in_freeze(ctx: ReleaseContext) -> Iterator[Issue]:
    yield from _migration_freezes(ctx, notices=False)


@RULES.rule(
    "migration_notice_in_freeze",
    "warning",
    reads={MIGRATION, RELEASE_PLAN, ROLLOUT},
    points_at=MIGRATION,
    fix="send the notice outside the freeze window, or confirm the freeze allows it",
)
def _migration_notice_in_freeze(ctx: ReleaseContext) -> Iterator[Issue]:
    yield from _migration_freezes(ctx, notices=True)


# ------------------------------------------------------------------ runbook steps


def _runbook_days(ctx: ReleaseContext) -> Iterator[tuple[int, Any, list[date]]]:
    """(index, step, days it can fall on) for each step that cannot fall on the release day.

    When T is a real time (the runbook's ``deploy``, or the rollout's start) a step ``m`` minutes from
    T falls on one day in the team's zone. Otherwise T is on the release day at an unstated time, and
    the step falls on one day when ``m`` is a whole number of days, else on one of two neighbours."""
    release = _release_day(ctx)
    steps = getattr(ctx.runbook, "steps", None) or []
    if release is None:
        return
    t_zero = ctx.runbook.t_zero(ctx) if ctx.runbook is not None and hasattr(ctx.runbook, "t_zero") else None
    zone = _week(ctx).zone
    for i, step in enumerate(steps):
        if t_zero is not None and t_zero.when is not None:
            moment = t_zero.when.astimezone(UTC) + timedelta(minutes=step.minutes)
            days = [moment.astimezone(zone or t_zero.when.tzinfo).date()]
        else:
            whole, rest = divmod(step.minutes, _DAY_MINUTES)
            days = [release + timedelta(days=whole + k) for k in range(2 if rest else 1)]
        if release not in days:
            yield i, step, days


def _runbook_issue(ctx: ReleaseContext, i: int, step: Any, days: list[date], what: str) -> Issue:
    release = _release_day(ctx)
    assert release is not None
    when = " or ".join(describe_day(d) for d in days)
    return Issue(
        f"step {i + 1} {step.name!r} at {display_offset(step.minutes)} falls on {when} (the release is on "
        f"{describe_day(release)}), {what}; move the step to {_suggest(ctx, days[-1], _week(ctx))} or "
        "closer to the deploy",
        f"steps[{i}].at",
        frozenset({RUNBOOK, RELEASE_PLAN}),
    )


def _runbook_problem(ctx: ReleaseContext, kinds: tuple[str, ...]) -> Iterator[Issue]:
    """Steps for which every day they can fall on has a problem of one of ``kinds``, and not every
    day one of the kinds before it (those are reported by their own rule)."""
    calendar, week = _calendar(ctx), _week(ctx)
    for i, step, days in _runbook_days(ctx):
        found = [[p for p in problems_on(calendar, d, week) if p.kind in kinds] for d in days]
        earlier = [[p for p in problems if p.kind != kinds[-1]] for problems in found]
        if all(found) and not all(earlier):
            texts = dict.fromkeys(problems[0].text for problems in found)
            yield _runbook_issue(ctx, i, step, days, " and ".join(texts))


@RULES.rule(
    "runbook_step_on_weekend",
    "warning",
    reads={RUNBOOK, RELEASE_PLAN, ROLLOUT},
    points_at=RUNBOOK,
    fix="move the step to a working day, or closer to the deploy",
)
def _runbook_step_on_weekend(ctx: ReleaseContext) -> Iterator[Issue]:
    yield from _runbook_problem(ctx, ("day_off",))


@RULES.rule(
    "runbook_step_on_holiday",
    "warning",
    reads={RUNBOOK, RELEASE_PLAN, ROLLOUT},
    points_at=RUNBOOK,
    fix="move the step to a working day that is not a public holiday",
)
def _runbook_step_on_holiday(ctx: ReleaseContext) -> Iterator[Issue]:
    calendar = _calendar(ctx)
    if calendar is not None and calendar.country is not None:
        yield from _runbook_problem(ctx, ("day_off", "holiday"))


@RULES.rule(
    "runbook_step_in_freeze",
    "error",
    reads={RUNBOOK, RELEASE_PLAN, ROLLOUT},
    points_at=RUNBOOK,
    fix="move the step out of the release plan's freeze window",
)
def _runbook_step_in_freeze(ctx: ReleaseContext) -> Iterator[Issue]:
    calendar = _calendar(ctx)
    if calendar is not None and calendar.freeze_windows:
        yield from _runbook_problem(ctx, ("freeze",))
