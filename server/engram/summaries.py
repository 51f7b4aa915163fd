"""A persistent cache of what the index keeps per entity, keyed by blob id.

A blob id names its content, so a cached summary can never be stale: a restart reads only the blobs
it has not seen before. The file lives in the repository's git dir (never in the work tree), is
replaced atomically (write a temporary file, rename it into place), and anything unreadable in it
is ignored: the worst a damaged cache costs is a full read of the blobs.

After a header and a table of the distinct tag and release lists, it is one JSON array per entity
per line, read one line at a time while the first scan runs: a large workspace's
rows never sit in memory all at once, and what a row leaves behind is exactly what the index keeps
(loading the whole table first left the heap fragmented by 100,000 short-lived rows).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator

import orjson

from .index import Summary, intern_tuple

log = logging.getLogger(__name__)

CACHE_FILE = "engram-release-planner/summaries-v2.jsonl"
_OLD_FILES = ("engram-release-planner/summaries-v1.json",)
_HEADER = b'{"version":2}\n'

# One cached row: (blob id, type, id, a Summary or the reason the blob is unreadable).
Row = tuple[str, str, str, Summary | str]


def _line(oid: str, t: str, eid: str, what: object, sets: dict[tuple[str, ...], int]) -> bytes:
    if isinstance(what, Summary):
        sort_ns, releases, kind, tags, source, target, active, bidir = what
        row: list[object] = [
            oid,
            t,
            eid,
            sort_ns,
            sets[releases],
            kind,
            sets[tags],
            source,
            target,
            active,
            bidir,
        ]
    else:
        row = [oid, t, eid, str(what)]
    return orjson.dumps(row) + b"\n"


def _sets(raw: bytes) -> list[tuple[str, ...]] | None:
    """The file's table of tag and release lists (rows name them by position)."""
    try:
        table = orjson.loads(raw)
    except ValueError:
        return None
    if not isinstance(table, list) or not all(
        isinstance(x, list) and all(isinstance(y, str) for y in x) for x in table
    ):
        return None
    return [intern_tuple(x) for x in table]


def _row(raw: bytes, sets: list[tuple[str, ...]]) -> Row | None:
    """One line back as a row; None if it is malformed."""
    try:
        row = orjson.loads(raw)
    except ValueError:
        return None
    if type(row) is not list or len(row) not in (4, 11):
        return None
    oid, t, eid = row[0], row[1], row[2]
    if type(oid) is not str or type(t) is not str or type(eid) is not str:
        return None
    if len(row) == 4:
        return (oid, t, eid, row[3]) if type(row[3]) is str else None
    sort_ns, releases, kind, tags, source, target, active, bidir = row[3:]
    if not (
        type(sort_ns) is int
        and type(releases) is int
        and type(tags) is int
        and 0 <= releases < len(sets)
        and 0 <= tags < len(sets)
        and (kind is None or type(kind) is str)
        and (source is None or type(source) is str)
        and (target is None or type(target) is str)
        and type(active) is bool
        and type(bidir) is bool
    ):
        return None
    intern = sys.intern
    summary = Summary(
        sort_ns,
        sets[releases],
        intern(kind) if kind is not None else None,
        sets[tags],
        intern(source) if source is not None else None,
        intern(target) if target is not None else None,
        active,
        bidir,
    )
    return oid, t, eid, summary


class SummaryCache:
    """Read once by the first full scan (``rows``), saved when new blobs were read (``save``)."""

    def __init__(self, common_dir: str) -> None:
        self.common = common_dir
        self.path = os.path.join(common_dir, CACHE_FILE)
        self.dirty = False

    def rows(self) -> Iterator[Row]:
        """The cached rows, one at a time; a damaged file yields what it can and marks itself dirty."""
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - closed below, also when the caller stops early
        except FileNotFoundError:
            return
        except OSError as exc:
            log.info("engram store: ignoring the unreadable summary cache %s (%s)", self.path, exc)
            self.dirty = True
            return
        with fh:
            try:
                sets = _sets(fh.readline()) if fh.readline() == _HEADER else None
                if sets is None:
                    self.dirty = True
                    return
                for raw in fh:
                    row = _row(raw, sets)
                    if row is None:
                        self.dirty = True
                        continue
                    yield row
            except OSError as exc:
                log.info("engram store: ignoring the rest of the summary cache %s (%s)", self.path, exc)
                self.dirty = True

    def save(self, rows: Callable[[], Iterable[tuple[str, str, str, object]]]) -> None:
        """Write ``rows()`` (called twice: the table of tag and release lists first, then the rows)."""
        if not self.dirty:
            return
        sets: dict[tuple[str, ...], int] = {}
        for _oid, _t, _eid, what in rows():
            if isinstance(what, Summary):
                sets.setdefault(what.releases, len(sets))
                sets.setdefault(what.tags, len(sets))
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(_HEADER)
                fh.write(orjson.dumps(list(sets)) + b"\n")
                chunk: list[bytes] = []
                for oid, t, eid, what in rows():
                    chunk.append(_line(oid, t, eid, what, sets))
                    if len(chunk) >= 4096:
                        fh.write(b"".join(chunk))
                        chunk.clear()
                fh.write(b"".join(chunk))
            os.replace(tmp, self.path)
            self.dirty = False
            for old in _OLD_FILES:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.common, old))
        except OSError as exc:
            log.info("engram store: cannot save the summary cache %s (%s)", self.path, exc)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
