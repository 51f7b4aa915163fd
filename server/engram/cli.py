"""The opt-in ``engram-cli`` store: every operation runs the installed ``engram`` binary.

Use it when the workspace must only ever be written by engram itself. The default ``git`` store
writes Engram's format directly and keeps everything this path loses (see ``LIMITATIONS``).

How it talks to engram (vincents-ai/engram 0.6.x, reference/engram-format.md §3):

* argv lists only, never a shell; every value goes as ``--flag=value`` so that text starting with
  ``-`` is never taken for a flag; arguments are passed as UTF-8 bytes and output is decoded as
  UTF-8, whatever the locale (``LC_ALL=C`` included).
* stdin is ``/dev/null``, the working directory is the workspace (engram has no workspace flag),
  and every run has a timeout.
* engram assigns ids itself: ``commit`` maps each create's placeholder id (``Change.id``) to the id
  engram printed and rewrites later references in the same commit (reasoning ``task_id``, link
  ends). Callers must take ids from the entities ``commit`` returns.

Output parsing lives in small pure functions built from the ``println!`` formats of engram 0.6.3.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...tools.errors import AmbiguousId, Conflict, InvalidInput, NotFound, PlannerError, StorageError
from ...tools.ports import (
    Change,
    ContextRecord,
    EntityType,
    LinkRecord,
    ReasoningRecord,
    Record,
    StoredEntity,
    StoreProblem,
    TaskRecord,
    is_entity_id,
    release_of_title,
)
from .format import check_changes, check_type
from .index import normalize_release

log = logging.getLogger(__name__)

LIMITATIONS: tuple[str, ...] = (
    "Tags on contexts and reasoning are dropped: engram ignores --tags on `context create` and "
    "`reasoning create` (task tags are kept).",
    "No structured spec: the CLI cannot set data.metadata, so artifacts are stored as Markdown only and "
    "the typed round-trip is lost; find(kind=...) and find(release=...) only see skill-style titles "
    "(migration paths are found through the release task's links).",
    "No atomicity: each entity is one engram process. If a call fails midway, entities already written "
    "are compensated best-effort (context/reasoning/relationship deleted, a new task archived as "
    "cancelled, updated content restored); the error lists anything left behind.",
    "No compare-and-swap: engram's CLI does not show version sidecars, so every entity reports revision 0 "
    "and expected revisions are not enforced. A concurrent writer can be overwritten silently; only an "
    "update of an entity that no longer exists is reported as a conflict.",
    "Ids are chosen by engram, not by the caller: use the ids the write returned.",
    "Limited updates: task status only, context content only, reasoning conclusion and confidence only; "
    "titles, sources, relevance, priority, descriptions, task tags and links cannot be changed.",
    "`engram task list` shows only tasks of agent `default` unless an agent is named, so tasks written "
    "under another agent are found only for the agents this server was told about.",
    "Reads are lossy: reasoning confidence is shown rounded to 2 decimals and timestamps to the second "
    "(times returned by a write come from this machine's clock); an update does not record its agent.",
    "Slow: every read is one engram process, and find/links_* one more per entity listed.",
)

_INSTALL_HINT = (
    "install engram (https://github.com/vincents-ai/engram: release installer or `cargo install engram`) "
    "and put it on PATH, or use the default git backend (--store git), which needs no binary"
)
_USE_GIT = "use the git backend (--store git), which writes Engram's format directly and supports this"

# Linux refuses a single argv string over 128 KiB (MAX_ARG_STRLEN); stay well below it and use
# engram's --*-file options (read verbatim, unlike stdin which engram trims) for larger text.
ARG_TEXT_LIMIT = 64 * 1024
DEFAULT_TIMEOUT = 60.0

_RANK: dict[EntityType, int] = {"task": 0, "context": 1, "reasoning": 2, "relationship": 3}
_TASK_STATUS_ARG = {
    "todo": "todo",
    "inprogress": "in_progress",
    "done": "done",
    "blocked": "blocked",
    "cancelled": "cancelled",
}
_LEVELS = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}
_STRENGTH_WEIGHT = {"weak": 0.25, "medium": 0.5, "strong": 0.75, "critical": 1.0}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PREFIX_RE = re.compile(r"^[0-9a-f][0-9a-f-]{3,34}$")


# ---------------------------------------------------------------------------------------------
# Running engram


@dataclass(frozen=True, slots=True)
class RunResult:
    """One finished engram process, output already decoded."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str], Path, float], RunResult]


def run_engram(argv: Sequence[str], cwd: Path, timeout: float) -> RunResult:
    """Run ``argv`` (argv[0] is the binary) in ``cwd`` with stdin closed; never through a shell."""
    # Bytes, not str: under a C/POSIX locale Python may not encode non-ASCII text as UTF-8.
    encoded = [os.fsencode(argv[0]), *(a.encode("utf-8") for a in argv[1:])]
    try:
        proc = subprocess.run(
            encoded,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        if not Path(cwd).is_dir():
            raise StorageError(f"workspace {cwd} does not exist", field="workspace") from exc
        raise StorageError(f"engram binary {argv[0]!r} not found", next_step=_INSTALL_HINT) from exc
    except PermissionError as exc:
        raise StorageError(f"engram binary {argv[0]!r} is not executable", next_step=_INSTALL_HINT) from exc
    except subprocess.TimeoutExpired as exc:
        raise StorageError(
            f"`{_command_name(argv)}` did not finish within {timeout:g}s",
            next_step="retry; if the workspace is large, use --store git",
        ) from exc
    return RunResult(
        tuple(argv),
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def _command_name(argv: Sequence[str]) -> str:
    words = [a for a in argv[1:3] if not a.startswith("-")]
    return " ".join(["engram", *words])


_ERROR_JSON_LINE = re.compile(r'^\{"error":.*\}$', re.M)
_ERROR_TEXT = re.compile(r"^Error: (.*)", re.M | re.S)


def error_message(result: RunResult) -> str | None:
    """engram's error text: the ``{"error": ...}`` stdout line (``--json`` in argv) or ``Error: ...``
    on stderr. None when neither is present."""
    for line in _ERROR_JSON_LINE.findall(result.stdout):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "error" in obj:
            return str(obj["error"])
    text = _ERROR_TEXT.search(result.stderr)
    return text.group(1).strip() if text else None


def error_for(result: RunResult) -> PlannerError:
    """The domain error for a failed engram run (non-zero exit)."""
    what = _command_name(result.argv)
    if result.returncode == 2:
        first = next((ln for ln in result.stderr.splitlines() if ln.strip()), "no message")
        return StorageError(
            f"`{what}` rejected its arguments (exit 2: {first.strip()})",
            next_step="this backend targets engram 0.6.x; check `engram --version`, or " + _USE_GIT,
        )
    message = error_message(result)
    if message is None:
        tail = (result.stderr.strip() or result.stdout.strip())[-300:] or "no output"
        return StorageError(f"`{what}` failed with exit code {result.returncode}: {tail}")
    if message.startswith("Not found: "):
        return NotFound(message.removeprefix("Not found: "))
    if "Ambiguous short ID" in message:
        return AmbiguousId(message, next_step="give more characters of the id")
    return StorageError(f"`{what}` failed: {message}")


# ---------------------------------------------------------------------------------------------
# Parsers (pure; each raises StorageError on output it cannot read)

_ID_LINE = re.compile(r"^ID: (\S+)$", re.M)
_REL_ID_LINE = re.compile(r"^📋 ID: (\S+)$", re.M)
_TASK_ID_LINE = re.compile(r"^  ID: (\S+)$", re.M)
_CONNECTED_LINE = re.compile(r"^🔗 (\S+)$", re.M)
_TABLE_ID = re.compile(r"^│ ([0-9a-f]{8}) +│", re.M)
_REL_LIST_ITEM = re.compile(r"^\d+\. (\S+) \[(?:ACTIVE|INACTIVE)\]$", re.M)
_SHOWN_TIME = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?: UTC)?$")


def _unreadable(what: str, text: str) -> StorageError:
    snippet = text.strip()[:200] or "(empty)"
    return StorageError(
        f"cannot read the output of `{what}`: {snippet!r}",
        next_step="this backend targets engram 0.6.x; check `engram --version`, or " + _USE_GIT,
    )


def _one_id(pattern: re.Pattern[str], text: str, what: str) -> str:
    ids = pattern.findall(text)
    if len(ids) != 1 or not is_entity_id(ids[0]):
        raise _unreadable(what, text)
    return ids[0]


def parse_created_id(stdout: str) -> str:
    """Id from ``context create``/``reasoning create`` (the ``ID: <id>`` line)."""
    return _one_id(_ID_LINE, stdout, "engram create")


def parse_relationship_id(stdout: str) -> str:
    """Id from ``relationship create`` (the ``📋 ID: <id>`` line)."""
    return _one_id(_REL_ID_LINE, stdout, "engram relationship create")


def parse_task_text_id(stdout: str) -> str:
    """Id from ``task create`` text output (the ``  ID: <id>`` line)."""
    return _one_id(_TASK_ID_LINE, stdout, "engram task create")


def parse_json_object(stdout: str, what: str) -> dict[str, Any]:
    """The pretty JSON object ``task create --output json`` prints."""
    try:
        obj = json.loads(stdout)
    except json.JSONDecodeError:
        raise _unreadable(what, stdout) from None
    if not isinstance(obj, dict) or not is_entity_id(obj.get("id", "")):
        raise _unreadable(what, stdout)
    return obj


def parse_context_list_json(stdout: str) -> list[dict[str, Any]]:
    """``context list --output json``: a pretty array, or the text ``No contexts found``."""
    if stdout.strip() == "No contexts found":
        return []
    try:
        items = json.loads(stdout)
    except json.JSONDecodeError:
        raise _unreadable("engram context list", stdout) from None
    if not isinstance(items, list):
        raise _unreadable("engram context list", stdout)
    return [x for x in items if isinstance(x, dict)]


def parse_table_ids(stdout: str, empty_text: str, what: str) -> list[str]:
    """8-character id prefixes from a ``task list``/``reasoning list`` table."""
    if stdout.strip() == empty_text:
        return []
    ids = _TABLE_ID.findall(stdout)
    if not ids:
        raise _unreadable(what, stdout)
    return ids


def parse_relationship_list(stdout: str) -> list[str]:
    """Relationship ids from ``relationship list`` (its ``N. <id> [ACTIVE]`` lines)."""
    if "No relationships found" in stdout:
        return []
    if not stdout.startswith("🔗 Entity Relationships"):
        raise _unreadable("engram relationship list", stdout)
    return _REL_LIST_ITEM.findall(stdout)


def parse_connected(stdout: str) -> list[str]:
    """Ids from ``relationship connected``: one ``🔗 <id>`` line each, start id first."""
    if not stdout.startswith("🕸"):
        raise _unreadable("engram relationship connected", stdout)
    return _CONNECTED_LINE.findall(stdout)


def shown_time(text: str) -> str:
    """``2026-03-02 09:15:00 UTC`` (how engram prints times) as RFC3339 ``2026-03-02T09:15:00Z``."""
    m = _SHOWN_TIME.match(text.strip())
    if not m:
        raise _unreadable("engram show", text)
    return f"{m.group(1)}T{m.group(2)}Z"


def _index(lines: list[str], start: int, test: Callable[[str], bool]) -> int:
    for i in range(start, len(lines)):
        if test(lines[i]):
            return i
    return -1


def _field(lines: list[str], i: int, prefix: str, what: str, text: str) -> str:
    if i < 0 or i >= len(lines) or not lines[i].startswith(prefix):
        raise _unreadable(what, text)
    return lines[i][len(prefix) :]


def _span(
    lines: list[str], start: int, prefix: str, stop: Callable[[str], bool], what: str, text: str
) -> tuple[str, int]:
    """A field that may run over several lines: from ``prefix`` at ``start`` to the first ``stop`` line."""
    first = _field(lines, start, prefix, what, text)
    end = _index(lines, start + 1, stop)
    if end < 0:
        raise _unreadable(what, text)
    return "\n".join([first, *lines[start + 1 : end]]), end


def parse_context_show(stdout: str) -> dict[str, Any]:
    """``context show``: ID, Title, Agent, Relevance, Source, Source ID?, Created, Content."""
    what, lines = "engram context show", stdout.split("\n")
    i = _index(lines, 0, lambda ln: ln.startswith("ID: "))
    out: dict[str, Any] = {"id": _field(lines, i, "ID: ", what, stdout)}
    out["title"], i = _span(lines, i + 1, "Title: ", lambda ln: ln.startswith("Agent: "), what, stdout)
    out["agent"] = _field(lines, i, "Agent: ", what, stdout)
    out["relevance"] = _field(lines, i + 1, "Relevance: ", what, stdout).lower()
    source = _field(lines, i + 2, "Source: ", what, stdout)
    out["source"] = "" if source == "N/A" else source
    i += 3
    out["source_id"] = None
    if i < len(lines) and lines[i].startswith("Source ID: "):
        out["source_id"] = lines[i].removeprefix("Source ID: ")
        i += 1
    out["created_at"] = shown_time(_field(lines, i, "Created: ", what, stdout))
    j = _index(lines, i + 1, lambda ln: ln == "Content:")
    if j < 0 or j + 1 >= len(lines) or lines[j + 1] != "--------":
        raise _unreadable(what, stdout)
    out["content"] = "\n".join(lines[j + 2 :]).removesuffix("\n")
    if out["relevance"] not in ("low", "medium", "high", "critical") or not is_entity_id(out["id"]):
        raise _unreadable(what, stdout)
    return out


_TASK_STATUS = {"Todo": "todo", "InProgress": "inprogress", "Done": "done", "Blocked": "blocked"}
_TASK_STATUS["Cancelled"] = "cancelled"
_STATUS_LINE = re.compile(r"^  Status: (Todo|InProgress|Done|Blocked|Cancelled)$")
_PRIORITY_LINE = re.compile(r"^  Priority: (Low|Medium|High|Critical)$")


def parse_task_show(stdout: str) -> dict[str, Any]:
    """``task show``: the ``  Field: value`` block after ``📋 Task Details:``."""
    what, lines = "engram task show", stdout.split("\n")
    i = _index(lines, 0, lambda ln: ln == "📋 Task Details:")
    if i < 0:
        raise _unreadable(what, stdout)
    out: dict[str, Any] = {"id": _field(lines, i + 1, "  ID: ", what, stdout)}
    out["title"], i = _span(
        lines, i + 2, "  Title: ", lambda ln: ln.startswith("  Description: "), what, stdout
    )
    out["description"], i = _span(
        lines, i, "  Description: ", lambda ln: bool(_STATUS_LINE.match(ln)), what, stdout
    )
    out["status"] = _TASK_STATUS[_STATUS_LINE.match(lines[i]).group(1)]  # type: ignore[union-attr]
    i = _index(lines, i + 1, lambda ln: bool(_PRIORITY_LINE.match(ln)))
    if i < 0:
        raise _unreadable(what, stdout)
    out["priority"] = _PRIORITY_LINE.match(lines[i]).group(1).lower()  # type: ignore[union-attr]
    out["agent"] = _field(lines, i + 1, "  Agent: ", what, stdout)
    out["created_at"] = shown_time(_field(lines, i + 2, "  Created: ", what, stdout))
    end = _index(lines, i + 3, lambda ln: ln in ("🔗 Related Entities:", "🔄 Associated Workflows:"))
    rest = lines[i + 3 : end if end >= 0 else len(lines)]
    tag_lines = [ln for ln in rest if ln.startswith("  Tags: ")]
    out["tags"] = tag_lines[-1].removeprefix("  Tags: ").split(", ") if tag_lines else []
    if not isinstance(out["id"], str) or not is_entity_id(out["id"]):
        raise _unreadable(what, stdout)
    return out


_CONFIDENCE_LINE = re.compile(r"^  Overall Confidence: (\d+(?:\.\d+)?)$")


def parse_reasoning_show(stdout: str) -> dict[str, Any]:
    """``reasoning show``: ID, Title, Task ID, Agent, Created, steps, Final Conclusion, Tags?."""
    what, lines = "engram reasoning show", stdout.split("\n")
    i = _index(lines, 0, lambda ln: ln.startswith("ID: "))
    out: dict[str, Any] = {"id": _field(lines, i, "ID: ", what, stdout)}
    out["title"], i = _span(lines, i + 1, "Title: ", lambda ln: ln.startswith("Task ID: "), what, stdout)
    out["task_id"] = _field(lines, i, "Task ID: ", what, stdout)
    out["agent"] = _field(lines, i + 1, "Agent: ", what, stdout)
    out["created_at"] = shown_time(_field(lines, i + 2, "Created: ", what, stdout))
    _field(lines, i + 3, "Steps: ", what, stdout)
    j = _index(lines, i + 3, lambda ln: ln.startswith("Final Conclusion:"))
    if j < 0:
        raise _unreadable(what, stdout)
    tail = lines[j + 1 :]
    if lines[j] == "Final Conclusion: Not yet concluded":
        # engram prints no confidence for an unconcluded chain.
        out["conclusion"], out["confidence"], after = "", 0.0, tail
    elif lines[j] == "Final Conclusion:":
        k = max((n for n, ln in enumerate(tail) if _CONFIDENCE_LINE.match(ln)), default=-1)
        if k < 1 or not tail[0].startswith("  "):
            raise _unreadable(what, stdout)
        out["conclusion"] = "\n".join([tail[0][2:], *tail[1:k]])
        out["confidence"] = float(_CONFIDENCE_LINE.match(tail[k]).group(1))  # type: ignore[union-attr]
        after = tail[k + 1 :]
    else:
        raise _unreadable(what, stdout)
    tag_lines = [ln for ln in after if ln.startswith("Tags: ")]
    out["tags"] = tag_lines[-1].removeprefix("Tags: ").split(", ") if tag_lines else []
    if not is_entity_id(out["id"]):
        raise _unreadable(what, stdout)
    return out


_REL_PATTERNS = {
    "id": re.compile(r"^📋 ID: (\S+)$", re.M),
    "edge": re.compile(r"^🔗 (\S+) --\[(.+)\]--> (\S+)$", re.M),
    "direction": re.compile(r"^📊 Direction: (Unidirectional|Bidirectional|Inverse)$", re.M),
    "strength": re.compile(r"^💪 Strength: (\w+(?:\([^)]*\))?) \((\d+(?:\.\d+)?)\)$", re.M),
    "types": re.compile(r"^🏷\ufe0f? Source Type: (.*) \| Target Type: (.*)$", re.M),
    "active": re.compile(r"^✅ Active: (true|false)$", re.M),
    "agent": re.compile(r"^👤 Agent: (.*)$", re.M),
    "created": re.compile(r"^📅 Created: (.*)$", re.M),
}
_REL_DESCRIPTION = re.compile(r"^📝 Description: (.*?)\n(?=📄 Metadata:|⚙\ufe0f? Constraints:)", re.M | re.S)


def parse_relationship_get(stdout: str) -> dict[str, Any]:
    """``relationship get``: the emoji-labelled lines of ``🔗 Relationship Details``."""
    what = "engram relationship get"
    found = {k: p.search(stdout) for k, p in _REL_PATTERNS.items()}
    if not all(found.values()):
        raise _unreadable(what, stdout)
    g = {k: m.groups() for k, m in found.items() if m}
    name, weight = g["strength"][0], float(g["strength"][1])
    # The port knows only the four named strengths; a custom weight reads as the nearest one.
    strength = name.lower() if name.lower() in _STRENGTH_WEIGHT else _nearest_strength(weight)
    desc = _REL_DESCRIPTION.search(stdout)
    out = {
        "id": g["id"][0],
        "source_id": g["edge"][0],
        "relationship_type": g["edge"][1],
        "target_id": g["edge"][2],
        "direction": g["direction"][0].lower(),
        "strength": strength,
        "source_type": g["types"][0],
        "target_type": g["types"][1],
        "active": g["active"][0] == "true",
        "agent": g["agent"][0],
        "created_at": shown_time(g["created"][0]),
        "description": desc.group(1) if desc else None,
    }
    if not is_entity_id(str(out["id"])):
        raise _unreadable(what, stdout)
    return out


def _nearest_strength(weight: float) -> str:
    return min(_STRENGTH_WEIGHT, key=lambda k: abs(_STRENGTH_WEIGHT[k] - weight))


# ---------------------------------------------------------------------------------------------
# Parsed output -> StoredEntity


def _entity(
    kind: EntityType, d: Mapping[str, Any], record: Record, updated: str | None = None
) -> StoredEntity:
    created = str(d["created_at"])
    return StoredEntity(
        id=str(d["id"]),
        type=kind,
        agent=str(d["agent"]),
        created_at=created,
        updated_at=updated or created,
        revision=0,
        record=record,
    )


def task_entity(d: Mapping[str, Any]) -> StoredEntity:
    """From ``parse_task_show`` or the ``task create --output json`` object."""
    d = {**d, "created_at": d.get("created_at") or d.get("start_time")}
    meta = d.get("metadata")
    rec = TaskRecord(
        title=str(d["title"]),
        description=str(d.get("description") or ""),
        status=_member(d["status"], _TASK_STATUS_ARG),
        priority=_member(d["priority"], _LEVELS),
        tags=tuple(str(t) for t in d.get("tags") or ()),
        metadata=dict(meta) if isinstance(meta, Mapping) else {},
    )
    return _entity("task", d, rec)


def context_entity(d: Mapping[str, Any]) -> StoredEntity:
    """From one object of ``context list --output json``."""
    meta = d.get("metadata")
    rec = ContextRecord(
        title=str(d["title"]),
        content=str(d["content"]),
        source=str(d.get("source") or ""),
        relevance=_member(d["relevance"], _LEVELS),
        tags=tuple(str(t) for t in d.get("tags") or ()),
        metadata=dict(meta) if isinstance(meta, Mapping) else {},
    )
    return _entity("context", d, rec, updated=str(d.get("updated_at") or d["created_at"]))


def reasoning_entity(d: Mapping[str, Any]) -> StoredEntity:
    """From ``parse_reasoning_show``."""
    rec = ReasoningRecord(
        title=str(d["title"]),
        task_id=str(d["task_id"]),
        conclusion=str(d["conclusion"]),
        confidence=float(d["confidence"]),
        tags=tuple(str(t) for t in d.get("tags") or ()),
    )
    return _entity("reasoning", d, rec)


def link_entity(d: Mapping[str, Any]) -> StoredEntity:
    """From ``parse_relationship_get``."""
    rec = LinkRecord(
        source_id=d["source_id"],
        source_type=d["source_type"],
        target_id=d["target_id"],
        target_type=d["target_type"],
        relationship_type=d["relationship_type"],
        description=d.get("description"),
        direction=d["direction"],
        strength=d["strength"],
        active=bool(d.get("active", True)),
    )
    return _entity("relationship", d, rec)


def _member(value: Any, allowed: Mapping[str, str]) -> Any:
    if value not in allowed:
        raise ValueError(f"unexpected value {value!r}")
    return value


def matches(entity: StoredEntity, release: str | None, kind: str | None, tag: str | None) -> bool:
    """The port's ``find`` filters, applied to one entity."""
    meta = entity.planner_metadata or {}
    if release is not None:
        wanted = normalize_release(release)
        stored = meta.get("release")
        from_meta = normalize_release(stored) if isinstance(stored, str) else None
        if wanted not in (from_meta, release_of_title(entity.title)):
            return False
    if kind is not None and meta.get("kind") != kind:
        return False
    return tag is None or tag in entity.tags


# ---------------------------------------------------------------------------------------------
# Argument building


def _check_text(value: str, field: str) -> str:
    if "\x00" in value:
        raise InvalidInput("contains a NUL character, which a command line cannot carry", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("is not valid Unicode text", field=field) from None
    return value


def _check_id(value: str, field: str) -> str:
    if not is_entity_id(value):
        raise InvalidInput(f"{value!r} is not an entity id", field=field, valid="a lowercase hyphenated UUID")
    return value


def _confidence(value: float) -> str:
    # repr gives the shortest text that parses back to the same f64 (Rust's parser included).
    return repr(float(value))


@dataclass(slots=True)
class _Undo:
    label: str
    argv: list[str]


class _Call:
    """State of one public call: runs engram, caches what it read, owns temp files for long text."""

    def __init__(self, store: EngramCliStore) -> None:
        self.store = store
        self.cache: dict[tuple[str, str], StoredEntity | None] = {}
        self.contexts: dict[str, StoredEntity] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> _Call:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def run(self, args: Sequence[str]) -> str:
        result = self.run_raw(args)
        if result.returncode != 0:
            raise error_for(result)
        return result.stdout

    def run_raw(self, args: Sequence[str]) -> RunResult:
        argv = [self.store.binary, *args]
        log.debug("running %s", _command_name(argv))
        return self.store.runner(argv, self.store.workspace, self.store.timeout)

    def text(self, flag: str, value: str, field: str, file_flag: str | None) -> list[str]:
        """``--flag=value``, or ``--file-flag=<temp file>`` when the text is too long for argv."""
        _check_text(value, field)
        if len(value.encode("utf-8")) <= ARG_TEXT_LIMIT:
            return [f"{flag}={value}"]
        if file_flag is None:
            raise StorageError(
                f"{field} is over {ARG_TEXT_LIMIT} bytes and engram takes it only on the command line",
                field=field,
                next_step=_USE_GIT,
            )
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="engram-cli-")
        path = Path(self._tmp.name) / f"{field}-{len(os.listdir(self._tmp.name))}.txt"
        path.write_bytes(value.encode("utf-8"))
        return [f"{file_flag}={path}"]

    # -- reads ------------------------------------------------------------------------------

    def get(self, kind: EntityType, entity_id: str) -> StoredEntity | None:
        key = (kind, entity_id)
        if key not in self.cache:
            self.cache[key] = self._get(kind, entity_id)
        return self.cache[key]

    def _get(self, kind: EntityType, entity_id: str) -> StoredEntity | None:
        if kind == "context":
            return self.all_contexts().get(entity_id)
        args = {
            "task": ["task", "show", entity_id],
            "reasoning": ["reasoning", "show", entity_id],
            "relationship": ["relationship", "get", entity_id],
        }[kind]
        result = self.run_raw(args)
        if result.returncode != 0:
            err = error_for(result)
            if isinstance(err, NotFound):
                return None
            if isinstance(err, StorageError) and _is_data_error(err.message):
                self.store._problem(f"refs/engram/{kind}/{entity_id}", err.message)
                return None
            raise err
        parse, build = _READERS[kind]
        entity = self.store._build(kind, entity_id, build, parse(result.stdout))
        if entity is not None and entity.id != entity_id and is_entity_id(entity_id):
            return None
        return entity

    def all_contexts(self) -> dict[str, StoredEntity]:
        if self.contexts is None:
            rows = parse_context_list_json(self.run(["context", "list", "--all", "--output=json"]))
            self.contexts = {}
            for row in rows:
                entity = self.store._build("context", str(row.get("id")), context_entity, row)
                if entity is not None:
                    self.contexts[entity.id] = entity
        return self.contexts


def _is_data_error(message: str) -> bool:
    return any(s in message for s in ("validation error", "Deserialization error", "Invalid task type"))


_SHOW: dict[str, tuple[str, re.Pattern[str]]] = {
    "task": ("show", _TASK_ID_LINE),
    "context": ("show", _ID_LINE),
    "reasoning": ("show", _ID_LINE),
    "relationship": ("get", _REL_ID_LINE),
}
_READERS: dict[str, tuple[Callable[[str], dict[str, Any]], Callable[[Mapping[str, Any]], StoredEntity]]] = {
    "task": (parse_task_show, task_entity),
    "reasoning": (parse_reasoning_show, reasoning_entity),
    "relationship": (parse_relationship_get, link_entity),
}


# ---------------------------------------------------------------------------------------------
# The store


class EngramCliStore:
    """Storage port over the installed ``engram`` CLI (opt-in backend ``engram-cli``).

    What this path loses compared with the default ``git`` store (also in ``LIMITATIONS``):

    * engram ignores ``--tags`` on ``context create`` and ``reasoning create``: those tags are dropped;
    * there is no metadata flag, so the structured spec is not stored and the typed round-trip is lost
      (artifacts come back as Markdown only);
    * no atomicity across entities: each entity is one engram process; on a failure midway the
      entities already written are compensated best-effort (deleted, or archived for tasks, which
      engram cannot delete) and the error says what was left;
    * no compare-and-swap: sidecars are invisible to the CLI, so every entity (read or just written)
      reports revision 0 and ``expected_revision`` is not enforced; only an update of a vanished
      entity raises ``Conflict``;
    * engram assigns ids: placeholder ids in a commit are remapped, the returned entities carry the
      real ones;
    * ``task list`` only shows agent ``default`` unless asked for an agent: ``find("task")`` lists
      ``default``, the agents given here and the agents this store has written with.

    Every read is one or more processes (``find`` is one per entity); that is accepted for an opt-in
    backend, and results are cached within one call.
    """

    name = "engram-cli"

    def __init__(
        self,
        workspace: Path,
        *,
        binary: str = "engram",
        runner: Runner | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        agents: Iterable[str] = (),
    ) -> None:
        self.workspace = Path(workspace)
        self.binary = binary
        self.runner: Runner = runner or run_engram
        self.timeout = timeout
        self._agents: dict[str, None] = dict.fromkeys(["default", *agents])
        self._problems: dict[str, StoreProblem] = {}
        self._lock = threading.Lock()

    # -- reads ------------------------------------------------------------------------------

    def get(self, entity_type: EntityType, entity_id: str) -> StoredEntity | None:
        check_type(entity_type)
        _check_id(entity_id, "id")
        with _Call(self) as call:
            return call.get(entity_type, entity_id)

    def resolve(self, entity_type: EntityType, id_or_prefix: str) -> StoredEntity:
        check_type(entity_type)
        value = id_or_prefix.strip().lower()
        if not (is_entity_id(value) or _PREFIX_RE.match(value)):
            raise InvalidInput(
                f"{id_or_prefix!r} is not an id or id prefix",
                field="id",
                valid="a UUID or its first 4 to 35 characters",
            )
        with _Call(self) as call:
            full = value
            if not is_entity_id(value):
                # engram resolves short ids itself (and reports ambiguity); its show prints the full id.
                show, pattern = _SHOW[entity_type]
                full = _one_id(pattern, call.run([entity_type, show, value]), f"engram {entity_type} {show}")
            entity = call.get(entity_type, full)
        if entity is None:
            raise NotFound(f"no {entity_type} with id {id_or_prefix}")
        return entity

    def find(
        self,
        entity_type: EntityType,
        *,
        release: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
    ) -> list[StoredEntity]:
        check_type(entity_type)
        with _Call(self) as call:
            if entity_type == "context":
                found = list(call.all_contexts().values())
            elif entity_type == "relationship":
                if release or kind or tag:
                    return []  # links carry no title, tags or metadata
                found = self._links(call, [])
            else:
                found = self._listed(call, entity_type)
        found = [e for e in found if matches(e, release, kind, tag)]
        found.sort(key=lambda e: e.created_at, reverse=True)
        return found

    def releases(self, entity_type: EntityType) -> list[str]:
        # No index here: derive the versions from one full listing (this backend is slow by nature).
        found: set[str] = set()
        for entity in self.find(entity_type):
            meta = entity.planner_metadata
            if meta is not None and isinstance(meta.get("release"), str):
                found.add(str(meta["release"]))
            version = release_of_title(entity.title)
            if version:
                found.add(version)
        return sorted(found)

    def links_from(self, entity_id: str) -> list[StoredEntity]:
        _check_id(entity_id, "entity_id")
        with _Call(self) as call:
            return self._links(call, [f"--source-id={entity_id}"])

    def links_to(self, entity_id: str) -> list[StoredEntity]:
        _check_id(entity_id, "entity_id")
        with _Call(self) as call:
            return self._links(call, [f"--target-id={entity_id}"])

    def connected(self, entity_id: str, max_depth: int | None = None) -> list[str]:
        _check_id(entity_id, "entity_id")
        args = ["relationship", "connected", f"--entity-id={entity_id}"]
        if max_depth is not None:
            if max_depth < 0:
                raise InvalidInput("must not be negative", field="max_depth")
            args.append(f"--max-depth={max_depth}")
        with _Call(self) as call:
            return parse_connected(call.run(args))

    def problems(self) -> list[StoreProblem]:
        with self._lock:
            return list(self._problems.values())

    def close(self) -> None:
        return None

    def _listed(self, call: _Call, kind: EntityType) -> list[StoredEntity]:
        if kind == "task":
            prefixes: dict[str, None] = {}
            with self._lock:
                agents = list(self._agents)
            for agent in agents:
                out = call.run(["task", "list", "--all", f"--agent={agent}"])
                prefixes.update(dict.fromkeys(parse_table_ids(out, "No tasks found", "engram task list")))
        else:
            out = call.run(["reasoning", "list", "--all"])
            prefixes = dict.fromkeys(
                parse_table_ids(out, "No reasoning chains found", "engram reasoning list")
            )
        found = []
        for prefix in prefixes:
            try:
                entity = call.get(kind, prefix)
            except AmbiguousId as exc:
                self._problem(f"refs/engram/{kind}/{prefix}", exc.message)
                continue
            if entity is not None:
                call.cache[(kind, entity.id)] = entity
                found.append(entity)
        return found

    def _links(self, call: _Call, filters: list[str]) -> list[StoredEntity]:
        ids = parse_relationship_list(call.run(["relationship", "list", *filters]))
        return [e for e in (call.get("relationship", i) for i in dict.fromkeys(ids)) if e is not None]

    def _build(
        self, kind: str, entity_id: str, build: Callable[[Mapping[str, Any]], StoredEntity], data: Any
    ) -> StoredEntity | None:
        try:
            return build(data)
        except (KeyError, TypeError, ValueError) as exc:
            self._problem(f"refs/engram/{kind}/{entity_id}", f"unreadable {kind}: {exc}")
            return None

    def _problem(self, ref: str, reason: str) -> None:
        log.warning("skipping %s: %s", ref, reason)
        with self._lock:
            self._problems[ref] = StoreProblem(ref, reason)

    # -- writes -----------------------------------------------------------------------------

    def commit(self, changes: Sequence[Change]) -> list[StoredEntity]:
        changes = list(changes)
        _precheck(changes)
        # Creates must run before anything that refers to them; deletions, which cannot be undone, run
        # last (links before what they link); results keep the caller's order.
        order = sorted(
            range(len(changes)),
            key=lambda n: (1, -_RANK[changes[n].type]) if changes[n].delete else (0, _RANK[changes[n].type]),
        )
        results: list[StoredEntity | None] = [None] * len(changes)
        idmap: dict[str, str] = {}
        undo: list[_Undo] = []
        with _Call(self) as call:
            try:
                for n in order:
                    change = changes[n]
                    record = _remap(change.record, idmap)
                    if change.delete:
                        stored = self._delete(call, change)
                    elif change.expected_revision is None:
                        stored = self._create(call, change, record, undo)
                        idmap[change.id] = stored.id
                    else:
                        stored = self._update(call, change, record, undo)
                    results[n] = stored
            except PlannerError as err:
                raise _with_note(err, self._compensate(call, undo)) from err
            except Exception:
                log.error("engram-cli write failed unexpectedly; %s", self._compensate(call, undo))
                raise
        with self._lock:
            self._agents.update(dict.fromkeys(c.agent for c in changes))
        return [r for r in results if r is not None]

    def _create(self, call: _Call, change: Change, rec: Record, undo: list[_Undo]) -> StoredEntity:
        agent = f"--agent={change.agent}"
        now = _now()
        if isinstance(rec, TaskRecord):
            args = ["task", "create", *call.text("--title", rec.title, "title", None)]
            if rec.description:
                args += call.text("--description", rec.description, "description", "--description-file")
            args += [f"--priority={rec.priority}", agent]
            if rec.tags:
                args.append("--tags=" + ",".join(rec.tags))
            args.append("--output=json")
            stdout = call.run(args)
            try:
                created = task_entity(parse_json_object(stdout, "engram task create"))
            except (KeyError, TypeError, ValueError):
                raise _unreadable("engram task create", stdout) from None
            undo.append(
                _Undo(
                    f"task {created.id} (archived: engram cannot delete tasks)",
                    ["task", "archive", created.id, "--reason=release planner rolled back a failed write"],
                )
            )
            if rec.status != "todo":
                call.run(["task", "update", created.id, f"--status={_TASK_STATUS_ARG[rec.status]}"])
            made = created.record
            assert isinstance(made, TaskRecord)
            return replace(created, record=replace(made, status=rec.status, metadata={}))
        if isinstance(rec, ContextRecord):
            args = ["context", "create", *call.text("--title", rec.title, "title", None)]
            if rec.content:
                args += call.text("--content", rec.content, "content", "--content-file")
            args += [
                *call.text("--source", rec.source, "source", None),
                f"--relevance={rec.relevance}",
                agent,
            ]
            new_id = parse_created_id(call.run(args))
            undo.append(_Undo(f"context {new_id}", ["context", "delete", new_id]))
            stored: Record = replace(rec, tags=(), metadata={})
        elif isinstance(rec, ReasoningRecord):
            args = ["reasoning", "create", *call.text("--title", rec.title, "title", None)]
            args += [f"--task-id={rec.task_id}", f"--confidence={_confidence(rec.confidence)}"]
            if rec.conclusion:
                args += call.text("--content", rec.conclusion, "conclusion", "--content-file")
            args.append(agent)
            new_id = parse_created_id(call.run(args))
            undo.append(_Undo(f"reasoning {new_id}", ["reasoning", "delete", new_id]))
            stored = replace(rec, tags=(), metadata={})
        else:
            assert isinstance(rec, LinkRecord)
            args = [
                "relationship",
                "create",
                f"--source-id={rec.source_id}",
                f"--source-type={rec.source_type}",
                f"--target-id={rec.target_id}",
                f"--target-type={rec.target_type}",
                f"--relationship-type={rec.relationship_type}",
                agent,
                f"--direction={rec.direction}",
                f"--strength={rec.strength}",
            ]
            if rec.description is not None:
                args += call.text("--description", rec.description, "description", None)
            new_id = parse_relationship_id(call.run(args))
            undo.append(_Undo(f"relationship {new_id}", ["relationship", "delete", new_id, agent]))
            stored = rec
        return StoredEntity(new_id, change.type, change.agent, now, now, 0, stored)

    def _update(self, call: _Call, change: Change, rec: Record, undo: list[_Undo]) -> StoredEntity:
        current = call.get(change.type, change.id)
        if current is None:
            raise Conflict(
                f"{change.type} {change.id} does not exist in engram (never stored, or deleted since read)",
                field="expected_revision",
                next_step="re-read the release with get_release_plan; create it without expected_revision",
            )
        old = current.record
        fixed = _FIXED_FIELDS[change.type]
        differ = [f for f in fixed if getattr(old, f) != getattr(rec, f)]
        if differ:
            raise StorageError(
                f"the engram CLI cannot change {', '.join(differ)} of an existing {change.type}",
                valid=_UPDATABLE[change.type],
                next_step=_USE_GIT,
            )
        new: Record = old
        if isinstance(rec, TaskRecord) and isinstance(old, TaskRecord) and rec.status != old.status:
            call.run(["task", "update", change.id, f"--status={_TASK_STATUS_ARG[rec.status]}"])
            undo.append(
                _Undo(
                    f"task {change.id} status",
                    ["task", "update", change.id, f"--status={_TASK_STATUS_ARG[old.status]}"],
                )
            )
            new = replace(old, status=rec.status)
        elif isinstance(rec, ContextRecord) and isinstance(old, ContextRecord) and rec.content != old.content:
            call.run(["context", "update", change.id, *call.text("--content", rec.content, "content", None)])
            undo.append(
                _Undo(
                    f"context {change.id} content",
                    ["context", "update", change.id, f"--content={old.content}"],
                )
            )
            new = replace(old, content=rec.content)
        elif (
            isinstance(rec, ReasoningRecord)
            and isinstance(old, ReasoningRecord)
            and (rec.conclusion != old.conclusion or round(rec.confidence, 2) != round(old.confidence, 2))
        ):
            conclude = ["reasoning", "conclude", change.id]
            call.run(
                [
                    *conclude,
                    *call.text("--conclusion", rec.conclusion, "conclusion", "--conclusion-file"),
                    f"--confidence={_confidence(rec.confidence)}",
                ]
            )
            restore = [f"--conclusion={old.conclusion}", f"--confidence={_confidence(old.confidence)}"]
            undo.append(_Undo(f"reasoning {change.id} conclusion", [*conclude, *restore]))
            new = replace(old, conclusion=rec.conclusion, confidence=rec.confidence)
        return replace(current, updated_at=_now(), record=new)

    def _delete(self, call: _Call, change: Change) -> StoredEntity:
        """``engram <type> delete``: the entity ref goes, its sidecars stay. engram cannot delete a
        task (only archive it), and a deletion cannot be undone if a later one fails."""
        if change.type == "task":
            raise StorageError(
                "the engram CLI cannot delete a task (it can only archive it)",
                field="changes",
                valid="deletions of contexts, reasonings and relationships",
                next_step=_USE_GIT,
            )
        current = call.get(change.type, change.id)
        if current is None:
            raise Conflict(
                f"{change.type} {change.id} does not exist in engram (never stored, or deleted since read)",
                field="expected_revision",
                next_step="re-read the release with get_release_plan",
            )
        argv = [change.type, "delete", change.id]
        if change.type == "relationship":
            argv.append(f"--agent={change.agent}")
        call.run(argv)
        call.cache[(change.type, change.id)] = None
        return current

    def _compensate(self, call: _Call, undo: list[_Undo]) -> str:
        if not undo:
            return "nothing had been written"
        done, failed = [], []
        for step in reversed(undo):
            try:
                if any(len(a.encode("utf-8")) > ARG_TEXT_LIMIT for a in step.argv):
                    raise StorageError("too long to restore through the command line")
                call.run(step.argv)
                done.append(step.label)
            except PlannerError as exc:
                failed.append(f"{step.label} ({exc.message})")
        note = f"rolled back: {', '.join(done)}" if done else ""
        if failed:
            note += ("; " if note else "") + f"could NOT roll back: {', '.join(failed)}"
        return note


_FIXED_FIELDS: dict[str, tuple[str, ...]] = {
    "task": ("title", "description", "priority", "tags"),
    "context": ("title", "source", "relevance"),
    "reasoning": ("title", "task_id"),
    "relationship": (
        "source_id",
        "source_type",
        "target_id",
        "target_type",
        "relationship_type",
        "description",
        "direction",
        "strength",
        "active",
    ),
}
_UPDATABLE = {
    "task": "status",
    "context": "content",
    "reasoning": "conclusion and confidence",
    "relationship": "nothing (engram has no relationship update)",
}


def _precheck(changes: Sequence[Change]) -> None:
    """Everything that can be refused before any process runs: the shared record rules first (so every
    backend names the same field), then what only the command line cannot carry."""
    check_changes(changes)
    for i, change in enumerate(changes):
        where = f"changes[{i}]"
        _check_text(change.agent, f"{where}.agent")
        rec = change.record
        for name in ("title", "description", "content", "source", "conclusion"):
            value = getattr(rec, name, None)
            if isinstance(value, str):
                _check_text(value, f"{where}.record.{name}")
        if isinstance(rec, TaskRecord):
            for t in rec.tags:
                if "," in t or t != t.strip():
                    raise InvalidInput(
                        f"tag {t!r} cannot pass through `engram task create --tags`",
                        field=f"{where}.record.tags",
                        valid="tags without commas or surrounding spaces",
                    )
        if isinstance(rec, ReasoningRecord):
            # Ids in argv are only ever validated UUIDs: nothing a clap parser could take for a flag.
            _check_id(rec.task_id, f"{where}.record.task_id")
        if isinstance(rec, LinkRecord):
            _check_id(rec.source_id, f"{where}.record.source_id")
            _check_id(rec.target_id, f"{where}.record.target_id")
            for name in ("source_type", "target_type", "relationship_type"):
                if not _NAME_RE.match(getattr(rec, name)):
                    raise InvalidInput(
                        f"{getattr(rec, name)!r} is not a type name",
                        field=f"{where}.record.{name}",
                        valid="lowercase snake_case",
                    )
            if not rec.active and change.expected_revision is None:
                raise StorageError(
                    "the engram CLI always creates active relationships",
                    field=f"{where}.record.active",
                    next_step=_USE_GIT,
                )


def _remap(rec: Record, idmap: Mapping[str, str]) -> Record:
    if isinstance(rec, ReasoningRecord) and rec.task_id in idmap:
        return replace(rec, task_id=idmap[rec.task_id])
    if isinstance(rec, LinkRecord):
        return replace(
            rec,
            source_id=idmap.get(rec.source_id, rec.source_id),
            target_id=idmap.get(rec.target_id, rec.target_id),
        )
    return rec


def _with_note(err: PlannerError, note: str) -> PlannerError:
    return type(err)(f"{err.message} ({note})", field=err.field, valid=err.valid, next_step=err.next_step)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = [
    "ARG_TEXT_LIMIT",
    "LIMITATIONS",
    "EngramCliStore",
    "RunResult",
    "Runner",
    "context_entity",
    "error_for",
    "error_message",
    "link_entity",
    "matches",
    "parse_connected",
    "parse_context_list_json",
    "parse_context_show",
    "parse_created_id",
    "parse_json_object",
    "parse_reasoning_show",
    "parse_relationship_get",
    "parse_relationship_id",
    "parse_relationship_list",
    "parse_table_ids",
    "parse_task_show",
    "parse_task_text_id",
    "reasoning_entity",
    "run_engram",
    "shown_time",
    "task_entity",
]
