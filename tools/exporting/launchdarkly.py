"""LaunchDarkly: flag JSON as its server SDKs read it (the file data source's ``flags``/``segments``).

Each phase is one document. Every flag is boolean (variation 0 = on, 1 = off); the phase's share is
the fallthrough's percentage rollout with weights in 1/100,000 and ONE fixed ``seed`` for the whole
rollout (LaunchDarkly hashes ``seed.value`` with SHA-1, and the on-variation comes first, so a user
whose bucket is under 5% is also under 20%). Segments are targeting rules serving on: an
``attribute=value`` segment as an ``in`` clause, a named whitelist as a ``segmentMatch`` on a
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
        "variations": [{"variation": 0, "weight": on}, {"variation": 1, "weight": SCALE - on}],
        "seed": plan.bucketing.seed,
        "contextKind": "user",
    }
    if (attribute := bucket_by(plan)) is not None:
        rollout["bucketBy"] = attribute
    return rollout


def _clause(seg: Segment) -> dict[str, Any]:
    if seg.is_rule:
        return {
            "contextKind": "user",
            "attribute": seg.attribute,
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
