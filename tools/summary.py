"""The stakeholder summary: the skill's closing paragraph, computed from the stored artifacts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .base import ReleaseContext

BATCH_LABEL = {"must_have": "must have", "nice_to_have": "nice to have", "deferred": "deferred"}


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


def stakeholder_summary(
    version: str, ctx: ReleaseContext, missing: list[str], untyped: list[Any]
) -> tuple[str, dict[str, Any]]:
    """One paragraph plus the facts it was built from. Deterministic for the same stored release."""
    facts: dict[str, Any] = {"release": version}
    sentences: list[str] = []
    plan = ctx.plan
    if plan is not None:
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
                + (
                    f", {len(without)} without a migration path."
                    if without
                    else ", each with a migration path."
                )
            )
    else:
        sentences.append(f"Release v{version} has no typed release plan.")
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
    rollback = ctx.rollback
    if rollback is not None:
        bc = rollback.computed(ctx)
        facts["rollback"] = {k: bc.get(k) for k in ("overall_confidence", "fastest")}
        fastest = bc.get("fastest") or {}
        how = ""
        if fastest:
            how = f"{_minutes(float(fastest['minutes']))} via {str(fastest['type']).replace('_', ' ')}"
        sentences.append(
            f"Rollback: {how or 'procedures defined'} "
            f"(confidence {float(bc.get('overall_confidence', 0)):.2f})."
        )
    if ctx.runbook is not None:
        rb = ctx.runbook.computed(ctx)
        facts["runbook"] = rb
        sentences.append(
            f"Runbook: {rb.get('steps', 0)} deployment steps, {rb.get('smoke_tests', 0)} smoke tests"
            + (", schedule taken from the rollout plan." if rb.get("schedule_from_rollout") else ".")
        )
    if untyped:
        sentences.append(f"{len(untyped)} artifact(s) were written by hand and are not checked.")
    facts["missing"] = missing
    if missing:
        sentences.append("Not planned yet: " + ", ".join(k.replace("_", " ") for k in missing) + ".")
    else:
        sentences.append("Every step is planned.")
    return " ".join(sentences), facts
