"""The migration path (step 2): T-offsets, phase checks, dates from the plan, Markdown."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from golden_files import assert_matches_golden
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples import migration as example
from release_planner.tools.migration import MigrationPathSpec, MigrationPhase
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.review import check_artifact

PLAN = ReleasePlanSpec.model_validate(example.PLAN_V3_ARGS)


def path(args: dict[str, Any]) -> MigrationPathSpec:
    return MigrationPathSpec.model_validate(args)


def with_plan(plan_args: dict[str, Any] | None = None, **kw: Any) -> ReleaseContext:
    plan = ReleasePlanSpec.model_validate(plan_args) if plan_args is not None else PLAN
    return ReleaseContext(version=plan.version, plan=plan, **kw)


NO_PLAN = ReleaseContext(version="3.0.0")


def findings(args: dict[str, Any], ctx: ReleaseContext | None = None) -> list[tuple[str, str, str | None]]:
    spec = path(args)
    return [
        (f.code, f.severity, f.field) for f in check_artifact(spec, ctx if ctx is not None else with_plan())
    ]


def phase(name: str, kind: str, start: str, end: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "kind": kind, "start": start, "actions": [f"{name} work"]}
    if end is not None:
        item["end"] = end
    return item


def database_path(**changes: Any) -> dict[str, Any]:
    args = copy.deepcopy(example.ARGS)
    args.update(
        change="Rename user_name",
        change_type="database",
        phases=[
            phase("Add username column", "expand", "T-28", "T-1"),  # a Monday: T-30 is a Saturday
            phase("Dual-write and backfill", "migrate", "T", "T+14"),
            phase("Drop user_name", "contract", "T+30"),
        ],
        rollback_plan={"actions": ["Read from user_name again"], "window_days": 30},
    )
    args.update(changes)
    return args


class FakeRollout:
    """Stands in for a stored rollout plan: only the two dates a migration path reads."""

    def __init__(self, removal: date | None, end: datetime | None) -> None:
        self._removal, self._end = removal, end

    def flag_removal_date(self) -> date | None:
        return self._removal

    def rollout_end(self) -> datetime | None:
        return self._end


# ----- the example -----


def test_the_corrected_example_has_no_findings() -> None:
    assert findings(example.ARGS) == []


def test_the_template_as_written_shuts_down_without_exit_criteria() -> None:
    assert findings(example.SEED_AS_WRITTEN) == [
        ("shutdown_without_exit_criteria", "warning", "exit_criteria")
    ]
    assert findings(example.SEED_AS_WRITTEN, NO_PLAN) == [
        ("shutdown_without_exit_criteria", "warning", "exit_criteria")
    ]


def test_title_and_confidence() -> None:
    spec = path(example.ARGS)
    assert spec.title(NO_PLAN) == "Migration Path: API v1 to v2"
    assert spec.confidence(NO_PLAN) == 0.85


def test_confidence_is_read_and_stored_under_its_tool_name() -> None:
    spec = path(example.ARGS)
    assert spec.model_dump(mode="json")["confidence"] == 0.85
    assert "stated_confidence" not in spec.model_dump(mode="json")
    assert "confidence" in MigrationPathSpec.model_json_schema()["properties"]
    with pytest.raises(ValidationError):
        path(example.ARGS | {"confidence": 1.5})
    with pytest.raises(ValidationError):
        path(example.ARGS | {"stated_confidence": 0.5})


def test_computed_timeline_has_dates_from_the_plan_target() -> None:
    spec = path(example.ARGS)
    assert spec.computed(with_plan()) == {
        "phases": [
            {
                "name": "Deprecation Announcement",
                "kind": "announce",
                "start_offset": -90,
                "end_offset": None,
                "start_date": "2026-04-14",
                "end_date": None,
            },
            {
                "name": "Dual Support",
                "kind": "dual_support",
                "start_offset": -60,
                "end_offset": 30,
                "start_date": "2026-05-14",
                "end_date": "2026-08-12",
            },
            {
                "name": "Sunset Warning",
                "kind": "sunset_warning",
                "start_offset": 30,
                "end_offset": 60,
                "start_date": "2026-08-12",
                "end_date": "2026-09-11",
            },
            {
                "name": "Shutdown",
                "kind": "shutdown",
                "start_offset": 60,
                "end_offset": None,
                "start_date": "2026-09-11",
                "end_date": None,
            },
        ],
        "shutdown_date": "2026-09-11",
        "shutdown_offset": 60,
        "change_type": "api",
        "rollback_window_end_offset": 60,
        "dates_from": "2026-07-13",
    }


def test_without_a_plan_the_timeline_has_offsets_only() -> None:
    spec = path(example.ARGS)
    figures = spec.computed(NO_PLAN)
    assert [(p["start_offset"], p["start_date"], p["end_date"]) for p in figures["phases"]] == [
        (-90, None, None),
        (-60, None, None),
        (30, None, None),
        (60, None, None),
    ]
    assert figures["shutdown_date"] is None and figures["dates_from"] is None
    text = spec.render(NO_PLAN)
    assert "no release plan with a target date is stored for v3.0.0 yet" in text
    assert "**Phase 1: Deprecation Announcement (T-90 days)**" in text
    assert "**Phase 2: Dual Support (T-60 days to T+30 days)**" in text


def test_change_type_is_taken_from_the_plan_when_omitted() -> None:
    args = copy.deepcopy(example.ARGS)
    del args["change_type"]
    spec = path(args)
    assert spec.computed(with_plan())["change_type"] == "api"
    assert spec.computed(NO_PLAN)["change_type"] is None


def test_markdown_of_the_example_matches_the_golden_file() -> None:
    markdown = path(example.ARGS).render(with_plan())
    assert_matches_golden(markdown, "migration_path_v3.0.0.md")


def test_markdown_uses_the_skill_section_headings_in_order() -> None:
    text = path(example.ARGS).render(with_plan())
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Change Summary",
        "## Migration Timeline",
        "## Migration Steps for Customers",
        "## Support Resources",
        "## Backward Compatibility",
        "## Rollback Plan",
        "## Exit Criteria",
    ]
    assert "**Phase 1: Deprecation Announcement (T-90 days, April 14, 2026)**" in text
    assert text.endswith("\n\n**Confidence:** 0.85\n")


def test_a_minimal_path_renders_only_what_it_has() -> None:
    spec = path(
        {
            "version": "3.0.0",
            "change": "Drop XML",
            "rationale": "JSON only",
            "confidence": 0.5,
            "phases": [{"name": "Announce", "kind": "announce", "start": "T-30"}],
        }
    )
    assert spec.render(NO_PLAN) == (
        "## Change Summary\n\n**What's changing:** Drop XML\n**Why:** JSON only\n\n"
        "## Migration Timeline\n\nDates are shown as days from the release day T: no release plan with a "
        "target date is stored for v3.0.0 yet.\n\n**Phase 1: Announce (T-30 days)**\n\n"
        "**Confidence:** 0.50\n"
    )


def test_a_snippet_containing_backticks_gets_a_longer_fence() -> None:
    args = copy.deepcopy(example.ARGS)
    args["customer_steps"] = [
        {
            "title": "Read the docs",
            "instructions": "Done.",
            "code": {"language": "md", "text": "```\nx\n````"},
        }
    ]
    text = path(args).render(NO_PLAN)
    assert "### Step 1: Read the docs\n\n`````md\n```\nx\n````\n`````\n\nDone." in text


def test_exit_windows_are_spelled_in_days_hours_or_minutes() -> None:
    args = copy.deepcopy(example.ARGS)
    args["exit_criteria"] = [
        {"metric": "a", "comparator": "<", "threshold": 1, "window_minutes": 1440},
        {"metric": "b", "comparator": "<", "threshold": 2.5, "unit": "ms", "window_minutes": 120},
        {"metric": "c", "comparator": ">=", "threshold": 3, "unit": "count", "window_minutes": 90},
    ]
    text = path(args).render(with_plan())
    section = text[text.index("## Exit Criteria") : text.index("**Confidence:**")]
    assert section == (
        "## Exit Criteria\n\nBefore Phase 4 (Shutdown, T+60 days), all of these must hold:\n"
        "- a < 1% for 1 day\n- b < 2.5 ms for 2 hours\n- c >= 3 for 90 minutes\n\n"
    )


# ----- T-offsets -----


@pytest.mark.parametrize(
    ("given_", "stored"),
    [
        ("T-90", "T-90"),
        ("t+30", "T+30"),
        ("T", "T"),
        ("T+0", "T"),
        ("T-7 days", "T-7"),
        (-90, "T-90"),
        (0, "T"),
    ],
)
def test_t_offsets_are_stored_normalized(given_: Any, stored: str) -> None:
    assert MigrationPhase(name="p", kind="other", start=given_).start == stored


@pytest.mark.parametrize("bad", ["90", "T-", "D+3", "T+3651", -3651, True, "T-90 weeks"])
def test_malformed_or_far_t_offsets_are_refused(bad: Any) -> None:
    with pytest.raises(ValidationError):
        MigrationPhase(name="p", kind="other", start=bad)


def test_a_path_needs_at_least_one_phase_and_no_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        path(example.ARGS | {"phases": []})
    with pytest.raises(ValidationError):
        path(example.ARGS | {"owner": "alice"})
    with pytest.raises(ValidationError):
        path(example.ARGS | {"change_type": "schema"})


# ----- every finding code -----


def _swap_first_two(a: dict[str, Any]) -> None:
    a["phases"][0], a["phases"][1] = a["phases"][1], a["phases"][0]


CASES: list[tuple[str, Any, ReleaseContext | None, list[tuple[str, str, str | None]]]] = [
    (
        "phases listed out of time order",
        _swap_first_two,
        None,
        [("phases_out_of_order", "error", "phases[1].start")],
    ),
    (
        "a shutdown scheduled before the announcement",
        lambda a: a.update(
            phases=[phase("Shutdown", "shutdown", "T-100"), phase("Announce", "announce", "T-90")]
        ),
        NO_PLAN,
        [
            ("phases_out_of_order", "error", "phases[0].start"),
            ("contract_before_release", "error", "phases[0].start"),
        ],
    ),
    (
        "a shutdown while the sunset warning still runs",
        lambda a: a["phases"][3].update(start="T+45"),
        None,
        [
            ("phases_out_of_order", "error", "phases[3].start"),
            ("contract_inside_rollback_window", "warning", "phases[3].start"),
        ],
    ),
    (
        "a phase that ends before it starts",
        lambda a: a["phases"][1].update(end="T-70"),
        None,
        [("phase_ends_before_start", "error", "phases[1].end")],
    ),
    (
        "a shutdown without exit criteria",
        lambda a: a.update(exit_criteria=[]),
        None,
        [("shutdown_without_exit_criteria", "warning", "exit_criteria")],
    ),
    (
        "exit criteria that are all prose",
        lambda a: a.update(exit_criteria=["Customers are happy"]),
        None,
        [("exit_criteria_not_measurable", "warning", "exit_criteria")],
    ),
    (
        "a database change with deprecation phases only",
        lambda a: a.update(change_type="database"),
        NO_PLAN,
        [("database_change_without_expand_contract", "error", "phases")],
    ),
    (
        "a change the plan does not list",
        lambda a: a.update(change="Drop SOAP"),
        None,
        [("unknown_breaking_change", "error", "change")],
    ),
    (
        "a change type that contradicts the plan",
        lambda a: a.update(change_type="config"),
        None,
        [("change_type_mismatch", "warning", "change_type")],
    ),
    (
        "no rollback plan",
        lambda a: a.pop("rollback_plan"),
        None,
        [("missing_rollback_plan", "warning", "rollback_plan")],
    ),
]


@pytest.mark.parametrize(("change", "ctx", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_reported_with_its_code_severity_and_field(
    change: Any, ctx: ReleaseContext | None, expected: list
) -> None:
    args = copy.deepcopy(example.ARGS)
    change(args)
    assert findings(args, ctx) == expected


def test_the_out_of_order_message_names_both_phases() -> None:
    args = copy.deepcopy(example.ARGS)
    args["phases"][3]["start"] = "T+45"
    [finding] = [f for f in check_artifact(path(args), with_plan()) if f.code == "phases_out_of_order"]
    assert (
        "'Shutdown'" in finding.message
        and "'Sunset Warning'" in finding.message
        and "T+60" in finding.message
    )


def test_a_database_change_typed_in_the_plan_needs_expand_migrate_contract() -> None:
    plan_args = copy.deepcopy(example.PLAN_V3_ARGS)
    plan_args["breaking_changes"][0]["category"] = "database"
    args = copy.deepcopy(example.ARGS)
    del args["change_type"]
    assert findings(args, with_plan(plan_args)) == [
        ("database_change_without_expand_contract", "error", "phases")
    ]
    args["data_loss_acknowledged"] = True
    assert findings(args, with_plan(plan_args)) == []


def test_an_expand_migrate_contract_path_after_the_rollback_window_is_clean() -> None:
    assert findings(database_path(), NO_PLAN) == []


def test_contract_inside_its_own_rollback_window_is_warned() -> None:
    args = database_path(rollback_plan={"actions": ["Read from user_name again"], "window_days": 45})
    assert findings(args, NO_PLAN) == [("contract_inside_rollback_window", "warning", "phases[2].start")]


def test_contract_before_the_rollout_removes_its_flags_is_warned() -> None:
    args = database_path(rollback_plan={"actions": ["Read from user_name again"]})
    target = PLAN.target_date
    plan_args = copy.deepcopy(example.PLAN_V3_ARGS)
    plan_args["breaking_changes"].append(
        {
            "name": "Rename user_name",
            "category": "database",
            "change": "user_name becomes username",
            "migration": "expand, dual-write, contract",
        }
    )
    late = FakeRollout(removal=target + timedelta(days=31), end=None)
    assert findings(args, with_plan(plan_args, rollout=late)) == [
        ("contract_inside_rollback_window", "warning", "phases[2].start"),
    ]
    early = FakeRollout(removal=None, end=datetime(2026, 7, 20, 9, 0))
    assert findings(args, with_plan(plan_args, rollout=early)) == []
    assert findings(args, ReleaseContext(version="3.0.0", rollout=late)) == []


def test_expand_after_contract_is_out_of_order() -> None:
    args = database_path(
        phases=[
            phase("Drop", "contract", "T+30"),
            phase("Backfill", "migrate", "T+31"),
            phase("Add", "expand", "T+40"),
        ]
    )
    # One finding per pair in the wrong order, on the phase that should have come later.
    assert findings(args, NO_PLAN) == [
        ("phases_out_of_order", "error", "phases[0].start"),
        ("phases_out_of_order", "error", "phases[0].start"),
        ("phases_out_of_order", "error", "phases[1].start"),
    ]


def test_a_shorter_deprecation_than_the_plan_promises_is_warned() -> None:
    plan_args = copy.deepcopy(example.PLAN_V3_ARGS)
    plan_args["breaking_changes"][0]["deprecation_period_days"] = 180
    assert findings(example.ARGS, with_plan(plan_args)) == [
        ("deprecation_shorter_than_planned", "warning", "phases[3].start")
    ]


def test_change_names_match_the_plan_ignoring_case() -> None:
    assert findings(example.ARGS | {"change": "API V1 TO V2"}) == []


# ----- properties -----

_offsets = st.integers(-400, 400)
_kinds = st.sampled_from(
    ["announce", "dual_support", "sunset_warning", "shutdown", "expand", "migrate", "contract", "other"]
)
_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=20
).filter(lambda s: s.strip())


@st.composite
def paths(draw: st.DrawFn) -> dict[str, Any]:
    phases = []
    for _ in range(draw(st.integers(1, 5))):
        start = draw(_offsets)
        item: dict[str, Any] = {
            "name": draw(_text),
            "kind": draw(_kinds),
            "start": start,
            "actions": draw(st.lists(_text, max_size=2)),
        }
        if draw(st.booleans()):
            item["end"] = start + draw(st.integers(-5, 60))
        phases.append(item)
    criteria: list[Any] = draw(st.lists(_text, max_size=2))
    if draw(st.booleans()):
        criteria.append(
            {
                "metric": draw(_text),
                "comparator": "<",
                "threshold": draw(st.floats(-1e6, 1e6)),
                "window_minutes": draw(st.none() | st.integers(1, 20000)),
            }
        )
    return {
        "version": "3.0.0",
        "change": draw(st.sampled_from(["API v1 to v2", "Drop XML"])),
        "rationale": draw(_text),
        "affects": draw(st.lists(_text, max_size=2)),
        "phases": phases,
        "customer_steps": [
            {
                "title": draw(_text),
                "instructions": draw(_text),
                "code": draw(st.none() | st.builds(lambda t: {"text": t}, _text)),
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
        "backward_compatibility": {"preserved": draw(st.lists(_text, max_size=2))},
        "rollback_plan": draw(
            st.none()
            | st.builds(
                lambda t, w: {"actions": [t], "window_days": w}, _text, st.none() | st.integers(0, 90)
            )
        ),
        "exit_criteria": criteria,
        "confidence": draw(st.floats(0, 1)),
        "change_type": draw(st.none() | st.sampled_from(["api", "database", "config"])),
        "data_loss_acknowledged": draw(st.booleans()),
    }


@settings(max_examples=80, deadline=None)
@given(paths(), st.booleans())
def test_a_stored_path_loads_back_equal_and_renders_the_same_bytes(
    args: dict[str, Any], planned: bool
) -> None:
    spec = path(args)
    ctx = with_plan() if planned else NO_PLAN
    stored = json.loads(json.dumps(spec.model_dump(mode="json")))
    again = MigrationPathSpec.model_validate(stored)
    assert again == spec
    assert again.render(ctx) == spec.render(ctx)
    assert check_artifact(again, ctx) == check_artifact(spec, ctx)


@settings(max_examples=80, deadline=None)
@given(paths())
def test_every_phase_date_is_the_target_date_plus_its_offset(args: dict[str, Any]) -> None:
    spec = path(args)
    figures = spec.computed(with_plan())
    for given_phase, row in zip(args["phases"], figures["phases"], strict=True):
        assert row["start_offset"] == given_phase["start"]
        assert date.fromisoformat(row["start_date"]) == PLAN.target_date + timedelta(
            days=given_phase["start"]
        )
        if "end" in given_phase:
            assert date.fromisoformat(row["end_date"]) - date.fromisoformat(row["start_date"]) == timedelta(
                days=given_phase["end"] - given_phase["start"]
            )
        else:
            assert row["end_date"] is None


@settings(max_examples=80, deadline=None)
@given(paths())
def test_phases_sorted_by_start_never_report_listing_order(args: dict[str, Any]) -> None:
    args["phases"].sort(key=lambda p: p["start"])
    for p in args["phases"]:
        p["kind"] = "other"
    codes = {f.code for f in check_artifact(path(args), with_plan())}
    assert "phases_out_of_order" not in codes
