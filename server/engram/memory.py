"""In-memory store: the same entities, revisions and queries as the git store, nothing on disk.

Entities are rendered and parsed with ``format`` exactly as the git store does, so a plan made on the
memory store carries the data it would carry in Engram.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from typing import Any

from ...tools.ports import Change, EntityType, StoredEntity, StoreProblem
from . import format as fmt
from .index import EntityIndex


class MemoryStore:
    """``tools.ports.Store`` held in process memory (tests, throwaway sessions)."""

    name = "memory"

    def __init__(self, clock: fmt.Clock | None = None) -> None:
        self._clock = clock or fmt.system_clock
        self._lock = threading.RLock()
        self._index = EntityIndex()
        self._data: dict[tuple[str, str], dict[str, Any]] = {}
        self._blobs: dict[tuple[str, str], bytes] = {}
        # Each memory store is its own world: the service's stable ids differ between instances.
        self.id_namespace = uuid.uuid4().hex

    def get(self, entity_type: EntityType, entity_id: str) -> StoredEntity | None:
        fmt.check_type(entity_type)
        fmt.check_id(entity_id)
        with self._lock:
            return self._index.get(entity_type, entity_id)

    def resolve(self, entity_type: EntityType, id_or_prefix: str) -> StoredEntity:
        fmt.check_type(entity_type)
        with self._lock:
            return self._index.resolve(entity_type, id_or_prefix)

    def find(
        self,
        entity_type: EntityType,
        *,
        release: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
    ) -> list[StoredEntity]:
        fmt.check_type(entity_type)
        with self._lock:
            return self._index.find(entity_type, release=release, kind=kind, tag=tag)

    def releases(self, entity_type: EntityType) -> list[str]:
        fmt.check_type(entity_type)
        with self._lock:
            return self._index.releases(entity_type)

    def links_from(self, entity_id: str) -> list[StoredEntity]:
        with self._lock:
            return self._index.links_from(entity_id)

    def links_to(self, entity_id: str) -> list[StoredEntity]:
        with self._lock:
            return self._index.links_to(entity_id)

    def connected(self, entity_id: str, max_depth: int | None = None) -> list[str]:
        with self._lock:
            return self._index.connected(entity_id, max_depth)

    def commit(self, changes: Sequence[Change]) -> list[StoredEntity]:
        changes = list(changes)
        fmt.check_changes(changes)
        with self._lock:
            now = self._clock()
            planned: list[tuple[Change, bytes, fmt.Parsed]] = []
            deleted: dict[tuple[str, str], StoredEntity] = {}
            for change in changes:
                key = (change.type, change.id)
                revision = self._index.revision(*key)
                stored = self._data.get(key)
                fmt.check_revision(change, exists=stored is not None, revision=revision)
                if change.delete:
                    current = self._index.get(*key)
                    assert current is not None
                    deleted[key] = current
                    continue
                blob = fmt.render_change(change, stored=stored, now=now)
                planned.append((change, blob, fmt.parse_envelope(change.type, change.id, blob, revision + 1)))
            # Nothing above touched state, so a failure leaves the store as it was.
            for gone in deleted:
                # As Engram deletes: the entity goes, its revision count (the sidecars) stays.
                self._data.pop(gone, None)
                self._blobs.pop(gone, None)
                self._index.remove(*gone)
            done = iter(planned)
            return [deleted[(c.type, c.id)] if c.delete else self._put(*next(done)) for c in changes]

    def _put(self, change: Change, blob: bytes, parsed: fmt.Parsed) -> StoredEntity:
        key = (change.type, change.id)
        self._data[key] = parsed.data
        self._blobs[key] = blob
        self._index.set_revision(change.type, change.id, parsed.entity.revision)
        return self._index.put(parsed.entity, parsed.sort_ns)

    def blob(self, entity_type: EntityType, entity_id: str) -> bytes | None:
        """The envelope bytes the git store would have written (for interop tests)."""
        with self._lock:
            return self._blobs.get((entity_type, entity_id))

    def problems(self) -> list[StoreProblem]:
        return []

    def close(self) -> None:
        pass
