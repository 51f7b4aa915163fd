"""Nesting: tool arguments deeper than 64 levels are refused naming the path; stored data nested
deeper than orjson handles (254 levels written, 1,024 read) is still read, kept on update where it
can be written back, and otherwise refused with the entity, field and fix named, nothing changed."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygit2
import pytest
from helpers.checks import is_unhandled, structured, text_of
from hostile_session import mcp_session
from hypothesis import given, settings
from hypothesis import strategies as st

from release_planner.server.engram import deepjson
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.validate import validate_repository
from release_planner.tools.examples import release_plan


def nested(levels: int, leaf: Any = "x") -> Any:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


# -- input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["objectives", "features.0.reason"])
def test_arguments_nested_deeper_than_64_levels_are_refused_naming_the_path(field: str):
    args = copy.deepcopy(release_plan.ARGS)
    node: Any = args
    *parents, last = [int(p) if p.isdigit() else p for p in field.split(".")]
    for key in parents:
        node = node[key]
    node[last] = nested(100)
    with mcp_session("auto", seed=False) as session:
        result = session.call("create_release_plan", args)
        text = text_of(result)
        assert result.is_error and not is_unhandled(result), text
        spelled = field.replace(".0.", "[0].")
        assert f"{spelled}[0][0]" in text and "levels deep" in text, text
        assert "valid: at most 64 levels of nested lists and objects" in text, text
        assert "nothing was changed" in text
        assert structured(session.call("list_release_plans", {}))["total"] == 0


# -- stored data -------------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ws"
    with GitRefsStore(path) as store, mcp_session("auto", store=store, seed=False) as session:
        assert not session.call("create_release_plan", release_plan.ARGS).is_error
    yield path


def plant(workspace: Path, entity_type: str, levels: int) -> tuple[str, str]:
    """Another tool's deep value under ``metadata.other_tool`` of the release's ``entity_type``
    entity; returns its ref and the JSON text of the value as planted."""
    repo = pygit2.Repository(str(workspace))
    (ref,) = [r for r in repo.references if r.startswith(f"refs/engram/{entity_type}/") and r.count("/") == 3]
    env = json.loads(repo[repo.references[ref].target].data)
    env["data"].setdefault("metadata", {})["other_tool"] = "PLACEHOLDER"
    value = "[" * levels + '{"k": 1}' + "]" * levels  # built as text: json.dumps recurses
    text = json.dumps(env, indent=2, ensure_ascii=False).replace('"PLACEHOLDER"', value)
    repo.references[ref].set_target(repo.create_blob(text.encode()))
    return ref, value


def renamed(revision: int) -> dict[str, Any]:
    args = copy.deepcopy(release_plan.ARGS)
    args["name"] = "Enterprise Features, renamed"
    args["expected_revision"] = revision
    return args


def test_an_entity_nested_deeper_than_orjson_reads_is_still_read(workspace: Path):
    plant(workspace, "context", 1100)  # the release plan artifact
    with GitRefsStore(workspace) as store, mcp_session("auto", store=store, seed=False) as session:
        view = structured(session.call("get_release_plan", {"version": "2.5.0"}))
        assert store.problems() == []
    kinds = [a["kind"] for a in view["artifacts"]]
    assert "release_plan" in kinds, kinds
    assert "## Feature Batching" in view["markdown"]


def test_an_update_keeps_a_field_nested_past_orjsons_write_limit(workspace: Path):
    ref, value = plant(workspace, "task", 300)
    with GitRefsStore(workspace) as store, mcp_session("auto", store=store, seed=False) as session:
        view = structured(session.call("get_release_plan", {"version": "2.5.0"}))
        release = next(a for a in view["artifacts"] if a["kind"] == "release")
        result = session.call("create_release_plan", renamed(release["revision"]))
        assert not result.is_error, text_of(result)
    repo = pygit2.Repository(str(workspace))
    stored = json.loads(repo[repo.references[ref].target].data)
    assert stored["data"]["title"] == "Release v2.5.0 - Enterprise Features, renamed"
    assert json.dumps(stored["data"]["metadata"]["other_tool"]) == value
    assert validate_repository(workspace) == []


def test_an_update_of_data_too_deep_to_write_back_is_refused_clearly_and_nothing_changes(workspace: Path):
    ref, _value = plant(workspace, "task", 1100)
    repo = pygit2.Repository(str(workspace))
    before = {name: repo.references[name].target for name in repo.references}
    with GitRefsStore(workspace) as store, mcp_session("auto", store=store, seed=False) as session:
        view = structured(session.call("get_release_plan", {"version": "2.5.0"}))
        release = next(a for a in view["artifacts"] if a["kind"] == "release")
        result = session.call("create_release_plan", renamed(release["revision"]))
    text = text_of(result)
    assert result.is_error and not is_unhandled(result), text
    entity_id = ref.rsplit("/", 1)[1]
    assert f"task {entity_id} cannot be written back" in text, text
    assert "data.metadata.other_tool[0][0]" in text and "1103 levels deep" in text, text
    assert "valid: stored data at most 500 levels" in text, text
    assert "next: flatten or remove that field with the tool that wrote it" in text, text
    assert {name: repo.references[name].target for name in repo.references} == before


# -- the parser --------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(value=JSON, indent=st.sampled_from([None, 2]))
def test_the_deep_parser_reads_what_json_reads(value: Any, indent: int | None):
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    assert deepjson.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize(
    "text", ["", "[1,]", '{"a" 1}', "[1] 2", "01", "tru", '"\\ud800"', '{"a":1,}', "[", "nul"]
)
def test_the_deep_parser_refuses_what_is_not_json(text: str):
    with pytest.raises(ValueError):
        deepjson.loads(text)


def test_the_deep_parser_reads_any_depth_without_recursion():
    text = "[" * 100_000 + "]" * 100_000
    assert deepjson.depth(deepjson.loads(text)) == 100_000


def test_a_request_too_deep_outside_its_params_is_refused_naming_where():
    """It was refused as "nested 0 levels deep" with no path: the params alone were measured."""
    from release_planner.server.stdio import too_deep_refusal

    deep = "[" * 3000 + "]" * 3000
    refusal = too_deep_refusal('{"jsonrpc":"2.0","id":4,"method":"ping","params":{},"extra":' + deep + "}")
    assert refusal is not None and refusal.id == 4
    assert "extra[0][0]" in refusal.error.message and "nested 3000 levels deep" in refusal.error.message
