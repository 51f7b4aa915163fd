"""Engram's entity format (reference/engram-format.md §1.3-§1.5, §2), shared by every backend.

Writing: port records become Engram data objects with exactly the fields, enum spellings and
serde-required fields real Engram needs, wrapped in its ``MemoryEntity`` envelope. Reading is tolerant
(nested ``data``, the ``type`` alias, any key order, any RFC3339 offset, unknown fields); anything that
cannot be read becomes a ``StoreProblem`` instead of an exception.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, get_args

import orjson

from ...tools.errors import Conflict, InvalidInput, StorageError
from ...tools.ports import (
    BUILTIN_RELATIONSHIP_TYPES,
    ENTITY_TYPES,
    Change,
    ContextRecord,
    Direction,
    EntityType,
    LinkRecord,
    Priority,
    ReasoningRecord,
    Record,
    Relevance,
    StoredEntity,
    StoreProblem,
    Strength,
    TaskRecord,
    TaskStatus,
    is_entity_id,
)
from . import deepjson

Clock = Callable[[], datetime]

TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)
PRIORITIES: tuple[str, ...] = get_args(Priority)
RELEVANCES: tuple[str, ...] = get_args(Relevance)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
STRENGTHS: tuple[str, ...] = get_args(Strength)

# Rust enum variant names (serde's default external tagging) for the CLI's snake_case names.
_PASCAL = {name: "".join(part.title() for part in name.split("_")) for name in BUILTIN_RELATIONSHIP_TYPES}
_SNAKE = {pascal: name for name, pascal in _PASCAL.items()}

# Where each type keeps the time Engram copies into the envelope's ``timestamp``.
TIME_FIELD: dict[str, str] = {
    "task": "start_time",
    "context": "created_at",
    "reasoning": "created_at",
    "relationship": "timestamp",
}

ENVELOPE_KEYS = (
    "id",
    "entity_type",
    "agent",
    "timestamp",
    "data",
    "content_hash",
    "size_bytes",
    "tags",
    "references",
    "metadata",
)

WORKSPACE_REF = "refs/engram/config/workspace"


def system_clock() -> datetime:
    return datetime.now(UTC)


# --- timestamps -------------------------------------------------------------------------------------

_TS_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z"
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _rfc3339(dt: datetime, suffix: str) -> str:
    # chrono writes nanoseconds; Python has microseconds, so the last three digits are zero.
    d = _utc(dt)
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
        f".{d.microsecond:06d}000{suffix}"
    )


def format_timestamp(dt: datetime) -> str:
    """Entity timestamps as chrono's serde writes them: UTC, 9 fraction digits, ``Z``."""
    return _rfc3339(dt, "Z")


def format_sidecar_timestamp(dt: datetime) -> str:
    """Sidecar ``created_at`` as ``Utc::now().to_rfc3339()`` writes it: ``+00:00`` instead of ``Z``."""
    return _rfc3339(dt, "+00:00")


def parse_timestamp(value: object, *, max_fraction_digits: int | None = None) -> int | None:
    """Nanoseconds since the epoch for an RFC3339 string (any offset), else None."""
    if not isinstance(value, str):
        return None
    m = _TS_RE.match(value)
    if not m:
        return None
    year, month, day, hour, minute, second, frac, _z, sign, off_h, off_m = m.groups()
    if frac is None:
        frac = ""
    elif max_fraction_digits is not None and len(frac) > max_fraction_digits:
        return None
    h, mi, sec = int(hour), int(minute), int(second)
    if h > 23 or mi > 59 or sec > 60:  # chrono accepts a leap second
        return None
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    offset = 0
    if sign:
        oh, om = int(off_h), int(off_m)
        if oh > 23 or om > 59:
            return None
        offset = (oh * 3600 + om * 60) * (1 if sign == "+" else -1)
    seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset
    return seconds * 1_000_000_000 + int((frac + "000000000")[:9])


# --- JSON helpers -----------------------------------------------------------------------------------


def _sorted_json(value: Any) -> Any:
    """Objects with keys sorted at every level: serde_json's Map (no preserve_order) writes them so."""
    if isinstance(value, dict):
        return {k: _sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """Compact, keys sorted recursively: the form Engram hashes and writes for sidecars/workspace."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_hash(data: Mapping[str, Any]) -> tuple[str, int]:
    """``(content_hash, size_bytes)`` of an entity's data, as ``MemoryEntity::new`` computes them."""
    raw = canonical_json(data)
    return hashlib.sha256(raw).hexdigest(), len(raw)


def flatten_data(data: Any) -> Any:
    """Engram's ``flatten_data_map``: unwrap ``data`` while it is an object whose only key is ``data``."""
    while isinstance(data, dict) and len(data) == 1 and isinstance(data.get("data"), dict):
        data = data["data"]
    return data


def _plain_json(value: Any, where: str) -> Any:
    """A JSON-safe deep copy (tuples become lists), or InvalidInput naming what cannot be stored."""
    try:
        return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"cannot be stored as JSON ({exc})",
            field=where,
            valid="strings, finite numbers, booleans, null, lists and objects with string keys",
        ) from None


# --- blobs ------------------------------------------------------------------------------------------


def envelope_blob(entity_type: str, entity_id: str, agent: str, data: Mapping[str, Any]) -> bytes:
    """The ``refs/engram/{type}/{id}`` blob: ``to_string_pretty(MemoryEntity)``, no trailing newline."""
    deep = deepjson.too_deep(data, "data", deepjson.MAX_WRITE_DEPTH)
    if deep:  # written by another tool; refused here, before any ref moves, rather than half-encoded
        raise StorageError(
            f"{entity_type} {entity_id} cannot be written back: its {deep}",
            valid=f"stored data at most {deepjson.MAX_WRITE_DEPTH} levels of nested lists and objects deep",
            next_step="flatten or remove that field with the tool that wrote it, then retry; "
            "nothing was changed",
        )
    flat = _sorted_json(dict(data))
    digest, size = content_hash(flat)
    env = {
        "id": entity_id,
        "entity_type": entity_type,
        "agent": agent,
        "timestamp": flat[TIME_FIELD[entity_type]],
        "data": flat,
        "content_hash": digest,
        "size_bytes": size,
        "tags": [],
        "references": [],
        "metadata": {},
    }
    # Same bytes as json.dumps(indent=2, ensure_ascii=False) (and serde's to_string_pretty) for the
    # values we store, but without the stdlib's pure-Python indenting encoder: ~90x faster, which is
    # most of a write's CPU time. Floats at extremes print differently (0.00001 vs 1e-05); Engram
    # never checks them and the content hash is computed separately.
    try:
        return orjson.dumps(env, option=orjson.OPT_INDENT_2)
    except TypeError:  # nested deeper than orjson writes: the standard library writes the same bytes
        if deepjson.depth(env) <= deepjson.ORJSON_MAX_DEPTH:
            raise
        return deepjson.dumps_pretty(env)


def sidecar_blob(
    entity_type: str, entity_id: str, agent: str, version: int, project_id: str, now: datetime
) -> bytes:
    """The immutable ``refs/engram/{type}/v{N}/{id}`` blob (§1.5)."""
    return canonical_json(
        {
            "agent": agent,
            "created_at": format_sidecar_timestamp(now),
            "entity_type": entity_type,
            "project_id": project_id,
            "uuid": entity_id,
            "version": version,
        }
    )


def workspace_blob(project_id: str, name: str = ".") -> bytes:
    """``refs/engram/config/workspace``; ``name`` is the path engram was given, ``.`` from its CLI."""
    return canonical_json({"name": name, "project_id": project_id})


def project_id_for(root_commit_hex: str) -> str:
    """Engram's project identity: hex SHA-512 of the root commit id as ASCII (§1.4)."""
    return hashlib.sha512(root_commit_hex.encode("ascii")).hexdigest()


def entity_ref(entity_type: str, entity_id: str) -> str:
    return f"refs/engram/{entity_type}/{entity_id}"


def sidecar_ref(entity_type: str, entity_id: str, version: int) -> str:
    return f"refs/engram/{entity_type}/v{version}/{entity_id}"


# --- checking records and changes -------------------------------------------------------------------


def _text(value: object, where: str, *, required: bool) -> None:
    if not isinstance(value, str):
        raise InvalidInput("must be a string", field=where)
    if required and not value.strip():
        raise InvalidInput("must not be empty", field=where, valid="a non-blank string")


def _choice(value: object, options: Sequence[str], where: str) -> None:
    if value not in options:
        raise InvalidInput(f"{value!r} is not allowed", field=where, valid=", ".join(options))


def _tags(value: object, where: str) -> None:
    if not isinstance(value, tuple | list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise InvalidInput("must be a list of non-blank strings", field=where)


def _metadata(value: object, where: str) -> None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInput("must be an object with string keys", field=where)
    _plain_json(dict(value), where)


def check_record(record: Record, where: str = "record") -> None:
    """Refuse a record real Engram would reject (validation rules of §2) or could not deserialize."""
    if isinstance(record, LinkRecord):
        for name in ("source_id", "source_type", "target_id", "target_type", "relationship_type"):
            _text(getattr(record, name), f"{where}.{name}", required=True)
        if record.source_id == record.target_id:
            raise InvalidInput("an entity cannot be linked to itself", field=f"{where}.target_id")
        _choice(record.direction, DIRECTIONS, f"{where}.direction")
        _choice(record.strength, STRENGTHS, f"{where}.strength")
        if record.description is not None:
            _text(record.description, f"{where}.description", required=False)
        if not isinstance(record.active, bool):
            raise InvalidInput("must be true or false", field=f"{where}.active")
        return
    if not isinstance(record, TaskRecord | ContextRecord | ReasoningRecord):
        raise InvalidInput(f"unknown record type {type(record).__name__}", field=where)
    _text(record.title, f"{where}.title", required=True)
    _tags(record.tags, f"{where}.tags")
    _metadata(record.metadata, f"{where}.metadata")
    if isinstance(record, TaskRecord):
        _text(record.description, f"{where}.description", required=False)
        _choice(record.status, TASK_STATUSES, f"{where}.status")
        _choice(record.priority, PRIORITIES, f"{where}.priority")
        if record.end_time is not None and parse_timestamp(record.end_time) is None:
            raise InvalidInput(
                "must be an RFC3339 timestamp such as 2026-03-16T09:00:00Z", field=f"{where}.end_time"
            )
        if record.outcome is not None:
            _text(record.outcome, f"{where}.outcome", required=False)
    elif isinstance(record, ContextRecord):
        _text(record.content, f"{where}.content", required=False)
        _text(record.source, f"{where}.source", required=False)
        _choice(record.relevance, RELEVANCES, f"{where}.relevance")
    else:
        _text(record.task_id, f"{where}.task_id", required=True)
        _text(record.conclusion, f"{where}.conclusion", required=False)
        conf = record.confidence
        if isinstance(conf, bool) or not isinstance(conf, int | float) or not (0.0 <= conf <= 1.0):
            raise InvalidInput(f"{conf!r} is out of range", field=f"{where}.confidence", valid="0.0 to 1.0")


def check_changes(changes: Sequence[Change]) -> None:
    """Validate a whole commit before anything is written; ids are checked before any ref is named."""
    seen: set[tuple[str, str]] = set()
    for i, change in enumerate(changes):
        where = f"changes[{i}]"
        if not isinstance(change, Change):
            raise InvalidInput("is not a Change", field=where)
        if not is_entity_id(change.id):
            raise InvalidInput(
                f"{change.id!r} is not an entity id", field=f"{where}.id", valid="a lowercase hyphenated UUID"
            )
        check_record(change.record, f"{where}.record")
        _text(change.agent, f"{where}.agent", required=True)
        rev = change.expected_revision
        if rev is not None and (isinstance(rev, bool) or not isinstance(rev, int) or rev < 0):
            raise InvalidInput(f"{rev!r} is not a revision", field=f"{where}.expected_revision")
        if change.delete and rev is None:
            raise InvalidInput("a deletion needs the revision it deletes", field=f"{where}.expected_revision")
        key = (change.type, change.id)
        if key in seen:
            raise InvalidInput(f"{change.type} {change.id} appears twice in one commit", field=f"{where}.id")
        seen.add(key)


def check_type(entity_type: object) -> EntityType:
    if entity_type not in ENTITY_TYPES:
        raise InvalidInput(
            f"{entity_type!r} is not an entity type", field="entity_type", valid=", ".join(ENTITY_TYPES)
        )
    return entity_type  # type: ignore[return-value]


def check_id(entity_id: object, field: str = "id") -> str:
    if not isinstance(entity_id, str) or not is_entity_id(entity_id):
        raise InvalidInput(
            f"{entity_id!r} is not an entity id", field=field, valid="a lowercase hyphenated UUID"
        )
    return entity_id


def check_revision(change: Change, *, exists: bool, revision: int, readable: bool = True) -> None:
    """Compare-and-swap on revisions; a lost race is a ``Conflict`` that says how to recover."""
    kind, eid, expected = change.type, change.id, change.expected_revision
    if exists and not readable:
        # Another tool's blob (not JSON, not an envelope, a symbolic ref): no revision to offer.
        ref = entity_ref(kind, eid)
        raise Conflict(
            f"{kind} {eid} is stored but unreadable ({ref}; the store's problems say why), so it "
            "cannot be updated or stored again in place",
            field="expected_revision",
            next_step="if its object is missing, run `engram-release-planner repair`; else remove the ref "
            f"in the workspace (`git update-ref --no-deref -d {ref}`; its version records stay); then retry",
        )
    if expected is None:
        if exists:
            raise Conflict(
                f"{kind} {eid} already exists at revision {revision}",
                field="expected_revision",
                next_step=(
                    f"re-read it with get_release_plan and pass expected_revision={revision} to update it"
                ),
            )
        return
    if not exists:
        raise Conflict(
            f"{kind} {eid} does not exist (it was never stored or has been deleted)",
            field="expected_revision",
            next_step=(
                "re-read the release with get_release_plan; create the entity without expected_revision"
            ),
        )
    if revision != expected:
        raise Conflict(
            f"{kind} {eid} is at revision {revision}, not {expected}: "
            "someone else changed it since you read it",
            field="expected_revision",
            next_step=f"re-read it with get_release_plan and pass expected_revision={revision}",
        )


# --- records to Engram data -------------------------------------------------------------------------

_OMIT = object()


def encode_relationship_type(name: str) -> str | dict[str, str]:
    builtin = _PASCAL.get(name)
    return builtin if builtin is not None else {"Custom": name}


def _owned_fields(record: Record) -> dict[str, Any]:
    """The data fields this record owns, encoded; ``_OMIT`` for omit-when-empty fields left empty."""
    if isinstance(record, LinkRecord):
        return {
            "source_id": record.source_id,
            "source_type": record.source_type,
            "target_id": record.target_id,
            "target_type": record.target_type,
            "relationship_type": encode_relationship_type(record.relationship_type),
            "direction": record.direction.title(),
            "strength": record.strength.title(),
            "description": record.description,
            "active": record.active,
        }
    fields: dict[str, Any] = {"title": record.title}
    if isinstance(record, TaskRecord):
        fields |= {"description": record.description, "status": record.status, "priority": record.priority}
        ended = {"end_time": record.end_time, "outcome": record.outcome}
        fields |= {key: value for key, value in ended.items() if value is not None}
    elif isinstance(record, ContextRecord):
        fields |= {"content": record.content, "source": record.source, "relevance": record.relevance}
    else:
        fields |= {
            "task_id": record.task_id,
            "conclusion": record.conclusion,
            "confidence": float(record.confidence),
        }
    fields["tags"] = list(record.tags) if record.tags else _OMIT
    return fields


def _new_data(change: Change, now: str) -> dict[str, Any]:
    rec = change.record
    base: dict[str, Any] = {"id": change.id, "agent": change.agent}
    if isinstance(rec, TaskRecord):
        base |= {"start_time": now, "end_time": None}
    elif isinstance(rec, ContextRecord):
        base |= {
            "created_at": now,
            "updated_at": now,
            "source_id": None,
            "citation_count": 0,
            "decay_weight": 1.0,
        }
    elif isinstance(rec, ReasoningRecord):
        base |= {"created_at": now, "steps": [], "prov_attributed_to": ""}
    else:
        base |= {
            "timestamp": now,
            "constraints": {
                "allow_cycles": True,
                "max_inbound": None,
                "max_outbound": None,
                "source_types": None,
                "target_types": None,
            },
            "metadata": {},
        }
    return base


def render_change(change: Change, *, stored: Mapping[str, Any] | None, now: datetime) -> bytes:
    """The envelope blob a change stores.

    A create builds the full Engram object. An update starts from the stored data and overlays only
    the fields the record owns, so ``created_at``, ``citation_count``, ``steps`` and keys a newer
    Engram wrote survive; ``metadata`` is merged key by key for the same reason.
    """
    stamp = format_timestamp(now)
    rec = change.record
    if stored is None:
        data = _new_data(change, stamp)
        agent = change.agent
    else:
        data = dict(stored)
        agent = data["agent"] if isinstance(data.get("agent"), str) else change.agent
        data["agent"] = agent
        # Fields Engram requires but a tolerant read let pass (e.g. constraints) get their defaults.
        for key, value in _new_data(change, stamp).items():
            data.setdefault(key, value)
        if isinstance(rec, ContextRecord):
            data["updated_at"] = stamp
    for key, value in _owned_fields(rec).items():
        if value is _OMIT:
            data.pop(key, None)
        elif stored is not None and key in ("relationship_type", "strength") and key in data:
            # Keep Engram's own spelling (e.g. a Custom strength) when it decodes to the same value.
            if _decode_field(key, data[key]) != _decode_field(key, value):
                data[key] = value
        else:
            data[key] = value
    if not isinstance(rec, LinkRecord):
        old_meta = stored.get("metadata") if stored is not None else None
        meta = dict(old_meta) if isinstance(old_meta, dict) else {}
        meta.update(_plain_json(dict(rec.metadata), "record.metadata"))
        if meta:
            data["metadata"] = meta
        else:
            data.pop("metadata", None)
    return envelope_blob(change.type, change.id, agent, data)


# --- reading ----------------------------------------------------------------------------------------


class Malformed(Exception):
    """A blob that real Engram could not deserialize into its typed entity."""


@dataclass(frozen=True, slots=True)
class Parsed:
    entity: StoredEntity
    sort_ns: int  # envelope timestamp; the order ``find`` returns (newest first)
    data: dict[str, Any]  # flat data as stored, the base for the next update


def _req_str(data: Mapping[str, Any], key: str, *, nonblank: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise Malformed(f"data.{key} is missing or not a string")
    if nonblank and not value.strip():
        raise Malformed(f"data.{key} is blank")
    return value


def _req_enum(data: Mapping[str, Any], key: str, options: Sequence[str]) -> Any:
    value = data.get(key)
    if value not in options:
        raise Malformed(f"data.{key} {value!r} is not one of {', '.join(options)}")
    return value


# The last timestamp found valid: an entity's data times are mostly its envelope's own, and a large
# workspace's first index checks some 200,000 of them. A string, so a race can only put another valid one.
_last_valid_time = "1970-01-01T00:00:00Z"


def _req_time(data: Mapping[str, Any], key: str) -> str:
    global _last_valid_time
    value = data.get(key)
    if value == _last_valid_time and isinstance(value, str):
        return value
    if parse_timestamp(value) is None:
        raise Malformed(f"data.{key} {value!r} is not an RFC3339 timestamp")
    _last_valid_time = value  # type: ignore[assignment]
    return value  # type: ignore[return-value]


def _opt_tags(data: Mapping[str, Any]) -> tuple[str, ...]:
    tags = data.get("tags")
    if tags is None:
        return ()
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Malformed("data.tags is not a list of strings")
    return tuple(tags)


def _opt_metadata(data: Mapping[str, Any]) -> dict[str, Any]:
    meta = data.get("metadata")
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise Malformed("data.metadata is not an object")
    return meta


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Malformed(f"data.{key} is missing or not a number")
    return float(value)


def _decode_relationship_type(value: object) -> str:
    if isinstance(value, str) and value in _SNAKE:
        return _SNAKE[value]
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("Custom"), str):
        return value["Custom"]
    raise Malformed(f"data.relationship_type {value!r} is neither a builtin type nor {{'Custom': name}}")


def _decode_strength(value: object) -> str:
    if isinstance(value, str) and value.lower() in STRENGTHS and value == value.title():
        return value.lower()
    if isinstance(value, dict) and len(value) == 1 and "Custom" in value:
        weight = min(max(_number(value["Custom"], "strength.Custom"), 0.0), 1.0)
        # Nearest named band (weights 0.25/0.5/0.75/1.0).
        return STRENGTHS[min(3, max(0, round(weight * 4) - 1))]
    raise Malformed(f"data.strength {value!r} is not Weak, Medium, Strong, Critical or {{'Custom': n}}")


def _decode_field(key: str, value: object) -> object:
    try:
        return _decode_relationship_type(value) if key == "relationship_type" else _decode_strength(value)
    except Malformed:
        return None


def _record(entity_type: str, data: Mapping[str, Any]) -> tuple[Record, str, str]:
    """The port record plus (created_at, updated_at) for typed Engram data."""
    _req_str(data, "agent")
    if entity_type == "task":
        start = _req_time(data, "start_time")
        rec: Record = TaskRecord(
            title=_req_str(data, "title"),
            description=_req_str(data, "description"),
            status=_req_enum(data, "status", TASK_STATUSES),
            priority=_req_enum(data, "priority", PRIORITIES),
            tags=_opt_tags(data),
            metadata=_opt_metadata(data),
            end_time=data["end_time"] if isinstance(data.get("end_time"), str) else None,
            outcome=data["outcome"] if isinstance(data.get("outcome"), str) else None,
        )
        return rec, start, start
    if entity_type == "context":
        created, updated = _req_time(data, "created_at"), _req_time(data, "updated_at")
        rec = ContextRecord(
            title=_req_str(data, "title"),
            content=_req_str(data, "content"),
            source=_req_str(data, "source"),
            relevance=_req_enum(data, "relevance", RELEVANCES),
            tags=_opt_tags(data),
            metadata=_opt_metadata(data),
        )
        return rec, created, updated
    if entity_type == "reasoning":
        created = _req_time(data, "created_at")
        if not isinstance(data.get("steps"), list):
            raise Malformed("data.steps is missing or not a list")
        rec = ReasoningRecord(
            title=_req_str(data, "title"),
            task_id=_req_str(data, "task_id"),
            conclusion=_req_str(data, "conclusion"),
            confidence=_number(data.get("confidence"), "confidence"),
            tags=_opt_tags(data),
            metadata=_opt_metadata(data),
        )
        return rec, created, created
    stamp = _req_time(data, "timestamp")
    direction = data.get("direction")
    if direction not in ("Unidirectional", "Bidirectional", "Inverse"):
        raise Malformed(f"data.direction {direction!r} is not Unidirectional, Bidirectional or Inverse")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise Malformed("data.description is not a string or null")
    active = data.get("active", True)
    if not isinstance(active, bool):
        raise Malformed("data.active is not a boolean")
    rec = LinkRecord(
        source_id=_req_str(data, "source_id", nonblank=True),
        source_type=_req_str(data, "source_type", nonblank=True),
        target_id=_req_str(data, "target_id", nonblank=True),
        target_type=_req_str(data, "target_type", nonblank=True),
        relationship_type=_decode_relationship_type(data.get("relationship_type")),
        description=description,
        direction=direction.lower(),  # type: ignore[arg-type]
        strength=_decode_strength(data.get("strength")),  # type: ignore[arg-type]
        active=active,
    )
    return rec, stamp, stamp


def parse_envelope(entity_type: str, entity_id: str, raw: bytes, revision: int = 0) -> Parsed:
    """Read one entity blob; raises ``Malformed`` with a reason a person can act on."""
    global _last_valid_time
    try:
        # orjson: about 4x faster than json.loads, which matters when a large workspace is indexed.
        # It refuses NaN/Infinity and lone surrogates, as serde_json does.
        env = orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        try:  # deeper than orjson reads (1,024 levels) is still JSON, and the entity still exists
            env = deepjson.loads(raw) if "depth limit" in str(exc) else None
        except (ValueError, UnicodeDecodeError):
            env = None
        if env is None:
            raise Malformed(f"not JSON ({exc})") from None
    if not isinstance(env, dict):
        raise Malformed("the envelope is not a JSON object")
    for key in ("id", "agent"):
        if not isinstance(env.get(key), str):
            raise Malformed(f"envelope field {key!r} is missing or not a string")
    kind = env.get("entity_type", env.get("type"))
    if not isinstance(kind, str):
        raise Malformed("envelope field 'entity_type' is missing or not a string")
    stamp = env.get("timestamp")
    sort_ns = parse_timestamp(stamp)
    if sort_ns is None:
        raise Malformed(f"envelope timestamp {stamp!r} is not an RFC3339 timestamp")
    _last_valid_time = stamp  # type: ignore[assignment]  # parse_timestamp accepted it: a str
    if env["id"] != entity_id:
        raise Malformed(f"envelope id {env['id']!r} does not match the ref name {entity_id!r}")
    if kind != entity_type:
        raise Malformed(f"envelope entity_type {kind!r} does not match the ref type {entity_type!r}")
    if "data" not in env:
        raise Malformed("envelope field 'data' is missing")
    data = flatten_data(env["data"])
    if not isinstance(data, dict):
        raise Malformed("data is not a JSON object")
    if set(data) == {"entity"}:
        raise Malformed("data uses the legacy {'entity': ...} wrapper of the removed .engram/ format")
    if data.get("id") != entity_id:
        raise Malformed(f"data.id {data.get('id')!r} does not match the ref name {entity_id!r}")
    record, created, updated = _record(entity_type, data)
    agent = env["agent"]
    entity = StoredEntity(
        id=entity_id,
        type=entity_type,  # type: ignore[arg-type]
        agent=agent,
        created_at=created,
        updated_at=updated,
        revision=revision,
        record=record,
    )
    return Parsed(entity=entity, sort_ns=sort_ns, data=data)


def read_entity(entity_type: str, entity_id: str, raw: bytes, revision: int = 0) -> Parsed | StoreProblem:
    """``parse_envelope`` that reports instead of raising: the form readers use."""
    try:
        return parse_envelope(entity_type, entity_id, raw, revision)
    except Malformed as exc:
        return StoreProblem(ref=entity_ref(entity_type, entity_id), reason=str(exc))
