"""A persistent cache of what the index keeps per entity, keyed by blob id, and of packed-refs.

A blob id names its content, so a cached summary can never be stale: a restart reads only the blobs
it has not seen before. Beside the summaries the file keeps what ``packed-refs`` held when it was
written (its entity refs and highest version sidecars) under the SHA-256 of that file's bytes, so a
restart on an unchanged ``packed-refs`` does not parse it again. The file lives in the repository's
git dir (never in the work tree), is replaced atomically (write a temporary file, rename it into
place), and carries the SHA-256 of its own body: a torn, edited or unreadable cache is ignored whole,
which costs a full read of the blobs and nothing else.

The body is one JSON object of columns per entity type (ids, blob ids, sort keys, ...), so it loads in
one ``orjson`` call into lists whose items are what the index keeps, rather than 100,000 short-lived
rows that would leave the heap fragmented.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Any

import orjson

from .index import Summary, intern_tuple

log = logging.getLogger(__name__)

CACHE_FILE = "engram-release-planner/summaries-v3.json"
_OLD_FILES = ("engram-release-planner/summaries-v1.json", "engram-release-planner/summaries-v2.jsonl")
_VERSION = 3

# packed-refs as ``scan.parse_packed`` reads it: type -> id -> entity ref value, type -> id -> N.
Packed = tuple[dict[str, dict[str, str]], dict[str, dict[str, int]]]


def _header(digest: str) -> bytes:
    return b'{"version":3,"sha256":"' + digest.encode() + b'"}\n'


_BLANK = _header("0" * 64)  # written first, overwritten in place once the body's digest is known


def packed_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def stat_key(sig: tuple[int, int, int, int]) -> str:
    """packed-refs' (inode, mtime, ctime, size) as the cache records them."""
    return ":".join(map(str, sig))


_PACKED = 4  # a row's flag: packed-refs held this row's blob id for its entity ref


@dataclass
class Snapshot:
    """What a cache file holds, loaded. Each row may also say what packed-refs held for its id (the
    same blob id, flag ``_PACKED``; its highest sidecar, column ``prev``); what packed-refs held
    for ids without a row (or another blob id) is kept apart (``xvals``, ``xsides``)."""

    packed_sha: str | None
    packed_stat: str | None
    body: dict[str, Any]

    def __post_init__(self) -> None:
        intern = sys.intern
        self._ids = {t: list(map(intern, cols["ids"])) for t, cols in self.body["types"].items()}

    def packed(self, types: Iterable[str]) -> Packed:
        intern = sys.intern
        values: dict[str, dict[str, str]] = {}
        sides: dict[str, dict[str, int]] = {}
        for t in types:
            cols = self.body["types"].get(t)
            if cols is None:
                values[t], sides[t] = {}, {}
            else:
                ids, oids, flags, prev = self._ids[t], cols["oids"], cols["flags"], cols["prev"]
                values[t] = dict(compress(zip(ids, oids, strict=True), [f & _PACKED for f in flags]))
                if 0 in prev:
                    sides[t] = {i: n for i, n in zip(ids, prev, strict=True) if n}
                else:
                    sides[t] = dict(zip(ids, prev, strict=True))
            values[t].update((intern(i), v) for i, v in self.body["xvals"].get(t, []))
            sides[t].update((intern(i), n) for i, n in self.body["xsides"].get(t, []))
        return values, sides

    def fill(
        self,
        values: dict[str, dict[str, str]],
        put: Callable[[str, Iterable[tuple[str, Summary, str]]], None],
        problem: Callable[[str, str, str, str], None],
    ) -> None:
        """Hand every cached row whose blob id is the one ``values`` (type -> id -> ref value) holds to
        ``put`` (a type and its rows: id, summary, ref value) or to ``problem``, built as the index
        keeps it; the ref value passed on is the one from ``values``, so the cache's own copy of each
        blob id is dropped."""
        sets = [intern_tuple(x) for x in self.body["sets"]]
        empty: dict[str, str] = {}
        for t, cols in self.body["types"].items():
            t = sys.intern(t)
            held = values.get(t, empty)
            current = list(map(held.get, self._ids[t]))
            if current == cols["oids"] and cols["why"].count(None) == len(current):
                put(t, self._unchanged_rows(t, cols, current, sets))  # a restart's usual case
            else:
                put(t, self._rows(t, cols, held, sets, problem))

    def _unchanged_rows(
        self, t: str, cols: dict[str, list[Any]], current: list[Any], sets: list[tuple[str, ...]]
    ) -> Iterator[tuple[str, Summary, str]]:
        """``_rows`` for a type whose every ref still names its cached blob and whose every row is a
        summary: the same rows, built column by column by the interpreter's own loops (``map``,
        ``zip``) instead of a Python statement per row, a restart's largest cost."""
        intern = sys.intern
        kinds = [intern(k) if k is not None else None for k in cols["kinds"]]
        sources: Iterable[str | None] = cols["src"]
        targets: Iterable[str | None] = cols["dst"]
        if cols["src"].count(None) != len(current):  # link ends: shared with the entities' own ids
            sources = [intern(x) if x is not None else None for x in cols["src"]]
            targets = [intern(x) if x is not None else None for x in cols["dst"]]
        flags = cols["flags"]
        summaries = map(
            tuple.__new__,
            repeat(Summary),
            zip(
                cols["ns"],
                map(sets.__getitem__, cols["rel"]),
                map(kinds.__getitem__, cols["kind"]),
                map(sets.__getitem__, cols["tags"]),
                sources,
                targets,
                map(bool, map((1).__and__, flags)),
                map(bool, map((2).__and__, flags)),
                strict=True,
            ),
        )
        return zip(self._ids[t], summaries, current, strict=True)

    def _rows(
        self,
        t: str,
        cols: dict[str, list[Any]],
        held: dict[str, str],
        sets: list[tuple[str, ...]],
        problem: Callable[[str, str, str, str], None],
    ) -> Iterator[tuple[str, Summary, str]]:
        intern = sys.intern
        make = tuple.__new__
        kinds = [intern(k) if k is not None else None for k in cols["kinds"]]
        for eid, oid, ns, rel, kind, tags, source, target, flags, why in zip(
            self._ids[t],
            cols["oids"],
            cols["ns"],
            cols["rel"],
            cols["kind"],
            cols["tags"],
            cols["src"],
            cols["dst"],
            cols["flags"],
            cols["why"],
            strict=True,
        ):
            current = held.get(eid)
            if current is None or current != oid:
                continue
            if why is not None:
                problem(t, eid, current, why)
                continue
            if source is not None:
                source, target = intern(source), intern(target)
            fields = (
                ns,
                sets[rel],
                kinds[kind],
                sets[tags],
                source,
                target,
                bool(flags & 1),
                bool(flags & 2),
            )
            yield eid, make(Summary, fields), current


def _columns(
    rows: Iterable[tuple[str, str, str, object]], sets: dict[tuple[str, ...], int], packed: Packed
) -> dict[str, dict[str, list[Any]]]:
    values, sides = packed
    types: dict[str, dict[str, list[Any]]] = {}
    kinds: dict[str | None, int] = {}
    names = ("ids", "oids", "ns", "rel", "kind", "tags", "src", "dst", "flags", "why", "prev")
    for oid, t, eid, what in rows:
        cols = types.get(t)
        if cols is None:
            cols = types[t] = {name: [] for name in names}
        cols["ids"].append(eid)
        cols["oids"].append(oid)
        flag = _PACKED if values.get(t, {}).get(eid) == oid else 0
        if isinstance(what, Summary):
            ns, releases, kind, tags, source, target, active, bidir = what
            row: tuple[Any, ...] = (
                ns,
                sets.setdefault(releases, len(sets)),
                kinds.setdefault(kind, len(kinds)),
                sets.setdefault(tags, len(sets)),
                source,
                target,
                int(active) | int(bidir) << 1 | flag,
                None,
            )
        else:
            row = (0, 0, kinds.setdefault(None, len(kinds)), 0, None, None, flag, str(what))
        for name, value in zip(names[2:], (*row, sides.get(t, {}).get(eid, 0)), strict=True):
            cols[name].append(value)
    for cols in types.values():
        cols["kinds"] = list(kinds)
    return types


def _extras(types: dict[str, dict[str, list[Any]]], packed: Packed) -> tuple[dict[str, Any], dict[str, Any]]:
    """What packed-refs held that the rows do not say: other blob ids, sidecars of ids without a row."""
    values, sides = packed
    xvals: dict[str, list[list[str]]] = {}
    xsides: dict[str, list[list[Any]]] = {}
    for t in values:
        cols = types.get(t, {})
        ids, oids, flags = cols.get("ids", []), cols.get("oids", []), cols.get("flags", [])
        said = {i: o for i, o, f in zip(ids, oids, flags, strict=True) if f & _PACKED}
        xvals[t] = [[i, v] for i, v in values[t].items() if said.get(i) != v]
        have = set(ids)
        xsides[t] = [[i, n] for i, n in sides[t].items() if i not in have]
    return xvals, xsides


class SummaryCache:
    """Loaded by the first full scan (``load``), saved when it learnt something (``save``)."""

    def __init__(self, common_dir: str) -> None:
        self.common = common_dir
        self.path = os.path.join(common_dir, CACHE_FILE)
        self.dirty = False

    def load(self) -> Snapshot | None:
        try:
            with open(self.path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            self.dirty = True
            return None
        except OSError as exc:
            log.info("engram store: ignoring the unreadable summary cache %s (%s)", self.path, exc)
            self.dirty = True
            return None
        start = len(_BLANK)
        body = memoryview(data)[start:]
        try:
            if data[:start] != _header(hashlib.sha256(body).hexdigest()):
                raise ValueError("not written whole by this version")
            doc = orjson.loads(body)
            if not isinstance(doc, dict) or doc.get("version") != _VERSION:
                raise ValueError("another version")
        except ValueError as exc:
            log.info("engram store: ignoring the summary cache %s (%s)", self.path, exc)
            self.dirty = True
            return None
        sha, stat = doc.get("packed_sha"), doc.get("packed_stat")
        try:
            return Snapshot(
                sha if isinstance(sha, str) else None, stat if isinstance(stat, str) else None, doc
            )
        except (KeyError, TypeError, AttributeError) as exc:  # not expected: its digest matched
            log.info("engram store: ignoring the summary cache %s (%s)", self.path, exc)
            self.dirty = True
            return None

    def save(
        self,
        rows: Callable[[], Iterable[tuple[str, str, str, object]]],
        packed: Callable[[], tuple[str, str | None, Packed]],
    ) -> None:
        """Write ``rows()`` and ``packed()`` (packed-refs' digest, stat and what it holds) if the cache
        learnt something since it was loaded or last written."""
        if self.dirty and self.write(rows(), packed):
            self.dirty = False

    def write(
        self,
        rows: Iterable[tuple[str, str, str, object]],
        packed: Callable[[], tuple[str, str | None, Packed]],
    ) -> bool:
        """Replace the file with ``rows`` and ``packed()``, whatever ``dirty`` says; False if it could not."""
        sha, stat, state = packed()
        sets: dict[tuple[str, ...], int] = {(): 0}
        types = _columns(rows, sets, state)
        xvals, xsides = _extras(types, state)
        del state
        doc = {
            "version": _VERSION,
            "types": types,
            "sets": list(sets),
            "packed_sha": sha,
            "packed_stat": stat,
            "xvals": xvals,
            "xsides": xsides,
        }
        body = orjson.dumps(doc)
        del doc
        tmp = f"{self.path}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"  # two stores may save at once
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(_header(hashlib.sha256(body).hexdigest()))
                fh.write(body)
            os.replace(tmp, self.path)
            for old in _OLD_FILES:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.common, old))
        except OSError as exc:
            log.info("engram store: cannot save the summary cache %s (%s)", self.path, exc)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return False
        return True
