"""The release plan (step 1): validation, checks, computed figures and Markdown."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest
from golden_files import assert_matches_golden
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples import migration as migration_example
from release_planner.tools.examples import release_plan as example
from release_planner.tools.migration import MigrationPathSpec
from release_planner.tools.release_plan import ReleasePlanSpec, long_date, semver_key
from release_planner.tools.review import check_artifact


def plan(args: dict[str, Any]) -> ReleasePlanSpec:
    return ReleasePlanSpec.model_validate(args)


def ctx_for(spec: ReleasePlanSpec, **kw: Any) -> ReleaseContext:
    return ReleaseContext(version=spec.version, **kw)


def findings(args: dict[str, Any], **kw: Any) -> list[tuple[str, str, str | None]]:
    spec = plan(args)
    return [(f.code, f.severity, f.field) for f in check_artifact(spec, ctx_for(spec, **kw))]


def args_with(**changes: Any) -> dict[str, Any]:
    args = copy.deepcopy(example.ARGS)
    args.update(copy.deepcopy(changes))
    return args


def feature(name: str, batch: str = "must_have", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": name, "batch": batch, "reason": "because"}
    if batch != "deferred":
        base.update(risk="low", flag=f"flag_{len(name)}")
    else:
        base["target_version"] = "9.0.0"
    base.update(extra)
    return base


def breaking(name: str = "Drop XML", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "category": "api",
        "change": "XML responses removed",
        "migration": "Use JSON",
    } | extra


# ----- the seed example -----


def test_the_corrected_seed_example_has_no_findings() -> None:
    assert findings(example.ARGS) == []


def test_the_seed_as_written_is_flagged_for_its_sunday_release_date() -> None:
    assert findings(example.SEED_AS_WRITTEN) == [("target_date_on_weekend", "warning", "target_date")]


def test_titles_follow_the_skill_and_the_design_table() -> None:
    spec = plan(example.ARGS)
    assert spec.title(ctx_for(spec)) == "Release Plan: v2.5.0 - Enterprise Features"
    assert spec.task_title() == "Release v2.5.0 - Enterprise Features"
    assert spec.confidence(ctx_for(spec)) is None


def test_computed_figures_of_the_seed_example() -> None:
    spec = plan(example.ARGS)
    assert spec.computed(ctx_for(spec)) == {
        "batch_order": [
            "Payment Processing (Stripe Integration)",
            "Advanced Search (Elasticsearch)",
            "Real-time Notifications (WebSocket)",
            "Dark Mode UI",
            "Mobile App Redesign",
            "API v3 (Breaking Changes)",
        ],
        "counts": {"must_have": 2, "nice_to_have": 2, "deferred": 2},
        "highest_risk": "medium",
        "flags": [
            "enable_payment_processing",
            "enable_elasticsearch_search",
            "enable_websocket_notifications",
            "enable_dark_mode",
        ],
        "features_without_flag": [],
        "breaking_changes": [],
        "release_type_by_version": "minor",
        "target_date": "2026-03-16",
        "target_weekday": "Monday",
        "open_dependencies": [],
        "task_title": "Release v2.5.0 - Enterprise Features",
    }


def test_seed_as_written_lists_every_shipping_feature_as_unflagged() -> None:
    spec = plan(example.SEED_AS_WRITTEN)
    figures = spec.computed(ctx_for(spec))
    assert figures["flags"] == []
    assert figures["features_without_flag"] == [f["name"] for f in example.ARGS["features"][:4]]


def test_markdown_of_the_seed_example_matches_the_golden_file() -> None:
    spec = plan(example.ARGS)
    markdown = spec.render(ctx_for(spec))
    assert_matches_golden(markdown, "release_plan_v2.5.0.md")


def test_markdown_uses_the_skill_section_headings_in_order() -> None:
    spec = plan(example.ARGS)
    headings = [line for line in spec.render(ctx_for(spec)).splitlines() if line.startswith("#")]
    assert headings == [
        "## Release Information",
        "## Business Goals",
        "## Feature Batching",
        "### Batch 1: Core Features (Must Have)",
        "### Batch 2: Enhancement Features (Nice to Have)",
        "### Batch 3: Deferred to Next Release",
        "## Breaking Changes",
        "## Dependencies",
        "## Risks",
        "### High Risk",
        "### Medium Risk",
        "### Low Risk",
    ]


def test_empty_sections_are_left_out_but_breaking_changes_says_none() -> None:
    spec = plan({"version": "2.5.1", "name": "Fixes", "target_date": "2026-03-17", "release_type": "patch"})
    assert spec.render(ctx_for(spec)) == (
        "## Release Information\n\n**Version:** v2.5.1\n**Name:** Fixes\n"
        "**Target Date:** March 17, 2026 (Tuesday)\n**Type:** Patch (fixes only, backward compatible)\n\n"
        "## Breaking Changes\n\nNone in this release (patch version - backward compatible)\n"
    )


def test_breaking_changes_are_grouped_by_category_with_their_labels() -> None:
    args = copy.deepcopy(migration_example.PLAN_V3_ARGS)
    args["breaking_changes"].append(
        {
            "name": "Rename user_name",
            "category": "database",
            "change": "Rename column user_name to username",
            "migration": "Add new column, backfill, drop the old one",
            "rollback_complexity": "high",
        }
    )
    spec = plan(args)
    text = spec.render(ctx_for(spec))
    section = text[text.index("## Breaking Changes") : text.index("## Risks")]
    assert section == (
        "## Breaking Changes\n\n### API Changes\n\n**API v1 to v2**\n"
        "- **Change:** Query parameters use filter[] syntax, responses are JSON instead of XML, and "
        "authentication needs a Bearer token instead of an API key\n"
        "- **Affected endpoints:** GET /api/v1/users, All /api/v1 endpoints\n"
        "- **Migration path:** Follow the API v1 to v2 migration path: update the client, parse JSON, "
        "switch to Bearer tokens\n"
        "- **Deprecation period:** 90 days\n"
        "- **Backward compatibility:** No - v1 stays available until T+60 days\n\n"
        "### Database Schema Changes\n\n**Rename user_name**\n"
        "- **Change:** Rename column user_name to username\n"
        "- **Migration strategy:** Add new column, backfill, drop the old one\n"
        "- **Backward compatibility:** No\n"
        "- **Rollback complexity:** High\n\n"
    )


def test_dates_are_spelled_in_english_with_the_weekday() -> None:
    assert long_date(date(2026, 3, 15)) == "March 15, 2026 (Sunday)"
    assert long_date(date(2025, 12, 1)) == "December 1, 2025 (Monday)"


# ----- every finding code -----


def _cycle(args: dict[str, Any]) -> None:
    args["features"][0]["depends_on"] = ["advanced search (elasticsearch)"]
    args["features"][1]["depends_on"] = ["Payment Processing (Stripe Integration)"]


CASES: list[tuple[str, Any, list[tuple[str, str, str | None]]]] = [
    (
        "release type contradicts the version number",
        lambda a: a.update(release_type="major"),
        [("release_type_mismatch", "error", "release_type")],
    ),
    (
        "a breaking change in a minor release",
        lambda a: a.update(breaking_changes=[breaking()]),
        [("breaking_change_requires_major", "error", "breaking_changes[0]")],
    ),
    (
        "a breaking change in a patch release",
        lambda a: a.update(version="2.5.1", release_type="patch", breaking_changes=[breaking()]),
        [("breaking_change_requires_major", "error", "breaking_changes[0]")],
    ),
    (
        "a breaking change before 1.0.0",
        lambda a: a.update(version="0.5.0", breaking_changes=[breaking()]),
        [("breaking_change_pre_1_0", "warning", "breaking_changes[0]")],
    ),
    (
        "two breaking changes with one name",
        lambda a: a.update(
            breaking_changes=[
                breaking(backward_compatible=True),
                breaking("drop xml", backward_compatible=True),
            ]
        ),
        [("duplicate_breaking_change_name", "error", "breaking_changes[1].name")],
    ),
    (
        "features depending on each other",
        _cycle,
        [("feature_dependency_cycle", "error", "features[0].depends_on")],
    ),
    (
        "a must-have depending on a deferred feature",
        lambda a: a["features"][0].update(depends_on=["Mobile App Redesign"]),
        [("must_have_depends_on_deferred", "error", "features[0].depends_on[0]")],
    ),
    (
        "a nice-to-have depending on a deferred feature",
        lambda a: a["features"][3].update(depends_on=["Mobile App Redesign"]),
        [("nice_to_have_depends_on_deferred", "warning", "features[3].depends_on[0]")],
    ),
    (
        "a must-have depending on a nice-to-have",
        lambda a: a["features"][0].update(depends_on=["Dark Mode UI"]),
        [("must_have_depends_on_nice_to_have", "warning", "features[0].depends_on[0]")],
    ),
    (
        "a dependency on a feature the plan does not have",
        lambda a: a["features"][2].update(depends_on=["Billing Portal"]),
        [("unknown_feature_dependency", "error", "features[2].depends_on[0]")],
    ),
    (
        "two features whose names differ only in case",
        lambda a: a["features"][3].update(name="ADVANCED SEARCH (ELASTICSEARCH)"),
        [("duplicate_feature_name", "error", "features[3].name")],
    ),
    (
        "a deferred feature without a target version",
        lambda a: a["features"][4].pop("target_version"),
        [("deferred_without_target_version", "warning", "features[4].target_version")],
    ),
    (
        "a deferred feature targeting this very release",
        lambda a: a["features"][4].update(target_version="v2.5.0"),
        [("deferred_target_not_later", "warning", "features[4].target_version")],
    ),
    (
        "a deferred feature targeting a pre-release of this version",
        lambda a: a["features"][4].update(target_version="2.5.0-rc.1"),
        [("deferred_target_not_later", "warning", "features[4].target_version")],
    ),
    (
        "a shipping feature with a target version",
        lambda a: a["features"][0].update(target_version="2.6.0"),
        [("target_version_on_included_feature", "warning", "features[0].target_version")],
    ),
    (
        "a shipping feature without a risk rating",
        lambda a: a["features"][3].pop("risk"),
        [("unrated_feature_risk", "warning", "features[3].risk")],
    ),
    (
        "a high-risk feature without a flag",
        lambda a: a["features"][0].update(risk="high", flag=None),
        [("high_risk_feature_without_flag", "warning", "features[0].flag")],
    ),
    (
        "a feature that is very hard to roll back and has no flag",
        lambda a: a["features"][1].update(rollback_complexity="very_high", flag=None),
        [("high_risk_feature_without_flag", "warning", "features[1].flag")],
    ),
    (
        "a blocked dependency",
        lambda a: a["dependencies"][0].update(status="blocked"),
        [("dependency_blocked", "warning", "dependencies[0].status")],
    ),
    (
        "a dependency not started yet",
        lambda a: a["dependencies"][1].update(status="pending"),
        [("dependency_pending", "warning", "dependencies[1].status")],
    ),
    (
        "an unfinished dependency due after the target date",
        lambda a: a["dependencies"][2].update(status="in_progress", due="2026-03-20"),
        [("dependency_due_after_target", "warning", "dependencies[2].due")],
    ),
    (
        "a release on a Saturday",
        lambda a: a.update(target_date="2026-03-14"),
        [("target_date_on_weekend", "warning", "target_date")],
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_reported_with_its_code_severity_and_field(change: Any, expected: list) -> None:
    args = copy.deepcopy(example.ARGS)
    change(args)
    assert findings(args) == expected


def test_a_backward_compatible_change_is_allowed_in_a_minor_release() -> None:
    assert findings(args_with(breaking_changes=[breaking(backward_compatible=True)])) == []


def test_a_dependency_cycle_is_named_in_the_message() -> None:
    args = copy.deepcopy(example.ARGS)
    args["features"][2]["depends_on"] = ["Dark Mode UI"]
    args["features"][3]["depends_on"] = ["Real-time Notifications (WebSocket)"]
    spec = plan(args)
    [finding] = check_artifact(spec, ctx_for(spec))
    assert "Real-time Notifications (WebSocket) -> Dark Mode UI -> Real-time Notifications (WebSocket)" in (
        finding.message
    )


def test_a_feature_depending_on_itself_is_a_cycle() -> None:
    args = copy.deepcopy(example.ARGS)
    args["features"][3]["depends_on"] = ["dark mode ui"]
    spec = plan(args)
    [finding] = check_artifact(spec, ctx_for(spec))
    assert finding.code == "feature_dependency_cycle"
    assert "Dark Mode UI -> Dark Mode UI" in finding.message


def test_a_major_release_warns_for_each_breaking_change_without_a_stored_migration_path() -> None:
    args = copy.deepcopy(migration_example.PLAN_V3_ARGS)
    args["breaking_changes"].append(breaking("Drop XML"))
    assert findings(args) == [
        ("missing_migration_path", "warning", "breaking_changes[0]"),
        ("missing_migration_path", "warning", "breaking_changes[1]"),
    ]
    path = MigrationPathSpec.model_validate(migration_example.ARGS | {"change": "api V1 TO v2"})
    assert findings(args, migrations=[path]) == [("missing_migration_path", "warning", "breaking_changes[1]")]


def test_the_v3_plan_with_its_migration_path_has_no_findings() -> None:
    path = MigrationPathSpec.model_validate(migration_example.ARGS)
    assert findings(migration_example.PLAN_V3_ARGS, migrations=[path]) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "2.5"),
        ("release_type", "hotfix"),
        ("target_date", "2026-02-30"),
        ("target_date", "0001-01-01"),
        ("name", "two\nlines"),
        ("surprise", 1),
    ],
)
def test_malformed_top_level_input_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        plan(args_with(**{field: value}))


@pytest.mark.parametrize("flag", ["1st_flag", "has space", "semi;colon", "x" * 101, ""])
def test_flag_names_must_be_plain_identifiers(flag: str) -> None:
    args = copy.deepcopy(example.ARGS)
    args["features"][0]["flag"] = flag
    with pytest.raises(ValidationError):
        plan(args)


def test_nested_unknown_fields_and_oversized_lists_are_refused() -> None:
    args = copy.deepcopy(example.ARGS)
    args["features"][0]["owner"] = "alice"
    with pytest.raises(ValidationError):
        plan(args)
    with pytest.raises(ValidationError):
        plan(args_with(objectives=["goal"] * 101))


def test_the_version_is_normalized() -> None:
    spec = plan(args_with(version="v2.5.0"))
    assert spec.version == "2.5.0"


def test_semver_precedence_orders_prereleases_below_releases() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    assert sorted(ordered, key=semver_key) == ordered
    assert semver_key("1.0.0+build.5") == semver_key("1.0.0")


# ----- batch order -----


def test_batch_order_puts_dependencies_first_then_batch_then_input_order() -> None:
    args = args_with(
        features=[
            feature("Dark", "nice_to_have"),
            feature("Billing", "must_have", depends_on=["Ledger"]),
            feature("Later", "deferred"),
            feature("Ledger", "nice_to_have"),
            feature("Search", "must_have"),
        ]
    )
    spec = plan(args)
    assert spec.computed(ctx_for(spec))["batch_order"] == ["Search", "Dark", "Ledger", "Billing", "Later"]


# ----- properties -----

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=20
).filter(lambda s: s.strip())
_prose = st.lists(_text, min_size=1, max_size=3).map("\n".join)
_scale = st.sampled_from(["very_low", "low", "medium", "high", "very_high"])
_batch = st.sampled_from(["must_have", "nice_to_have", "deferred"])


@st.composite
def plans(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(0, 7))
    names = [f"F{i} {draw(_text)}" for i in range(count)]
    features = []
    for name in names:
        item: dict[str, Any] = {
            "name": name,
            "batch": draw(_batch),
            "reason": draw(_prose),
            "depends_on": draw(st.lists(st.sampled_from(names), max_size=3)) if names else [],
            "prerequisites": draw(st.lists(_text, max_size=2)),
            "risk": draw(st.none() | _scale),
            "rollback_complexity": draw(st.none() | _scale),
            "flag": draw(st.none() | st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)),
        }
        if draw(st.booleans()):
            item["target_version"] = draw(st.sampled_from(["2.4.0", "2.6.0", "3.0.0-rc.1"]))
            item["target_when"] = draw(_text)
        features.append(item)
    return {
        "version": draw(st.sampled_from(["0.9.0", "2.5.0", "2.5.1", "3.0.0", "v3.0.0-beta.1"])),
        "name": draw(_text),
        "target_date": draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))).isoformat(),
        "release_type": draw(st.sampled_from(["major", "minor", "patch"])),
        "objectives": draw(st.lists(_prose, max_size=3)),
        "success_metrics": draw(st.lists(_text, max_size=3)),
        "features": features,
        "breaking_changes": [
            {
                "name": draw(_text),
                "category": draw(st.sampled_from(["api", "database", "config"])),
                "change": draw(_prose),
                "affects": draw(st.lists(_text, max_size=2)),
                "migration": draw(_prose),
                "deprecation_period_days": draw(st.none() | st.integers(0, 365)),
                "backward_compatible": draw(st.booleans()),
                "compatibility_details": draw(st.none() | _text),
                "rollback_complexity": draw(st.none() | _scale),
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
        "dependencies": [
            {
                "name": draw(_text),
                "scope": draw(st.sampled_from(["internal", "external"])),
                "status": draw(st.sampled_from(["pending", "in_progress", "done", "blocked"])),
                "due": draw(st.none() | st.sampled_from(["2026-03-01", "2026-04-01"])),
                "notes": draw(st.none() | _text),
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
        "risks": [
            {
                "description": draw(_prose),
                "level": draw(st.sampled_from(["low", "medium", "high", "critical"])),
                "mitigation": draw(_prose),
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
    }


@settings(max_examples=60, deadline=None)
@given(plans())
def test_a_stored_plan_loads_back_equal_and_renders_the_same_bytes(args: dict[str, Any]) -> None:
    spec = plan(args)
    ctx = ctx_for(spec)
    stored = json.loads(json.dumps(spec.model_dump(mode="json")))
    again = ReleasePlanSpec.model_validate(stored)
    assert again == spec
    assert again.render(ctx) == spec.render(ctx)
    assert again.computed(ctx) == spec.computed(ctx)
    assert check_artifact(again, ctx) == check_artifact(spec, ctx)


def _has_cycle(spec: ReleasePlanSpec) -> bool:
    index = {f.name.casefold(): i for i, f in reversed(list(enumerate(spec.features)))}
    graph = {
        i: {index[d.casefold()] for d in f.depends_on if d.casefold() in index}
        for i, f in enumerate(spec.features)
    }
    reach = {i: set(graph[i]) for i in graph}
    for _ in graph:  # transitive closure by repetition; tiny graphs
        for i in reach:
            reach[i] |= {k for j in list(reach[i]) for k in graph[j]}
    return any(i in reach[i] for i in reach)


@settings(max_examples=100, deadline=None)
@given(plans())
def test_batch_order_is_a_permutation_that_respects_dependencies_unless_cyclic(args: dict[str, Any]) -> None:
    spec = plan(args)
    figures = spec.computed(ctx_for(spec))
    order = figures["batch_order"]
    assert sorted(order) == sorted(f.name for f in spec.features)
    assert sum(figures["counts"].values()) == len(spec.features)
    cyclic = _has_cycle(spec)
    assert any(f.code == "feature_dependency_cycle" for f in check_artifact(spec, ctx_for(spec))) == cyclic
    if not cyclic:
        position = {name.casefold(): i for i, name in reversed(list(enumerate(order)))}
        for f in spec.features:
            for dep in f.depends_on:
                assert position[dep.casefold()] <= position[f.name.casefold()]


@settings(max_examples=60, deadline=None)
@given(plans())
def test_every_finding_has_a_snake_case_code_and_a_message(args: dict[str, Any]) -> None:
    spec = plan(args)
    for f in check_artifact(spec, ctx_for(spec)):
        assert f.code.replace("_", "").isalnum() and f.code == f.code.lower()
        assert f.message and f.severity in ("error", "warning")
