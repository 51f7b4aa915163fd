"""The skill's prompt files: they load from the installed package, render, refuse bad arguments and
name only tools the server has."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from release_planner.prompts.loader import (
    PROMPT_FILES,
    PromptArg,
    PromptDef,
    PromptFileError,
    load_prompts,
    parse_prompt,
)
from release_planner.tools import results
from release_planner.tools.errors import InvalidInput
from release_planner.tools.evaluating import Observation
from release_planner.tools.exporting import ExportResult
from release_planner.tools.service import WRITE_TOOLS, ExtraLink, ReleasePlanner

READ_AND_LINK_TOOLS = (
    "link_release_entities",
    "get_release_plan",
    "list_release_plans",
    "summarize_release",
    "evaluate_gate",
    "get_release_status",
    "export_rollout",
)
KNOWN_TOOLS = frozenset(t.name for t in WRITE_TOOLS) | frozenset(READ_AND_LINK_TOOLS)

# Tool names follow verb_noun; any identifier shaped like that in a prompt is taken as a tool reference,
# so a typo or a tool that does not exist is caught even outside backticks.
TOOL_LIKE = re.compile(
    r"\b(?:create|design|plan|link|get|list|summarize|write|update|delete|add|set|record|scope|make)_[a-z0-9_]+\b"
)

STEP_TOOLS = {
    "scope_release": ("create_release_plan",),
    "design_migration": ("design_migration_path",),
    "design_rollback": ("design_rollback",),
    "plan_rollout": ("plan_rollout",),
    "write_runbook": ("create_runbook",),
    "link_and_summarize": ("link_release_entities", "get_release_plan", "summarize_release"),
    "run_gate_review": ("get_release_status", "evaluate_gate", "record_decision"),
}
SKILL_ORDER = (
    "create_release_plan",
    "design_migration_path",
    "design_rollback",
    "plan_rollout",
    "create_runbook",
    "link_release_entities",
    "get_release_plan",
    "summarize_release",
)

PROMPTS = {p.name: p for p in load_prompts()}


def required_args(prompt: PromptDef) -> dict[str, str]:
    return {
        a.name: "2.5.0" if a.name == "version" else f"value of {a.name}"
        for a in prompt.arguments
        if a.required
    }


def test_the_read_and_link_tools_the_prompts_name_exist_on_the_service():
    for name in READ_AND_LINK_TOOLS:
        assert callable(getattr(ReleasePlanner, name))


def test_every_prompt_file_loads_in_skill_order_with_a_name_matching_its_file():
    prompts = load_prompts()
    assert [p.name + ".md" for p in prompts] == list(PROMPT_FILES)
    assert [p.name for p in prompts] == [
        "plan_release",
        "scope_release",
        "design_migration",
        "design_rollback",
        "plan_rollout",
        "write_runbook",
        "link_and_summarize",
        "run_gate_review",
    ]
    for p in prompts:
        assert p.title and p.description and p.body.strip()
        assert p.arguments[0] == PromptArg(p.arguments[0].name, p.arguments[0].description, True)
        assert p.arguments[0].name == "version"


def test_every_markdown_file_shipped_in_the_package_is_a_listed_prompt():
    shipped = sorted(
        f.name for f in resources.files("release_planner.prompts").iterdir() if f.name.endswith(".md")
    )
    assert shipped == sorted(PROMPT_FILES)


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_a_prompt_renders_with_only_its_required_arguments(name: str):
    prompt = PROMPTS[name]
    text = prompt.render(**required_args(prompt))
    assert "2.5.0" in text
    assert not re.search(r"\{(?:" + "|".join(a.name for a in prompt.arguments) + r")\}", text)
    for arg in prompt.arguments:
        if not arg.required:
            assert arg.default and arg.default in text


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_a_prompt_refuses_a_missing_required_argument(name: str):
    with pytest.raises(InvalidInput) as info:
        PROMPTS[name].render()
    assert info.value.field == "version"


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_a_prompt_refuses_an_unknown_argument(name: str):
    prompt = PROMPTS[name]
    with pytest.raises(InvalidInput) as info:
        prompt.render(**required_args(prompt), colour="blue")
    assert info.value.field == "colour"
    assert info.value.valid == ", ".join(a.name for a in prompt.arguments)


def test_a_version_is_normalized_and_a_bad_one_refused():
    prompt = PROMPTS["plan_release"]
    assert "release 2.5.0" in prompt.render(version=" v2.5.0 ")
    assert "v2.5.0" not in prompt.render(version="v2.5.0")
    with pytest.raises(InvalidInput) as info:
        prompt.render(version="2.5")
    assert info.value.field == "version"


def test_a_blank_required_argument_counts_as_missing():
    with pytest.raises(InvalidInput):
        PROMPTS["design_rollback"].render(version="   ")


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_a_prompt_names_only_tools_the_server_has(name: str):
    prompt = PROMPTS[name]
    mentioned = set(TOOL_LIKE.findall(prompt.body + prompt.description))
    assert mentioned, "a prompt should tell the agent which tool to call"
    assert mentioned <= KNOWN_TOOLS, mentioned - KNOWN_TOOLS


@pytest.mark.parametrize(("name", "tools"), sorted(STEP_TOOLS.items()))
def _property_names(schema: object, out: set[str]) -> set[str]:
    if isinstance(schema, dict):
        out.update(schema.get("properties", {}))
        for value in schema.values():
            _property_names(value, out)
    elif isinstance(schema, list):
        for value in schema:
            _property_names(value, out)
    return out


def test_every_field_a_prompt_names_in_backticks_exists_in_a_tool_schema_or_result():
    vocabulary = {"expected_revision", "task_id"} | KNOWN_TOOLS  # service parameters beside the spec
    for model in [t.spec for t in WRITE_TOOLS] + [
        ExtraLink,
        results.WriteResult,
        results.LinkResult,
        results.ReleaseView,
        results.ReleasePage,
        results.StakeholderSummary,
        results.GateEvaluation,
        results.ReleaseStatusView,
        Observation,
        ExportResult,
    ]:
        _property_names(model.model_json_schema(), vocabulary)
    named = {
        (prompt.name, token)
        for prompt in PROMPTS.values()
        for token in re.findall(r"`([a-z][a-z0-9_]*)`", prompt.body)
    }
    assert {(name, token) for name, token in named if token not in vocabulary} == set()


@pytest.mark.parametrize(("name", "tools"), sorted(STEP_TOOLS.items()))
def test_each_step_prompt_names_the_tool_of_its_step(name: str, tools: tuple[str, ...]):
    body = PROMPTS[name].body
    for tool in tools:
        assert f"`{tool}`" in body


def test_the_whole_skill_prompt_names_every_step_tool_in_order():
    body = PROMPTS["plan_release"].body
    # The opening may point at the read tools to find an existing release; the order that matters is
    # where each step is introduced, so look from the first step's heading on.
    steps = body[body.index("## Step 1") :]
    positions = [steps.find(f"`{tool}`") for tool in SKILL_ORDER]
    assert -1 not in positions, dict(zip(SKILL_ORDER, positions, strict=True))
    assert positions == sorted(positions)


def test_the_whole_skill_prompt_covers_the_checks_the_server_makes():
    text = PROMPTS["plan_release"].body.lower()
    for phrase in (
        "nested",
        "stickiness",
        "halt threshold",
        "weekend",
        "working hours",
        "non-inferiority",
        "margin",
        "minimum sample",
        "expand and contract",
        "exit criteria",
        "rehearsal",
    ):
        assert phrase in text, phrase


def test_optional_arguments_fill_in_when_given():
    text = PROMPTS["plan_release"].render(version="3.0.0", name="Search", target_date="2026-03-16")
    assert "release 3.0.0 (Search), targeted for 2026-03-16" in text


SAFE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=80
).filter(lambda s: s.strip() == s and s)


@given(name=SAFE_TEXT, target_date=SAFE_TEXT)
def test_rendering_puts_values_in_verbatim_and_never_expands_placeholders_inside_them(
    name: str, target_date: str
):
    text = PROMPTS["plan_release"].render(version="1.0.0", name=name, target_date=target_date)
    assert f"release 1.0.0 ({name}), targeted for {target_date}" in text


def test_a_value_that_looks_like_a_placeholder_stays_literal():
    text = PROMPTS["plan_release"].render(version="1.0.0", name="{target_date}", target_date="2026-01-05")
    assert "release 1.0.0 ({target_date}), targeted for 2026-01-05" in text


def test_an_overlong_argument_is_refused():
    with pytest.raises(InvalidInput) as info:
        PROMPTS["plan_release"].render(version="1.0.0", name="x" * 2_001)
    assert info.value.field == "name"


MINIMAL = """---
name: demo
title: Demo
description: "A demo: with a colon"
arguments:
  - name: version
    description: Version
    required: true
  - name: note
    description: A note
    default: none given
---
Plan {version}; note {note}; JSON stays {"a": 1} and {unknown_brace text}.
"""


def test_the_front_matter_parser_reads_quoted_values_defaults_and_leaves_other_braces_alone():
    prompt = parse_prompt(MINIMAL, "demo.md")
    assert prompt == PromptDef(
        name="demo",
        title="Demo",
        description="A demo: with a colon",
        arguments=[PromptArg("version", "Version", True), PromptArg("note", "A note", False, "none given")],
        body='Plan {version}; note {note}; JSON stays {"a": 1} and {unknown_brace text}.\n',
    )
    assert prompt.render(version="1.2.3") == (
        'Plan 1.2.3; note none given; JSON stays {"a": 1} and {unknown_brace text}.\n'
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter\n", "must start with"),
        ("---\nname: x\n", "not closed"),
        ("---\nname: x\ntitle: T\n---\nbody\n", "needs a non-empty description"),
        ("---\nname: Bad-Name\ntitle: T\ndescription: D\n---\nbody\n", "snake_case"),
        ("---\nname: x\ntitle: T\ndescription: D\ncolour: red\n---\nbody\n", "expected one of"),
        ("---\nname: x\ntitle: T\ndescription: D\n---\nuses {missing}\n", "undeclared placeholders"),
        (
            "---\nname: x\ntitle: T\ndescription: D\narguments:\n  - name: a\n    description: A\n"
            "    required: maybe\n---\n{a}\n",
            "true or false",
        ),
        (
            "---\nname: x\ntitle: T\ndescription: D\narguments:\n  - name: a\n    description: A\n"
            "  - name: a\n    description: B\n---\n{a}\n",
            "declared twice",
        ),
    ],
)
def test_a_malformed_prompt_file_is_refused_with_its_location(text: str, message: str):
    with pytest.raises(PromptFileError, match=message):
        parse_prompt(text, "bad.md")
