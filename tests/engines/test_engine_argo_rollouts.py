"""The Argo Rollouts export validates against Argo Rollouts' published CRD schemas (see crd_schemas),
and its steps, analysis and limits are the plan's."""

from __future__ import annotations

import copy
import re
from typing import Any

from crd_schemas import errors
from engine_plans import crowded_plan, exported, seed_plan

from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.exporting.k8s import gate_checks
from release_planner.tools.rollout import RolloutSpec


def documents(spec: RolloutSpec | None = None) -> list[dict[str, Any]]:
    return [d.content for d in exported(spec or seed_plan(), "argo_rollouts").documents]


def test_the_rollout_and_every_analysis_template_validate_against_the_crds() -> None:
    docs = documents()
    # the Rollout, the halt, one gate, and one per distinct phase metric target
    assert [d["kind"] for d in docs] == ["Rollout"] + ["AnalysisTemplate"] * 15
    for doc in docs:
        assert errors(doc["kind"], doc) == [], doc["metadata"]["name"]


def test_the_schema_rejects_what_kubectl_would() -> None:
    rollout = documents()[0]
    bad_weight = copy.deepcopy(rollout)
    bad_weight["spec"]["strategy"]["canary"]["steps"][0] = {"setWeight": "1%"}
    unknown = copy.deepcopy(rollout)
    unknown["spec"]["strategy"]["canary"]["steps"][0] = {"setWeigth": 1}
    bad_name = copy.deepcopy(rollout)
    bad_name["metadata"]["name"] = 5
    assert errors("Rollout", bad_weight)
    assert errors("Rollout", unknown)
    assert errors("Rollout", bad_name)
    template = documents()[1]
    misspelt = copy.deepcopy(template)
    misspelt["spec"]["metrics"][0]["provider"]["prometheus"]["qurey"] = "up"
    no_provider = copy.deepcopy(template)
    del no_provider["spec"]["metrics"][0]["provider"]
    assert errors("AnalysisTemplate", misspelt)
    assert errors("AnalysisTemplate", no_provider)


def _analysis(*templates: str, confidence: str | None = None) -> dict[str, Any]:
    args = [{"name": "service-name", "value": "release-2-5-0"}]
    if confidence:
        args.append({"name": "confidence", "value": confidence})
    names = [{"templateName": f"release-2-5-0-{t}"} for t in templates]
    return {"analysis": {"templates": names, "args": args}}


def test_the_steps_are_the_phases_shares_durations_checks_and_go_no_go_pauses() -> None:
    steps = documents()[0]["spec"]["strategy"]["canary"]["steps"]
    assert steps == [
        {"setWeight": 1},
        {"pause": {"duration": "24h"}},
        _analysis(
            "target-error-rate",
            "target-payment-success-rate",
            "target-search-latency-p95",
            "target-websocket-connection-duration",
        ),
        {"pause": {}},
        {"setWeight": 5},
        {"pause": {"duration": "48h"}},
        _analysis("target-error-rate-2", "target-payment-failure-rate"),
        {"pause": {}},
        {"setWeight": 20},
        {"pause": {"duration": "96h"}},
        _analysis(
            "gate-conversion-rate",
            "target-error-rate-3",
            "target-payment-disputes",
            "target-elasticsearch-cpu",
            "target-elasticsearch-memory",
            confidence="0.95",
        ),
        {"pause": {}},
        {"setWeight": 50},
        {"pause": {"duration": "48h"}},
        _analysis(
            "target-error-rate-3",
            "target-cpu-utilization",
            "target-memory-utilization",
            "target-disk-utilization",
        ),
        {"pause": {}},
    ]


def test_a_metric_target_is_checked_on_its_worst_value_over_its_window() -> None:
    by_name = {d["metadata"]["name"]: d for d in documents()}
    (low_errors,) = by_name["release-2-5-0-target-error-rate"]["spec"]["metrics"]
    assert low_errors["successCondition"] == "result[0] < 0.5"
    # a miss is inconclusive, which pauses the Rollout for the go/no-go instead of aborting it
    assert low_errors["failureCondition"] == "false"
    assert low_errors["provider"]["prometheus"]["query"].startswith("max_over_time(error_rate{")
    assert low_errors["provider"]["prometheus"]["query"].endswith("[60m])")
    (success,) = by_name["release-2-5-0-target-payment-success-rate"]["spec"]["metrics"]
    assert success["successCondition"] == "result[0] > 98"
    assert success["provider"]["prometheus"]["query"].startswith("min_over_time(payment_success_rate{")
    (disputes,) = by_name["release-2-5-0-target-payment-disputes"]["spec"]["metrics"]
    assert disputes["successCondition"] == "result[0] <= 0"
    assert "_over_time" not in disputes["provider"]["prometheus"]["query"]  # one observation


def test_a_gate_and_a_target_on_one_metric_stay_apart_in_the_merged_analysis() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["phases"][2]["metric_targets"].append(
        {"metric": "conversion_rate", "comparator": ">", "threshold": 1.5, "unit": "percent"}
    )
    docs = documents(RolloutSpec.model_validate(args))
    by_name = {d["metadata"]["name"]: d for d in docs}
    step = next(s for s in docs[0]["spec"]["strategy"]["canary"]["steps"] if "gate-conversion" in str(s))
    merged = [
        m["name"]
        for t in step["analysis"]["templates"]
        for m in by_name[t["templateName"]]["spec"]["metrics"]
    ]
    assert "conversion-rate" in merged and "conversion-rate-target" in merged
    assert len(merged) == len(set(merged))
    for doc in docs:
        assert errors(doc["kind"], doc) == [], doc["metadata"]["name"]


def test_the_final_phase_s_targets_are_reported_unless_it_has_a_duration() -> None:
    result = exported(seed_plan(), "argo_rollouts")
    assert "export_final_targets_unsupported" in {w.code for w in result.warnings}
    args = copy.deepcopy(rollout_example.ARGS)
    args["phases"][-1]["duration_hours"] = 24
    result = exported(RolloutSpec.model_validate(args), "argo_rollouts")
    assert "export_final_targets_unsupported" not in {w.code for w in result.warnings}
    steps = result.documents[0].content["spec"]["strategy"]["canary"]["steps"]
    assert steps[-2:] == [
        {"pause": {"duration": "24h"}},
        _analysis("target-error-rate-2", "target-payment-failure-rate"),
    ]


def test_the_gate_template_succeeds_only_above_minus_the_margin() -> None:
    gate = documents()[2]
    (metric,) = gate["spec"]["metrics"]
    assert metric["successCondition"] == "result[0] > -1"
    assert metric["count"] == 1 and metric["failureLimit"] == 0
    assert (
        "lower bound of the one-sided 0.95 confidence interval of conversion_rate"
        in (gate["metadata"]["annotations"]["release-planner.engram.dev/query-returns"])
    )


def test_the_halt_template_fails_on_each_threshold_after_its_sustained_window() -> None:
    rollout, halt = documents()[:2]
    assert rollout["spec"]["strategy"]["canary"]["analysis"]["templates"] == [
        {"templateName": "release-2-5-0-halt"}
    ]
    got = {
        m["name"]: (m["failureCondition"], m["failureLimit"], m["interval"]) for m in halt["spec"]["metrics"]
    }
    assert got == {
        "error-rate": ("result[0] > 5", 4, "1m"),
        "latency-p99": ("result[0] > 2", 9, "1m"),
        "payment-failure-rate": ("result[0] > 2", 4, "1m"),
        "db-pool-utilization": ("result[0] > 90", 4, "1m"),
    }


def test_a_harm_metric_gate_with_alpha_spending_passes_the_look_s_confidence() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["alpha_spending"] = "bonferroni"
    gate = {"type": "non_inferiority", "metric": "error_rate", "margin": 0.5, "higher_is_better": False}
    args["phases"][1]["gate"] = gate
    args["phases"][3]["gate"] = gate
    docs = documents(RolloutSpec.model_validate(args))
    for doc in docs:
        assert errors(doc["kind"], doc) == [], doc["metadata"]["name"]
    steps = docs[0]["spec"]["strategy"]["canary"]["steps"]
    confidences = [
        s["analysis"]["args"][1]["value"] for s in steps if "analysis" in s and "gate-error-rate" in str(s)
    ]
    assert confidences == ["0.975", "0.975"]  # 0.05 split over two looks
    (template,) = [d for d in docs if d["metadata"]["name"].endswith("gate-error-rate")]
    assert template["spec"]["metrics"][0]["successCondition"] == "result[0] < 0.5"


def test_without_a_halt_threshold_there_is_no_background_analysis_and_a_warning() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["halt_threshold"] = []
    result = exported(RolloutSpec.model_validate(args), "argo_rollouts")
    rollout = result.documents[0].content
    assert "analysis" not in rollout["spec"]["strategy"]["canary"]
    assert errors("Rollout", rollout) == []
    assert "export_no_halt_threshold" in {w.code for w in result.warnings}


def test_a_crowded_plan_gets_valid_unique_names_and_exact_thresholds() -> None:
    docs = documents(crowded_plan())
    for doc in docs:
        assert errors(doc["kind"], doc) == [], doc["metadata"]["name"]
    names = [d["metadata"]["name"] for d in docs]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", n) for n in names), names
    by_name = {d["metadata"]["name"]: d for d in docs}
    for doc in docs[1:]:  # the metrics of one template (the halt template has four)
        metrics = [m["name"] for m in doc["spec"]["metrics"]]
        assert len(metrics) == len(set(metrics)), metrics
    steps = docs[0]["spec"]["strategy"]["canary"]["steps"]
    analyses = [s["analysis"]["templates"] for s in steps if "analysis" in s]
    assert len(analyses) == 2
    for templates in analyses:  # a step's templates merge into one AnalysisRun
        merged = [m["name"] for t in templates for m in by_name[t["templateName"]]["spec"]["metrics"]]
        assert len(merged) == len(set(merged)), merged
    conditions = [
        m.get("successCondition") or m["failureCondition"] for d in docs[1:] for m in d["spec"]["metrics"]
    ]
    assert "result[0] >= 2500001.5" in conditions and "result[0] < 2500001.5" in conditions
    assert "result[0] < 0.00001" in conditions
    assert not any("e+" in c or "e-" in c for c in conditions)
    queries = [m["provider"]["prometheus"]["query"] for d in docs[1:] for m in d["spec"]["metrics"]]
    assert all(re.search(r"(^|\()[a-zA-Z_:][a-zA-Z0-9_:]*\{", q) for q in queries), queries
    assert {"setWeight": 99} in steps  # 99.99% is not everyone: 100 is the promotion


def test_a_look_s_confidence_is_passed_with_the_alpha_it_spends() -> None:
    """O'Brien-Fleming spends almost nothing at the first looks: 4 digits rounded 0.99991 to 0.9999."""
    args = copy.deepcopy(rollout_example.ARGS)
    args["alpha_spending"] = "obrien_fleming"
    gate = {"type": "non_inferiority", "metric": "error_rate", "margin": 0.5, "higher_is_better": False}
    for phase in args["phases"][:4]:
        phase["gate"] = gate
        phase.pop("min_sample", None)
    spec = RolloutSpec.model_validate(args)
    steps = documents(spec)[0]["spec"]["strategy"]["canary"]["steps"]
    passed = [float(s["analysis"]["args"][1]["value"]) for s in steps if "analysis" in s]
    alphas = [c.alpha for c in gate_checks(spec)]
    assert len(passed) == len(alphas) == 4
    for confidence, alpha in zip(passed, alphas, strict=True):
        assert abs((1 - confidence) - alpha) <= 1e-9, (confidence, alpha)
