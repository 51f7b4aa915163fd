"""Unleash: the feature-toggle JSON its client API serves (``/api/client/features``, version 2).

Each phase is one payload: every flag of the plan with a ``flexibleRollout`` strategy at the phase's
share, hashed on the plan's stickiness in ONE ``groupId`` (Unleash buckets ``groupId:value`` with
murmur3, so the users in at 5% stay in at 20%), plus one strategy per segment. Segments become
Unleash segments (the payload's ``segments``, referenced by id from the strategies): an
``attribute=value`` segment as a constraint on that context field, a named whitelist as an empty
``IN`` list on the hashed field, to fill in. Strategies are alternatives: a user is in when any
strategy says so.
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
)
from .percent import whole_percent

ENGINE = "Unleash client API features (version 2), one payload per phase"
_BUILT_IN = {"userId", "sessionId", "random"}


def stickiness(plan: CohortPlan) -> str:
    return plan.bucketing.attribute


def segment_definition(plan: CohortPlan, seg: Segment, ident: int) -> dict[str, Any]:
    if seg.is_rule:
        assert seg.attribute is not None
        constraint = {
            "contextName": rule_field(seg.attribute),
            "operator": "NOT_IN" if seg.negate else "IN",
            "values": list(seg.values),
            "caseInsensitive": False,
            "inverted": False,
        }
    else:
        field = "userId" if stickiness(plan) == "random" else stickiness(plan)
        constraint = {
            "contextName": field,
            "operator": "IN",
            "values": [],
            "caseInsensitive": False,
            "inverted": False,
        }
    return {"id": ident, "name": seg.key, "description": seg.text, "constraints": [constraint]}


def _strategies(plan: CohortPlan, phase: PhaseCohort, ids: dict[str, int], rollout: int) -> list[dict]:
    group = plan.bucketing.group
    out: list[dict[str, Any]] = []
    if phase.by_percentage:
        out.append(
            {
                "name": "flexibleRollout",
                "parameters": {"rollout": str(rollout), "stickiness": stickiness(plan), "groupId": group},
                "constraints": [],
                "segments": [],
            }
        )
    for seg in phase.segments:
        out.append(
            {
                "name": "flexibleRollout",
                "parameters": {"rollout": "100", "stickiness": "default", "groupId": group},
                "constraints": [],
                "segments": [ids[seg.key]],
            }
        )
    return out


def export(plan: CohortPlan, warn: Warnings) -> tuple[list[ExportDocument], list[str]]:
    ids = {seg.key: i for i, seg in enumerate(plan.segments, start=1)}
    placeholder_warnings(plan, warn, "an Unleash segment")
    if plan.bucketing.attribute == "random":
        warn.add(
            "export_random_stickiness",
            "phases[].targeting.stickiness",
            "Unleash's 'random' stickiness draws anew on every evaluation, so no user keeps the feature "
            "and cohorts cannot nest; hash on userId (or sessionId) instead",
        )
    docs = []
    for phase in plan.phases:
        rollout = whole_percent(
            phase.percent, engine="Unleash", where=f"{phase.field}.percent", name=phase.name, warn=warn
        )
        used = {seg.key for seg in phase.segments}
        strategies = _strategies(plan, phase, ids, rollout)
        features = [
            {
                "name": key,
                "description": description or "",
                "type": "release",
                "project": "default",
                # An enabled toggle without strategies is on for everyone: never export that by accident.
                "enabled": bool(strategies),
                "stale": False,
                "impressionData": False,
                "strategies": strategies,
                "variants": [],
            }
            for key, description in plan.flags
        ]
        content = {
            "version": 2,
            "features": features,
            "segments": [segment_definition(plan, s, ids[s.key]) for s in plan.segments if s.key in used],
        }
        docs.append(
            ExportDocument(
                name=plan.file_name(phase),
                phase=phase.name,
                percent=phase.percent,
                kind="Unleash client features payload",
                content=content,
            )
        )
    notes = [
        f"Every strategy hashes in groupId '{plan.bucketing.group}' on '{stickiness(plan)}': keep both when "
        "you edit a phase, or the cohorts stop nesting.",
        "Apply a phase by setting each toggle's strategies (and the segments) in the Unleash admin UI or "
        "API; offline clients can bootstrap from the payload as it is.",
    ]
    if stickiness(plan) not in _BUILT_IN:
        notes.append(f"Define the context field '{stickiness(plan)}' in Unleash and send it from the SDKs.")
    return docs, notes
