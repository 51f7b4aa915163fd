"""Rules on identity across artifacts: one flag, one date, one clock and one feature list in all of them.

Flag keys are exact in every flag system, so a flag spelled differently in the rollout, the plan and
the rollback is two flags: the one the rollout turns on and another one nobody turns off. Names are
compared whatever the spelling (``names.key``) to find the near miss and suggest it. The runbook's T
and zone must be the rollout's, the rollout must not start before the release date, and every
must-have feature needs a smoke test that names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .. import names
from ..base import ReleaseContext
from ..rollback import release_features
from ..rollout.clock import fmt_time
from ..runbook import display_offset
from ..runbook.clock import rollout_start
from .engine import RELEASE_PLAN, ROLLBACK, ROLLOUT, RUNBOOK, Issue, RuleSet, procedures

RULES = RuleSet()
WHOLE_RELEASE = "all"

# ------------------------------------------------------------------ flags


def _plan_flags(ctx: ReleaseContext) -> dict[str, Any]:
    """Each shipping feature's flag (as spelled) to its feature."""
    return {f.flag: f for f in release_features(ctx) if getattr(f, "flag", None)}


def _rollout_flags(ctx: ReleaseContext) -> list[str]:
    return [f.name for f in getattr(ctx.rollout, "flags", None) or []]


def _flag_procedures(ctx: ReleaseContext) -> list[tuple[int, Any]]:
    return [(i, p) for i, p in enumerate(procedures(ctx)) if getattr(p, "type", None) == "feature_flag"]


def _same(a: str, b: str) -> bool:
    # Flag systems compare keys exactly; case alone is the one difference the review lets pass, as
    # the rollback's coverage does.
    return a.casefold() == b.casefold()


def _known(name: str, spelled: list[str]) -> bool:
    return any(_same(name, s) for s in spelled)


def _rollout_near_misses(ctx: ReleaseContext) -> dict[int, str]:
    """Rollout flag index -> the plan flag it probably means (it is no plan flag itself)."""
    plan = list(_plan_flags(ctx))
    out = {}
    for i, flag in enumerate(_rollout_flags(ctx)):
        if not _known(flag, plan):
            near = names.closest(flag, plan)
            if near is not None:
                out[i] = near
    return out


@RULES.rule(
    "rollout_flag_not_in_plan",
    "warning",
    reads={ROLLOUT, RELEASE_PLAN},
    points_at=ROLLOUT,
    fix="spell the flag as the release plan's feature does",
)
def _rollout_flag_not_in_plan(ctx: ReleaseContext) -> Iterator[Issue]:
    features = _plan_flags(ctx)
    for i, near in _rollout_near_misses(ctx).items():
        flag = _rollout_flags(ctx)[i]
        yield Issue(
            f"the rollout's flag {flag!r} is not the flag of any feature of the release plan; did you mean "
            f"{near!r}, the flag of {features[near].name!r}? Flag keys are exact, so these are two flags: "
            "use one spelling in both (plan_rollout or create_release_plan)",
            f"flags[{i}].name",
            frozenset({ROLLOUT, RELEASE_PLAN}),
        )


@RULES.rule(
    "plan_flag_missing_from_rollout",
    "warning",
    reads={ROLLOUT, RELEASE_PLAN},
    points_at=ROLLOUT,
    fix="list every shipping feature's flag in the rollout's flags",
)
def _plan_flag_missing_from_rollout(ctx: ReleaseContext) -> Iterator[Issue]:
    rollout_flags = _rollout_flags(ctx)
    if not rollout_flags:
        return  # a rollout that moves traffic, not flags, ramps no flag
    meant = set(_rollout_near_misses(ctx).values())  # already reported from the rollout's side
    for flag, feature in _plan_flags(ctx).items():
        if _known(flag, rollout_flags) or flag in meant:
            continue
        yield Issue(
            f"feature {feature.name!r} ({feature.batch}) is switched by flag {flag!r}, which the rollout "
            f"does not list, so no phase turns it on; add {flag!r} to the rollout's flags (plan_rollout)",
            "flags",
            frozenset({ROLLOUT, RELEASE_PLAN}),
        )


def _flag_universe(ctx: ReleaseContext) -> list[str]:
    """The flags and feature names a feature_flag procedure may name, as spelled, without repeats."""
    out: list[str] = []
    for name in [*_plan_flags(ctx), *_rollout_flags(ctx), *(f.name for f in release_features(ctx))]:
        if not _known(name, out):
            out.append(name)
    return out


def _near_miss_applies_to(ctx: ReleaseContext) -> Iterator[tuple[int, int, str, str]]:
    """(procedure, entry, name, closest) for each flag procedure's entry that is a near miss of a
    flag or feature of the release. A name near none may be an operational kill switch the plan does
    not model, so it is left alone."""
    known = _flag_universe(ctx)
    for p_i, proc in _flag_procedures(ctx):
        for a_i, name in enumerate(proc.applies_to):
            if _same(name, WHOLE_RELEASE) or _known(name, known):
                continue
            near = names.closest(name, known)
            if near is not None:
                yield p_i, a_i, name, near


@RULES.rule(
    "rollback_flag_near_miss",
    "warning",
    reads={ROLLBACK, RELEASE_PLAN, ROLLOUT},
    points_at=ROLLBACK,
    fix="name in the feature_flag procedure the flags the plan and the rollout use",
)
def _rollback_flag_near_miss(ctx: ReleaseContext) -> Iterator[Issue]:
    involves = frozenset(
        {ROLLBACK}
        | ({RELEASE_PLAN} if _plan_flags(ctx) else set())
        | ({ROLLOUT} if _rollout_flags(ctx) else set())
    )
    for p_i, a_i, name, near in _near_miss_applies_to(ctx):
        yield Issue(
            f"the feature_flag procedure turns off {name!r}, which is no flag or feature of the release; "
            f"did you mean {near!r}? Flag keys are exact, so turning {name!r} off leaves {near!r} on; "
            "correct applies_to with design_rollback",
            f"procedures[{p_i}].applies_to[{a_i}]",
            involves,
        )


@RULES.rule(
    "rollout_flag_not_rolled_back",
    "warning",
    reads={ROLLOUT, ROLLBACK},
    points_at=ROLLBACK,
    fix="name every flag the rollout turns on in the feature_flag procedure's applies_to",
)
def _rollout_flag_not_rolled_back(ctx: ReleaseContext) -> Iterator[Issue]:
    if not procedures(ctx):
        return
    procs = _flag_procedures(ctx)
    targets = [a for _, p in procs for a in p.applies_to]
    if any(_same(a, WHOLE_RELEASE) for a in targets):
        return
    plan_flags = list(_plan_flags(ctx))  # a plan feature's flag is flagged_feature_not_covered's
    meant = {near for *_, near in _near_miss_applies_to(ctx)}  # reported as a near miss
    typos = _rollout_near_misses(ctx)  # reported as the plan's flag misspelt
    for i, flag in enumerate(_rollout_flags(ctx)):
        if _known(flag, targets) or _known(flag, plan_flags) or flag in meant or i in typos:
            continue
        yield Issue(
            f"the rollout turns on flag {flag!r} but no feature_flag procedure turns it off, so the fastest "
            f"rollback leaves it on; add {flag!r} to a feature_flag procedure's applies_to (design_rollback)",
            "procedures",
            frozenset({ROLLOUT, ROLLBACK}),
        )


# ------------------------------------------------------------------ dates and clocks


def _start(ctx: ReleaseContext) -> datetime | None:
    return rollout_start(ctx)


@RULES.rule(
    "rollout_starts_before_release_date",
    "warning",
    reads={ROLLOUT, RELEASE_PLAN},
    points_at=ROLLOUT,
    fix="start the rollout on or after the release plan's target date",
)
def _rollout_before_release(ctx: ReleaseContext) -> Iterator[Issue]:
    start, target = _start(ctx), getattr(ctx.plan, "target_date", None)
    if start is None or not isinstance(target, date) or start.date() >= target:
        return
    days = (target - start.date()).days
    yield Issue(
        f"the rollout starts on {fmt_time(start)}, {days} day{'s' if days > 1 else ''} before the release "
        f"date {target.isoformat()}, so users get the release before it is released; move start.at to "
        f"{target.isoformat()} or later (plan_rollout), or move the plan's target_date",
        "start.at",
        frozenset({ROLLOUT, RELEASE_PLAN}),
    )


def _runbook_t(ctx: ReleaseContext) -> Any:
    t_zero = getattr(ctx.runbook, "t_zero", None)
    return t_zero(ctx) if callable(t_zero) else None


def _change_instants(ctx: ReleaseContext, t: datetime, start: datetime) -> list[datetime]:
    """T, the rollout's start and every planned phase change: the moments people read a clock."""
    changes = getattr(ctx.rollout, "phase_changes", None)
    moments = [when for when, *_ in changes()] if callable(changes) else []
    return [t, start, *moments]


@RULES.rule(
    "runbook_zone_differs_from_rollout",
    "warning",
    reads={RUNBOOK, ROLLOUT},
    points_at=RUNBOOK,
    fix="give the runbook's deploy the rollout's time zone",
)
def _runbook_zone_differs(ctx: ReleaseContext) -> Iterator[Issue]:
    deploy, start = getattr(ctx.runbook, "deploy", None), _start(ctx)
    t = _runbook_t(ctx)
    if deploy is None or start is None or t is None or t.when is None:
        return
    rollout_zone = getattr(ctx.rollout.start, "timezone", None)
    if deploy.timezone == rollout_zone:
        return
    # Another name for the same clock (an alias, or a zone with the same offsets then) reads the same.
    ours, theirs = t.when.tzinfo, start.tzinfo
    differs = [
        m
        for m in _change_instants(ctx, t.when, start)
        if m.astimezone(ours).utcoffset() != m.astimezone(theirs).utcoffset()
    ]
    if not differs:
        return
    m = differs[0]
    yield Issue(
        f"the runbook's T is in {deploy.timezone} but the rollout runs on {rollout_zone} time, so the two "
        f"read different clocks ({fmt_time(m.astimezone(theirs))} is {fmt_time(m.astimezone(ours))}); give "
        f"deploy.timezone {rollout_zone!r} (create_runbook)",
        "deploy.timezone",
        frozenset({RUNBOOK, ROLLOUT}),
    )


@RULES.rule(
    "runbook_t_disagrees_with_rollout",
    "warning",
    reads={RUNBOOK, ROLLOUT},
    points_at=RUNBOOK,
    fix="date the runbook's T so that it starts the rollout at the rollout's start",
)
def _runbook_t_disagrees(ctx: ReleaseContext) -> Iterator[Issue]:
    runbook, start = ctx.runbook, _start(ctx)
    deploy = getattr(runbook, "deploy", None)
    t = _runbook_t(ctx)
    if deploy is None or start is None or t is None or t.when is None:
        return
    marked = runbook.rollout_step()
    local_start = start.astimezone(t.when.tzinfo)
    if marked is not None:
        i, step = marked
        planned = t.at(step.minutes)
        if planned is None or planned == start:
            return
        should = (start.astimezone(UTC) - timedelta(minutes=step.minutes)).astimezone(t.when.tzinfo)
        yield Issue(
            f"step {i + 1} {step.name!r} starts the rollout at {display_offset(step.minutes)}, "
            f"{fmt_time(planned)} by the runbook's T ({fmt_time(t.when)}), but the rollout starts at "
            f"{fmt_time(local_start)}; set deploy.at to {should:%Y-%m-%dT%H:%M} (or drop deploy so T "
            "follows the rollout), or move the rollout's start",
            "deploy.at",
            frozenset({RUNBOOK, ROLLOUT}),
        )
    elif start < t.when:
        yield Issue(
            f"the rollout starts at {fmt_time(local_start)}, before the runbook's deploy at T "
            f"({fmt_time(t.when)}), so users would get code that is not deployed yet; move deploy.at to "
            "before the rollout's start, and mark the step that starts the rollout with starts_rollout",
            "deploy.at",
            frozenset({RUNBOOK, ROLLOUT}),
        )


@RULES.rule(
    "runbook_t_not_on_release_date",
    "warning",
    reads={RUNBOOK, RELEASE_PLAN},
    points_at=RUNBOOK,
    fix="deploy on the release plan's target date",
)
def _runbook_t_not_on_release_date(ctx: ReleaseContext) -> Iterator[Issue]:
    target = getattr(ctx.plan, "target_date", None)
    t = _runbook_t(ctx)
    if not isinstance(target, date) or t is None or t.when is None or t.day == target:
        return
    if t.source == "rollout" and t.day < target:
        return  # rollout_starts_before_release_date says it of the rollout, where it is fixed
    source = "its deploy.at" if t.source == "runbook" else "the rollout's start, from which T is dated"
    yield Issue(
        f"the runbook's T is {fmt_time(t.when)} by {source}, but the release plan's target date is "
        f"{target.isoformat()}; deploy on the release date (set deploy.at with create_runbook), or move "
        "the plan's target_date",
        "deploy.at",
        frozenset({RUNBOOK, RELEASE_PLAN} | ({ROLLOUT} if t.source == "rollout" else set())),
    )


# ------------------------------------------------------------------ features and smoke tests

_PARENS_RE = re.compile(r"\(([^()]*)\)")


def _aliases(feature: Any) -> list[str]:
    """What may name a feature in prose: its name without brackets, what its brackets say, its flag."""
    name = str(feature.name)
    out = [_PARENS_RE.sub(" ", name).strip(), *(m.strip() for m in _PARENS_RE.findall(name))]
    if getattr(feature, "flag", None):
        out.append(feature.flag)
    return [a for a in out if names.tokens(a)]


def _smoke_text(test: Any) -> str:
    return " ".join(str(x) for x in (test.name, test.command, test.check, test.expected) if x)


@RULES.rule(
    "must_have_without_smoke_test",
    "warning",
    reads={RUNBOOK, RELEASE_PLAN},
    points_at=RUNBOOK,
    fix="add a smoke test that names each must-have feature or its flag",
)
def _must_have_without_smoke_test(ctx: ReleaseContext) -> Iterator[Issue]:
    if ctx.runbook is None:
        return
    texts = [_smoke_text(t) for t in getattr(ctx.runbook, "smoke_tests", None) or []]
    for feature in release_features(ctx):
        if getattr(feature, "batch", None) != "must_have":
            continue
        if any(names.mentions(text, alias) for text in texts for alias in _aliases(feature)):
            continue
        yield Issue(
            f"must-have feature {feature.name!r} has no smoke test, so the deploy can pass while it is "
            f"broken; add a smoke test that exercises it and names it (or its flag"
            f"{' ' + repr(feature.flag) if getattr(feature, 'flag', None) else ''}) with create_runbook",
            "smoke_tests",
            frozenset({RUNBOOK, RELEASE_PLAN}),
        )
