"""The stakeholder summary: the skill's closing paragraph, computed from the stored artifacts.

The paragraph is honest about what is open: the findings a read reports (how many, and the most
important codes), blocked dependencies, the top risks, the dates customers will notice
(deprecation notices and shutdowns), and for the rollback the procedure each must-have feature relies
on and the slowest of those, with the confidence the evidence supports. "Every step is planned" is
said only when nothing is open: no missing or hand-written artifact, no finding, no blocked
dependency. ``facts`` holds the same figures, structured.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from .base import ReleaseContext
from .common import format_t_offset
from .results import Notice
from .rollback.evidence import overstated

BATCH_LABEL = {"must_have": "must have", "nice_to_have": "nice to have", "deferred": "deferred"}
ROLLBACK_VIA = {
    "feature_flag": "feature flag",
    "application": "redeploy",
    "database": "database rollback",
    "infrastructure": "infrastructure rollback",
}
# Migration phases customers notice, in the words the paragraph uses.
CUSTOMER_EVENTS = {
    "announce": "deprecation announced",
    "sunset_warning": "sunset warnings from",
    "shutdown": "shutdown",
}
RISK_ORDER = ("critical", "high", "medium", "low")
TOP_CODES = 3
TOP_RISKS = 3
# How a read qualifies an error (``tools.review.qualified``): "<kind> (error): <message>".
_ERROR = re.compile(r"^\w+ \(error\): ")


def _day(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        d = datetime.fromisoformat(iso).date() if "T" in iso else date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d:%B} {d.day}, {d.year}"


def _span(start: str, end: str) -> str:
    first, last = _day(start) or start, _day(end) or end
    if first[-4:] == last[-4:]:
        first = first[:-6]  # both ends in one year: "March 16 to March 25, 2026"
    return f"{first} to {last}"


def _minutes(value: float) -> str:
    if value < 1:
        return "under 1 minute"
    if value == 1:
        return "1 minute"
    if value < 90:
        return f"{value:g} minutes"
    return f"{value / 60:.1f} hours"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def stakeholder_summary(
    version: str,
    ctx: ReleaseContext,
    missing: list[str],
    untyped: list[Any],
    findings: Sequence[Notice],
) -> tuple[str, dict[str, Any]]:
    """One paragraph plus the facts it was built from. Deterministic for the same stored release.

    ``findings`` are the notices a read of the release reports (``ReleaseReader.findings``)."""
    facts: dict[str, Any] = {"release": version}
    sentences: list[str] = []
    blocked: list[str] = []
    plan = ctx.plan
    if plan is not None:
        blocked = _plan_sentences(version, ctx, facts, sentences)
    else:
        sentences.append(f"Release v{version} has no typed release plan.")
    sentences += _customer_dates(ctx, facts)
    rollout = ctx.rollout
    if rollout is not None:
        rc = rollout.computed(ctx)
        pct = rc.get("percentages", [])
        facts["rollout"] = {
            k: rc.get(k) for k in ("percentages", "total_days", "start", "end", "gated_phases")
        }
        shape = " → ".join(f"{p:g}%" for p in pct)
        span = ""
        if rc.get("start") and rc.get("end"):
            span = f", {_span(rc['start'], rc['end'])}"
        days = rc.get("total_days")
        length = f"{days:g}-day " if isinstance(days, (int, float)) else ""
        sentences.append(
            f"Rollout: {length}{rollout.approach.replace('_', ' ')} rollout "
            f"in {len(pct)} phases ({shape}){span}; "
            f"go/no-go gates at {rc.get('gated_phases', 0)} of {len(pct)} phases."
        )
    if ctx.rollback is not None:
        sentences.append(_rollback_sentence(ctx, facts))
    if ctx.runbook is not None:
        rb = ctx.runbook.computed(ctx)
        facts["runbook"] = rb
        sentences.append(
            f"Runbook: {rb.get('steps', 0)} deployment steps, {rb.get('smoke_tests', 0)} smoke tests"
            + (", schedule taken from the rollout plan." if rb.get("schedule_from_rollout") else ".")
        )
    if untyped:
        sentences.append(f"{len(untyped)} artifact(s) were written by hand and are not checked.")
    sentences += _open_findings(findings, facts)
    facts["missing"] = missing
    if missing:
        sentences.append("Not planned yet: " + ", ".join(k.replace("_", " ") for k in missing) + ".")
    elif not (untyped or findings or blocked):
        sentences.append("Every step is planned.")
    return " ".join(sentences), facts


def _plan_sentences(
    version: str, ctx: ReleaseContext, facts: dict[str, Any], sentences: list[str]
) -> list[str]:
    """The plan's sentences (scope, flags, breaking changes, dependencies, risks); returns the blocked
    dependencies."""
    plan = ctx.plan
    pc = plan.computed(ctx)
    facts["name"] = plan.name
    facts["target_date"] = plan.target_date.isoformat()
    facts["counts"] = pc.get("counts", {})
    sentences.append(f"Release v{version} ({plan.name}) targets {_day(plan.target_date.isoformat())}.")
    active = [f for f in plan.features if f.batch != "deferred"]
    deferred = [f for f in plan.features if f.batch == "deferred"]
    groups: list[str] = []
    for batch in ("must_have", "nice_to_have"):
        names = [f.name for f in active if f.batch == batch]
        if names:
            groups.append(f"{BATCH_LABEL[batch]}: {_join(names)}")
    if active:
        plural = "s" if len(active) != 1 else ""
        sentences.append(f"It includes {len(active)} feature{plural} ({'; '.join(groups)}).")
    if deferred:
        sentences.append(f"{len(deferred)} deferred: {_join([f.name for f in deferred])}.")
    unflagged = pc.get("features_without_flag", [])
    facts["features_without_flag"] = unflagged
    if active and not unflagged:
        sentences.append("All features are behind flags.")
    elif unflagged:
        sentences.append(f"Not behind a flag: {_join(list(unflagged))}.")
    breaking = pc.get("breaking_changes", [])
    if breaking:
        planned = {m.change.casefold() for m in ctx.migrations}
        without = [b for b in breaking if b.casefold() not in planned]
        sentences.append(
            f"{len(breaking)} breaking change{'s' if len(breaking) != 1 else ''}"
            + (f", {len(without)} without a migration path." if without else ", each with a migration path.")
        )
    blocked = [d for d in plan.dependencies if d.status == "blocked"]
    waiting = [d for d in plan.dependencies if d.status in ("pending", "in_progress")]
    facts["blocked_dependencies"] = [d.name for d in blocked]
    facts["open_dependencies"] = pc.get("open_dependencies", [])
    if blocked:
        items = [d.name + (f" (due {_day(d.due.isoformat())})" if d.due else "") for d in blocked]
        sentences.append(f"Blocked dependenc{'y' if len(items) == 1 else 'ies'}: {_join(items)}.")
    if waiting:
        items = [f"{d.name} ({d.status.replace('_', ' ')})" for d in waiting]
        sentences.append(f"Dependencies not done yet: {_join(items)}.")
    sentences += _top_risks(plan, facts)
    return [d.name for d in blocked]


def _top_risks(plan: Any, facts: dict[str, Any]) -> list[str]:
    """The critical and high risks, else the medium ones; at most ``TOP_RISKS``, highest first."""
    risks = sorted(plan.risks, key=lambda r: RISK_ORDER.index(r.level))
    top = [r for r in risks if r.level in ("critical", "high")] or [r for r in risks if r.level == "medium"]
    facts["top_risks"] = [
        {"description": r.description, "level": r.level, "mitigation": r.mitigation} for r in top[:TOP_RISKS]
    ]
    if not top:
        return []
    shown = "; ".join(f"{r.description} ({r.level})" for r in top[:TOP_RISKS])
    more = f"; {len(top) - TOP_RISKS} more at that level" if len(top) > TOP_RISKS else ""
    return [f"Top risk{'s' if len(top) != 1 else ''}: {shown}{more}."]


def _customer_dates(ctx: ReleaseContext, facts: dict[str, Any]) -> list[str]:
    """Deprecation notices and shutdowns from the migration paths, and the plan's promised deprecation
    periods that no migration path dates yet."""
    dates: list[dict[str, Any]] = []
    parts: list[str] = []
    for m in ctx.migrations:
        events = []
        for phase in m.computed(ctx).get("phases", []):
            label = CUSTOMER_EVENTS.get(phase.get("kind"))
            if label is None:
                continue
            offset, on = phase.get("start_offset"), phase.get("start_date")
            dates.append({"change": m.change, "event": phase["kind"], "date": on, "offset": offset})
            when = _day(on) if on else (format_t_offset(offset) if isinstance(offset, int) else "undated")
            events.append(f"{label} {when}")
        if events:
            parts.append(f"{m.change}: {_join(events)}")
    plan = ctx.plan
    if plan is not None:
        dated = {m.change.casefold() for m in ctx.migrations}
        for bc in plan.breaking_changes:
            if bc.deprecation_period_days and bc.name.casefold() not in dated:
                dates.append({"change": bc.name, "event": "deprecation_period", "date": None, "offset": None})
                parts.append(
                    f"{bc.name}: {bc.deprecation_period_days}-day deprecation promised, no dates yet"
                )
    facts["customer_dates"] = dates
    return [f"Customer-facing dates: {'; '.join(parts)}."] if parts else []


def _rollback_sentence(ctx: ReleaseContext, facts: dict[str, Any]) -> str:
    """Which procedure each must-have feature relies on (its fastest covering one), the slowest of those,
    and the confidence, with the evidence figure when a stated one is higher."""
    rollback = ctx.rollback
    bc = rollback.computed(ctx)
    overall = float(bc.get("overall_confidence", 0))
    evidence = float(bc.get("evidence_confidence", overall))
    coverage = rollback.must_have_coverage(ctx)
    slowest = rollback.slowest_needed(ctx)
    facts["rollback"] = {
        "overall_confidence": bc.get("overall_confidence"),
        "fastest": bc.get("fastest"),
        "evidence_confidence": bc.get("evidence_confidence"),
        "must_have": [
            {
                "feature": f.name,
                "type": None if p is None else p.type,
                "minutes": None if p is None else p.time_to_rollback_minutes,
            }
            for f, p in coverage
        ],
        "slowest_needed": None
        if slowest is None
        else {
            "feature": slowest[0].name,
            "type": slowest[1].type,
            "minutes": slowest[1].time_to_rollback_minutes,
        },
    }
    confidence = f"confidence {overall:.2f}"
    if overstated(overall, evidence):
        confidence += f" as stated, {evidence:.2f} by the rehearsal evidence"
    if coverage:
        return f"Rollback: {_coverage_text(coverage, slowest)}; {confidence}."
    procs = sorted(rollback.procedures, key=lambda p: p.time_to_rollback_minutes)
    if len(procs) == 1:
        how = f"{_minutes(procs[0].time_to_rollback_minutes)} via {ROLLBACK_VIA[procs[0].type]}"
    else:
        fast, slow = procs[0], procs[-1]
        how = (
            f"{len(procs)} procedures, from {_minutes(fast.time_to_rollback_minutes)} via "
            f"{ROLLBACK_VIA[fast.type]} to {_minutes(slow.time_to_rollback_minutes)} via "
            f"{ROLLBACK_VIA[slow.type]}"
        )
    return f"Rollback: {how}; {confidence}."


def _coverage_text(coverage: list[tuple[Any, Any]], slowest: tuple[Any, Any] | None) -> str:
    groups: dict[int, tuple[Any, list[str]]] = {}
    uncovered: list[str] = []
    for feature, proc in coverage:
        if proc is None:
            uncovered.append(feature.name)
        else:
            groups.setdefault(id(proc), (proc, []))[1].append(feature.name)
    ordered = sorted(groups.values(), key=lambda g: -g[0].time_to_rollback_minutes)
    if len(ordered) == 1:
        covered = f"{_join(ordered[0][1])} via {ROLLBACK_VIA[ordered[0][0].type]}"
    else:
        covered = "; ".join(
            f"{_join(names)} via {ROLLBACK_VIA[proc.type]}, {_minutes(proc.time_to_rollback_minutes)}"
            for proc, names in ordered
        )
    none = f"no procedure covers {_join(uncovered)}"
    if slowest is None:
        return f"{none} (must-have feature{'s' if len(uncovered) != 1 else ''})"
    text = f"up to {_minutes(slowest[1].time_to_rollback_minutes)} for the must-have features ({covered})"
    return f"{text}, but {none}" if uncovered else text


def _open_findings(findings: Sequence[Notice], facts: dict[str, Any]) -> list[str]:
    """How many findings are open and the most important codes: errors first, then the most frequent,
    then in the order the read reports them."""
    counts = Counter(n.code for n in findings)
    errors = {n.code for n in findings if _ERROR.match(n.message)}
    first = {code: i for i, code in reversed(list(enumerate(n.code for n in findings)))}
    ranked = sorted(counts, key=lambda c: (c not in errors, -counts[c], first[c]))
    n_errors = sum(1 for n in findings if _ERROR.match(n.message))
    n_warnings = len(findings) - n_errors
    facts["open_findings"] = {
        "count": len(findings),
        "errors": n_errors,
        "warnings": n_warnings,
        "top_codes": ranked[:TOP_CODES],
    }
    if not findings:
        return []
    sizes = ([_plural(n_errors, "error")] if n_errors else []) + (
        [_plural(n_warnings, "warning")] if n_warnings else []
    )
    codes = [c + (f" ×{counts[c]}" if counts[c] > 1 else "") for c in ranked[:TOP_CODES]]
    if len(ranked) > TOP_CODES:
        codes.append(_plural(len(ranked) - TOP_CODES, "other"))
    return [f"Open findings: {_join(sizes)} ({_join(codes)}); review them before go-live."]
