"""In-process index of stored entities, shared by the git and memory stores.

Every query the port offers is answered from maps kept up to date entity by entity, so ``get``,
``find``, ``links_from``/``links_to`` and ``connected`` cost the same at 100 and 100,000 entities
(apart from the size of their answer).
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import replace

from ...tools.errors import AmbiguousId, InvalidInput, NotFound
from ...tools.ports import (
    ENTITY_TYPES,
    EntityType,
    LinkRecord,
    StoredEntity,
    release_of_title,
)

_PREFIX_RE = re.compile(r"^[0-9a-f][0-9a-f-]{3,34}$")


def normalize_release(value: str) -> str:
    return value[1:] if value[:1] in ("v", "V") else value


def _release_keys(entity: StoredEntity) -> set[str]:
    keys: set[str] = set()
    meta = entity.planner_metadata
    if meta is not None and isinstance(meta.get("release"), str):
        keys.add(normalize_release(meta["release"]))
    from_title = release_of_title(entity.title)
    if from_title:
        keys.add(from_title)
    return keys


def _kind_key(entity: StoredEntity) -> str | None:
    meta = entity.planner_metadata
    kind = meta.get("kind") if meta is not None else None
    return kind if isinstance(kind, str) else None


class _Multi:
    """key -> set of ids."""

    __slots__ = ("_map",)

    def __init__(self) -> None:
        self._map: dict[str, set[str]] = {}

    def add(self, keys: Iterable[str], entity_id: str) -> None:
        for key in keys:
            self._map.setdefault(key, set()).add(entity_id)

    def discard(self, keys: Iterable[str], entity_id: str) -> None:
        for key in keys:
            ids = self._map.get(key)
            if ids is not None:
                ids.discard(entity_id)
                if not ids:
                    del self._map[key]

    def get(self, key: str) -> set[str]:
        return self._map.get(key, set())

    def keys(self) -> list[str]:
        return list(self._map)


class EntityIndex:
    """Entities by type and id, with secondary maps for the port's queries. Not thread-safe."""

    def __init__(self) -> None:
        self._entities: dict[str, dict[str, tuple[StoredEntity, int]]] = {t: {} for t in ENTITY_TYPES}
        self._revisions: dict[str, dict[str, int]] = {t: {} for t in ENTITY_TYPES}
        self._release: dict[str, _Multi] = {t: _Multi() for t in ENTITY_TYPES}
        self._kind: dict[str, _Multi] = {t: _Multi() for t in ENTITY_TYPES}
        self._tag: dict[str, _Multi] = {t: _Multi() for t in ENTITY_TYPES}
        self._out = _Multi()
        self._in = _Multi()
        self._sorted_ids: dict[str, list[str] | None] = {t: None for t in ENTITY_TYPES}

    # --- maintenance ---------------------------------------------------------------------------

    def put(self, entity: StoredEntity, sort_ns: int) -> StoredEntity:
        """Add or replace an entity; its revision is the one this index holds for the id."""
        t = entity.type
        self.remove(t, entity.id)
        rev = self._revisions[t].get(entity.id, 0)
        if entity.revision != rev:
            entity = replace(entity, revision=rev)
        self._entities[t][entity.id] = (entity, sort_ns)
        self._sorted_ids[t] = None
        rec = entity.record
        if isinstance(rec, LinkRecord):
            self._out.add((rec.source_id,), entity.id)
            self._in.add((rec.target_id,), entity.id)
        else:
            self._release[t].add(_release_keys(entity), entity.id)
            kind = _kind_key(entity)
            if kind is not None:
                self._kind[t].add((kind,), entity.id)
            self._tag[t].add(set(rec.tags), entity.id)
        return entity

    def remove(self, entity_type: str, entity_id: str) -> None:
        old = self._entities[entity_type].pop(entity_id, None)
        if old is None:
            return
        entity = old[0]
        self._sorted_ids[entity_type] = None
        rec = entity.record
        if isinstance(rec, LinkRecord):
            self._out.discard((rec.source_id,), entity_id)
            self._in.discard((rec.target_id,), entity_id)
        else:
            self._release[entity_type].discard(_release_keys(entity), entity_id)
            kind = _kind_key(entity)
            if kind is not None:
                self._kind[entity_type].discard((kind,), entity_id)
            self._tag[entity_type].discard(set(rec.tags), entity_id)

    def set_revision(self, entity_type: str, entity_id: str, revision: int) -> None:
        """The highest version sidecar of an id (0 when it has none)."""
        if revision:
            self._revisions[entity_type][entity_id] = revision
        else:
            self._revisions[entity_type].pop(entity_id, None)
        current = self._entities[entity_type].get(entity_id)
        if current is not None and current[0].revision != revision:
            self._entities[entity_type][entity_id] = (replace(current[0], revision=revision), current[1])

    def clear_type(self, entity_type: str) -> None:
        for entity_id in list(self._entities[entity_type]):
            self.remove(entity_type, entity_id)
        self._revisions[entity_type].clear()

    # --- queries -------------------------------------------------------------------------------

    def revision(self, entity_type: str, entity_id: str) -> int:
        return self._revisions[entity_type].get(entity_id, 0)

    def get(self, entity_type: str, entity_id: str) -> StoredEntity | None:
        hit = self._entities[entity_type].get(entity_id)
        return hit[0] if hit is not None else None

    def count(self, entity_type: str) -> int:
        return len(self._entities[entity_type])

    def _sorted(self, entity_type: str, ids: Iterable[str]) -> list[StoredEntity]:
        table = self._entities[entity_type]
        hits = [table[i] for i in ids if i in table]
        hits.sort(key=lambda hit: (-hit[1], hit[0].id))
        return [hit[0] for hit in hits]

    def find(
        self,
        entity_type: EntityType,
        *,
        release: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
    ) -> list[StoredEntity]:
        candidates: set[str] | None = None
        for multi, key in (
            (self._release[entity_type], normalize_release(release) if release is not None else None),
            (self._kind[entity_type], kind),
            (self._tag[entity_type], tag),
        ):
            if key is None:
                continue
            ids = multi.get(key)
            candidates = set(ids) if candidates is None else candidates & ids
        if candidates is None:
            return self._sorted(entity_type, self._entities[entity_type])
        return self._sorted(entity_type, candidates)

    def releases(self, entity_type: EntityType) -> list[str]:
        return sorted(self._release[entity_type].keys())

    def links_from(self, entity_id: str) -> list[StoredEntity]:
        return self._sorted("relationship", self._out.get(entity_id))

    def links_to(self, entity_id: str) -> list[StoredEntity]:
        return self._sorted("relationship", self._in.get(entity_id))

    def connected(self, entity_id: str, max_depth: int | None = None) -> list[str]:
        """Engram's BFS (relationship_storage.rs ``GraphAnalyzer::bfs``): active edges only,
        outbound edges of any direction, inbound edges only when bidirectional; start id first.
        Neighbours are visited oldest relationship first so the answer is deterministic."""
        if max_depth is not None and (isinstance(max_depth, bool) or max_depth < 0):
            raise InvalidInput(f"{max_depth!r} is not a depth", field="max_depth", valid="an integer >= 0")
        visited = {entity_id}
        queue: deque[tuple[str, int]] = deque([(entity_id, 0)])
        result: list[str] = []
        while queue:
            node, depth = queue.popleft()
            result.append(node)
            if max_depth is not None and depth >= max_depth:
                continue
            for rel in self.links_from_oldest(node):
                target = rel.record.target_id  # type: ignore[union-attr]
                if rel.record.active and target not in visited:  # type: ignore[union-attr]
                    visited.add(target)
                    queue.append((target, depth + 1))
            for rel in self.links_to_oldest(node):
                rec = rel.record
                assert isinstance(rec, LinkRecord)
                if rec.active and rec.direction == "bidirectional" and rec.source_id not in visited:
                    visited.add(rec.source_id)
                    queue.append((rec.source_id, depth + 1))
        return result

    def links_from_oldest(self, entity_id: str) -> list[StoredEntity]:
        return self._oldest(self._out.get(entity_id))

    def links_to_oldest(self, entity_id: str) -> list[StoredEntity]:
        return self._oldest(self._in.get(entity_id))

    def _oldest(self, ids: set[str]) -> list[StoredEntity]:
        table = self._entities["relationship"]
        hits = [table[i] for i in ids if i in table]
        hits.sort(key=lambda hit: (hit[1], hit[0].id))
        return [hit[0] for hit in hits]

    def resolve(self, entity_type: EntityType, id_or_prefix: str) -> StoredEntity:
        """Exact id, else a unique prefix of 4-35 characters, as ``engram`` resolves short ids."""
        if not isinstance(id_or_prefix, str):
            raise InvalidInput("must be a string", field="id")
        key = id_or_prefix.strip().lower()
        exact = self.get(entity_type, key)
        if exact is not None:
            return exact
        if len(key) == 36 or not _PREFIX_RE.match(key):
            if len(key) == 36:
                raise NotFound(
                    f"no {entity_type} with id {key}",
                    field="id",
                    next_step="call list_release_plans or get_release_plan to see stored ids",
                )
            raise InvalidInput(
                f"{id_or_prefix!r} is neither an entity id nor a short id",
                field="id",
                valid="a UUID or its first 4 to 35 characters",
            )
        ids = self._sorted_ids[entity_type]
        if ids is None:
            ids = self._sorted_ids[entity_type] = sorted(self._entities[entity_type])
        start = bisect.bisect_left(ids, key)
        matches = []
        for candidate in ids[start : start + 2]:
            if candidate.startswith(key):
                matches.append(candidate)
        if not matches:
            raise NotFound(
                f"no {entity_type} id starts with {key}",
                field="id",
                next_step="call get_release_plan to see the ids of a release",
            )
        if len(matches) > 1:
            raise AmbiguousId(
                f"short id {key} matches more than one {entity_type}",
                field="id",
                valid="more characters of the id",
            )
        return self._entities[entity_type][matches[0]][0]
