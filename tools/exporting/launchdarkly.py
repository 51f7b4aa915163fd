"""LaunchDarkly: flag JSON as its server SDKs read it (the file data source's ``flags``/``segments``).

Each phase is one document. Every flag is boolean (variation 0 = on, 1 = off); the phase's share is
the fallthrough's percentage rollout with weights in 1/100,000 and ONE fixed ``seed`` for the whole
rollout (LaunchDarkly hashes ``seed.value`` with SHA-1). The off-variation's weight comes first, so a
user is on when their bucket is at or above 95% at 5%, and then also above 80% at 20%: cohorts nest.
Off first, because LaunchDarkly puts a context without the hashed attribute (or of another kind) in
bucket 0, the first variation's: on-first would turn the flag on for all of them at any share.
Segments are targeting rules serving on: an ``attribute=value`` segment as an ``in`` clause (on the
context key when the attribute spells the user's id), a named whitelist as a ``segmentMatch`` on a
LaunchDarkly segment with no members yet.
"""

from __future__ import annotations

from typing import Any

from .model import (
    CohortPlan,
    ExportDocument,
    PhaseCohort,
    Segment,
    Warnings,
    placeholder_warnings,
    rule_field,
    typed_values,
)

ENGINE = "LaunchDarkly flag JSON (server-side flag data: flags and segments), one document per phase"
SCALE = 100_000


def bucket_by(plan: CohortPlan) -> str | None:
    """The context attribute hashed: None for the context key (a user's id), else the plan's field."""
    attribute = plan.bucketing.attribute
    return None if attribute in ("userId", "random") else attribute


def weight(percent: float) -> int:
    return max(0, min(SCALE, round(percent * SCALE / 100)))


def _rollout(plan: CohortPlan, percent: float) -> dict[str, Any]:
    on = weight(percent)
    rollout: dict[str, Any] = {
        # off first: a context LaunchDarkly cannot bucket lands in bucket 0, which must be off
        "variations": [{"variation": 1, "weight": SCALE - on}, {"variation": 0, "weight": on}],
        "seed": plan.bucketing.seed,
        "contextKind": "user",
    }
    if (attribute := bucket_by(plan)) is not None:
        rollout["bucketBy"] = attribute
    return rollout


def _clause(seg: Segment) -> dict[str, Any]:
    if seg.attribute is not None:
        return {
            "contextKind": "user",
            "attribute": "key" if rule_field(seg.attribute) == "userId" else seg.attribute,
            "op": "in",
            "values": typed_values(seg.values),
            "negate": seg.negate,
        }
    return {
        "contextKind": "user",
        "attribute": "key",
        "op": "segmentMatch",
        "values": [seg.key],
        "negate": False,
    }


def _flag(plan: CohortPlan, phase: PhaseCohort, key: str, description: str | None) -> dict[str, Any]:
    rules = [
        {"id": f"segment-{seg.key}", "variation": 0, "clauses": [_clause(seg)], "trackEvents": False}
        for seg in phase.segments
    ]
    return {
        "key": key,
        "description": description or "",
        "version": phase.index + 1,
        "on": True,
        "salt": plan.bucketing.group,
        "variations": [True, False],
        "offVariation": 1,
        "fallthrough": {"rollout": _rollout(plan, phase.percent)}
        if phase.by_percentage
        else {"variation": 1},
        "targets": [],
        "contextTargets": [],
        "rules": rules,
        "prerequisites": [],
        "trackEvents": False,
        "trackEventsFallthrough": False,
        "clientSideAvailability": {"usingEnvironmentId": False, "usingMobileKey": False},
        "deleted": False,
    }


def _segment(seg: Segment) -> dict[str, Any]:
    return {
        "key": seg.key,
        "name": seg.text,
        "version": 1,
        "included": [],
        "excluded": [],
        "includedContexts": [],
        "excludedContexts": [],
        "rules": [],
        "salt": seg.key,
        "deleted": False,
    }


def export(plan: CohortPlan, warn: Warnings) -> tuple[list[ExportDocument], list[str]]:
    placeholder_warnings(plan, warn, "a LaunchDarkly segment")
    if plan.bucketing.attribute == "random":
        warn.add(
            "export_random_stickiness_unsupported",
            "phases[].targeting.stickiness",
            "LaunchDarkly has no non-sticky percentage rollout; exported hashing the context key instead",
        )
    docs = []
    for phase in plan.phases:
        used = {s.key for s in phase.segments}
        content = {
            "flags": {key: _flag(plan, phase, key, text) for key, text in plan.flags},
            "segments": {s.key: _segment(s) for s in plan.segments if not s.is_rule and s.key in used},
        }
        docs.append(
            ExportDocument(
                name=plan.file_name(phase),
                phase=phase.name,
                percent=phase.percent,
                kind="LaunchDarkly flag data",
                content=content,
            )
        )
    attribute = bucket_by(plan) or "the context key"
    notes = [
        f"Every rollout uses seed {plan.bucketing.seed} and hashes {attribute} of the 'user' context: keep "
        "both when you edit a phase, or the cohorts stop nesting.",
        "Apply a phase by setting each flag's fallthrough rollout and rules (REST API or UI); the "
        "document is also a file data source the server SDKs read as it is.",
    ]
    return docs, notes
