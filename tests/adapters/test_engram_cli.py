"""The engram-cli store: exact argv, output parsers, error mapping, and round trips through the stand-in.

The real ``engram`` cannot run here; ``tests/fake_engram/engram`` mimics the documented CLI (argv
grammar, output text, exit codes) and logs every argv it receives in ``.fake-engram/calls.jsonl``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from release_planner.server.engram import cli
from release_planner.server.engram.cli import (
    ARG_TEXT_LIMIT,
    LIMITATIONS,
    EngramCliStore,
    RunResult,
    error_for,
    parse_connected,
    parse_context_list_json,
    parse_context_show,
    parse_created_id,
    parse_reasoning_show,
    parse_relationship_get,
    parse_relationship_id,
    parse_relationship_list,
    parse_table_ids,
    parse_task_show,
    parse_task_text_id,
    run_engram,
    shown_time,
)
from release_planner.tools.errors import (
    AmbiguousId,
    Conflict,
    InvalidInput,
    NotFound,
    PlannerError,
    StorageError,
)
from release_planner.tools.ports import (
    Change,
    ContextRecord,
    LinkRecord,
    ReasoningRecord,
    Store,
    StoredEntity,
    TaskRecord,
    new_entity_id,
)

FAKE = Path(__file__).resolve().parent.parent / "fake_engram" / "engram"
T1 = "11111111-1111-4111-8111-111111111111"
C1 = "22222222-2222-4222-8222-222222222222"
R1 = "33333333-3333-4333-8333-333333333333"
L1 = "44444444-4444-4444-8444-444444444444"
HOSTILE = "v2.5.0; rm -rf / $(x) `id` | cat > /tmp/p && echo 'q\" -–"


@pytest.fixture
def fast_python(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stand-in's `#!/usr/bin/env python3` should find this interpreter, not a slow shim.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def store(tmp_path: Path, fast_python: None) -> EngramCliStore:
    return EngramCliStore(tmp_path, binary=str(FAKE))


@pytest.fixture(scope="module")
def release_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[StoredEntity]]:
    workspace = tmp_path_factory.mktemp("release")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        return workspace, EngramCliStore(workspace, binary=str(FAKE)).commit(release_changes())


@pytest.fixture
def release(release_template: tuple[Path, list[StoredEntity]], tmp_path: Path) -> list[StoredEntity]:
    """The entities of ``release_changes()``, already in the stand-in's state at ``tmp_path``."""
    source, stored = release_template
    (tmp_path / ".fake-engram").mkdir()
    shutil.copy(source / ".fake-engram" / "state.json", tmp_path / ".fake-engram" / "state.json")
    return stored


def calls(workspace: Path) -> list[dict]:
    log = workspace / ".fake-engram" / "calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def argvs(workspace: Path) -> list[list[str]]:
    return [c["argv"] for c in calls(workspace)]


def clear_calls(workspace: Path) -> None:
    (workspace / ".fake-engram" / "calls.jsonl").unlink(missing_ok=True)


def fake_state(workspace: Path) -> dict:
    return json.loads((workspace / ".fake-engram" / "state.json").read_text(encoding="utf-8"))


def seed(workspace: Path, kind: str, entity: dict) -> None:
    path = workspace / ".fake-engram" / "state.json"
    path.parent.mkdir(exist_ok=True)
    state = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    state.setdefault(kind, {})[entity["id"]] = entity
    path.write_text(json.dumps(state), encoding="utf-8")


def release_changes(agent: str = "planner") -> list[Change]:
    """A release as the domain writes it: placeholder ids, links referring to them."""
    t, c, r = new_entity_id(), new_entity_id(), new_entity_id()
    return [
        Change(
            t,
            TaskRecord("Release v2.5.0 - Enterprise", "Ship SSO", priority="high", tags=("release",)),
            agent,
        ),
        Change(
            c,
            ContextRecord(
                "Release Plan: v2.5.0 - Enterprise",
                "# Plan\n\n- SSO\n",
                tags=("release", "v2.5.0"),
                metadata={"release_planner": {"schema": 1, "kind": "release_plan", "release": "2.5.0"}},
            ),
            agent,
        ),
        Change(
            r, ReasoningRecord("Rollback Strategy: v2.5.0", t, "Flip the flag.\nThen redeploy.", 0.85), agent
        ),
        Change(new_entity_id(), LinkRecord(t, "task", c, "context", "references"), agent),
        Change(new_entity_id(), LinkRecord(t, "task", r, "reasoning", "documents", description="why"), agent),
    ]


class Recorder:
    """A runner that answers from a script and records every call."""

    def __init__(self, *answers: RunResult | str) -> None:
        self.answers = list(answers)
        self.seen: list[tuple[list[str], Path, float]] = []

    def __call__(self, argv: Sequence[str], cwd: Path, timeout: float) -> RunResult:
        self.seen.append((list(argv), cwd, timeout))
        answer = self.answers.pop(0)
        if isinstance(answer, str):
            return RunResult(tuple(argv), 0, answer, "")
        return answer


def failed(code: int, stdout: str = "", stderr: str = "", argv: tuple[str, ...] = ("engram", "x", "y")):
    return RunResult(argv, code, stdout, stderr)


# --- the store satisfies the port ------------------------------------------------------------------


def test_the_store_implements_the_storage_port(tmp_path: Path) -> None:
    s = EngramCliStore(tmp_path)
    assert isinstance(s, Store)
    assert s.name == "engram-cli"


def test_limitations_name_every_loss_the_cli_path_has() -> None:
    text = " ".join(LIMITATIONS).lower()
    for loss in ("--tags", "metadata", "typed round-trip", "atomicity", "compare-and-swap", "`default`"):
        assert loss in text, loss


# --- argv ------------------------------------------------------------------------------------------


def test_creating_a_release_runs_one_exact_create_per_entity_and_rewrites_placeholder_ids(
    store: EngramCliStore, tmp_path: Path
) -> None:
    changes = release_changes()
    stored = store.commit(changes)

    task, ctx, rsn, link1, link2 = stored
    assert argvs(tmp_path) == [
        [
            "task",
            "create",
            "--title=Release v2.5.0 - Enterprise",
            "--description=Ship SSO",
            "--priority=high",
            "--agent=planner",
            "--tags=release",
            "--output=json",
        ],
        [
            "context",
            "create",
            "--title=Release Plan: v2.5.0 - Enterprise",
            "--content=# Plan\n\n- SSO\n",
            "--source=release-planning",
            "--relevance=high",
            "--agent=planner",
        ],
        [
            "reasoning",
            "create",
            "--title=Rollback Strategy: v2.5.0",
            f"--task-id={task.id}",
            "--confidence=0.85",
            "--content=Flip the flag.\nThen redeploy.",
            "--agent=planner",
        ],
        [
            "relationship",
            "create",
            f"--source-id={task.id}",
            "--source-type=task",
            f"--target-id={ctx.id}",
            "--target-type=context",
            "--relationship-type=references",
            "--agent=planner",
            "--direction=unidirectional",
            "--strength=medium",
        ],
        [
            "relationship",
            "create",
            f"--source-id={task.id}",
            "--source-type=task",
            f"--target-id={rsn.id}",
            "--target-type=reasoning",
            "--relationship-type=documents",
            "--agent=planner",
            "--direction=unidirectional",
            "--strength=medium",
            "--description=why",
        ],
    ]
    # engram chose the ids; the placeholders never reach it.
    assert {e.id for e in stored}.isdisjoint({c.id for c in changes})
    assert link1.record == LinkRecord(task.id, "task", ctx.id, "context", "references")
    assert link2.record == LinkRecord(task.id, "task", rsn.id, "reasoning", "documents", description="why")
    assert [e.revision for e in stored] == [0, 0, 0, 0, 0]  # sidecars are invisible to the CLI


def test_links_listed_before_their_entities_still_get_the_real_ids(store: EngramCliStore) -> None:
    changes = release_changes()
    stored = store.commit([changes[3], changes[1], changes[0]])

    link, ctx, task = stored
    assert (link.record.source_id, link.record.target_id) == (task.id, ctx.id)  # type: ignore[union-attr]


def test_shell_metacharacters_reach_engram_verbatim_with_stdin_closed_in_the_workspace(
    store: EngramCliStore, tmp_path: Path
) -> None:
    content = "-rf starts like a flag\n$(touch pwned)\n'quoted' \"double\"\n"
    with open_pipe_as_stdin():  # a child that inherited fd 0 would see this pipe, not /dev/null
        (ctx,) = store.commit([Change(new_entity_id(), ContextRecord(HOSTILE, content, source="-s"))])

    (call,) = calls(tmp_path)
    assert call["argv"][2:4] == [f"--title={HOSTILE}", f"--content={content}"]
    assert call["stdin"] == "devnull"
    assert Path(call["cwd"]) == tmp_path
    saved = fake_state(tmp_path)["context"][ctx.id]
    assert (saved["title"], saved["content"], saved["source"]) == (HOSTILE, content, "-s")
    assert not (tmp_path / "pwned").exists()


@contextlib.contextmanager
def open_pipe_as_stdin() -> Iterator[None]:
    read_end, write_end = os.pipe()
    saved = os.dup(0)
    os.dup2(read_end, 0)
    try:
        yield
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)


def test_the_stand_in_can_tell_an_open_stdin_from_a_closed_one(tmp_path: Path, fast_python: None) -> None:
    # Guards the stdin assertion above: the stand-in must notice an inherited pipe.
    with open_pipe_as_stdin():
        subprocess.run([str(FAKE), "context", "list"], cwd=tmp_path, check=True, capture_output=True)
    assert calls(tmp_path)[0]["stdin"] == "open"


def test_updates_use_the_commands_engram_offers(
    release: list[StoredEntity], store: EngramCliStore, tmp_path: Path
) -> None:
    task, ctx, rsn, *_ = release
    clear_calls(tmp_path)

    store.commit(
        [
            Change(task.id, replace_record(task.record, status="inprogress"), "planner", expected_revision=1),
            Change(ctx.id, replace_record(ctx.record, content="# Plan v2\n"), "planner", expected_revision=1),
            Change(rsn.id, replace_record(rsn.record, conclusion="Roll back.", confidence=0.9), "p", 1),
        ]
    )

    writes = [a for a in argvs(tmp_path) if a[1] not in ("show", "list")]
    assert writes == [
        ["task", "update", task.id, "--status=in_progress"],
        ["context", "update", ctx.id, "--content=# Plan v2\n"],
        ["reasoning", "conclude", rsn.id, "--conclusion=Roll back.", "--confidence=0.9"],
    ]


def test_reads_use_show_list_get_and_connected(
    release: list[StoredEntity], store: EngramCliStore, tmp_path: Path
) -> None:
    task, ctx, rsn, link, _ = release
    clear_calls(tmp_path)

    store.get("task", task.id)
    store.get("context", ctx.id)
    store.get("reasoning", rsn.id)
    store.get("relationship", link.id)
    store.connected(task.id, max_depth=2)

    assert argvs(tmp_path) == [
        ["task", "show", task.id],
        ["context", "list", "--all", "--output=json"],
        ["reasoning", "show", rsn.id],
        ["relationship", "get", link.id],
        ["relationship", "connected", f"--entity-id={task.id}", "--max-depth=2"],
    ]


def test_links_are_listed_by_end_then_read_one_by_one(
    release: list[StoredEntity], store: EngramCliStore, tmp_path: Path
) -> None:
    task, _, _, link1, link2 = release
    clear_calls(tmp_path)

    found = store.links_from(task.id)

    assert sorted(e.id for e in found) == sorted([link1.id, link2.id])
    assert argvs(tmp_path)[0] == ["relationship", "list", f"--source-id={task.id}"]
    assert sorted(a[2] for a in argvs(tmp_path)[1:]) == sorted([link1.id, link2.id])


def test_content_too_long_for_argv_goes_through_a_temporary_file(
    store: EngramCliStore, tmp_path: Path
) -> None:
    content = "é" * ARG_TEXT_LIMIT + "\n  trailing space is kept  \n"
    (ctx,) = store.commit([Change(new_entity_id(), ContextRecord("Release Runbook: v2.5.0", content))])

    (argv,) = argvs(tmp_path)
    file_arg = next(a for a in argv if a.startswith("--content-file="))
    assert not any(a.startswith("--content=") for a in argv)
    assert not Path(file_arg.split("=", 1)[1]).exists()  # cleaned up after the call
    assert fake_state(tmp_path)["context"][ctx.id]["content"] == content


def test_the_runner_gets_the_binary_the_workspace_and_a_timeout(tmp_path: Path) -> None:
    rec = Recorder(
        "🕸️ Finding entities connected to x using BreadthFirst\n✅ Found 1 connected entities:\n🔗 " + T1
    )
    store = EngramCliStore(tmp_path, binary="/opt/engram", runner=rec, timeout=7.5)

    assert store.connected(T1) == [T1]
    assert rec.seen == [(["/opt/engram", "relationship", "connected", f"--entity-id={T1}"], tmp_path, 7.5)]


# --- refusals before any process runs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        (Change("not-a-uuid", TaskRecord("x")), InvalidInput, "changes[0].id"),
        (Change(T1, TaskRecord("nul\x00byte")), InvalidInput, "changes[0].record.title"),
        (Change(T1, TaskRecord("x", tags=("a,b",))), InvalidInput, "changes[0].record.tags"),
        (Change(T1, TaskRecord("x", tags=(" a",))), InvalidInput, "changes[0].record.tags"),
        (Change(T1, ReasoningRecord("x", "--help", "c")), InvalidInput, "changes[0].record.task_id"),
        (
            Change(T1, ReasoningRecord("x", T1, "c", confidence=1.5)),
            InvalidInput,
            "changes[0].record.confidence",
        ),
        (
            Change(T1, LinkRecord(T1, "task", C1, "context; ls", "references")),
            InvalidInput,
            "changes[0].record.target_type",
        ),
        (
            Change(T1, LinkRecord(T1, "task", "-x", "context", "references")),
            InvalidInput,
            "changes[0].record.target_id",
        ),
        (
            Change(T1, LinkRecord(T1, "task", C1, "context", "references", active=False)),
            StorageError,
            "changes[0].record.active",
        ),
        (Change(T1, TaskRecord("x"), agent="nul\x00"), InvalidInput, "changes[0].agent"),
    ],
)
def test_writes_the_cli_cannot_carry_are_refused_before_running_anything(
    tmp_path: Path, change: Change, error: type[PlannerError], field: str
) -> None:
    rec = Recorder()
    with pytest.raises(error) as info:
        EngramCliStore(tmp_path, runner=rec).commit([change])
    assert info.value.field == field
    assert rec.seen == []


def test_reads_refuse_ids_that_could_be_taken_for_flags(tmp_path: Path) -> None:
    rec = Recorder()
    store = EngramCliStore(tmp_path, runner=rec)
    for call in (
        lambda: store.get("task", "--help"),
        lambda: store.links_from("-x"),
        lambda: store.resolve("task", "--all"),
    ):
        with pytest.raises(InvalidInput):
            call()
    assert rec.seen == []


# --- parsers ---------------------------------------------------------------------------------------

CONTEXT_CREATED = f"""Context '{C1}' created successfully
ID: {C1}
Title: Release Plan: v2.5.0
Agent: planner
Relevance: High
"""
REASONING_CREATED = f"""Reasoning '{R1}' created successfully
ID: {R1}
Title: Rollback Strategy: v2.5.0
Task ID: {T1}
Agent: planner
"""
RELATIONSHIP_CREATED = f"""✅ Relationship created successfully
📋 ID: {L1}
🔗 {T1} --[references]--> {C1}
"""
TASK_CREATED_TEXT = f"""✅ Task created:
  ID: {T1}
  Title: Release v2.5.0
  Description: {""}
  Status: Todo
  Priority: Medium
  Agent: default
  Created: 2026-03-02 09:15:00 UTC

"""
TASK_SHOW = f"""📋 Task Details:
  ID: {T1}
  Title: Release v2.5.0 - Enterprise
  Description: Ship SSO
  Status: Later
  Priority: nope
  Status: InProgress
  Priority: Critical
  Agent: release-bot
  Created: 2026-03-02 09:15:00 UTC
  Outcome: Tags: not these
  Tags: release, v2.5.0

🔗 Related Entities:
====================
  → [references] {C1} (context)— Release Plan: v2.5.0

🔄 Associated Workflows:
=======================
  No active workflows associated with this task.
"""
CONTEXT_SHOW = f"""Context Details:
================
ID: {C1}
Title: Release Plan: v2.5.0
Agent: planner
Relevance: Critical
Source: N/A
Source ID: https://example.test/plan
Created: 2026-03-02 09:15:00 UTC

Content:
--------
# Plan
Content:
--------
last line

"""
REASONING_SHOW = f"""Reasoning Details:
==================
ID: {R1}
Title: Rollback Strategy: v2.5.0
Task ID: {T1}
Agent: planner
Created: 2026-03-02 09:15:00 UTC
Steps: 1

Step 1 (Confidence: 0.50):
  Description: weigh options
  Conclusion: flag first
  Created: 2026-03-02 09:16:00 UTC

Final Conclusion:
  Flip the flag.
  Overall Confidence: 0.10
Then redeploy.
  Overall Confidence: 0.85
Tags: rollback, v2.5.0
"""
RELATIONSHIP_GET = f"""🔗 Relationship Details
======================
📋 ID: {L1}
🔗 {T1} --[documents]--> {R1}
📊 Direction: Bidirectional
💪 Strength: Custom(0.3) (0.30)
🏷️ Source Type: task | Target Type: reasoning
✅ Active: false
👤 Agent: planner
📅 Created: 2026-03-02 09:15:00
📝 Description: first line
second line
⚙️ Constraints:
   - Allow cycles: true
"""
RELATIONSHIP_LIST = f"""🔗 Entity Relationships
======================
Found 3 relationship(s):

2. {L1} [ACTIVE]
   🔗 {T1} --[references]--> {C1}
   📊 Direction: Unidirectional | Strength: 0.50
   👤 Agent: planner | 📅 Created: 2026-03-02 09:15

3. {R1} [INACTIVE]
   🔗 {T1} --[documents]--> {R1}
   📊 Direction: Unidirectional | Strength: 0.50
   👤 Agent: planner | 📅 Created: 2026-03-02 09:15
   📝 Description: 9. {C1} [ACTIVE]

"""
CONNECTED = f"""🕸️ Finding entities connected to {T1} using BreadthFirst
📊 Maximum depth: 2
✅ Found 3 connected entities:
🔗 {T1}
🔗 {C1}
🔗 {R1}
"""
TASK_TABLE = """📋 Tasks (2 total, showing 2):
╭──────────╮
│ ID       │ Status │ Title │
├──────────┤
│ 11111111 │ 📝 Todo │ Release v2.5.0 │
│ abcdef01 │ ✅ Done │ Release v2.4.0 │
╰──────────╯
"""


def test_create_outputs_yield_the_id_engram_printed() -> None:
    assert parse_created_id(CONTEXT_CREATED) == C1
    assert parse_created_id(REASONING_CREATED) == R1
    assert parse_relationship_id(RELATIONSHIP_CREATED) == L1
    assert parse_task_text_id(TASK_CREATED_TEXT) == T1


def test_task_show_is_read_field_by_field() -> None:
    assert parse_task_show(TASK_SHOW) == {
        "id": T1,
        "title": "Release v2.5.0 - Enterprise",
        "description": "Ship SSO\n  Status: Later\n  Priority: nope",
        "status": "inprogress",
        "priority": "critical",
        "agent": "release-bot",
        "created_at": "2026-03-02T09:15:00Z",
        "tags": ["release", "v2.5.0"],
    }


def test_context_show_keeps_content_that_looks_like_headers() -> None:
    assert parse_context_show(CONTEXT_SHOW) == {
        "id": C1,
        "title": "Release Plan: v2.5.0",
        "agent": "planner",
        "relevance": "critical",
        "source": "",
        "source_id": "https://example.test/plan",
        "created_at": "2026-03-02T09:15:00Z",
        "content": "# Plan\nContent:\n--------\nlast line\n",
    }


def test_reasoning_show_takes_the_conclusion_up_to_the_last_confidence_line() -> None:
    assert parse_reasoning_show(REASONING_SHOW) == {
        "id": R1,
        "title": "Rollback Strategy: v2.5.0",
        "task_id": T1,
        "agent": "planner",
        "created_at": "2026-03-02T09:15:00Z",
        "conclusion": "Flip the flag.\n  Overall Confidence: 0.10\nThen redeploy.",
        "confidence": 0.85,
        "tags": ["rollback", "v2.5.0"],
    }


def test_an_unconcluded_reasoning_reads_as_empty_conclusion() -> None:
    text = REASONING_SHOW.split("Final Conclusion:")[0] + "Final Conclusion: Not yet concluded\n"
    parsed = parse_reasoning_show(text)
    assert (parsed["conclusion"], parsed["confidence"], parsed["tags"]) == ("", 0.0, [])


def test_relationship_get_maps_a_custom_strength_to_the_nearest_named_one() -> None:
    assert parse_relationship_get(RELATIONSHIP_GET) == {
        "id": L1,
        "source_id": T1,
        "relationship_type": "documents",
        "target_id": R1,
        "direction": "bidirectional",
        "strength": "weak",
        "source_type": "task",
        "target_type": "reasoning",
        "active": False,
        "agent": "planner",
        "created_at": "2026-03-02T09:15:00Z",
        "description": "first line\nsecond line",
    }


def test_lists_yield_ids_in_output_order() -> None:
    assert parse_relationship_list(RELATIONSHIP_LIST) == [L1, R1]
    assert parse_connected(CONNECTED) == [T1, C1, R1]
    assert parse_table_ids(TASK_TABLE, "No tasks found", "task list") == ["11111111", "abcdef01"]


def test_empty_lists_are_recognised_by_engrams_own_words() -> None:
    assert parse_context_list_json("No contexts found\n") == []
    assert parse_table_ids("No tasks found\n", "No tasks found", "task list") == []
    assert parse_table_ids("No reasoning chains found\n", "No reasoning chains found", "reasoning list") == []
    assert (
        parse_relationship_list(
            "🔗 Entity Relationships\n===\nNo relationships found matching the criteria.\n"
        )
        == []
    )


def test_engram_times_become_rfc3339() -> None:
    assert shown_time("2026-03-02 09:15:00 UTC") == "2026-03-02T09:15:00Z"
    assert shown_time("2026-03-02 09:15:00") == "2026-03-02T09:15:00Z"


@pytest.mark.parametrize(
    "parse",
    [
        parse_created_id,
        parse_relationship_id,
        parse_task_text_id,
        parse_task_show,
        parse_context_show,
        parse_reasoning_show,
        parse_relationship_get,
        parse_relationship_list,
        parse_connected,
        parse_context_list_json,
        lambda s: parse_table_ids(s, "No tasks found", "engram task list"),
        shown_time,
    ],
)
@pytest.mark.parametrize("garbage", ["", "Segmentation fault\n", '{"id": 1}', "ID: not-a-uuid\n"])
def test_unreadable_output_is_a_clear_storage_error(parse, garbage: str) -> None:
    with pytest.raises(StorageError, match="cannot read the output of `engram") as info:
        parse(garbage)
    assert "engram 0.6" in (info.value.next_step or "")


def test_two_id_lines_are_not_guessed_between() -> None:
    with pytest.raises(StorageError):
        parse_created_id(f"ID: {C1}\nID: {R1}\n")


def _context_show_text(content: str) -> str:
    # engram's show_context println! sequence (src/cli/context.rs)
    head = f"Context Details:\n================\nID: {C1}\nTitle: t\nAgent: a\nRelevance: Low\nSource: s\n"
    return head + f"Created: 2026-01-01 00:00:00 UTC\n\nContent:\n--------\n{content}\n"


def _reasoning_show_text(conclusion: str, confidence: float) -> str:
    # engram's show_reasoning println! sequence (src/cli/reasoning.rs)
    head = f"Reasoning Details:\n==================\nID: {R1}\nTitle: t\nTask ID: {T1}\nAgent: a\n"
    head += "Created: 2026-01-01 00:00:00 UTC\nSteps: None\n"
    return head + f"Final Conclusion:\n  {conclusion}\n  Overall Confidence: {confidence:.2f}\n"


@given(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r")))
def test_any_context_content_survives_context_show(content: str) -> None:
    assert parse_context_show(_context_show_text(content))["content"] == content


@given(
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r"), min_size=1),
    st.floats(0, 1),
)
def test_any_conclusion_survives_reasoning_show(conclusion: str, confidence: float) -> None:
    parsed = parse_reasoning_show(_reasoning_show_text(conclusion, confidence))
    assert parsed["conclusion"] == conclusion
    assert parsed["confidence"] == pytest.approx(confidence, abs=0.005)


# --- error mapping ---------------------------------------------------------------------------------


def test_not_found_on_stderr_becomes_not_found() -> None:
    err = error_for(failed(1, stderr="Error: Not found: Task 'abc' not found\n"))
    assert type(err) is NotFound
    assert err.message == "Task 'abc' not found"


def test_other_errors_become_storage_errors_carrying_engrams_message() -> None:
    err = error_for(
        failed(
            1,
            stderr="Error: Git operation failed: Failed to write version sidecar ref\n",
            argv=("e", "context", "create"),
        )
    )
    assert type(err) is StorageError
    assert (
        err.message
        == "`engram context create` failed: Git operation failed: Failed to write version sidecar ref"
    )


def test_a_json_error_line_on_stdout_is_read_like_stderr() -> None:
    assert (
        type(error_for(failed(1, stdout='{"error":"Not found: Context with ID \'x\' not found"}\n')))
        is NotFound
    )
    err = error_for(failed(1, stdout='{"error":"Entity validation error: Invalid relevance level"}\n'))
    assert type(err) is StorageError
    assert "Invalid relevance level" in err.message


def test_an_ambiguous_short_id_becomes_ambiguous_id() -> None:
    assert (
        type(error_for(failed(1, stderr="Error: Entity validation error: Ambiguous short ID: abcd\n")))
        is AmbiguousId
    )


def test_a_clap_usage_error_names_exit_2_and_the_engram_version() -> None:
    err = error_for(failed(2, stderr="error: unexpected argument '--output' found\n\nUsage: engram ...\n"))
    assert type(err) is StorageError
    assert "exit 2: error: unexpected argument '--output' found" in err.message
    assert "engram 0.6" in (err.next_step or "")


def test_a_silent_failure_reports_the_exit_code() -> None:
    err = error_for(failed(101, stderr="thread 'main' panicked at src/main.rs\n"))
    assert "exit code 101" in err.message
    assert "panicked" in err.message


def test_a_missing_binary_says_how_to_install_engram_or_use_the_git_store(tmp_path: Path) -> None:
    store = EngramCliStore(tmp_path, binary=str(tmp_path / "no-such-engram"))
    with pytest.raises(StorageError) as info:
        store.get("task", T1)
    assert "not found" in info.value.message
    assert "cargo install engram" in (info.value.next_step or "")
    assert "--store git" in (info.value.next_step or "")


def test_unknown_flags_from_a_different_engram_surface_as_exit_2(tmp_path: Path, fast_python: None) -> None:
    def newer_flag(argv: Sequence[str], cwd: Path, timeout: float) -> RunResult:
        return run_engram([*argv, "--not-in-this-version"], cwd, timeout)

    store = EngramCliStore(tmp_path, binary=str(FAKE), runner=newer_flag)
    with pytest.raises(
        StorageError, match="exit 2: error: unexpected argument '--not-in-this-version' found"
    ):
        store.get("task", T1)


def test_unknown_ids_read_as_none_whether_engram_answers_in_text_or_json(
    tmp_path: Path, fast_python: None
) -> None:
    def with_json(argv: Sequence[str], cwd: Path, timeout: float) -> RunResult:
        return run_engram([*argv, "--json"], cwd, timeout)

    for runner in (run_engram, with_json):
        store = EngramCliStore(tmp_path, binary=str(FAKE), runner=runner)
        assert [store.get(kind, T1) for kind in ("task", "context", "reasoning", "relationship")] == [
            None
        ] * 4
    assert calls(tmp_path)[-1]["argv"] == ["relationship", "get", T1, "--json"]


# --- round trips through the stand-in ------------------------------------------------------------


def replace_record(record, **fields):
    return replace(record, **fields)


def test_a_release_reads_back_with_the_documented_losses(
    release: list[StoredEntity], store: EngramCliStore
) -> None:
    task, ctx, rsn, _, link2 = release

    got = {kind: store.get(kind, e.id) for kind, e in [("task", task), ("context", ctx), ("reasoning", rsn)]}
    assert got["task"] is not None and got["context"] is not None and got["reasoning"] is not None
    assert got["task"].record == TaskRecord(
        "Release v2.5.0 - Enterprise", "Ship SSO", priority="high", tags=("release",)
    )
    # engram ignores --tags on contexts and reasoning, and nothing can carry metadata
    assert got["context"].record == ContextRecord("Release Plan: v2.5.0 - Enterprise", "# Plan\n\n- SSO\n")
    assert got["reasoning"].record == ReasoningRecord(
        "Rollback Strategy: v2.5.0", task.id, "Flip the flag.\nThen redeploy.", 0.85
    )
    assert [got[k].agent for k in got] == ["planner"] * 3
    assert [got[k].revision for k in got] == [0, 0, 0]  # sidecars are not visible through the CLI
    # what commit returned is what a read returns
    assert (task.record, ctx.record, rsn.record) == (
        got["task"].record,
        got["context"].record,
        got["reasoning"].record,
    )
    assert store.get("relationship", link2.id).record == link2.record  # type: ignore[union-attr]


def test_links_and_traversal_follow_engrams_rules(release: list[StoredEntity], store: EngramCliStore) -> None:
    task, ctx, rsn, link1, link2 = release

    assert sorted((e.id, e.record) for e in store.links_from(task.id)) == sorted(
        [(link1.id, link1.record), (link2.id, link2.record)]
    )
    assert [e.id for e in store.links_to(ctx.id)] == [link1.id]
    assert store.links_to(task.id) == []
    connected = store.connected(task.id)
    assert connected[0] == task.id and sorted(connected[1:]) == sorted([ctx.id, rsn.id])
    assert store.connected(ctx.id) == [ctx.id]  # unidirectional links are not walked backwards
    assert store.connected(task.id, max_depth=0) == [task.id]


def test_find_matches_skill_style_titles_and_task_tags(
    release: list[StoredEntity], store: EngramCliStore
) -> None:
    task, ctx, rsn, *_ = release
    store.commit([Change(new_entity_id(), ContextRecord("Release Plan: v2.6.0 - Next", "later"), "planner")])

    assert [e.id for e in store.find("context", release="2.5.0")] == [ctx.id]
    assert [e.id for e in store.find("reasoning", release="2.5.0")] == [rsn.id]
    assert [e.id for e in store.find("task", tag="release")] == [task.id]
    assert [e.title for e in store.find("context")] == ["Release Plan: v2.6.0 - Next", ctx.title]
    assert store.find("context", kind="release_plan") == []  # the CLI stored no metadata
    assert store.find("relationship", release="2.5.0") == []
    assert len(store.find("relationship")) == 2


def test_contexts_written_with_metadata_elsewhere_keep_it_when_read_here(
    store: EngramCliStore, tmp_path: Path
) -> None:
    meta = {"release_planner": {"schema": 1, "kind": "release_plan", "release": "2.5.0", "spec": {"a": 1}}}
    seed(
        tmp_path,
        "context",
        {
            "id": C1,
            "title": "Plan for the big one",
            "content": "body",
            "source": "release-planning",
            "source_id": None,
            "relevance": "high",
            "agent": "git-writer",
            "created_at": "2026-03-02T09:15:00.120000000Z",
            "updated_at": "2026-03-03T10:00:00.000000000Z",
            "tags": ["release", "v2.5.0"],
            "metadata": meta,
            "citation_count": 0,
            "decay_weight": 1.0,
        },
    )

    (found,) = store.find("context", kind="release_plan", release="2.5.0", tag="v2.5.0")
    assert found.planner_metadata == meta["release_planner"]
    assert (found.created_at, found.updated_at) == (
        "2026-03-02T09:15:00.120000000Z",
        "2026-03-03T10:00:00.000000000Z",
    )


def test_tasks_of_other_agents_are_found_only_when_the_agent_is_known(
    tmp_path: Path, fast_python: None
) -> None:
    argv = [str(FAKE), "task", "create", "--title=Release v3.0.0", "--agent=someone-else"]
    subprocess.run(argv, cwd=tmp_path, check=True, capture_output=True)

    assert EngramCliStore(tmp_path, binary=str(FAKE)).find("task") == []
    (task,) = EngramCliStore(tmp_path, binary=str(FAKE), agents=["someone-else"]).find(
        "task", release="3.0.0"
    )
    assert task.agent == "someone-else"
    assert ["task", "list", "--all", "--agent=default"] in argvs(tmp_path)


def test_resolve_accepts_engrams_short_ids_and_reports_ambiguity(
    release: list[StoredEntity], store: EngramCliStore, tmp_path: Path
) -> None:
    _, ctx, rsn, link, _ = release

    assert store.resolve("context", ctx.id[:8]).id == ctx.id
    assert store.resolve("reasoning", rsn.id[:6].upper()).id == rsn.id
    assert store.resolve("relationship", link.id).id == link.id
    with pytest.raises(NotFound):
        store.resolve("task", "0000")
    for n in (1, 2):
        seed(tmp_path, "context", {**fake_state(tmp_path)["context"][ctx.id], "id": f"abcd{n}" + ctx.id[5:]})
    with pytest.raises(AmbiguousId):
        store.resolve("context", "abcd")


def test_updates_round_trip_and_keep_what_they_do_not_own(
    release: list[StoredEntity], store: EngramCliStore
) -> None:
    task, ctx, rsn, *_ = release

    new_task, new_ctx, new_rsn = store.commit(
        [
            Change(task.id, replace_record(task.record, status="done"), "planner", expected_revision=1),
            Change(ctx.id, replace_record(ctx.record, content="v2"), "planner", expected_revision=1),
            Change(
                rsn.id,
                replace_record(rsn.record, conclusion="", confidence=0.4),
                "planner",
                expected_revision=3,
            ),
        ]
    )

    assert [e.revision for e in (new_task, new_ctx, new_rsn)] == [0, 0, 0]  # not enforced, not known
    assert [store.get(e.type, e.id).record for e in (new_task, new_ctx)] == [new_task.record, new_ctx.record]  # type: ignore[union-attr]
    assert store.get("reasoning", rsn.id).record.conclusion == ""  # type: ignore[union-attr]
    assert new_ctx.created_at == store.get("context", ctx.id).created_at  # type: ignore[union-attr]


def test_an_unchanged_update_runs_no_write(
    release: list[StoredEntity], store: EngramCliStore, tmp_path: Path
) -> None:
    task, ctx, *_ = release
    clear_calls(tmp_path)

    store.commit([Change(task.id, task.record, "planner", 1), Change(ctx.id, ctx.record, "planner", 1)])

    assert all(a[1] in ("show", "list") for a in argvs(tmp_path))


@pytest.mark.parametrize(
    ("index", "fields", "named"),
    [
        (0, {"title": "Release v2.5.1"}, "title"),
        (1, {"relevance": "low", "source": "ops"}, "source, relevance"),
        (2, {"task_id": C1}, "task_id"),
        (3, {"active": False}, "active"),
    ],
)
def test_updates_the_cli_cannot_express_point_to_the_git_store(
    release: list[StoredEntity], store: EngramCliStore, tmp_path: Path, index: int, fields: dict, named: str
) -> None:
    entity = release[index]
    clear_calls(tmp_path)

    with pytest.raises(StorageError) as info:
        store.commit([Change(entity.id, replace_record(entity.record, **fields), "planner", 1)])

    assert f"cannot change {named}" in info.value.message
    assert "--store git" in (info.value.next_step or "")
    assert all(a[1] in ("show", "get", "list") for a in argvs(tmp_path))


def test_updating_an_entity_that_vanished_is_a_conflict(store: EngramCliStore) -> None:
    with pytest.raises(Conflict):
        store.commit([Change(R1, ReasoningRecord("x", T1, "y"), "planner", expected_revision=1)])


def test_a_failure_midway_is_compensated_and_reported(tmp_path: Path, fast_python: None) -> None:
    def sidecar_race(argv: Sequence[str], cwd: Path, timeout: float) -> RunResult:
        if list(argv[1:3]) == ["relationship", "create"]:
            return RunResult(
                tuple(argv), 1, "", "Error: Git operation failed: Failed to write version sidecar ref\n"
            )
        return run_engram(argv, cwd, timeout)

    store = EngramCliStore(tmp_path, binary=str(FAKE), runner=sidecar_race)
    with pytest.raises(StorageError) as info:
        store.commit(release_changes())

    state = fake_state(tmp_path)
    assert state["context"] == {} and state["reasoning"] == {} and state["relationship"] == {}
    (task,) = state["task"].values()
    assert task["status"] == "cancelled"  # engram cannot delete tasks; archiving is the closest
    message = info.value.message
    assert message.startswith("`engram relationship create` failed: Git operation failed")
    assert f"rolled back: reasoning {next(iter(calls_created(tmp_path, 'reasoning')))}" in message
    assert "task " + task["id"] + " (archived" in message


def calls_created(workspace: Path, kind: str) -> list[str]:
    return [a[2] for a in argvs(workspace) if a[:2] == [kind, "delete"]]


def test_a_failed_update_restores_the_previous_content(
    release: list[StoredEntity], tmp_path: Path, fast_python: None
) -> None:
    store = EngramCliStore(tmp_path, binary=str(FAKE))
    _, ctx, rsn, *_ = release

    def conclude_fails(argv: Sequence[str], cwd: Path, timeout: float) -> RunResult:
        if list(argv[1:3]) == ["reasoning", "conclude"]:
            return RunResult(tuple(argv), 1, "", "Error: IO error: disk full\n")
        return run_engram(argv, cwd, timeout)

    failing = EngramCliStore(tmp_path, binary=str(FAKE), runner=conclude_fails)
    with pytest.raises(StorageError, match=f"rolled back: context {ctx.id} content"):
        failing.commit(
            [
                Change(ctx.id, replace_record(ctx.record, content="new"), "planner", 1),
                Change(rsn.id, replace_record(rsn.record, conclusion="new"), "planner", 1),
            ]
        )

    assert store.get("context", ctx.id).record.content == ctx.record.content  # type: ignore[union-attr]


def test_unreadable_entities_are_skipped_and_reported(tmp_path: Path) -> None:
    stamp = "2026-03-02T09:15:00Z"
    good = {"id": C1, "title": "Release Plan: v2.5.0", "content": "", "source": "", "relevance": "high"}
    good |= {"agent": "a", "created_at": stamp, "updated_at": stamp}
    bad = {**good, "id": R1, "relevance": "urgent"}
    store = EngramCliStore(tmp_path, runner=Recorder(json.dumps([bad, good], indent=2)))

    assert [e.id for e in store.find("context")] == [C1]
    (problem,) = store.problems()
    assert problem.ref == f"refs/engram/context/{R1}"
    assert "urgent" in problem.reason


def test_the_module_exports_what_the_server_needs() -> None:
    assert {"EngramCliStore", "LIMITATIONS", "run_engram", "RunResult"} <= set(cli.__all__)
