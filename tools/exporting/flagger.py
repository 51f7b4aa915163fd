"""Flagger: a ``Canary`` (``stepWeights``, ``interval``, ``threshold``, ``metrics``) and its
``MetricTemplate``s.

Flagger moves to the next weight every ``interval`` while its metric checks pass and rolls back after
``threshold`` failed checks. The export checks every minute, so the halt threshold's conditions are the
metrics (``thresholdRange`` bounds the good state) and ``threshold`` is the shortest sustained window
in minutes. Phases last hours, so each weight increase waits on a ``confirm-traffic-increase`` webhook
(the go/no-go, opened when the phase's time is up and its gate says go) and the promotion on a
``confirm-promotion`` webhook. A statistical gate decided once at a phase's end has no place in checks
that run every interval: it is reported as not exported and left to that webhook.
"""

from __future__ import annotations

from typing import Any

from ..common import MetricCondition
from ..rollout import RolloutFields
from .k8s import (
    ANNOTATION,
    PROMETHEUS,
    Names,
    gate_checks,
    halt_query,
    metric_name,
    names,
    warn_segments_and_stickiness,
)
from .model import ExportDocument, Warnings
from .percent import whole_percent

ENGINE = "Flagger (flagger.app/v1beta1): a Canary and its MetricTemplates"
API = "flagger.app/v1beta1"
GATE_URL = "http://flagger-loadtester.test/gate/check"


def _range(c: MetricCondition, i: int, warn: Warnings) -> dict[str, float]:
    """The good state Flagger checks: the halt condition's complement (bounds are inclusive)."""
    if c.comparator in (">=", "<="):
        warn.add(
            "export_halt_bound_inclusive",
            f"halt_threshold[{i}].comparator",
            f"Flagger's thresholdRange includes its bound, so '{c.describe()}' halts only beyond "
            f"{c.threshold:g}, not at it; use > or < in the plan, or move the threshold",
        )
    return {"max": c.threshold} if c.comparator in (">", ">=") else {"min": c.threshold}


def _threshold(spec: RolloutFields, warn: Warnings) -> int:
    windows = [c.window_minutes or 1 for c in spec.halt_threshold]
    if not windows:
        return 1
    if len(set(windows)) > 1:
        warn.add(
            "export_halt_windows_merged",
            "halt_threshold",
            f"Flagger has one failed-check threshold for all metrics; the sustained windows "
            f"{sorted(set(windows))} min are exported as the shortest, {min(windows)} checks of 1 minute",
        )
    return min(windows)


def _weights(spec: RolloutFields, warn: Warnings) -> list[int]:
    weights: list[int] = []
    for i, p in enumerate(spec.phases):
        if p.percent >= 100:
            continue
        w = whole_percent(p.percent, engine="Flagger", where=f"phases[{i}].percent", name=p.name, warn=warn)
        if weights and w <= weights[-1]:
            warn.add(
                "export_phase_merged",
                f"phases[{i}].percent",
                f"Flagger's stepWeights must rise; phase {i + 1} '{p.name}' at {w}% repeats the step before "
                "and is merged into it (hold it longer at the go/no-go webhook instead)",
            )
            continue
        weights.append(w)
    if not weights:
        # Flagger without step weights steps by stepWeight, 0 by default: the Canary would never move
        warn.add(
            "export_no_canary_steps",
            "phases",
            "the plan has no phase below 100%, so there is no canary step: exported as one step to 100% "
            "after the checks pass. Add a smaller first phase (e.g. 5%) to canary the release",
        )
        weights.append(100)
    return weights


def export(spec: RolloutFields, version: str, warn: Warnings) -> tuple[list[ExportDocument], list[str]]:
    name, workload = names(version)
    warn_segments_and_stickiness(spec, "Flagger", warn, affinity=True)
    for check in gate_checks(spec):
        warn.add(
            "export_gate_unsupported",
            f"phases[{check.index}].gate",
            f"Flagger checks metrics at every interval of every step, so the gate on {check.gate.metric} at "
            f"the end of phase {check.index + 1} '{check.phase}' is not exported: judge it with "
            "evaluate_gate and open the confirm-traffic-increase webhook on a go",
        )
    targeted = [i for i, p in enumerate(spec.phases) if p.metric_targets]
    if targeted:
        warn.add(
            "export_targets_unsupported",
            f"phases[{targeted[0]}].metric_targets",
            "a failed Flagger metric check counts toward rolling back, but a missed metric target means "
            "hold, not roll back, and Flagger has one range per metric for every step: the metric targets "
            f"of phases {', '.join(str(i + 1) for i in targeted)} are not exported as checks. Judge them "
            "with get_release_status and open the confirm-traffic-increase webhook when they are met",
        )
    templates: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    resources, checked = Names(), Names()  # two conditions on one metric, or two that slug alike
    resources.take(name)
    for i, c in enumerate(spec.halt_threshold):
        tname = resources.take(name, metric_name(c.metric))
        templates.append(
            {
                "apiVersion": API,
                "kind": "MetricTemplate",
                "metadata": {"name": tname, "annotations": {f"{ANNOTATION}/release": version}},
                "spec": {
                    "provider": {"type": "prometheus", "address": PROMETHEUS},
                    "query": halt_query(c.metric, flagger=True),
                },
            }
        )
        metrics.append(
            {
                "name": checked.take(metric_name(c.metric)),
                "templateRef": {"name": tname},
                "thresholdRange": _range(c, i, warn),
                "interval": "1m",
            }
        )
    if not metrics:
        warn.add(
            "export_no_halt_threshold",
            "halt_threshold",
            "the plan has no halt threshold, so the Canary checks no metric and never rolls back by itself; "
            "add halt_threshold (the rollback's automatic triggers)",
        )
    analysis: dict[str, Any] = {
        "interval": "1m",
        "threshold": _threshold(spec, warn),
        "stepWeights": _weights(spec, warn),
        "metrics": metrics,
        "webhooks": [
            {"name": "go-no-go", "type": "confirm-traffic-increase", "url": GATE_URL},
            {"name": "promote", "type": "confirm-promotion", "url": GATE_URL},
        ],
    }
    if any(
        p.targeting and p.targeting.stickiness and p.targeting.stickiness.lower() != "random"
        for p in spec.phases
    ):
        analysis["sessionAffinity"] = {"cookieName": "flagger-cookie", "maxAge": 86400}
    canary = {
        "apiVersion": API,
        "kind": "Canary",
        "metadata": {"name": name, "annotations": {f"{ANNOTATION}/release": version}},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
            "service": {"port": 80},
            "analysis": analysis,
        },
    }
    docs = [ExportDocument(name=f"{name}.canary.json", kind="Canary", content=canary)]
    docs += [
        ExportDocument(name=f"{t['metadata']['name']}.metrictemplate.json", kind="MetricTemplate", content=t)
        for t in templates
    ]
    hours = ", ".join(f"{p.duration_hours:g} h" for p in spec.phases if p.duration_hours is not None)
    notes = [
        f"Set spec.targetRef.name (now '{workload}'), spec.service.port, and each MetricTemplate's address "
        f"(now {PROMETHEUS}) and query (placeholders returning the metric in the plan's unit).",
        f"Each step waits on the go/no-go webhook ({GATE_URL}, flagger-loadtester's gate): open it when the "
        f"phase's time is up ({hours}) and its go rules hold; close it again for the next phase.",
    ]
    return docs, notes
