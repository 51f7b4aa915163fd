"""What the engine tests share: the plans they export, the synthetic users, and the two properties
every feature-flag engine must show on its own evaluations: each phase's share within one percentage
point of the plan, and cohorts that nest (everyone on at a phase is on at every later phase)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.exporting import ExportResult, export
from release_planner.tools.rollout import RolloutSpec, Targeting

USERS = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://users.example.com/{i}")) for i in range(20_000)]
TOLERANCE_POINTS = 1.0


def seed_plan() -> RolloutSpec:
    """The project's v2.5.0 example: 1, 5, 20, 50, 100% by userId, with an employees whitelist and a
    beta_tester=true segment."""
    return RolloutSpec.model_validate(rollout_example.ARGS)


def fine_plan() -> RolloutSpec:
    """Shares that are not whole percentages (LaunchDarkly and flagd take them as they are)."""
    args = copy.deepcopy(rollout_example.ARGS)
    for phase, percent in zip(args["phases"], (0.5, 2.5, 12.5, 33.3, 100), strict=True):
        phase["percent"] = percent
        phase.pop("gate", None)
        phase.pop("min_sample", None)
    return RolloutSpec.model_validate(args)


def exported(spec: RolloutSpec, target: str) -> ExportResult:
    return export(spec, target)


Evaluate = Callable[[dict[str, Any], str, Sequence[str]], set[str]]
"""(phase document, flag key, user ids) -> the users the engine turns the flag on for."""


def shares_and_nesting(result: ExportResult, evaluate: Evaluate, expect: Sequence[float]) -> list[float]:
    """Evaluate the first flag for every user at every phase; assert the share and the nesting, and
    return the shares in percent (for the report)."""
    flag = first_flag(result)
    shares: list[float] = []
    before: set[str] = set()
    for doc, percent in zip(result.documents, expect, strict=True):
        on = evaluate(doc.content, flag, USERS)
        share = 100 * len(on) / len(USERS)
        shares.append(share)
        assert abs(share - percent) <= TOLERANCE_POINTS, (doc.phase, share, percent)
        dropped = before - on
        assert not dropped, f"{len(dropped)} users on before {doc.phase!r} are off in it"
        before = on
    return shares


def first_flag(result: ExportResult) -> str:
    doc = result.documents[0].content
    if "features" in doc:
        return str(doc["features"][0]["name"])
    return str(next(iter(doc["flags"])))


def every_flag(result: ExportResult) -> list[str]:
    doc = result.documents[0].content
    if "features" in doc:
        return [f["name"] for f in doc["features"]]
    return list(doc["flags"])


def unusual_plan(
    stickiness: str = "tenant.id", percents: Sequence[float] = (0.5, 33.333, 99.99, 100)
) -> RolloutSpec:
    """Unlike the example: a pre-release version with build metadata, three flags, a dotted custom
    attribute, shares that are not whole, a named whitelist whose name the slug drops (``社員``), a
    rule in a script outside ASCII, and a whitelist of user ids written as a rule."""
    segments = ["userId in alice, bob", "社員", "région=eu", "plan=pro"]
    phases = [
        {
            "name": f"Étape {i + 1}",
            "audience": "tenants",
            "percent": percent,
            "targeting": {"stickiness": stickiness, "segments": segments[: i + 1]},
            "duration_hours": 24 if i < len(percents) - 1 else None,
            "decision_owner": "Zoë Ōkawa (SRE)",
            "metric_targets": [
                {"metric": "error_rate", "comparator": "<", "threshold": 1, "window_minutes": 60}
            ],
        }
        for i, percent in enumerate(percents)
    ]
    return RolloutSpec.model_validate(
        {
            "version": "2.0.0-rc.1+build.5",
            "approach": "feature_flag",
            "start": {"at": "2026-03-16T10:00", "timezone": "UTC"},
            "flags": [{"name": "checkout.v2"}, {"name": "search-ranking"}, {"name": "dark_mode"}],
            "phases": phases,
        }
    )


def alike_plan() -> RolloutSpec:
    """Two segments with one slug: ``beta_tester=true`` from phase 1 and ``beta-tester=true`` (another
    attribute) added in phase 3."""
    spec = unusual_plan(stickiness="userId", percents=(0.5, 1, 2, 100)).model_copy(deep=True)
    both = ["beta_tester=true", "beta-tester=true"]
    for i, segments in enumerate((both[:1], both[:1], both, both)):
        targeting = spec.phases[i].targeting
        assert targeting is not None
        targeting.segments = segments
    return spec


def _condition(metric: str, comparator: str, threshold: float, window: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "metric": metric,
        "comparator": comparator,
        "threshold": threshold,
        "unit": "count",
    }
    if window is not None:
        out["window_minutes"] = window
    return out


def crowded_plan() -> RolloutSpec:
    """For the Kubernetes engines: a long pre-release version, two halt conditions on one metric,
    metrics that slug alike (error.rate, error_rate) or not at all (延迟), two targets on one metric in
    one phase, a gate and a target on one metric, thresholds ``:g`` would round (2500001.5, 1e-05)
    and a 99.99% phase."""
    halt = [
        _condition("error_rate", ">", 5, 5),
        _condition("error_rate", ">", 2, 30),
        _condition("error.rate", ">=", 2500001.5, 10),
        _condition("延迟", "<", 0.00001),
    ]
    targets = [
        [_condition("error_rate", "<", 1, 60), _condition("error_rate", "<", 3), _condition("延迟", ">", 3)],
        [_condition("error.rate", "<", 2500001.5), _condition("conversion_rate", ">", 1.5)],
        [],
    ]
    gate = {"type": "non_inferiority", "metric": "conversion_rate", "margin": 0.25, "baseline_rate": 3.1}
    phases = []
    for i, percent in enumerate((0.5, 99.99, 100)):
        phase: dict[str, Any] = {
            "name": f"Phase {i + 1}",
            "audience": "traffic",
            "percent": percent,
            "duration_hours": 1.5 if i < 2 else None,
            "metric_targets": targets[i],
            "decision_owner": "Zoë Ōkawa (SRE)",
        }
        if i == 1:
            phase["gate"] = gate
        phases.append(phase)
    return RolloutSpec.model_validate(
        {
            "version": "2.0.0-rc.1+build.5." + "long" * 11,
            "approach": "canary",
            "start": {"at": "2026-03-16T10:00", "timezone": "UTC"},
            "phases": phases,
            "halt_threshold": halt,
        }
    )


def dropping_plan() -> RolloutSpec:
    """A plan whose cohorts do not nest as written (plan_rollout warns, and stores it): phase 2 drops
    phase 1's beta testers, phase 3 is segment-only after a percentage, the last phase is 100% of a
    segment."""
    spec = unusual_plan(stickiness="userId", percents=(1, 5, 20, 100)).model_copy(deep=True)
    written: list[dict[str, Any]] = [
        {"stickiness": "userId", "segments": ["beta_tester=true"]},
        {"stickiness": "userId"},
        {"segments": ["employees"]},
        {"segments": ["employees"]},
    ]
    for phase, targeting in zip(spec.phases, written, strict=True):
        phase.targeting = Targeting.model_validate(targeting)
    return spec


def nesting_with_members(result: ExportResult, evaluate: Evaluate) -> None:
    """Everyone on at a phase is on at every later phase: users at large and beta testers alike."""
    flag = first_flag(result)
    before: set[str] = set()
    for doc in result.documents:
        on = evaluate(doc.content, flag, USERS[:4000])
        assert not before - on, f"{len(before - on)} users on before {doc.phase!r} are off in it"
        before = on
