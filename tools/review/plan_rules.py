"""Rules across the release plan and its migration paths: data safety and the promises made to users."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from ..base import ReleaseContext
from ..common import format_t_offset, release_type_of
from .engine import MIGRATION, RELEASE_PLAN, ROLLBACK, ROLLOUT, Issue, RuleSet, migration_id, procedures

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
    """A phase that takes the old path away (contract, shutdown, or actions that drop the old thing)
    while the release can still be rolled back. The window runs to the later of the migration's
    rollback_plan.window_days and the rollout's end; whatever is stored, it holds the release day T
    itself, so a removal on T is inside it even before a rollback or rollout is planned. (A removal
    before T is the migration's own error ``contract_before_release``.)"""
    for m in ctx.migrations:
        known = m.rollback_window_end(ctx)
        window_end = max(known if known is not None else 0, 1)
        involves = frozenset(
            {migration_id(m)}
            | ({RELEASE_PLAN} if ctx.plan is not None else set())
            | ({ROLLOUT} if ctx.rollout is not None else set())
        )
        for i, p in m.removal_phases():
            start = p.start_days()
            if start < 0 or start >= window_end:
                continue
            if known is None or known < 1:
                why = (
                    "on the release day itself, while the release can still be rolled back (no rollback "
                    "window is stated: set rollback_plan.window_days or plan the rollout)"
                )
            else:
                why = f"but the release can be rolled back until {format_t_offset(known)}"
            yield Issue(
                f"{p.kind} phase {p.name!r} of {m.change!r} takes the old path away at {p.start}, {why}; "
                "once it is gone the previous version no longer works, so start it at "
                f"{format_t_offset(window_end)} or later",
                f"phases[{i}].start",
                involves,
            )


@RULES.rule(
    "unknown_breaking_change",
    "error",
    reads={MIGRATION, RELEASE_PLAN},
    points_at=MIGRATION,
    fix="name the migration's change as the release plan names it, or add it to the plan",
)
def _unknown_breaking_change(ctx: ReleaseContext) -> Iterator[Issue]:
    """A migration path for a change the release plan does not list: refused on write (an orphan
    path documents nothing the plan ships), reported on read for one stored before this rule."""
    if ctx.plan is None:
        return
    names = [bc.name for bc in getattr(ctx.plan, "breaking_changes", ())]
    for m in ctx.migrations:
        if m.planned_change(ctx) is not None:
            continue
        if not names:
            advice = (
                f"the release plan for {ctx.plan.version} lists no breaking changes at all; add "
                f"{m.change!r} to its breaking_changes with create_release_plan first, then design its "
                "migration path"
            )
        else:
            close = closest_names(m.change, names)
            hint = (
                f"did you mean {' or '.join(repr(n) for n in close)}?"
                if close
                else f"it has: {', '.join(repr(n) for n in names[:10])}"
            )
            advice = (
                f"the release plan for {ctx.plan.version} has no breaking change named {m.change!r} "
                f"({hint}); set change to the plan's name exactly, or add the change to the plan's "
                "breaking_changes with create_release_plan first"
            )
        yield Issue(advice, "change", _involving_plan(ctx, m))


def _name_key(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.casefold())


def closest_names(name: str, candidates: list[str], n: int = 3) -> list[str]:
    """The candidates nearest to ``name`` (difflib), compared casefolded and without punctuation or
    whitespace, best first."""
    by_key: dict[str, str] = {}
    for c in candidates:
        by_key.setdefault(_name_key(c), c)
    return [by_key[k] for k in difflib.get_close_matches(_name_key(name), list(by_key), n=n, cutoff=0.6)]


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


def _promised_notice(ctx: ReleaseContext, m: Any) -> int | None:
    planned = m.planned_change(ctx)
    return planned.deprecation_period_days if planned is not None else None


@RULES.rule(
    "deprecation_shorter_than_planned",
    "warning",
    reads={MIGRATION, RELEASE_PLAN},
    points_at=MIGRATION,
    fix="tell users earlier or take the old path away later, so users get the promised notice",
)
def _deprecation_shorter_than_planned(ctx: ReleaseContext) -> Iterator[Issue]:
    """The notice users really get runs from the first phase that tells them (announce,
    sunset_warning, or any phase whose actions announce, notify, email or publish) to the first phase
    that takes the old path away (shutdown, contract, or actions that drop it), whatever kinds the
    path uses; it must reach the deprecation_period_days the release plan promises."""
    for m in ctx.migrations:
        promised = _promised_notice(ctx, m)
        told, removal = m.first_telling(), m.first_removal()
        if not promised or told is None or removal is None:
            continue
        span = removal[1].start_days() - told[1].start_days()
        if span < promised:
            yield Issue(
                f"users of {m.change!r} are first told at {told[1].start} ({told[1].kind} phase "
                f"{told[1].name!r}) and lose the old path at {removal[1].start} ({removal[1].kind} phase "
                f"{removal[1].name!r}): {span} days, but the release plan promises a {promised}-day "
                f"deprecation period; tell them by {format_t_offset(removal[1].start_days() - promised)} "
                f"or move {removal[1].name!r} to {format_t_offset(told[1].start_days() + promised)} or later",
                f"phases[{removal[0]}].start",
                _involving_plan(ctx, m),
            )


@RULES.rule(
    "deprecation_never_announced",
    "warning",
    reads={MIGRATION, RELEASE_PLAN},
    points_at=MIGRATION,
    fix="add an announce phase (or actions that notify users) early enough for the promised notice",
)
def _deprecation_never_announced(ctx: ReleaseContext) -> Iterator[Issue]:
    """The plan promises a notice period but no phase of the path tells users anything."""
    for m in ctx.migrations:
        promised = _promised_notice(ctx, m)
        if not promised or m.first_telling() is not None:
            continue
        removal = m.first_removal()
        by = f" by {format_t_offset(removal[1].start_days() - promised)}" if removal is not None else ""
        yield Issue(
            f"the release plan promises users of {m.change!r} a {promised}-day deprecation period, but no "
            "phase of the migration path tells them (no announce or sunset_warning phase, and no action "
            f"that announces, notifies, emails or publishes); add an announce phase{by}",
            "phases",
            _involving_plan(ctx, m),
        )


# ------------------------------------------------------------------ rollback and the plan's schema change

# A sentence that takes for granted that the release changes no schema: "no schema change", "no
# database migration in this release", "schema unchanged", "database untouched", "does not touch the
# database". "No migration failures" or "no migration running" speak of something else.
_NO_SCHEMA_CHANGE = re.compile(
    r"\bno\s+(?:changes?\s+to\s+(?:the\s+)?)?(?:[\w-]+\s+)?(?:schema|database|db|ddl|data\s+model)"
    r"(?:\s+(?:changes?|migrations?|modifications?|alterations?))?\b(?!\s+(?:locks?|connections?|access|lag|"
    r"fail\w*|errors?|issues?|problems?|backups?|snapshots?|downtime|outage))"
    r"|\bno\s+(?:[\w-]+\s+)?migrations?\b(?!\s+(?:fail\w*|errors?|issues?|problems?|locks?|running|in\s+"
    r"progress|jobs?|lag|tool\w*))"
    r"|\b(?:schema|database|db|data\s+model|tables?)\s+(?:is\s+|are\s+|remains?\s+|stays?\s+|was\s+|were\s+"
    r"|left\s+|is\s+left\s+)?(?:unchanged|untouched|unmodified|the\s+same|as\s+before|not\s+(?:changed|"
    r"modified|touched|altered))\b"
    r"|\bwithout\s+(?:any\s+)?(?:schema|database|db|ddl)\s+(?:changes?|migrations?)\b"
    r"|\b(?:doesn'?t|does\s+not|do\s+not|don'?t|never)\s+(?:change|touch|modify|alter|migrate)\s+(?:the\s+)?"
    r"(?:schema|database|db|tables?)\b",
    re.IGNORECASE,
)


def assumes_no_schema_change(text: str) -> bool:
    return bool(_NO_SCHEMA_CHANGE.search(text))


def _schema_changes(ctx: ReleaseContext) -> tuple[list[str], frozenset[str]]:
    """The release's database changes (names) and the artifacts that say so: the plan's breaking
    changes of category database and the migration paths of change type database."""
    names: list[str] = []
    involves: set[str] = set()
    for bc in getattr(ctx.plan, "breaking_changes", None) or ():
        if bc.category == "database":
            names.append(bc.name)
            involves.add(RELEASE_PLAN)
    for m in ctx.migrations:
        if m.effective_change_type(ctx) == "database":
            if all(n.casefold() != m.change.casefold() for n in names):
                names.append(m.change)
            involves.add(migration_id(m))
    return names, frozenset(involves)


@RULES.rule(
    "rollback_assumes_no_schema_change",
    "warning",
    reads={ROLLBACK, RELEASE_PLAN, MIGRATION},
    points_at=ROLLBACK,
    fix="plan the procedure for the schema change the release makes",
)
def _rollback_assumes_no_schema_change(ctx: ReleaseContext) -> Iterator[Issue]:
    """A rollback procedure that counts on the release changing no schema, in a release that does."""
    names, sources = _schema_changes(ctx)
    if not names:
        return
    changes = ", ".join(repr(n) for n in names)
    for i, proc in enumerate(procedures(ctx)):
        places = [(f"procedures[{i}].prerequisites[{j}]", t) for j, t in enumerate(proc.prerequisites)]
        places += [(f"procedures[{i}].steps[{j}].action", s.action) for j, s in enumerate(proc.steps)]
        for field, text in places:
            if assumes_no_schema_change(text):
                yield Issue(
                    f"the {proc.type} rollback procedure assumes {text!r}, but the release changes the "
                    f"database ({changes}); say how this procedure works with the new schema (the "
                    "previous version must run against it: expand/contract) or point at the database "
                    "procedure, and drop the assumption",
                    field,
                    frozenset({ROLLBACK}) | sources,
                )
                break
