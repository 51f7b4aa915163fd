"""A persistent cache of what the index keeps per entity, keyed by blob id.

A blob id names its content, so a cached summary can never be stale: a restart reads only the blobs
it has not seen before. The file lives in the repository's git dir (never in the work tree), is
replaced atomically (write a temporary file, rename it into place), and anything unreadable in it
is ignored: the worst a damaged cache costs is a full read of the blobs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable

import orjson

from .index import Summary

log = logging.getLogger(__name__)

CACHE_FILE = "engram-release-planner/summaries-v1.json"
_VERSION = 1


def _row(oid: str, t: str, eid: str, what: object) -> list[object]:
    if isinstance(what, Summary):
        return [oid, t, eid, *what]
    return [oid, t, eid, str(what)]


def _summary(row: list[object]) -> Summary | str | None:
    """A cached row back as a Summary (or a problem's reason); None if the row is malformed."""
    if len(row) == 4 and isinstance(row[3], str):
        return row[3]
    if len(row) != 11:
        return None
    sort_ns, releases, kind, tags, source, target, active, bidir = row[3:]
    if not (
        isinstance(sort_ns, int)
        and isinstance(releases, list)
        and isinstance(tags, list)
        and all(isinstance(x, str) for x in releases + tags)
        and (kind is None or isinstance(kind, str))
        and (source is None or isinstance(source, str))
        and (target is None or isinstance(target, str))
        and isinstance(active, bool)
        and isinstance(bidir, bool)
    ):
        return None
    return Summary(
        sort_ns,
        tuple(sys.intern(x) for x in releases),
        sys.intern(kind) if kind is not None else None,
        tuple(sys.intern(x) for x in tags),
        source,
        target,
        active,
        bidir,
    )


def _well_formed(row: object) -> bool:
    return isinstance(row, list) and len(row) >= 4 and all(isinstance(x, str) for x in row[:3])


class SummaryCache:
    """Loaded for the first full scan, released after it, saved when new blobs were read."""

    def __init__(self, common_dir: str) -> None:
        self.path = os.path.join(common_dir, CACHE_FILE)
        self._rows: dict[str, list[object]] = {}
        self.dirty = False

    def load(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                doc = orjson.loads(fh.read())
            rows = doc["rows"] if isinstance(doc, dict) and doc.get("version") == _VERSION else []
            self._rows = {r[0]: r for r in rows if _well_formed(r)}
        except FileNotFoundError:
            self._rows = {}
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.info("engram store: ignoring the unreadable summary cache %s (%s)", self.path, exc)
            self._rows = {}
            self.dirty = True

    def lookup(self, oid: str, entity_type: str, entity_id: str) -> Summary | str | None:
        row = self._rows.get(oid)
        if row is None or row[1] != entity_type or row[2] != entity_id:
            return None
        return _summary(row)

    def release(self) -> None:
        self._rows = {}

    def save(self, rows: Iterable[tuple[str, str, str, object]]) -> None:
        if not self.dirty:
            return
        body = orjson.dumps({"version": _VERSION, "rows": [_row(*r) for r in rows]})
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(body)
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError as exc:
            log.info("engram store: cannot save the summary cache %s (%s)", self.path, exc)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
