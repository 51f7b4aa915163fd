"""export_rollout's reading of the plan: segments, the one hash group and seed, and the warnings for
what an engine cannot take as planned (and none for a sound plan)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools.errors import InvalidInput, NotFound
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.exporting import TARGETS, export
from release_planner.tools.exporting.model import Warnings, canonical_attribute, cohort_plan, parse_segment
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.service import ReleasePlanner

FLAG_TARGETS = ["unleash", "launchdarkly", "flagd"]


def spec(args: dict[str, Any] | None = None) -> RolloutSpec:
    return RolloutSpec.model_validate(args or rollout_example.ARGS)


def codes(result: Any) -> dict[str, str | None]:
    return {w.code: w.field for w in result.warnings}


@pytest.mark.parametrize(
    ("text", "attribute", "values", "negate"),
    [
        ("beta_tester=true", "beta_tester", ("true",), False),
        ("plan == enterprise, team", "plan", ("enterprise", "team"), False),
        ("country != US", "country", ("US",), True),
        ("region in [eu, us]", "region", ("eu", "us"), False),
        ("region not in (cn)", "region", ("cn",), True),
        ("équipe=core", "équipe", ("core",), False),
        ("employees", None, (), False),
        ("internal email domain whitelist (@example.com)", None, (), False),
    ],
)
def test_a_segment_is_a_rule_when_written_as_one_and_a_named_whitelist_otherwise(
    text: str, attribute: str | None, values: tuple[str, ...], negate: bool
) -> None:
    seg = parse_segment(text)
    assert (seg.attribute, seg.values, seg.negate) == (attribute, values, negate)
    assert seg.key and seg.key == seg.key.lower() and " " not in seg.key


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("user_id", "userId"),
        ("UserId", "userId"),
        (None, "userId"),
        ("session_id", "sessionId"),
        ("random", "random"),
        ("tenantId", "tenantId"),
    ],
)
def test_stickiness_is_read_in_the_spellings_people_use(written: str | None, canonical: str) -> None:
    assert canonical_attribute(written) == canonical


@pytest.mark.parametrize("target", FLAG_TARGETS)
def test_the_sound_example_only_asks_to_fill_in_the_employees_whitelist(target: str) -> None:
    result = export(spec(), target)
    assert codes(result) == {"export_segment_placeholder": "phases[0].targeting.segments"}
    assert len(result.documents) == 5
    json.dumps([d.content for d in result.documents])


def test_every_flag_in_every_phase_hashes_in_one_group_with_one_seed() -> None:
    unleash = export(spec(), "unleash").documents
    groups = {
        s["parameters"]["groupId"] for d in unleash for f in d.content["features"] for s in f["strategies"]
    }
    assert groups == {"release-v2.5.0"}
    ld = export(spec(), "launchdarkly").documents
    seeds = {f["fallthrough"]["rollout"]["seed"] for d in ld for f in d.content["flags"].values()}
    assert len(seeds) == 1
    splits = [d.content["flags"]["enable_dark_mode"]["fallthrough"]["rollout"]["variations"] for d in ld]
    assert [s[0]["variation"] for s in splits] == [1] * 5  # off first: bucket 0 (unhashable) is off
    assert [s[1]["weight"] for s in splits] == [1000, 5000, 20000, 50000, 100000]


def test_a_changed_group_or_stickiness_is_exported_constant_with_a_warning() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["phases"][2]["targeting"]["group_id"] = "another-group"
    args["phases"][3]["targeting"]["stickiness"] = "sessionId"
    result = export(spec(args), "unleash")
    assert codes(result)["export_group_changed"] == "phases[2].targeting.group_id"
    assert codes(result)["export_stickiness_changed"] == "phases[3].targeting.stickiness"
    params = [d.content["features"][0]["strategies"][0]["parameters"] for d in result.documents]
    assert {(p["groupId"], p["stickiness"]) for p in params} == {("release-v2.5.0", "userId")}


def test_the_skill_as_written_reports_its_random_phase_and_untargeted_phase() -> None:
    result = export(spec(rollout_example.SEED_AS_WRITTEN), "flagd")
    found = codes(result)
    assert found["export_stickiness_changed"] == "phases[3].targeting.stickiness"
    assert found["export_no_targeting"] == "phases[4].targeting"
    assert "export_segment_placeholder" in found


def test_random_stickiness_is_reported_once_per_engine_as_that_engine_exports_it() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    for phase in args["phases"]:
        phase["targeting"]["stickiness"] = "random"
    assert "export_random_stickiness" in codes(export(spec(args), "unleash"))
    assert "export_random_stickiness_unsupported" not in codes(export(spec(args), "unleash"))
    for target in ("launchdarkly", "flagd"):  # these hash the key instead, so cohorts do nest there
        found = codes(export(spec(args), target))
        assert "export_random_stickiness_unsupported" in found
        assert "export_random_stickiness" not in found


def test_a_share_below_one_percent_is_rounded_only_where_the_engine_needs_whole_percent() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["phases"][0]["percent"] = 0.5
    unleash = export(spec(args), "unleash")
    assert codes(unleash)["export_percent_rounded"] == "phases[0].percent"
    assert unleash.documents[0].content["features"][0]["strategies"][0]["parameters"]["rollout"] == "1"
    assert "export_percent_rounded" not in codes(export(spec(args), "launchdarkly"))
    assert "export_percent_rounded" not in codes(export(spec(args), "flagd"))


def test_a_plan_without_flags_exports_one_flag_named_for_the_release_and_says_so() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["flags"] = []
    for phase in args["phases"]:
        phase["targeting"].pop("group_id")
    result = export(spec(args), "launchdarkly")
    assert list(result.documents[0].content["flags"]) == ["release-2-5-0"]
    assert codes(result)["export_no_flags"] == "flags"


def test_a_segment_only_phase_has_no_percentage_rollout() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["phases"][0]["targeting"] = {"segments": ["beta_tester=true"]}
    unleash = export(spec(args), "unleash").documents[0].content["features"][0]
    assert [s["segments"] for s in unleash["strategies"]] == [[1]] and unleash["enabled"] is True
    ld = export(spec(args), "launchdarkly").documents[0].content["flags"]["enable_dark_mode"]
    assert ld["fallthrough"] == {"variation": 1}
    flagd = export(spec(args), "flagd").documents[0].content["flags"]["enable_dark_mode"]
    assert flagd["targeting"]["if"][2] == "off"
    for target in FLAG_TARGETS:  # the phase's 1% does not translate: say so
        assert codes(export(spec(args), target))["export_segment_only"] == "phases[0].targeting.stickiness"


def test_the_use_case_reads_the_stored_rollout_and_refuses_what_it_cannot_export() -> None:
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    with pytest.raises(NotFound, match="plan_rollout"):
        planner.export_rollout("2.5.0", "unleash")
    planner.plan_rollout(spec())
    for target in TARGETS:
        assert planner.export_rollout("v2.5.0", target).documents
    with pytest.raises(InvalidInput, match="target"):
        planner.export_rollout("2.5.0", "split_io")


@pytest.mark.parametrize("target", ["unleash", "launchdarkly", "flagd"])
def test_a_flag_export_says_where_the_plan_s_metrics_are_judged(target: str) -> None:
    with_metrics = export(spec(rollout_example.ARGS), target)
    assert any("get_release_status and evaluate_gate" in n for n in with_metrics.notes)
    args = copy.deepcopy(rollout_example.ARGS)
    args["halt_threshold"] = []
    for phase in args["phases"]:
        phase["metric_targets"] = []
        phase.pop("gate", None)
        phase.pop("min_sample", None)
    without = export(spec(args), target)
    assert not any("evaluate_gate" in n for n in without.notes)


def test_segments_that_slug_alike_keep_apart_and_spellings_of_one_segment_merge() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["phases"][1]["targeting"]["segments"] = ["plan=pro", "社員", "ベータ", "Employees"]
    args["phases"][2]["targeting"]["segments"] = ["plan != pro", "plan = pro", "employees", "社員"]
    plan = cohort_plan(spec(args), "2.5.0", Warnings())
    keys = {s.text: s.key for s in plan.segments}
    assert len(set(keys.values())) == len(keys) == 6  # Employees is employees; plan = pro is plan=pro
    assert "Employees" not in keys and "plan = pro" not in keys
    assert keys["plan=pro"] != keys["plan != pro"]
    assert all(k.startswith("named-") for t, k in keys.items() if t in ("社員", "ベータ"))
    assert [s.key for s in plan.phases[2].segments] == [
        keys["plan != pro"],
        keys["plan=pro"],
        "employees",
        keys["社員"],
        keys["ベータ"],  # carried forward from phase 2, which named it
    ]


def test_cohorts_the_plan_drops_are_carried_forward_with_a_warning() -> None:
    args = copy.deepcopy(rollout_example.ARGS)
    args["phases"][2]["targeting"] = {"segments": ["employees"]}  # drops beta testers and the 5%
    args["phases"][4]["targeting"] = {"segments": ["employees"]}  # 100%: everyone, whatever it names
    for phase in args["phases"]:
        phase.pop("gate", None)
    plan = cohort_plan(spec(args), "2.5.0", warn := Warnings())
    found = {w.code: w.field for w in warn.items}
    assert found["export_segments_carried"] == "phases[2].targeting.segments"
    assert found["export_percentage_carried"] == "phases[2].targeting.stickiness"
    assert "export_segment_only" not in found
    assert [s.text for s in plan.phases[2].segments] == ["employees", "beta_tester=true"]
    assert plan.phases[2].by_percentage and plan.phases[4].by_percentage
