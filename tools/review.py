"""The whole-release review: checks that read more than one artifact, as named rules.

A spec's own ``check`` looks at that spec alone. What depends on two artifacts (a halt threshold
against the rollback triggers, a contract phase against the rollout's end) is a ``Rule`` here: a
stable code, the kinds it reads, the kind whose fields its findings point at, and the fix. Rules run
over the whole ``ReleaseContext``, the same way on every write and every read, so what is reported
never depends on which artifact was written last.

Each finding names the artifacts it involves (``Involvement``): a write reports the findings its
artifact takes part in, a read reports them all. A rule's error blocks only a write of the artifact
its field points at; to the other artifacts it involves it is a warning to pass on, since their
writer cannot fix it there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from . import migration, release_plan, rollback, rollout, runbook
from .base import Finding, ReleaseContext, Severity
from .common import format_t_offset, in_base_unit, release_type_of
from .registry import kind_of_spec
from .rollback import covers, release_features
from .runbook import REHEARSAL

RELEASE_PLAN = release_plan.KIND.name
MIGRATION = migration.KIND.name
ROLLBACK = rollback.KIND.name
ROLLOUT = rollout.KIND.name
RUNBOOK = runbook.KIND.name


def artifact_id(kind: str, key: str | None = None) -> str:
    """How a finding names one artifact: the kind, and for a kind with many, which one."""
    return kind if key is None else f"{kind}:{key}"


def migration_id(spec: Any) -> str:
    return artifact_id(MIGRATION, str(spec.change).casefold())


@dataclass(frozen=True)
class Issue:
    """What a rule found: its message, the field it points at, and the artifacts involved."""

    message: str
    field: str
    involves: frozenset[str]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    reads: frozenset[str]
    points_at: str
    fix: str
    find: Callable[[ReleaseContext], Iterable[Issue]]

    def run(self, ctx: ReleaseContext) -> Iterator[ReviewFinding]:
        for issue in self.find(ctx):
            yield ReviewFinding(
                finding=Finding(
                    code=self.code,
                    severity=self.severity,
                    message=issue.message,
                    field=issue.field,
                    kind=self.points_at,
                ),
                involves=issue.involves,
            )


@dataclass(frozen=True)
class ReviewFinding:
    finding: Finding
    involves: frozenset[str]


# ------------------------------------------------------------------ release plan and migrations


def _missing_migration_path(ctx: ReleaseContext) -> Iterator[Issue]:
    plan = ctx.plan
    if plan is None or release_type_of(ctx.version) != "major":
        return
    planned = {m.change.casefold() for m in ctx.migrations}
    for i, bc in enumerate(getattr(plan, "breaking_changes", ())):
        if not bc.backward_compatible and bc.name.casefold() not in planned:
            yield Issue(
                f"major release {ctx.version} has breaking change {bc.name!r} but no migration path for "
                "it yet; call design_migration_path with change set to this name",
                f"breaking_changes[{i}]",
                frozenset({RELEASE_PLAN}),
            )


def _involving_plan(ctx: ReleaseContext, migration: Any) -> frozenset[str]:
    return frozenset({migration_id(migration)} | ({RELEASE_PLAN} if ctx.plan is not None else set()))


def _database_without_expand_contract(ctx: ReleaseContext) -> Iterator[Issue]:
    for m in ctx.migrations:
        if m.effective_change_type(ctx) != "database" or m.data_loss_acknowledged:
            continue
        kinds = {p.kind for p in m.phases}
        missing = [k for k in ("expand", "migrate", "contract") if k not in kinds]
        if missing:
            # The category may come from the migration itself or from the plan's breaking change.
            involves = frozenset({migration_id(m)}) if m.change_type is not None else _involving_plan(ctx, m)
            yield Issue(
                f"database change {m.change!r} has no {', '.join(missing)} phase; a schema change needs "
                "expand (additive), migrate (dual-write, backfill, switch reads) and contract (drop the "
                "old), in that order, so every step but the last can be rolled back. Add the phases, or "
                "set data_loss_acknowledged to true to accept losing data on rollback",
                "phases",
                involves,
            )


def _contract_inside_rollback_window(ctx: ReleaseContext) -> Iterator[Issue]:
    for m in ctx.migrations:
        window_end = m.rollback_window_end(ctx)
        if window_end is None:
            continue
        involves = frozenset(
            {migration_id(m)}
            | ({RELEASE_PLAN} if ctx.plan is not None else set())
            | ({ROLLOUT} if ctx.rollout is not None else set())
        )
        for i, p in enumerate(m.phases):
            if p.kind == "contract" and p.start_days() < window_end:
                yield Issue(
                    f"contract phase {p.name!r} of {m.change!r} starts at {p.start}, but the release can "
                    f"be rolled back until {format_t_offset(window_end)}; after contract the previous "
                    f"version no longer works, so start it at {format_t_offset(window_end)} or later",
                    f"phases[{i}].start",
                    involves,
                )


def _unknown_breaking_change(ctx: ReleaseContext) -> Iterator[Issue]:
    if ctx.plan is None:
        return
    names = ", ".join(repr(bc.name) for bc in getattr(ctx.plan, "breaking_changes", ())) or "none"
    for m in ctx.migrations:
        if m.planned_change(ctx) is None:
            yield Issue(
                f"the release plan for {ctx.plan.version} has no breaking change named {m.change!r} "
                f"(it has: {names}); use one of those names or add the change to the plan",
                "change",
                _involving_plan(ctx, m),
            )


def _change_type_mismatch(ctx: ReleaseContext) -> Iterator[Issue]:
    for m in ctx.migrations:
        planned = m.planned_change(ctx)
        if planned is not None and m.change_type is not None and m.change_type != planned.category:
            yield Issue(
                f"change_type of {m.change!r} is {m.change_type!r} but the release plan lists "
                f"{planned.name!r} as {planned.category!r}; make them agree",
                "change_type",
                _involving_plan(ctx, m),
            )


def _deprecation_shorter_than_planned(ctx: ReleaseContext) -> Iterator[Issue]:
    for m in ctx.migrations:
        planned = m.planned_change(ctx)
        announce = next((p for p in m.phases if p.kind == "announce"), None)
        terminal = m.terminal_phase()
        if planned is None or not planned.deprecation_period_days or announce is None or terminal is None:
            continue
        span = terminal[1].start_days() - announce.start_days()
        if span < planned.deprecation_period_days:
            yield Issue(
                f"users of {m.change!r} get {span} days from announcement to {terminal[1].kind}, but the "
                f"release plan promises a {planned.deprecation_period_days}-day deprecation period; "
                "announce earlier or move the shutdown later",
                f"phases[{terminal[0]}].start",
                _involving_plan(ctx, m),
            )


# ------------------------------------------------------------------ rollback, rollout and runbook


def _procedures(ctx: ReleaseContext) -> list[Any]:
    # Read with getattr, like every slot of another artifact: a rule must not fail on a partial one.
    return list(getattr(ctx.rollback, "procedures", None) or [])


def _flagged_feature_not_covered(ctx: ReleaseContext) -> Iterator[Issue]:
    if ctx.rollback is None:
        return
    flag_procs = [p for p in _procedures(ctx) if p.type == "feature_flag"]
    for feature in release_features(ctx):
        flag = getattr(feature, "flag", None)
        if flag and not any(covers(p, feature) for p in flag_procs):
            yield Issue(
                f"feature {feature.name!r} has flag {flag!r} but no feature_flag procedure covers it; add "
                f"{flag!r} (or 'all') to the feature_flag procedure's applies_to",
                "procedures",
                frozenset({ROLLBACK, RELEASE_PLAN}),
            )


def _feature_without_rollback(ctx: ReleaseContext) -> Iterator[Issue]:
    procedures = _procedures(ctx)
    if ctx.rollback is None:
        return
    for feature in release_features(ctx):
        if not any(covers(p, feature) for p in procedures):
            yield Issue(
                f"no procedure covers feature {feature.name!r}, so its rollback confidence counts as 0; "
                "name it (or its flag, or 'all') in some procedure's applies_to",
                "procedures",
                frozenset({ROLLBACK, RELEASE_PLAN}),
            )


def _halt_threshold_disagrees(ctx: ReleaseContext) -> Iterator[Issue]:
    triggers = list(getattr(ctx.rollback, "automatic_triggers", None) or [])
    for h_i, halt in enumerate(getattr(ctx.rollout, "halt_threshold", None) or []):
        for trig in triggers:
            halt_at, trig_at = (
                in_base_unit(halt.threshold, halt.unit),
                in_base_unit(trig.threshold, trig.unit),
            )
            if trig.metric != halt.metric or halt_at[0] != trig_at[0]:
                continue
            # A missing window is "unspecified" here, so only two stated windows can disagree.
            windows_differ = None not in (halt.window_minutes, trig.window_minutes) and (
                halt.window_minutes != trig.window_minutes
            )
            same_threshold = math.isclose(halt_at[1], trig_at[1], rel_tol=1e-9, abs_tol=1e-12)
            if halt.comparator != trig.comparator or not same_threshold or windows_differ:
                yield Issue(
                    f"the halt threshold {halt.describe()} disagrees with the rollback strategy's automatic "
                    f"trigger {trig.describe()}; use one threshold in both (change halt_threshold with "
                    "plan_rollout or the trigger with design_rollback)",
                    f"halt_threshold[{h_i}]",
                    frozenset({ROLLOUT, ROLLBACK}),
                )


def _rollback_rehearsal_missing(ctx: ReleaseContext) -> Iterator[Issue]:
    rollback, runbook = ctx.rollback, ctx.runbook
    if rollback is None or runbook is None or any(p.rehearsal is not None for p in _procedures(ctx)):
        return
    if any(REHEARSAL.search(item) for s in getattr(runbook, "checklist", ()) for item in s.items):
        return
    yield Issue(
        "the rollback strategy has no rehearsal and the checklist does not ask for one; add an item such "
        "as 'Rollback procedure rehearsed in staging' and record the result with design_rollback",
        "checklist",
        frozenset({RUNBOOK, ROLLBACK}),
    )


RULES: tuple[Rule, ...] = (
    Rule(
        "missing_migration_path",
        "warning",
        frozenset({RELEASE_PLAN, MIGRATION}),
        RELEASE_PLAN,
        "call design_migration_path for each incompatible breaking change of a major release",
        _missing_migration_path,
    ),
    Rule(
        "database_change_without_expand_contract",
        "error",
        frozenset({MIGRATION, RELEASE_PLAN}),
        MIGRATION,
        "add expand, migrate and contract phases, or set data_loss_acknowledged",
        _database_without_expand_contract,
    ),
    Rule(
        "contract_inside_rollback_window",
        "warning",
        frozenset({MIGRATION, RELEASE_PLAN, ROLLOUT}),
        MIGRATION,
        "start the contract phase when rolling back is no longer possible",
        _contract_inside_rollback_window,
    ),
    Rule(
        "unknown_breaking_change",
        "warning",
        frozenset({MIGRATION, RELEASE_PLAN}),
        MIGRATION,
        "name the migration's change as the release plan names it, or add it to the plan",
        _unknown_breaking_change,
    ),
    Rule(
        "change_type_mismatch",
        "warning",
        frozenset({MIGRATION, RELEASE_PLAN}),
        MIGRATION,
        "give the migration the category the release plan gives the change",
        _change_type_mismatch,
    ),
    Rule(
        "deprecation_shorter_than_planned",
        "warning",
        frozenset({MIGRATION, RELEASE_PLAN}),
        MIGRATION,
        "announce earlier or shut down later, so users get the promised notice",
        _deprecation_shorter_than_planned,
    ),
    Rule(
        "flagged_feature_not_covered",
        "warning",
        frozenset({ROLLBACK, RELEASE_PLAN}),
        ROLLBACK,
        "name the feature's flag in a feature_flag procedure",
        _flagged_feature_not_covered,
    ),
    Rule(
        "feature_without_rollback",
        "warning",
        frozenset({ROLLBACK, RELEASE_PLAN}),
        ROLLBACK,
        "name every shipped feature in some procedure's applies_to",
        _feature_without_rollback,
    ),
    Rule(
        "halt_threshold_disagrees_with_rollback",
        "warning",
        frozenset({ROLLOUT, ROLLBACK}),
        ROLLOUT,
        "use one threshold for the rollout's halt and the rollback's trigger",
        _halt_threshold_disagrees,
    ),
    Rule(
        "rollback_rehearsal_missing",
        "warning",
        frozenset({RUNBOOK, ROLLBACK}),
        RUNBOOK,
        "rehearse the rollback, or put the rehearsal on the runbook's checklist",
        _rollback_rehearsal_missing,
    ),
)


def review(ctx: ReleaseContext, rules: Iterable[Rule] = RULES) -> list[ReviewFinding]:
    """Every rule over the whole release, in rule order."""
    return [found for rule in rules for found in rule.run(ctx)]


def for_artifact(found: Iterable[ReviewFinding], artifact: str) -> list[Finding]:
    """The findings ``artifact`` takes part in, as its write reports them: an error in another
    artifact's fields is passed on as a warning, since this write cannot fix it."""
    out = []
    for item in found:
        if artifact not in item.involves:
            continue
        f = item.finding
        own = f.kind == artifact.split(":", 1)[0]
        out.append(f if own or f.severity == "warning" else f.model_copy(update={"severity": "warning"}))
    return out


def check_artifact(spec: Any, ctx: ReleaseContext, *, replacing: Any = None) -> list[Finding]:
    """What a write of ``spec`` reports: its own findings, then the whole-release findings it takes
    part in, with ``spec`` put in its slot of ``ctx`` (in place of ``replacing``, its stored version).
    A review finding names the artifact it points at, so it reads the same from every write and read."""
    kind = kind_of_spec(spec)
    ctx = ctx.with_spec(kind, spec, replacing=replacing)
    key = kind.key(spec) if kind.many and kind.key is not None else None
    involved = for_artifact(review(ctx), artifact_id(kind.name, key))
    return list(spec.check(ctx)) + [f.model_copy(update={"message": qualified(f)}) for f in involved]


def qualified(f: Finding) -> str:
    """The message as a whole-release view shows it: prefixed with the artifact it points at."""
    if f.kind is None:
        return f.message
    return f"{f.kind}: {f.message}" if f.severity == "warning" else f"{f.kind} (error): {f.message}"
