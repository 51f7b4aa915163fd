"""Rules across the release plan and its migration paths: data safety and the promises made to users."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..base import ReleaseContext
from ..common import format_t_offset, release_type_of
from .engine import (
    MIGRATION,
    RELEASE_PLAN,
    ROLLOUT,
    Issue,
    RuleSet,
    migration_id,
)

RULES = RuleSet()

# ------------------------------------------------------------------ release plan and migrations


@RULES.rule(
    "missing_migration_path",
    "warning",
    reads={RELEASE_PLAN, MIGRATION},
    points_at=RELEASE_PLAN,
    fix="call design_migration_path for each incompatible breaking change of a major release",
)
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


@RULES.rule(
    "database_change_without_expand_contract",
    "error",
    reads={MIGRATION, RELEASE_PLAN},
    points_at=MIGRATION,
    fix="add expand, migrate and contract phases, or set data_loss_acknowledged",
)
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


@RULES.rule(
    "contract_inside_rollback_window",
    "warning",
    reads={MIGRATION, RELEASE_PLAN, ROLLOUT},
    points_at=MIGRATION,
    fix="start the contract phase when rolling back is no longer possible",
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


@RULES.rule(
    "unknown_breaking_change",
    "warning",
    reads={MIGRATION, RELEASE_PLAN},
    points_at=MIGRATION,
    fix="name the migration's change as the release plan names it, or add it to the plan",
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


@RULES.rule(
    "change_type_mismatch",
    "warning",
    reads={MIGRATION, RELEASE_PLAN},
    points_at=MIGRATION,
    fix="give the migration the category the release plan gives the change",
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


@RULES.rule(
    "deprecation_shorter_than_planned",
    "warning",
    reads={MIGRATION, RELEASE_PLAN},
    points_at=MIGRATION,
    fix="announce earlier or shut down later, so users get the promised notice",
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
