"""OpenFeature flagd: a flag definition file with ``fractional`` targeting.

Each phase is one file. Every flag is boolean (variants ``on``/``off``, default ``off``). The phase's
share is a ``fractional`` split with weights in 1/100,000, ``on`` first, bucketing on
``group:value`` (the same string Unleash hashes, one group for the whole rollout), so the users in at
5% are still in at 20%. Users without the hashed attribute stay off. Segments are shared
``$evaluators``, checked before the split: an ``attribute=value`` segment as an ``in`` test (on the
targeting key when the attribute spells the user's id), a named whitelist as an empty list of
targeting keys to fill in. A segment whose JSON needs an escape (a name or value outside ASCII, a
quote, a backslash) is written inline instead: providers substitute ``$ref`` textually, and the
Python provider then reads ``\\u00e9`` as a bad regular-expression escape and rejects the whole file.
JsonLogic reads a dot in ``var`` as a path, so an attribute named ``tenant.id`` is looked up as the
field ``id`` of ``tenant``; the export says so.
"""

from __future__ import annotations

import json
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

ENGINE = "flagd flag definition file (OpenFeature), one file per phase"
SCHEMA = "https://flagd.dev/schema/v0/flags.json"
SCALE = 100_000


def variable(plan: CohortPlan) -> str:
    """The evaluation-context field hashed: the targeting key for a user id, else the plan's field."""
    attribute = plan.bucketing.attribute
    return "targetingKey" if attribute in ("userId", "random") else attribute


def _split(plan: CohortPlan, percent: float) -> dict[str, Any]:
    on = max(0, min(SCALE, round(percent * SCALE / 100)))
    value = {"var": variable(plan)}
    fractional = {
        "fractional": [{"cat": [plan.bucketing.group, ":", value]}, ["on", on], ["off", SCALE - on]]
    }
    return {"if": [value, fractional, "off"]}


def _evaluator(plan: CohortPlan, seg: Segment) -> dict[str, Any]:
    if seg.attribute is not None:
        name = "targetingKey" if rule_field(seg.attribute) == "userId" else seg.attribute
        test: dict[str, Any] = {"in": [{"var": name}, typed_values(seg.values)]}
        return {"!": test} if seg.negate else test
    return {"in": [{"var": variable(plan)}, []]}


def _shared(plan: CohortPlan, seg: Segment) -> bool:
    """Whether the segment can be a shared ``$evaluators`` entry: its JSON has no escape in it."""
    return "\\" not in json.dumps(_evaluator(plan, seg))


def _targeting(plan: CohortPlan, phase: PhaseCohort) -> dict[str, Any]:
    rest: Any = _split(plan, phase.percent) if phase.by_percentage else "off"
    if not phase.segments:
        return rest if isinstance(rest, dict) else {"if": [False, "on", "off"]}
    member = [
        {"$ref": f"segment-{seg.key}"} if _shared(plan, seg) else _evaluator(plan, seg)
        for seg in phase.segments
    ]
    test = member[0] if len(member) == 1 else {"or": member}
    return {"if": [test, "on", rest]}


def export(plan: CohortPlan, warn: Warnings) -> tuple[list[ExportDocument], list[str]]:
    placeholder_warnings(plan, warn, "a flagd $evaluators entry")
    if plan.bucketing.attribute == "random":
        warn.add(
            "export_random_stickiness_unsupported",
            "phases[].targeting.stickiness",
            "flagd's fractional split is always sticky; exported hashing the targeting key instead",
        )
    dotted = [("phases[].targeting.stickiness", variable(plan))] + [
        (f"{p.field}.targeting.segments", s.attribute) for p in plan.phases for s in p.segments if s.attribute
    ]
    for where, name in dotted:
        if "." in name:
            warn.add(
                "export_attribute_path",
                where,
                f"flagd's JsonLogic reads the attribute {name!r} as a path, not as one name with a dot: a "
                f"context that sends {name!r} flat never matches. Send it nested ("
                f"{' inside '.join(reversed(name.split('.')))}) or name the attribute without dots",
            )
    docs = []
    for phase in plan.phases:
        used = [seg for seg in plan.segments if seg in phase.segments and _shared(plan, seg)]
        content: dict[str, Any] = {"$schema": SCHEMA}
        if used:
            content["$evaluators"] = {f"segment-{seg.key}": _evaluator(plan, seg) for seg in used}
        content["flags"] = {
            key: {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "off",
                "targeting": _targeting(plan, phase),
                **({"metadata": {"description": text}} if text else {}),
            }
            for key, text in plan.flags
        }
        docs.append(
            ExportDocument(
                name=plan.file_name(phase),
                phase=phase.name,
                percent=phase.percent,
                kind="flagd flag definitions",
                content=content,
            )
        )
    notes = [
        f"Every split hashes '{plan.bucketing.group}:' + {variable(plan)}: keep the group when you edit a "
        "phase, or the cohorts stop nesting.",
        "Apply a phase by replacing the flag file flagd (or an in-process provider) reads.",
    ]
    return docs, notes
