"""Argo Rollouts: a ``Rollout`` with canary steps and an ``AnalysisTemplate`` per gate metric and
per distinct metric target.

Each phase becomes ``setWeight`` (its share), ``pause`` for its duration (``pause: {}``, waiting for
``kubectl argo rollouts promote``, for an open-ended phase), an inline ``analysis`` step when it has a
gate or metric targets (one measurement at the end of the phase: the gate's ``successCondition`` with
the look's confidence passed as an argument, and each target's condition on the worst value over its
sustained window), and ``pause: {}`` when a person owns the go/no-go. A missed target is inconclusive
(``failureCondition: "false"``), which pauses the Rollout: a hold for the go/no-go, not an abort; the
halt threshold's background analysis is what aborts. The last phase at 100% is the promotion itself.
The halt threshold is background analysis over the whole rollout: one metric per condition, checked
every minute, its ``failureCondition`` the threshold and its ``failureLimit`` the sustained window
less one minute.
"""

from __future__ import annotations

from typing import Any

from ..rollout import RolloutFields
from .k8s import (
    ANNOTATION,
    PROMETHEUS,
    GateCheck,
    Names,
    duration,
    failure_limit,
    gate_checks,
    gate_query,
    halt_query,
    metric_name,
    names,
    number,
    target_key,
    target_query,
    warn_segments_and_stickiness,
)
from .model import ExportDocument, Warnings
from .percent import whole_percent

ENGINE = "Argo Rollouts (argoproj.io/v1alpha1): a Rollout and its AnalysisTemplates"
API = "argoproj.io/v1alpha1"


def _template(name: str, version: str, metrics: list[dict], args: list[str], contract: str) -> dict:
    return {
        "apiVersion": API,
        "kind": "AnalysisTemplate",
        "metadata": {
            "name": name,
            "annotations": {f"{ANNOTATION}/release": version, f"{ANNOTATION}/query-returns": contract},
        },
        "spec": {"args": [{"name": a} for a in args], "metrics": metrics},
    }


def _gate_templates(
    checks: list[GateCheck], rollout: str, version: str, resources: Names, metrics: Names
) -> tuple[dict[tuple[str, str], str], list[dict]]:
    """One template per gate metric (and per condition, when phases test one metric differently).
    A phase's templates merge into one analysis, whose metric names must differ: gates and targets
    take theirs from one ``metrics`` scope."""
    names_by_key: dict[tuple[str, str], str] = {}
    docs = []
    for check in checks:
        key = check.template_key()
        if key in names_by_key:
            continue
        name = resources.take(rollout, "gate", metric_name(check.gate.metric))
        names_by_key[key] = name
        metric = {
            "name": metrics.take(metric_name(check.gate.metric)),
            "count": 1,
            "failureLimit": 0,
            "successCondition": check.condition(),
            "provider": {"prometheus": {"address": PROMETHEUS, "query": gate_query(check)}},
        }
        docs.append(_template(name, version, [metric], ["service-name", "confidence"], check.contract()))
    return names_by_key, docs


def _target_templates(
    spec: RolloutFields, rollout: str, version: str, resources: Names, metrics: Names
) -> tuple[dict[int, list[str]], list[dict]]:
    """One template per distinct metric target, and the templates each phase checks at its end."""
    by_key: dict[tuple[str, str, float, int | None], str] = {}
    by_phase: dict[int, list[str]] = {}
    docs = []
    for i, p in enumerate(spec.phases):
        for c in p.metric_targets:
            key = target_key(c)
            if key not in by_key:
                by_key[key] = resources.take(rollout, "target", metric_name(c.metric))
                metric = {
                    # apart from a gate on the same metric, and from the phase's other targets
                    "name": metrics.take(metric_name(c.metric), "target"),
                    "count": 1,
                    "failureLimit": 0,
                    "successCondition": f"result[0] {c.comparator} {number(c.threshold)}",
                    # never failed: a missed target is inconclusive, which pauses (hold, not abort)
                    "failureCondition": "false",
                    "provider": {
                        "prometheus": {"address": PROMETHEUS, "query": target_query(c, flagger=False)}
                    },
                }
                window = f"over the last {c.window_minutes} min" if c.window_minutes else "now"
                contract = f"the worst value of {c.metric} {window} in the plan's unit (percent as 0-100)"
                docs.append(_template(by_key[key], version, [metric], ["service-name"], contract))
            if by_key[key] not in by_phase.setdefault(i, []):
                by_phase[i].append(by_key[key])
    return by_phase, docs


def _halt_template(spec: RolloutFields, name: str, version: str) -> dict | None:
    if not spec.halt_threshold:
        return None
    metrics = []
    taken = Names()  # one metric per condition, two conditions on one metric apart
    for c in spec.halt_threshold:
        metrics.append(
            {
                "name": taken.take(metric_name(c.metric)),
                "interval": "1m",
                "failureCondition": f"result[0] {c.comparator} {number(c.threshold)}",
                "failureLimit": failure_limit(c),
                "provider": {
                    "prometheus": {"address": PROMETHEUS, "query": halt_query(c.metric, flagger=False)}
                },
            }
        )
    contract = "each metric's current value in the plan's unit (percent as 0-100)"
    return _template(name, version, metrics, ["service-name"], contract)


def export(spec: RolloutFields, version: str, warn: Warnings) -> tuple[list[ExportDocument], list[str]]:
    rollout, workload = names(version)
    warn_segments_and_stickiness(spec, "Argo Rollouts", warn, affinity=False)
    checks = {c.index: c for c in gate_checks(spec)}
    resources, metrics = Names(), Names()
    halt_name = resources.take(rollout, "halt")
    template_names, gate_docs = _gate_templates(list(checks.values()), rollout, version, resources, metrics)
    targets, target_docs = _target_templates(spec, rollout, version, resources, metrics)
    steps: list[dict[str, Any]] = []
    last = len(spec.phases) - 1
    for i, p in enumerate(spec.phases):
        check = checks.get(i)
        if i == last and p.percent >= 100 and p.duration is None and check is None:
            if p.metric_targets:
                warn.add(
                    "export_final_targets_unsupported",
                    f"phases[{i}].metric_targets",
                    f"Argo Rollouts stops analysing once it promotes to 100%, so the targets of phase "
                    f"{i + 1} '{p.name}' are not exported; watch them with get_release_status, or give "
                    "the phase a duration_hours so the Rollout checks them before it promotes",
                )
            break  # the end of the steps is the promotion to 100%
        weight = whole_percent(
            p.percent, engine="Argo Rollouts", where=f"phases[{i}].percent", name=p.name, warn=warn
        )
        steps.append({"setWeight": weight})
        minutes = round(p.duration.total_seconds() / 60) if p.duration is not None else None
        steps.append({"pause": {"duration": duration(minutes)}} if minutes else {"pause": {}})
        checked = [template_names[check.template_key()]] if check is not None else []
        checked += targets.get(i, [])
        if checked:
            args = [{"name": "service-name", "value": rollout}]
            if check is not None:
                args.append({"name": "confidence", "value": check.confidence_text})
            templates = [{"templateName": name} for name in checked]
            steps.append({"analysis": {"templates": templates, "args": args}})
        if p.decision_owner and i < last and minutes:
            steps.append({"pause": {}})
    canary: dict[str, Any] = {"steps": steps}
    halt = _halt_template(spec, halt_name, version)
    if halt is not None:
        canary["analysis"] = {
            "templates": [{"templateName": halt_name}],
            "args": [{"name": "service-name", "value": rollout}],
        }
    else:
        warn.add(
            "export_no_halt_threshold",
            "halt_threshold",
            "the plan has no halt threshold, so the Rollout has no background analysis and never aborts "
            "by itself; add halt_threshold (the rollback's automatic triggers)",
        )
    doc = {
        "apiVersion": API,
        "kind": "Rollout",
        "metadata": {"name": rollout, "annotations": {f"{ANNOTATION}/release": version}},
        "spec": {
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
            "strategy": {"canary": canary},
        },
    }
    docs = [ExportDocument(name=f"{rollout}.rollout.json", kind="Rollout", content=doc)]
    for t in ([halt] if halt else []) + gate_docs + target_docs:
        docs.append(
            ExportDocument(
                name=f"{t['metadata']['name']}.analysistemplate.json", kind="AnalysisTemplate", content=t
            )
        )
    notes = [
        f"Set spec.workloadRef.name to your Deployment (now '{workload}') and each template's Prometheus "
        f"address (now {PROMETHEUS}) and query: the queries are placeholders, and each template's "
        f"annotation {ANNOTATION}/query-returns says what its query must return.",
        "Without a traffic router (trafficRouting) setWeight scales replicas, so shares are approximate.",
        f"A pause without a duration waits for `kubectl argo rollouts promote {rollout}` (the go/no-go).",
    ]
    return docs, notes
