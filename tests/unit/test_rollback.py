"""The rollback strategy (step 3): checks, the confidence rule, Markdown, and round-tripping."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
from golden_files import assert_matches_golden
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples import rollback as example
from release_planner.tools.review import check_artifact
from release_planner.tools.rollback import RollbackSpec, covers, procedure_confidence

CTX = ReleaseContext(version="2.5.0")


def args(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(example.ARGS)
    data.update(changes)
    return data


def spec(data: dict[str, Any] | None = None) -> RollbackSpec:
    return RollbackSpec.model_validate(data if data is not None else example.ARGS)


def plan(*features: tuple[str, str | None, str]) -> SimpleNamespace:
    """A stand-in release plan: only name, flag and batch of each feature are read."""
    return SimpleNamespace(features=[SimpleNamespace(name=n, flag=f, batch=b) for n, f, b in features])


SEED_PLAN = plan(
    ("Payment Processing", "enable_payment_processing", "must_have"),
    ("Advanced Search", "enable_elasticsearch_search", "must_have"),
    ("Real-time Notifications", "enable_websocket_notifications", "nice_to_have"),
    ("Dark Mode UI", "enable_dark_mode", "nice_to_have"),
    ("Mobile App Redesign", None, "deferred"),
)


def codes(s: RollbackSpec, ctx: ReleaseContext = CTX) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.severity, f.field) for f in check_artifact(s, ctx)]


# --- the seed example -----------------------------------------------------------------------------


def test_corrected_seed_example_has_no_findings_alone_or_against_its_release_plan():
    assert check_artifact(spec(), CTX) == []
    assert check_artifact(spec(), ReleaseContext(version="2.5.0", plan=SEED_PLAN)) == []


def test_seed_as_written_draws_warnings_for_hand_typed_confidence_and_the_alembic_downgrade():
    assert codes(spec(example.SEED_AS_WRITTEN)) == [
        ("confidence_without_rehearsal", "warning", "procedures[0].confidence"),
        ("destructive_database_rollback", "warning", "procedures[1].steps[2]"),
        ("confidence_without_rehearsal", "warning", "procedures[2].confidence"),
    ]


def test_seed_example_figures_are_computed_from_the_rehearsals():
    computed = spec().computed(ReleaseContext(version="2.5.0", plan=SEED_PLAN))
    rule = computed.pop("rule")
    assert computed == {
        "overall_confidence": 0.99,
        "evidence_confidence": 0.99,
        "confidence_by_type": {"feature_flag": 0.99, "application": 0.95, "infrastructure": 0.70},
        "fastest": {"type": "feature_flag", "minutes": 1.0},
    }
    assert rule.startswith("Overall confidence is the lowest, over the 4 release-plan features not deferred,")


def test_seed_example_markdown_matches_the_golden_file():
    markdown = spec().render(CTX)
    assert_matches_golden(markdown, "rollback_strategy_v2.5.0.md")


def test_markdown_follows_the_skill_sections_in_order():
    markdown = spec().render(CTX)
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Rollback Decision Criteria",
        "## Rollback Procedures",
        "## Rollback Testing",
        "## Rollback Communication",
        "## Confidence Levels",
    ]
    assert "### Rollback Type 1: Feature Flag Toggle (Preferred)" in markdown
    assert "### Rollback Type 3: Infrastructure (Last Resort)" in markdown


def test_title_names_the_version_with_a_v():
    assert spec().title(CTX) == "Rollback Strategy: v2.5.0"
    assert spec().version == "2.5.0"


# --- each finding ---------------------------------------------------------------------------------


def _mutated(mutate) -> RollbackSpec:
    data = args()
    mutate(data)
    return spec(data)


def _slow(d):
    d["procedures"][1]["rehearsal"]["measured_minutes"] = 12


def _confident_unrehearsed(d):
    d["procedures"][2]["confidence"] = 0.95


def _confident_overall(d):
    d["confidence"] = 0.95
    for p in d["procedures"]:
        p.pop("rehearsal", None)


def _db(d, **extra):
    d["procedures"].append(
        {
            "type": "database",
            "applies_to": ["all"],
            "complexity": "high",
            "risk": "medium",
            "time_to_rollback_minutes": 60,
            "steps": [{"action": "Run reverse migration", "command": "alembic downgrade -1"}],
            "data_loss_risk": "possible",
            **extra,
        }
    )


def _duplicate(d):
    d["procedures"].append(copy.deepcopy(d["procedures"][1]))


def _inverted_time(d):
    d["procedures"][1]["time_to_rollback_best_minutes"] = 11


def _inverted_outage(d):
    d["communication"]["rules"][1]["min_outage_minutes"] = 60


def _no_window(d):
    for t in d["automatic_triggers"]:
        t.pop("window_minutes")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_slow, [("rehearsal_slower_than_stated", "warning", "procedures[1].rehearsal.measured_minutes")]),
        (_confident_unrehearsed, [("confidence_without_rehearsal", "warning", "procedures[2].confidence")]),
        (_confident_overall, [("confidence_without_rehearsal", "warning", "confidence")]),
        (
            lambda d: _db(d, data_loss_mitigation="Snapshot first"),
            [("destructive_database_rollback", "warning", "procedures[3].steps[0]")],
        ),
        (
            _db,
            [
                ("data_loss_without_mitigation", "warning", "procedures[3].data_loss_mitigation"),
                ("destructive_database_rollback", "warning", "procedures[3].steps[0]"),
            ],
        ),
        (_duplicate, [("duplicate_procedure_type", "error", "procedures[3].type")]),
        (_inverted_time, [("time_range_inverted", "error", "procedures[1].time_to_rollback_best_minutes")]),
        (_inverted_outage, [("outage_range_inverted", "error", "communication.rules[1].min_outage_minutes")]),
        (_no_window, [("no_sustained_trigger", "warning", "automatic_triggers")]),
        (
            lambda d: d.update(automatic_triggers=[]),
            [("no_sustained_trigger", "warning", "automatic_triggers")],
        ),
    ],
    ids=[
        "slow-rehearsal",
        "confident-procedure",
        "confident-overall",
        "alembic-downgrade",
        "data-loss-unmitigated",
        "duplicate-type",
        "inverted-time",
        "inverted-outage",
        "no-window",
        "no-trigger",
    ],
)
def test_each_problem_is_reported_with_its_code_and_field(mutate, expected):
    assert codes(_mutated(mutate)) == expected


def test_a_down_migration_claiming_no_data_loss_is_an_error_not_the_destructive_warning():
    s = _mutated(lambda d: _db(d, data_loss_risk="none"))
    assert codes(s) == [("destructive_step_claims_no_data_loss", "error", "procedures[3].data_loss_risk")]


def test_a_flagged_feature_the_flag_procedure_misses_is_reported():
    ctx = ReleaseContext(
        version="2.5.0",
        plan=plan(
            ("Payment Processing", "enable_payment_processing", "must_have"), ("Beta", "beta", "must_have")
        ),
    )
    assert codes(spec(), ctx) == [("flagged_feature_not_covered", "warning", "procedures")]


def test_a_feature_no_procedure_covers_is_reported_and_scores_zero():
    data = args()
    data["procedures"] = [data["procedures"][0], data["procedures"][2]]  # drop the "all" application rollback
    s = spec(data)
    ctx = ReleaseContext(version="2.5.0", plan=plan(("Audit Log", None, "must_have")))
    assert codes(s, ctx) == [("feature_without_rollback", "warning", "procedures")]
    assert s.confidence(ctx) == 0.0


def test_deferred_features_are_not_part_of_the_release():
    ctx = ReleaseContext(version="2.5.0", plan=plan(("Mobile App", "enable_mobile", "deferred")))
    assert check_artifact(spec(), ctx) == []


# --- the confidence rule --------------------------------------------------------------------------


def _proc(**changes: Any):
    data = copy.deepcopy(
        example.ARGS["procedures"][1]
    )  # application, low complexity, rehearsed in 7 of 10 min
    data.update(changes)
    return RollbackSpec.model_validate(args(procedures=[data])).procedures[0]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, 0.95),
        ({"complexity": "very_high"}, 0.80),
        ({"rehearsal": None}, 0.70),
        ({"complexity": "very_high", "rehearsal": None}, 0.70),
        ({"time_to_rollback_minutes": 6}, 0.70),
        ({"data_loss_risk": "possible"}, 0.80),
        ({"data_loss_risk": "certain"}, 0.60),
        ({"confidence": 0.42}, 0.42),
        ({"confidence": 0.99, "rehearsal": None}, 0.99),
    ],
)
def test_procedure_confidence_follows_the_documented_rule(changes, expected):
    assert procedure_confidence(_proc(**changes)) == expected


def test_a_rehearsal_that_found_issues_counts_like_no_rehearsal():
    rehearsal = {**example.ARGS["procedures"][1]["rehearsal"], "issues_found": ["Pods slow to drain"]}
    assert procedure_confidence(_proc(rehearsal=rehearsal)) == 0.70


def test_overall_is_the_weakest_feature_of_the_best_procedures_covering_it():
    data = args()
    data["procedures"] = [data["procedures"][0], data["procedures"][2]]  # flags (0.99) and infra (0.70)
    s = spec(data)
    ctx = ReleaseContext(
        version="2.5.0",
        plan=plan(("Payments", "enable_payment_processing", "must_have"), ("Search", None, "must_have")),
    )
    # "Search" has no flag, so flags cannot undo it; nothing else names it.
    assert s.confidence(ctx) == 0.0
    data["procedures"][1]["applies_to"].append("Search")
    assert spec(data).confidence(ctx) == 0.70


def test_without_a_plan_overall_is_the_best_procedure_that_applies_to_all():
    # Only the application rollback says "all"; the flags list may miss a feature we cannot see.
    assert spec().confidence(CTX) == 0.95
    assert spec().confidence(ReleaseContext(version="2.5.0", plan=SEED_PLAN)) == 0.99


def test_without_a_plan_or_an_all_procedure_overall_is_the_best_procedure():
    data = args()
    data["procedures"] = [data["procedures"][0], data["procedures"][2]]
    assert spec(data).confidence(CTX) == 0.99


def test_a_stated_overall_confidence_wins_but_the_evidence_is_still_reported():
    s = spec(args(confidence=0.8))
    computed = s.computed(CTX)
    assert (s.confidence(CTX), computed["overall_confidence"], computed["evidence_confidence"]) == (
        0.8,
        0.8,
        0.95,
    )
    assert computed["rule"].startswith("Overall 0.80 was stated by the caller; the evidence rule gives 0.95")


def test_overall_confidence_is_read_and_stored_under_the_tool_parameter_name():
    s = spec(args(confidence=0.8))
    assert s.model_dump(mode="json")["confidence"] == 0.8
    with pytest.raises(ValidationError):
        spec(args(stated_confidence=0.8))


def test_the_rule_is_rendered_with_the_confidence_levels():
    markdown = spec().render(CTX)
    assert f"Rule: {spec().rule(CTX)}" in markdown
    assert "- **Overall Rollback Confidence:** 0.95" in markdown


def test_the_feature_flag_procedure_cannot_cover_a_feature_without_a_flag():
    flags = spec().procedures[0]
    assert covers(flags, SimpleNamespace(name="x", flag="enable_dark_mode", batch="must_have"))
    assert not covers(flags, SimpleNamespace(name="enable_dark_mode", flag=None, batch="must_have"))


def test_fastest_is_the_quickest_stated_time_and_ties_go_to_the_first_listed():
    data = args()
    data["procedures"][1]["time_to_rollback_minutes"] = 1
    data["procedures"][1].pop("time_to_rollback_best_minutes")
    data["procedures"] = [data["procedures"][1], data["procedures"][0]]
    assert spec(data).computed(CTX)["fastest"] == {"type": "application", "minutes": 1.0}


# --- input validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"procedures": []},
        {"confidence": 1.5},
        {"unknown": 1},
        {"version": "2.5"},
    ],
)
def test_invalid_arguments_are_refused(bad):
    with pytest.raises(ValidationError):
        spec(args(**bad))


def test_unknown_procedure_type_is_refused():
    data = args()
    data["procedures"][0]["type"] = "blue_green"
    with pytest.raises(ValidationError):
        spec(data)


# --- properties -----------------------------------------------------------------------------------

_words = st.text(alphabet=st.sampled_from("abcXYZ019 -_.:/#%"), min_size=1, max_size=12).filter(str.strip)
_prose = st.text(alphabet=st.sampled_from("ab c\n`$*_-|é🚨"), min_size=1, max_size=30).filter(str.strip)
_minutes = st.floats(min_value=0.01, max_value=600, allow_nan=False)
_level = st.sampled_from(["very_low", "low", "medium", "high", "very_high"])
_types = st.sampled_from(["feature_flag", "application", "database", "infrastructure"])

_rehearsal = st.fixed_dictionaries(
    {"date": st.dates().map(str), "measured_minutes": _minutes},
    optional={
        "environment": _words,
        "participants": st.lists(_words, max_size=3),
        "issues_found": st.lists(_prose, max_size=2),
    },
)
_procedure = st.fixed_dictionaries(
    {
        "type": _types,
        "applies_to": st.lists(
            st.one_of(st.just("all"), st.sampled_from(["f1", "flag2", "f3"]), _words), min_size=1, max_size=3
        ),
        "complexity": _level,
        "risk": _level,
        "time_to_rollback_minutes": _minutes,
        "steps": st.lists(
            st.fixed_dictionaries({"action": _prose}, optional={"command": _prose}), min_size=1, max_size=3
        ),
    },
    optional={
        "time_to_rollback_best_minutes": _minutes,
        "prerequisites": st.lists(_prose, max_size=2),
        "data_loss_risk": st.sampled_from(["none", "possible", "certain"]),
        "data_loss_mitigation": _prose,
        "rehearsal": _rehearsal,
        "confidence": st.floats(min_value=0, max_value=1),
    },
)
_trigger = st.fixed_dictionaries(
    {
        "metric": _words,
        "comparator": st.sampled_from([">", ">=", "<", "<="]),
        "threshold": st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    },
    optional={"unit": st.sampled_from(["percent", "ms", "seconds"]), "window_minutes": st.integers(1, 120)},
)
_rule = st.fixed_dictionaries(
    {},
    optional={
        "min_outage_minutes": _minutes,
        "max_outage_minutes": _minutes,
        "channels": st.lists(_words, max_size=2),
        "audience": _words,
        "message": _prose,
    },
)
_spec_args = st.fixed_dictionaries(
    {
        "version": st.sampled_from(["2.5.0", "v2.5.0", "1.0.0-rc.1"]),
        "procedures": st.lists(_procedure, min_size=1, max_size=4),
    },
    optional={
        "automatic_triggers": st.lists(_trigger, max_size=3),
        "manual_triggers": st.lists(_prose, max_size=2),
        "communication": st.fixed_dictionaries(
            {},
            optional={
                "internal_channel": _words,
                "internal_template": _prose,
                "external_channel": _words,
                "external_template": _prose,
                "rules": st.lists(_rule, max_size=3),
            },
        ),
        "confidence": st.floats(min_value=0, max_value=1),
    },
)
_plans = st.one_of(
    st.none(),
    st.lists(
        st.tuples(
            st.sampled_from(["f1", "f3", "other"]),
            st.sampled_from([None, "flag2", "f1"]),
            st.sampled_from(["must_have", "nice_to_have", "deferred"]),
        ),
        max_size=3,
    ).map(lambda fs: plan(*fs)),
)


@settings(max_examples=150, deadline=None)
@given(_spec_args, _plans)
def test_stored_form_loads_back_equal_and_renders_the_same_bytes(data, the_plan):
    ctx = ReleaseContext(version="2.5.0", plan=the_plan)
    original = RollbackSpec.model_validate(data)
    loaded = RollbackSpec.model_validate(original.model_dump(mode="json"))
    assert loaded == original
    assert loaded.render(ctx) == original.render(ctx)
    assert loaded.computed(ctx) == original.computed(ctx)
    assert 0.0 <= original.confidence(ctx) <= 1.0


@settings(max_examples=150, deadline=None)
@given(_spec_args, _plans, st.data())
def test_adding_a_rehearsal_never_lowers_confidence(data, the_plan, draw):
    ctx = ReleaseContext(version="2.5.0", plan=the_plan)
    i = draw.draw(st.integers(0, len(data["procedures"]) - 1))
    without = copy.deepcopy(data)
    without["procedures"][i].pop("rehearsal", None)
    with_one = copy.deepcopy(without)
    with_one["procedures"][i]["rehearsal"] = draw.draw(_rehearsal)
    before, after = RollbackSpec.model_validate(without), RollbackSpec.model_validate(with_one)
    assert after.confidence(ctx) >= before.confidence(ctx)
    assert after.evidence_confidence(ctx) >= before.evidence_confidence(ctx)


@settings(max_examples=150, deadline=None)
@given(_spec_args, _plans, st.data(), _minutes, _minutes)
def test_a_slower_rehearsal_never_raises_confidence(data, the_plan, draw, a, b):
    ctx = ReleaseContext(version="2.5.0", plan=the_plan)
    i = draw.draw(st.integers(0, len(data["procedures"]) - 1))
    rehearsal = draw.draw(_rehearsal)
    fast, slow = copy.deepcopy(data), copy.deepcopy(data)
    fast["procedures"][i]["rehearsal"] = {**rehearsal, "measured_minutes": min(a, b)}
    slow["procedures"][i]["rehearsal"] = {**rehearsal, "measured_minutes": max(a, b)}
    quick, sluggish = RollbackSpec.model_validate(fast), RollbackSpec.model_validate(slow)
    assert sluggish.evidence_confidence(ctx) <= quick.evidence_confidence(ctx)
    assert sluggish.confidence(ctx) <= quick.confidence(ctx)


def test_the_seed_rollback_covers_every_feature_of_the_real_seed_release_plan():
    from release_planner.tools.examples import release_plan as plan_example
    from release_planner.tools.release_plan import ReleasePlanSpec

    ctx = ReleaseContext(version="2.5.0", plan=ReleasePlanSpec.model_validate(plan_example.ARGS))
    assert check_artifact(spec(), ctx) == []
    assert spec().confidence(ctx) == 0.99
