"""Every tool, called with arguments generated from its own input schema and with one-place
mutations of a known-good call: no call may crash, and every refusal names the field at fault."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers.checks import is_unhandled, text_of
from hostile_session import mcp_session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_strategies import Mutation, mutations, unsupported_keywords, valid_shaped

from release_planner.server.registration import tool_names

TOOLS = tool_names()
FUZZ = settings(
    max_examples=60,
    deadline=None,
    # One seeded session serves all examples of a test; generated plans can be large.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def _names_a_parameter(text: str, schema: dict[str, Any], tool: str) -> bool:
    return any(re.search(rf"\b{re.escape(name)}\b", text) for name in schema.get("properties", {}))


def test_every_tool_schema_uses_only_keywords_the_generator_understands() -> None:
    with mcp_session(seed=False) as session:
        assert set(session.schemas) == set(TOOLS)
        assert {name: unsupported_keywords(s) for name, s in session.schemas.items()} == {
            name: set() for name in TOOLS
        }


@pytest.mark.parametrize("tool", TOOLS)
def test_generated_arguments_never_crash_a_tool_and_every_refusal_names_a_parameter(tool: str) -> None:
    with mcp_session("auto") as session:
        schema = session.schemas[tool]

        @FUZZ
        @given(args=valid_shaped(schema))
        def check(args: dict[str, Any]) -> None:
            result = session.call(tool, args)
            text = text_of(result)
            assert not is_unhandled(result), f"unhandled exception for {args!r}"
            if result.is_error:
                assert _names_a_parameter(text, schema, tool), text
            else:
                assert result.structured_content is not None

        check()


@pytest.mark.parametrize("tool", TOOLS)
def test_one_place_mutations_are_refused_with_the_field_named(tool: str) -> None:
    with mcp_session("legacy") as session:
        schema = session.schemas[tool]
        base = session.base_args(tool)
        assert not session.call(tool, base).is_error, "the unmutated call must succeed"
        every = list(mutations(base, schema))
        assert sum(m.must_fail for m in every) >= 3

        @FUZZ
        @given(mutation=st.sampled_from(every))
        def check(mutation: Mutation) -> None:
            result = session.call(tool, mutation.apply(base))
            text = text_of(result)
            assert not is_unhandled(result), f"unhandled exception for {mutation}"
            if mutation.must_fail:
                assert result.is_error, f"accepted {mutation}"
                missing = [name for name in mutation.names if name not in text]
                assert missing == [], f"{mutation}: the error does not name {missing}: {text[:500]}"
            elif result.is_error:
                assert _names_a_parameter(text, schema, tool), text

        check()
