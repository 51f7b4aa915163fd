"""Identity across artifacts (issue 9, class D): one flag, one release date, one clock, and a smoke test
for every must-have feature; each mismatch caught with the closest name suggested, and the sound seed
release left alone.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools import names
from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.examples import runbook as runbook_example
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.review import identity_rules, review
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.runbook import RunbookSpec
from release_planner.tools.service import ReleasePlanner

CODES = {rule.code for rule in identity_rules.RULES}


def plan(**changes: Any) -> ReleasePlanSpec:
    args = copy.deepcopy(plan_example.ARGS)
    args.update(changes)
    return ReleasePlanSpec.model_validate(args)


def rollout(**changes: Any) -> RolloutSpec:
    args = copy.deepcopy(rollout_example.ARGS)
    args.update(changes)
    return RolloutSpec.model_validate(args)


def rollback(**changes: Any) -> RollbackSpec:
    args = copy.deepcopy(rollback_example.ARGS)
    args.update(changes)
    return RollbackSpec.model_validate(args)


def runbook(**changes: Any) -> RunbookSpec:
    args = copy.deepcopy(runbook_example.ARGS)
    args.update(changes)
    return RunbookSpec.model_validate(args)


def release(**slots: Any) -> ReleaseContext:
    slots.setdefault("plan", plan())
    slots.setdefault("rollback", rollback())
    slots.setdefault("rollout", rollout())
    slots.setdefault("runbook", runbook())
    return ReleaseContext(version="2.5.0", **slots)


def found(ctx: ReleaseContext) -> list[tuple[str, str | None, str | None]]:
    return [(r.finding.code, r.finding.field, r.finding.kind) for r in review(ctx) if r.finding.code in CODES]


def message(ctx: ReleaseContext, code: str) -> str:
    [text] = [r.finding.message for r in review(ctx) if r.finding.code == code]
    return text


def renamed_flag(old: str, new: str) -> list[dict[str, Any]]:
    flags = copy.deepcopy(rollout_example.ARGS["flags"])
    for flag in flags:
        if flag["name"] == old:
            flag["name"] = new
    return flags


# ---- the sound seed --------------------------------------------------------------------------------


def test_the_seed_release_comes_back_with_no_finding_at_all():
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(plan())
    results = [planner.write(spec) for spec in (rollback(), rollout(), runbook())]
    assert [n.code for r in results for n in r.warnings] == []
    assert planner.get_release_plan("2.5.0").warnings == []
    assert found(release()) == []


# ---- flags -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typo", ["enable_payment_procesing", "enable-payment-processing", "Enable.Payment.Processing"]
)
def test_a_near_miss_rollout_flag_is_reported_with_the_plans_spelling_suggested(typo):
    ctx = release(rollout=rollout(flags=renamed_flag("enable_payment_processing", typo)))
    assert found(ctx) == [("rollout_flag_not_in_plan", "flags[0].name", "rollout_plan")]
    text = message(ctx, "rollout_flag_not_in_plan")
    assert (
        "did you mean 'enable_payment_processing', the flag of 'Payment Processing (Stripe Integration)'"
        in text
    )
    assert repr(typo) in text


def test_a_flag_differing_only_in_case_is_the_same_flag():
    ctx = release(rollout=rollout(flags=renamed_flag("enable_dark_mode", "ENABLE_DARK_MODE")))
    assert found(ctx) == []


def test_a_plan_flag_the_rollout_never_lists_is_reported():
    flags = [f for f in rollout_example.ARGS["flags"] if f["name"] != "enable_dark_mode"]
    ctx = release(rollout=rollout(flags=flags))
    assert found(ctx) == [("plan_flag_missing_from_rollout", "flags", "rollout_plan")]
    assert "'Dark Mode UI' (nice_to_have)" in message(ctx, "plan_flag_missing_from_rollout")


def test_a_rollout_that_moves_traffic_without_flags_is_not_asked_for_the_plans_flags():
    ctx = release(rollout=rollout(approach="canary", flags=[]))
    assert [c for c, *_ in found(ctx) if c == "plan_flag_missing_from_rollout"] == []


def test_a_near_miss_in_the_rollbacks_flag_procedure_is_reported_with_the_closest_flag():
    procedures = copy.deepcopy(rollback_example.ARGS["procedures"])
    procedures[0]["applies_to"][1] = "enable_elastic_search"
    ctx = release(rollback=rollback(procedures=procedures))
    assert found(ctx) == [("rollback_flag_near_miss", "procedures[0].applies_to[1]", "rollback_strategy")]
    text = message(ctx, "rollback_flag_near_miss")
    assert "did you mean 'enable_elasticsearch_search'" in text
    assert "leaves 'enable_elasticsearch_search' on" in text


def test_a_kill_switch_named_like_no_flag_of_the_release_is_left_alone():
    procedures = copy.deepcopy(rollback_example.ARGS["procedures"])
    procedures[0]["applies_to"].append("search_sql_fallback_kill_switch")
    assert found(release(rollback=rollback(procedures=procedures))) == []


def test_a_rollout_flag_outside_the_plan_that_no_flag_procedure_turns_off_is_reported():
    flags = copy.deepcopy(rollout_example.ARGS["flags"])
    flags.append({"name": "release_v2_5_0_kill_switch"})
    ctx = release(rollout=rollout(flags=flags))
    assert found(ctx) == [("rollout_flag_not_rolled_back", "procedures", "rollback_strategy")]
    procedures = copy.deepcopy(rollback_example.ARGS["procedures"])
    procedures[0]["applies_to"].append("release_v2_5_0_kill_switch")
    assert found(release(rollout=rollout(flags=flags), rollback=rollback(procedures=procedures))) == []


# ---- the release date ------------------------------------------------------------------------------


def test_a_rollout_starting_before_the_release_date_is_reported():
    start = {"at": "2026-03-13T10:00", "timezone": "America/New_York"}  # Friday, the plan says Monday 16th
    runbook_ = runbook(deploy={"at": "2026-03-16T09:45", "timezone": "America/New_York"})
    ctx = release(rollout=rollout(start=start), runbook=runbook_)
    codes = found(ctx)
    assert ("rollout_starts_before_release_date", "start.at", "rollout_plan") in codes
    assert "3 days before the release date 2026-03-16" in message(ctx, "rollout_starts_before_release_date")


def test_a_rollout_starting_on_or_after_the_release_date_is_fine():
    later = {"at": "2026-03-17T10:00", "timezone": "America/New_York"}
    ctx = release(rollout=rollout(start=later), runbook=None)
    assert found(ctx) == []


# ---- the runbook's T and zone ----------------------------------------------------------------------

NY = "America/New_York"


def test_the_runbooks_t_is_dated_from_the_rollout_and_shown_with_each_steps_clock():
    markdown = runbook().render(release())
    assert (
        "**T (deploy):** Monday 2026-03-16 09:45 EDT (America/New_York), so that step 5 'Enable Feature "
        "Flags' at T+15 min starts the rollout at its planned 10:00 EDT"
    ) in markdown
    assert "### Step 1: Pre-Deployment (T-30 min, 09:15 EDT)" in markdown
    assert "### Step 5: Enable Feature Flags (T+15 min, 10:00 EDT)" in markdown
    assert "From the phased rollout plan (times in America/New_York):" in markdown
    assert runbook().computed(release())["t"] == "2026-03-16T09:45:00-04:00"


def test_without_a_rollout_the_runbooks_t_is_the_plans_target_date():
    ctx = ReleaseContext(version="2.5.0", plan=plan())
    markdown = runbook().render(ctx)
    assert "**T (deploy):** Monday 2026-03-16, the release plan's target date" in markdown
    assert "### Step 1: Pre-Deployment (T-30 min)" in markdown
    assert runbook().computed(ctx)["t_from"] == "plan"


def test_a_declared_t_is_shown_and_step_clocks_follow_a_dst_change():
    # America/New_York skips 02:00-03:00 on Sunday 8 March 2026.
    spec = runbook(deploy={"at": "2026-03-08T01:30", "timezone": NY})
    markdown = spec.render(ReleaseContext(version="2.5.0"))
    assert "**T (deploy):** Sunday 2026-03-08 01:30 EST (America/New_York)" in markdown
    assert "### Step 6: Post-Deployment (T+30 min, 03:00 EDT)" in markdown
    assert "### Step 1: Pre-Deployment (T-30 min, 01:00 EST)" in markdown


def test_a_step_on_another_day_shows_its_date():
    steps = copy.deepcopy(runbook_example.ARGS["steps"])
    steps[0]["at"] = "T-1d"
    markdown = runbook(steps=steps).render(release())
    assert "### Step 1: Pre-Deployment (T-24 h, Sunday 2026-03-15 09:45 EDT)" in markdown


def test_a_runbook_in_another_zone_is_reported_even_when_its_t_is_the_same_instant():
    # 13:45 in London is 09:45 in New York on 16 March 2026 (the US has moved to DST, the UK not yet).
    ctx = release(runbook=runbook(deploy={"at": "2026-03-16T13:45", "timezone": "Europe/London"}))
    assert found(ctx) == [("runbook_zone_differs_from_rollout", "deploy.timezone", "runbook")]
    assert "give deploy.timezone 'America/New_York'" in message(ctx, "runbook_zone_differs_from_rollout")


def test_another_name_for_the_rollouts_clock_is_not_another_zone():
    ctx = release(runbook=runbook(deploy={"at": "2026-03-16T09:45", "timezone": "US/Eastern"}))
    assert found(ctx) == []


def test_a_declared_t_that_does_not_start_the_rollout_at_its_start_is_reported_with_the_right_t():
    ctx = release(runbook=runbook(deploy={"at": "2026-03-16T10:00", "timezone": NY}))
    assert found(ctx) == [("runbook_t_disagrees_with_rollout", "deploy.at", "runbook")]
    text = message(ctx, "runbook_t_disagrees_with_rollout")
    assert "set deploy.at to 2026-03-16T09:45" in text
    assert "10:15 EDT" in text and "10:00 EDT" in text


def unmarked_steps() -> list[dict[str, Any]]:
    steps = copy.deepcopy(runbook_example.ARGS["steps"])
    for step in steps:
        step.pop("starts_rollout", None)
    return steps


def test_without_a_marked_step_a_t_after_the_rollout_start_is_reported_and_one_before_it_is_not():
    late = runbook(steps=unmarked_steps(), deploy={"at": "2026-03-16T10:30", "timezone": NY})
    early = runbook(steps=unmarked_steps(), deploy={"at": "2026-03-16T09:00", "timezone": NY})
    assert found(release(runbook=late)) == [("runbook_t_disagrees_with_rollout", "deploy.at", "runbook")]
    assert found(release(runbook=early)) == []


def test_a_t_on_another_day_than_the_release_date_is_reported():
    sunday = runbook(steps=unmarked_steps(), deploy={"at": "2026-03-15T09:45", "timezone": NY})
    assert found(release(runbook=sunday)) == [("runbook_t_not_on_release_date", "deploy.at", "runbook")]


@pytest.mark.parametrize("runbook_first", [True, False], ids=["runbook then rollout", "rollout then runbook"])
def test_a_t_that_disagrees_is_reported_by_whichever_write_comes_second(runbook_first: bool):
    planner = ReleasePlanner(MemoryStore())
    planner.create_release_plan(plan())
    specs = [runbook(deploy={"at": "2026-03-16T10:00", "timezone": NY}), rollout()]
    first, second = (planner.write(s) for s in (specs if runbook_first else specs[::-1]))
    expected = [("runbook_t_disagrees_with_rollout", "deploy.at")]
    assert [(n.code, n.field) for n in first.warnings if n.code in CODES] == []
    assert [(n.code, n.field) for n in second.warnings if n.code in CODES] == expected
    assert [
        (n.code, n.field) for n in planner.get_release_plan("2.5.0").warnings if n.code in CODES
    ] == expected


@pytest.mark.parametrize(
    ("deploy", "reason"),
    [
        ({"at": "2026-03-08T02:30", "timezone": NY}, "does not exist"),
        ({"at": "2026-03-16 9:45", "timezone": NY}, "not a local date-time"),
        ({"at": "2026-03-16T09:45-04:00", "timezone": NY}, "not a local date-time"),
        ({"at": "2026-03-16T09:45", "timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_a_declared_t_must_be_one_real_local_time(deploy, reason):
    with pytest.raises(ValidationError, match=reason):
        runbook(deploy=deploy)


def test_only_one_step_may_start_the_rollout():
    steps = copy.deepcopy(runbook_example.ARGS["steps"])
    steps[2]["starts_rollout"] = True
    with pytest.raises(ValidationError, match="only one step can start the rollout"):
        runbook(steps=steps)


# ---- must-have features and smoke tests ------------------------------------------------------------


def test_must_have_features_without_a_smoke_test_are_reported_each():
    ctx = release(runbook=RunbookSpec.model_validate(runbook_example.SEED_AS_WRITTEN))
    codes = [(c, f) for c, f, _ in found(ctx) if c == "must_have_without_smoke_test"]
    assert codes == [("must_have_without_smoke_test", "smoke_tests")] * 2
    messages = [r.finding.message for r in review(ctx) if r.finding.code == "must_have_without_smoke_test"]
    assert (
        "'Payment Processing (Stripe Integration)'" in messages[0]
        and "'enable_payment_processing'" in messages[0]
    )
    assert "'Advanced Search (Elasticsearch)'" in messages[1]


@pytest.mark.parametrize(
    "smoke",
    [
        {"name": "Checkout", "command": "curl -fsS https://flags.example.com/api/flags/enable-payment-processing",
         "expected": "flag on"},
        {"name": "Payments processing works", "check": "Pay $1", "expected": "Charge succeeds"},
        {"name": "Stripe integration", "check": "Pay $1", "expected": "Charge succeeds"},
    ],
)  # fmt: skip
def test_a_smoke_test_naming_the_feature_its_bracketed_name_or_its_flag_covers_it(smoke):
    tests = [t for t in runbook_example.ARGS["smoke_tests"] if "payment" not in t["name"].casefold()]
    ctx = release(runbook=runbook(smoke_tests=[*tests, smoke]))
    assert found(ctx) == []


def test_nice_to_have_and_deferred_features_need_no_smoke_test():
    tests = runbook_example.ARGS["smoke_tests"]
    features = copy.deepcopy(plan_example.ARGS["features"])
    for f in features:
        if f["batch"] == "must_have":
            f["batch"] = "nice_to_have"
    ctx = release(plan=plan(features=features), runbook=runbook(smoke_tests=tests[:5]))
    assert found(ctx) == []


# ---- how names are compared ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [("errorRate", "error_rate"), ("Error Rate", "error-rate"), ("enable.dark.mode", "ENABLE_DARK_MODE")],
)
def test_spellings_of_one_name_share_a_key(a, b):
    assert names.key(a) == names.key(b)


def test_a_metric_key_ignores_a_trailing_unit_word_but_keeps_a_lone_one():
    assert names.metric_key("latency_p99_ms") == names.metric_key("latency-p99") == "latency_p99"
    assert names.metric_key("seconds") == "seconds"


@pytest.mark.parametrize(
    ("name", "candidates", "expected"),
    [
        (
            "enable_payment_procesing",
            ["enable_dark_mode", "enable_payment_processing"],
            "enable_payment_processing",
        ),
        ("p99_latency", ["latency_p99", "error_rate"], "latency_p99"),
        ("error_rate", ["payment_error_rate", "latency_p99"], None),
        ("search_sql_fallback_kill_switch", ["enable_elasticsearch_search"], None),
    ],
)
def test_the_closest_name_is_suggested_only_when_it_is_a_near_miss(name, candidates, expected):
    assert names.closest(name, candidates) == expected


def test_prose_mentions_a_name_when_all_its_words_appear_plurals_included():
    assert names.mentions("Payments processing works end to end", "Payment Processing")
    assert not names.mentions("Payment page loads", "Payment Processing")
