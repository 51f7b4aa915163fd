"""The Flagger export's structure and values.

Flagger's published CRD schema is not carried by any package the registries reachable here serve
(npm has no ``@kubernetes-models/flagger``, PyPI no package shipping ``canaries.flagger.app``), and
files from public repositories may not be vendored. So the documents are checked against the
field types Flagger documents for ``flagger.app/v1beta1`` (written here, closed to unknown fields for
the parts the export writes), and their values against the plan.
"""

from __future__ import annotations

import copy
from typing import Any

from engine_plans import crowded_plan, exported, seed_plan
from jsonschema import Draft7Validator

from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.rollout import RolloutSpec

_DURATION = {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h)$"}
_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
_META = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": _NAME, "namespace": _NAME, "annotations": {"type": "object"}},
    "additionalProperties": False,
}
_WEBHOOK_TYPES = [
    "confirm-rollout",
    "pre-rollout",
    "rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
    "post-rollout",
    "rollback",
    "event",
]
CANARY = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "flagger.app/v1beta1"},
        "kind": {"const": "Canary"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["targetRef", "service", "analysis"],
            "additionalProperties": False,
            "properties": {
                "targetRef": {
                    "type": "object",
                    "required": ["apiVersion", "kind", "name"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"enum": ["Deployment", "DaemonSet", "Service"]},
                        "name": _NAME,
                    },
                    "additionalProperties": False,
                },
                "service": {
                    "type": "object",
                    "required": ["port"],
                    "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
                },
                "analysis": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["interval", "threshold"],
                    "properties": {
                        "interval": _DURATION,
                        "threshold": {"type": "integer", "minimum": 1},
                        "stepWeights": {
                            "type": "array",
                            "items": {"type": "integer", "minimum": 0, "maximum": 100},
                        },
                        "metrics": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "additionalProperties": False,
                                "properties": {
                                    "name": {"type": "string"},
                                    "interval": _DURATION,
                                    "thresholdRange": {
                                        "type": "object",
                                        "minProperties": 1,
                                        "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
                                        "additionalProperties": False,
                                    },
                                    "templateRef": {
                                        "type": "object",
                                        "required": ["name"],
                                        "properties": {"name": _NAME, "namespace": _NAME},
                                        "additionalProperties": False,
                                    },
                                },
                            },
                        },
                        "webhooks": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name", "url"],
                                "additionalProperties": False,
                                "properties": {
                                    "name": {"type": "string"},
                                    "type": {"enum": _WEBHOOK_TYPES},
                                    "url": {"type": "string", "format": "uri"},
                                },
                            },
                        },
                        "sessionAffinity": {
                            "type": "object",
                            "required": ["cookieName"],
                            "properties": {"cookieName": {"type": "string"}, "maxAge": {"type": "integer"}},
                            "additionalProperties": False,
                        },
                    },
                },
            },
        },
    },
}
METRIC_TEMPLATE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "flagger.app/v1beta1"},
        "kind": {"const": "MetricTemplate"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["provider", "query"],
            "additionalProperties": False,
            "properties": {
                "provider": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "type": {"enum": ["prometheus", "datadog", "cloudwatch", "newrelic", "graphite"]},
                        "address": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
                "query": {"type": "string", "minLength": 1},
            },
        },
    },
}


def problems(doc: dict[str, Any]) -> list[str]:
    schema = CANARY if doc["kind"] == "Canary" else METRIC_TEMPLATE
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(doc)
    ]


def result(args: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    return exported(RolloutSpec.model_validate(args) if args else seed_plan(), "flagger")


def test_the_canary_and_its_metric_templates_have_flagger_s_structure() -> None:
    docs = [d.content for d in result().documents]
    assert [d["kind"] for d in docs] == ["Canary"] + ["MetricTemplate"] * 4
    for doc in docs:
        assert problems(doc) == [], doc["metadata"]["name"]
    refs = {m["templateRef"]["name"] for m in docs[0]["spec"]["analysis"]["metrics"]}
    assert refs == {d["metadata"]["name"] for d in docs[1:]}


def test_the_structure_check_catches_a_misspelt_or_mistyped_field() -> None:
    canary = result().documents[0].content
    misspelt = copy.deepcopy(canary)
    misspelt["spec"]["analysis"]["stepWeight"] = [1, 5]
    mistyped = copy.deepcopy(canary)
    mistyped["spec"]["analysis"]["threshold"] = "5"
    assert problems(misspelt) and problems(mistyped)


def test_weights_threshold_and_metrics_are_the_plan_s() -> None:
    analysis = result().documents[0].content["spec"]["analysis"]
    assert analysis["stepWeights"] == [1, 5, 20, 50]
    assert analysis["interval"] == "1m" and analysis["threshold"] == 5  # shortest sustained window, 5 min
    assert {m["name"]: m["thresholdRange"] for m in analysis["metrics"]} == {
        "error-rate": {"max": 5},
        "latency-p99": {"max": 2},
        "payment-failure-rate": {"max": 2},
        "db-pool-utilization": {"max": 90},
    }
    assert [w["type"] for w in analysis["webhooks"]] == ["confirm-traffic-increase", "confirm-promotion"]


def test_what_flagger_cannot_express_is_reported() -> None:
    codes = {w.code: w for w in result().warnings}
    assert codes["export_gate_unsupported"].field == "phases[2].gate"
    assert codes["export_halt_windows_merged"].field == "halt_threshold"
    assert codes["export_segments_unsupported"].field == "phases[0].targeting.segments"
    # a missed target holds the phase; a Flagger check failure counts toward a rollback
    targets = codes["export_targets_unsupported"]
    assert targets.field == "phases[0].metric_targets"
    assert "phases 1, 2, 3, 4, 5" in targets.message and "confirm-traffic-increase" in targets.message
    metrics = result().documents[0].content["spec"]["analysis"]["metrics"]
    assert {m["name"] for m in metrics} == {
        "error-rate",
        "latency-p99",
        "payment-failure-rate",
        "db-pool-utilization",
    }


def test_a_repeated_share_is_merged_with_a_warning_so_step_weights_rise() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["phases"][2]["percent"] = 5
    args["phases"][2].pop("gate")
    args["phases"][2].pop("min_sample")
    out = result(args)
    assert out.documents[0].content["spec"]["analysis"]["stepWeights"] == [1, 5, 50]
    assert "export_phase_merged" in {w.code for w in out.warnings}


def test_a_crowded_plan_gets_unique_names_that_flagger_accepts() -> None:
    out = exported(crowded_plan(), "flagger")
    docs = [d.content for d in out.documents]
    for doc in docs:
        assert problems(doc) == [], doc["metadata"]["name"]
    names = [d["metadata"]["name"] for d in docs]
    assert len(names) == len(set(names)) == 5
    analysis = docs[0]["spec"]["analysis"]
    metrics = [m["name"] for m in analysis["metrics"]]
    assert len(metrics) == len(set(metrics)) == 4
    assert {m["templateRef"]["name"] for m in analysis["metrics"]} == set(names[1:])
    assert analysis["stepWeights"] == [1, 99]  # 99.99% stays a step below the promotion


def test_a_plan_straight_to_100_percent_still_moves() -> None:
    """Without step weights Flagger steps by stepWeight, 0 unless set: the Canary would never move."""
    args = copy.deepcopy(rollout_example.ARGS)
    args["phases"] = args["phases"][-1:]
    out = result(args)
    assert out.documents[0].content["spec"]["analysis"]["stepWeights"] == [100]
    assert "export_no_canary_steps" in {w.code for w in out.warnings}
    assert problems(out.documents[0].content) == []
