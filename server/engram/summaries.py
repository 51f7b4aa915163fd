"""A persistent cache of what the index keeps per entity, keyed by blob id.

A blob id names its content, so a cached summary can never be stale: a restart reads only the blobs
it has not seen before. The file lives in the repository's git dir (never in the work tree), is
replaced atomically (write a temporary file, rename it into place), and anything unreadable in it
is ignored: the worst a damaged cache costs is a full read of the blobs.

After a header (with the SHA-256 of the rest) and a table of the distinct tag and release lists, it
is one JSON array per entity per line, read one line at a time while the first scan runs: a large workspace's
rows never sit in memory all at once, and what a row leaves behind is exactly what the index keeps
(loading the whole table first left the heap fragmented by 100,000 short-lived rows).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator

import orjson

from .index import Summary, intern_tuple

log = logging.getLogger(__name__)

CACHE_FILE = "engram-release-planner/summaries-v2.jsonl"
_OLD_FILES = ("engram-release-planner/summaries-v1.json",)

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


def _header(digest: str) -> bytes:
    return b'{"version":2,"sha256":"' + digest.encode() + b'"}\n'


_BLANK = _header("0" * 64)  # written first, overwritten in place once the body's digest is known


def _rows(data: bytes, start: int) -> Iterator[Row]:
    """The rows after ``start``, once the digest matched: written by ``save``, so well formed."""
    end = len(data)
    view = memoryview(data)
    nl = data.find(b"\n", start)
    sets = [intern_tuple(x) for x in orjson.loads(view[start:nl])]
    intern = sys.intern
    make = tuple.__new__
    pos = nl + 1
    while pos < end:
        nl = data.find(b"\n", pos)
        row = orjson.loads(view[pos:nl])
        pos = nl + 1
        if len(row) == 4:
            yield row[0], row[1], row[2], row[3]
            continue
        oid, t, eid, sort_ns, releases, kind, tags, source, target, active, bidir = row
        if kind is not None:
            kind = intern(kind)
        if source is not None:
            source = intern(source)
            target = intern(target)
        fields = (sort_ns, sets[releases], kind, sets[tags], source, target, active, bidir)
        yield oid, t, eid, make(Summary, fields)


class SummaryCache:
    """Read once by the first full scan (``rows``), saved when new blobs were read (``save``)."""

    def __init__(self, common_dir: str) -> None:
        self.common = common_dir
        self.path = os.path.join(common_dir, CACHE_FILE)
        self.dirty = False

    def rows(self) -> Iterator[Row]:
        """The cached rows, one at a time. The file is trusted only whole: its header holds the
        SHA-256 of the rest, and any mismatch (a torn or edited file) ignores it and marks it dirty."""
        try:
            with open(self.path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.info("engram store: ignoring the unreadable summary cache %s (%s)", self.path, exc)
            self.dirty = True
            return
        start = len(_BLANK)
        body = memoryview(data)[start:]
        if data[:start] != _header(hashlib.sha256(body).hexdigest()):
            log.info(
                "engram store: ignoring the summary cache %s (not written whole by this version)", self.path
            )
            self.dirty = True
            return
        try:
            yield from _rows(data, start)
        except (ValueError, TypeError, IndexError) as exc:  # not expected: the digest matched
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
            digest = hashlib.sha256()
            with open(tmp, "wb") as fh:
                fh.write(_BLANK)
                chunk: list[bytes] = [orjson.dumps(list(sets)) + b"\n"]
                for oid, t, eid, what in rows():
                    chunk.append(_line(oid, t, eid, what, sets))
                    if len(chunk) >= 4096:
                        block = b"".join(chunk)
                        digest.update(block)
                        fh.write(block)
                        chunk.clear()
                block = b"".join(chunk)
                digest.update(block)
                fh.write(block)
                fh.seek(0)
                fh.write(_header(digest.hexdigest()))
            os.replace(tmp, self.path)
            self.dirty = False
            for old in _OLD_FILES:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.common, old))
        except OSError as exc:
            log.info("engram store: cannot save the summary cache %s (%s)", self.path, exc)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
