"""A strict checker for Engram repositories: would real Engram read every entity we care about?

``validate_repository`` ports engram's ``consistency_check`` (dangling refs, invalid JSON, missing
envelope fields, id/path mismatch, sidecar uuid/version) and adds the field rules of
reference/engram-format.md §2 for task, context, reasoning and relationship, the version-sidecar
sequence, the workspace ref, and leftovers of interrupted writes (lock files, journals).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pygit2

from ...tools.ports import ENTITY_TYPES, is_entity_id
from . import format as fmt
from .refs import JOURNAL_DIR

_VDIR_RE = re.compile(r"^v([1-9][0-9]*)$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

_PASCAL_TYPES = {
    "DependsOn",
    "Contains",
    "References",
    "Fulfills",
    "Implements",
    "Supersedes",
    "AssociatedWith",
    "Influences",
}
_IBIS_TYPES = ("question", "idea", "pro", "con", "reference", "note")


class _Problems(list[str]):
    def add(self, ref: str, reason: str) -> None:
        self.append(f"{ref}: {reason}")


def _is_time(value: object) -> bool:
    return fmt.parse_timestamp(value, max_fraction_digits=9) is not None


def _is_num(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


class _DataCheck:
    """Field rules for one entity's ``data`` object; every failure becomes one problem line."""

    def __init__(self, ref: str, data: Mapping[str, Any], out: _Problems) -> None:
        self.ref, self.data, self.out = ref, data, out

    def fail(self, reason: str) -> None:
        self.out.add(self.ref, reason)

    def req(self, key: str, ok: Callable[[Any], bool], what: str) -> None:
        if key not in self.data:
            self.fail(f"data.{key} is required")
        elif not ok(self.data[key]):
            self.fail(f"data.{key} must be {what}, found {self.data[key]!r:.80}")

    def text(self, key: str, *, nonblank: bool = False) -> None:
        self.req(key, lambda v: isinstance(v, str) and (not nonblank or bool(v.strip())), "a string")

    def time(self, key: str) -> None:
        self.req(key, _is_time, "an RFC3339 timestamp")

    def enum(self, key: str, options: tuple[str, ...]) -> None:
        self.req(key, lambda v: v in options, " | ".join(options))

    def omit_when_empty(self, key: str, ok: Callable[[Any], bool], what: str) -> None:
        """Engram's ``skip_serializing_if``: absent when empty, well-typed when present."""
        if key not in self.data:
            return
        value = self.data[key]
        if value is None or value in ([], {}, ""):
            self.fail(f"data.{key} must be omitted when empty (Engram never writes it empty)")
        elif not ok(value):
            self.fail(f"data.{key} must be {what}")


def _check_task(c: _DataCheck) -> None:
    c.text("title", nonblank=True)
    c.text("description")
    c.enum("status", fmt.TASK_STATUSES)
    c.enum("priority", fmt.PRIORITIES)
    c.text("agent", nonblank=True)
    c.time("start_time")
    c.req("end_time", lambda v: v is None or _is_time(v), "null or an RFC3339 timestamp")
    for key in ("children", "tags", "context_ids", "knowledge", "files"):
        c.omit_when_empty(key, _is_str_list, "a list of strings")
    for key in ("parent", "outcome", "block_reason", "workflow_id", "workflow_state"):
        c.omit_when_empty(key, lambda v: isinstance(v, str), "a string")
    c.omit_when_empty("metadata", lambda v: isinstance(v, dict), "an object")


def _check_context(c: _DataCheck) -> None:
    c.text("title", nonblank=True)
    c.text("content")
    c.text("source")
    c.enum("relevance", fmt.RELEVANCES)
    c.text("agent")
    c.time("created_at")
    c.time("updated_at")
    c.req("source_id", lambda v: v is None or isinstance(v, str), "null or a string")
    c.req("citation_count", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a u32")
    c.req("decay_weight", _is_num, "a number")
    for key in ("tags", "related_entities"):
        c.omit_when_empty(key, _is_str_list, "a list of strings")
    c.omit_when_empty("metadata", lambda v: isinstance(v, dict), "an object")
    c.omit_when_empty("last_accessed_at", _is_time, "an RFC3339 timestamp")


def _valid_step(step: object) -> bool:
    if not isinstance(step, dict):
        return False
    ok = all(isinstance(step.get(k), str) for k in ("id", "description", "conclusion"))
    ok = ok and _is_num(step.get("confidence")) and _is_time(step.get("timestamp"))
    ok = ok and ("evidence" not in step or _is_str_list(step["evidence"]))
    ok = ok and ("ibis_type" not in step or step["ibis_type"] in _IBIS_TYPES)
    return ok and ("ibis_polarity" not in step or step["ibis_polarity"] in ("pro", "con"))


def _check_reasoning(c: _DataCheck) -> None:
    c.text("title", nonblank=True)
    c.text("task_id", nonblank=True)
    c.req("steps", lambda v: isinstance(v, list) and all(_valid_step(s) for s in v), "a list of steps")
    c.text("conclusion")
    c.req("confidence", lambda v: _is_num(v) and 0 <= v <= 1, "a number in [0, 1]")
    c.text("agent")
    c.time("created_at")
    c.req("prov_attributed_to", lambda v: isinstance(v, str), "a string")
    if "updated_at" in c.data:
        c.fail("data.updated_at does not exist on Engram reasoning")
    for key in (
        "tags",
        "context_ids",
        "knowledge_ids",
        "prov_used",
        "prov_generated",
        "prov_was_informed_by",
    ):
        c.omit_when_empty(key, _is_str_list, "a list of strings")
    c.omit_when_empty("metadata", lambda v: isinstance(v, dict), "an object")


def _valid_constraints(v: object) -> bool:
    if not isinstance(v, dict) or set(v) != {
        "max_outbound",
        "max_inbound",
        "allow_cycles",
        "source_types",
        "target_types",
    }:
        return False
    ints_ok = all(
        v[k] is None or (isinstance(v[k], int) and not isinstance(v[k], bool))
        for k in ("max_outbound", "max_inbound")
    )
    lists_ok = all(v[k] is None or _is_str_list(v[k]) for k in ("source_types", "target_types"))
    return ints_ok and lists_ok and isinstance(v["allow_cycles"], bool)


def _check_relationship(c: _DataCheck) -> None:
    for key in ("agent", "source_id", "source_type", "target_id", "target_type"):
        c.text(key, nonblank=True)
    c.time("timestamp")
    c.req(
        "relationship_type",
        lambda v: (
            (isinstance(v, str) and v in _PASCAL_TYPES)
            or (isinstance(v, dict) and set(v) == {"Custom"} and isinstance(v["Custom"], str))
        ),
        "a PascalCase builtin or {'Custom': name}",
    )
    c.enum("direction", ("Unidirectional", "Bidirectional", "Inverse"))
    c.req(
        "strength",
        lambda v: (
            v in ("Weak", "Medium", "Strong", "Critical")
            or (isinstance(v, dict) and set(v) == {"Custom"} and _is_num(v["Custom"]))
        ),
        "Weak | Medium | Strong | Critical or {'Custom': number}",
    )
    c.req("constraints", _valid_constraints, "the five-field constraints object")
    c.req("metadata", lambda v: isinstance(v, dict), "an object")
    c.req("description", lambda v: v is None or isinstance(v, str), "null or a string")
    c.req("active", lambda v: isinstance(v, bool), "a boolean")
    if c.data.get("source_id") is not None and c.data.get("source_id") == c.data.get("target_id"):
        c.fail("source_id equals target_id")


_CHECKS = {
    "task": _check_task,
    "context": _check_context,
    "reasoning": _check_reasoning,
    "relationship": _check_relationship,
}


def _check_entity(ref: str, t: str, eid: str, raw: bytes, out: _Problems, strict_layout: bool) -> None:
    try:
        env = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        out.add(ref, f"invalid JSON ({exc})")
        return
    if not isinstance(env, dict):
        out.add(ref, "the envelope is not an object")
        return
    missing = [k for k in fmt.ENVELOPE_KEYS if k not in env]
    if missing:
        out.add(ref, f"envelope fields missing: {', '.join(missing)}")
        return
    if strict_layout:
        layout = {k: env[k] for k in fmt.ENVELOPE_KEYS}
        if (
            set(env) != set(fmt.ENVELOPE_KEYS)
            or raw != json.dumps(layout, indent=2, ensure_ascii=False).encode()
        ):
            out.add(
                ref, "the envelope is not in Engram's layout (key order, 2-space indent, no trailing newline)"
            )
    if not is_entity_id(eid):
        out.add(ref, "the id in the ref name is not a lowercase UUID")
    if env["id"] != eid:
        out.add(ref, f"envelope id {env['id']!r} does not match the ref name")
    if env["entity_type"] != t:
        out.add(ref, f"envelope entity_type {env['entity_type']!r} does not match the ref type")
    if not isinstance(env["agent"], str):
        out.add(ref, "envelope agent is not a string")
    if not _is_time(env["timestamp"]):
        out.add(ref, f"envelope timestamp {env['timestamp']!r} is not RFC3339")
    for key, kind in (("tags", list), ("references", list), ("metadata", dict)):
        if not isinstance(env[key], kind):
            out.add(ref, f"envelope {key} must be {kind.__name__}")
    data = env["data"]
    if not isinstance(data, dict):
        out.add(ref, "data is not an object")
        return
    if set(data) == {"data"}:
        out.add(ref, "data is nested in another 'data' object (run engram migrate triple-nesting)")
        return
    digest, size = fmt.content_hash(data)
    if env["content_hash"] != digest or not _HEX64.match(str(env["content_hash"])):
        out.add(ref, "content_hash is not the SHA-256 of the compact sorted data")
    if env["size_bytes"] != size:
        out.add(ref, f"size_bytes is {env['size_bytes']!r}, the compact data is {size} bytes")
    if data.get("id") != eid:
        out.add(ref, f"data.id {data.get('id')!r} does not match the ref name")
    if data.get("agent") != env["agent"]:
        out.add(ref, "envelope agent differs from data.agent")
    if data.get(fmt.TIME_FIELD[t]) != env["timestamp"]:
        out.add(ref, f"envelope timestamp differs from data.{fmt.TIME_FIELD[t]}")
    _CHECKS[t](_DataCheck(ref, data, out))


def _check_sidecar(
    ref: str, t: str, eid: str, n: int, raw: bytes, project_id: str | None, out: _Problems
) -> None:
    try:
        side = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        out.add(ref, "invalid JSON")
        return
    keys = {"agent", "created_at", "entity_type", "project_id", "uuid", "version"}
    if not isinstance(side, dict) or set(side) != keys:
        out.add(ref, f"a sidecar must have exactly the keys {sorted(keys)}")
        return
    if raw != fmt.canonical_json(side):
        out.add(ref, "a sidecar must be compact JSON with sorted keys")
    if side["uuid"] != eid:
        out.add(ref, f"uuid {side['uuid']!r} does not match the ref name")
    if side["version"] != n or isinstance(side["version"], bool):
        out.add(ref, f"version {side['version']!r} does not match v{n} in the ref name")
    if side["entity_type"] != t:
        out.add(ref, f"entity_type {side['entity_type']!r} does not match the ref type")
    if not isinstance(side["agent"], str):
        out.add(ref, "agent is not a string")
    if not _is_time(side["created_at"]):
        out.add(ref, "created_at is not RFC3339")
    if project_id is not None and side["project_id"] != project_id:
        out.add(ref, "project_id differs from refs/engram/config/workspace")


def _check_workspace(raw: bytes, out: _Problems) -> str | None:
    ref = fmt.WORKSPACE_REF
    try:
        ws = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        out.add(ref, "invalid JSON")
        return None
    if not isinstance(ws, dict) or set(ws) != {"name", "project_id"}:
        out.add(ref, "must be an object with exactly name and project_id")
        return None
    if not isinstance(ws["name"], str):
        out.add(ref, "name is not a string")
    if not isinstance(ws["project_id"], str) or not _HEX128.match(ws["project_id"]):
        out.add(ref, "project_id is not 128 lowercase hex characters")
        return None
    if raw != fmt.canonical_json(ws):
        out.add(ref, "must be compact JSON with sorted keys")
    return ws["project_id"]


def _leftovers(common: str, out: _Problems) -> None:
    engram = os.path.join(common, "refs", "engram")
    for root, _dirs, files in os.walk(engram):
        for name in files:
            if name.endswith(".lock"):
                out.add(os.path.relpath(os.path.join(root, name), common), "stale lock file")
    if os.path.exists(os.path.join(common, "packed-refs.lock")):
        out.add("packed-refs.lock", "stale lock file")
    journal = os.path.join(common, JOURNAL_DIR)
    if os.path.isdir(journal):
        for name in sorted(os.listdir(journal)):
            # A journal whose first line is blank belongs to a store with nothing in flight.
            with open(os.path.join(journal, name), "rb") as fh:
                in_flight = fh.readline().strip()
            if in_flight or not name.endswith(".journal"):
                out.add(f"{JOURNAL_DIR}/{name}", "unfinished write (journal not recovered)")


def validate_repository(path: str | os.PathLike[str], *, strict_layout: bool = True) -> list[str]:
    """Problems found in the Engram refs of the repository at ``path``; empty means valid.

    ``strict_layout`` also requires envelopes byte-for-byte in Engram's pretty layout with keys in
    ``MemoryEntity`` order (what this project and engram itself write; ``engram migrate`` rewrites
    blobs with alphabetical keys, which Engram still reads)."""
    out = _Problems()
    try:
        repo = pygit2.Repository(str(Path(path)), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as exc:
        return [f"{path}: not a git repository ({exc})"]
    common = os.path.normpath(repo.path)
    commondir = os.path.join(common, "commondir")
    if os.path.exists(commondir):
        with open(commondir) as fh:
            common = os.path.normpath(os.path.join(common, fh.read().strip()))

    def blob(ref_name: str) -> bytes | None:
        try:
            target = repo.references[ref_name].target
        except (KeyError, pygit2.GitError, ValueError):
            out.add(ref_name, "unreadable ref")
            return None
        if not isinstance(target, pygit2.Oid):
            out.add(ref_name, f"symbolic ref to {target}; Engram refs point at blobs")
            return None
        try:
            obj = repo.get(target)
        except (KeyError, ValueError, pygit2.GitError):
            obj = None
        if obj is None:
            out.add(ref_name, f"dangling: object {target} is missing")
            return None
        if not isinstance(obj, pygit2.Blob):
            out.add(ref_name, f"points at a {obj.type_str}, not a blob")
            return None
        return obj.data

    names = [n for n in repo.references if n.startswith("refs/engram/")]
    project_id: str | None = None
    if fmt.WORKSPACE_REF in names:
        raw = blob(fmt.WORKSPACE_REF)
        if raw is not None:
            project_id = _check_workspace(raw, out)
    else:
        out.add(fmt.WORKSPACE_REF, "missing")

    entities: dict[tuple[str, str], str] = {}
    versions: dict[tuple[str, str], set[int]] = {}
    for name in sorted(names):
        parts = name.split("/")
        if len(parts) < 4 or parts[2] not in ENTITY_TYPES:
            continue  # config, schema, remote staging and types this project does not write
        t = parts[2]
        if len(parts) == 4:
            entities[(t, parts[3])] = name
            raw = blob(name)
            if raw is not None:
                _check_entity(name, t, parts[3], raw, out, strict_layout)
        elif len(parts) == 5 and _VDIR_RE.match(parts[3]):
            n = int(parts[3][1:])
            versions.setdefault((t, parts[4]), set()).add(n)
            raw = blob(name)
            if raw is not None:
                _check_sidecar(name, t, parts[4], n, raw, project_id, out)
        else:
            out.add(name, "unexpected ref under an entity type (neither an entity nor a v{N} sidecar)")

    for key, name in sorted(entities.items()):
        if key not in versions:
            out.add(name, "has no version sidecar (Engram writes v1 on the first store)")
    for (etype, eid), ns in sorted(versions.items()):
        if ns != set(range(1, max(ns) + 1)):
            out.add(f"refs/engram/{etype}/v*/{eid}", f"version sidecars {sorted(ns)} are not 1..{max(ns)}")
    _leftovers(common, out)
    return list(out)
