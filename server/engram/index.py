"""In-process index of stored entities, shared by the git and memory stores.

Every query the port offers is answered from maps kept up to date entity by entity, so ``get``,
``find``, ``links_from``/``links_to`` and ``connected`` cost the same at 100 and 100,000 entities
(apart from the size of their answer).
"""

from __future__ import annotations

import bisect
import re
import sys
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from typing import NamedTuple

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


_SMALL = 8  # up to this many ids a key holds a tuple; more, a set


class _Multi:
    """key -> ids. A key with one id holds the id itself, a key with a few a tuple, only a key with
    many a set: most keys of a large workspace (a release's version, a link's end) name one or a few
    entities, and a set of one costs four times a tuple of two."""

    __slots__ = ("_map",)

    def __init__(self) -> None:
        self._map: dict[str, str | tuple[str, ...] | set[str]] = {}

    def add(self, keys: Iterable[str], entity_id: str) -> None:
        for key in keys:
            self.add_one(key, entity_id)

    def add_one(self, key: str, entity_id: str) -> None:
        table = self._map
        ids = table.get(key)
        if ids is None:
            table[key] = entity_id
        elif isinstance(ids, str):
            if ids != entity_id:
                table[key] = (ids, entity_id)
        elif isinstance(ids, tuple):
            if entity_id not in ids:
                table[key] = (*ids, entity_id) if len(ids) < _SMALL else {*ids, entity_id}
        else:
            ids.add(entity_id)

    def discard(self, keys: Iterable[str], entity_id: str) -> None:
        table = self._map
        for key in keys:
            ids = table.get(key)
            if ids is None:
                continue
            if isinstance(ids, str):
                if ids == entity_id:
                    del table[key]
                continue
            if entity_id not in ids:
                continue
            rest = tuple(i for i in ids if i != entity_id)
            if isinstance(ids, set) and len(rest) > _SMALL:
                ids.discard(entity_id)
            else:
                table[key] = rest[0] if len(rest) == 1 else rest

    def get(self, key: str) -> Collection[str]:
        ids = self._map.get(key)
        if ids is None:
            return ()
        return (ids,) if isinstance(ids, str) else ids

    def keys(self) -> list[str]:
        return list(self._map)


_TUPLES: dict[tuple[str, ...], tuple[str, ...]] = {}


def intern_tuple(items: Iterable[str]) -> tuple[str, ...]:
    """One shared tuple per distinct value (a workspace's entities share a few tag and release sets)."""
    value = tuple(map(sys.intern, items))
    if not value:
        return ()
    if len(_TUPLES) > 100_000:
        _TUPLES.clear()
    return _TUPLES.setdefault(value, value)


class Summary(NamedTuple):
    """What the index keeps of one entity: exactly what its queries need, not the entity itself.

    Computed from the parsed entity once per blob (so it can be cached by blob id across restarts)."""

    sort_ns: int  # envelope timestamp: the order ``find`` returns (newest first)
    releases: tuple[str, ...]
    kind: str | None
    tags: tuple[str, ...]
    source: str | None  # link ends (relationships only)
    target: str | None
    active: bool
    bidirectional: bool


def summarize(entity: StoredEntity, sort_ns: int) -> Summary:
    rec = entity.record
    if isinstance(rec, LinkRecord):
        source, target = sys.intern(rec.source_id), sys.intern(rec.target_id)
        return Summary(sort_ns, (), None, (), source, target, rec.active, rec.direction == "bidirectional")
    releases = intern_tuple(sorted(_release_keys(entity)))
    kind = _kind_key(entity)
    return Summary(
        sort_ns, releases, sys.intern(kind) if kind else kind, intern_tuple(rec.tags), None, None, True, False
    )


# Loads one entity by what the index holds for it (the git store: its blob id), at a given revision.
Loader = Callable[[str, str, object, int], StoredEntity | None]
# Called before an entity's revision or content is used: lets the git store notice a newer version
# sidecar (and re-read the entity ref with it) without watching every ``v{N}/`` directory.
Freshen = Callable[[str, str], None]

# One entity in the index: (blob id or the StoredEntity itself, its summary). A tuple, not an object:
# a large workspace holds one per entity.
_Entry = tuple[object, Summary]


class EntityIndex:
    """Entities by type and id, with secondary maps for the port's queries. Not thread-safe.

    With a ``loader`` the index keeps a ``Summary`` and a blob id per entity and loads entities on
    demand (the most recently used are kept), so memory does not grow with the entities' content."""

    def __init__(
        self, loader: Loader | None = None, cache_size: int = 4096, freshen: Freshen | None = None
    ) -> None:
        self._loader = loader
        self._freshen = freshen
        self._cache: OrderedDict[tuple[str, str], tuple[object, StoredEntity]] = OrderedDict()
        self._cache_size = cache_size
        self._entities: dict[str, dict[str, _Entry]] = {t: {} for t in ENTITY_TYPES}
        self._revisions: dict[str, dict[str, int]] = {t: {} for t in ENTITY_TYPES}
        self._release: dict[str, _Multi] = {t: _Multi() for t in ENTITY_TYPES}
        # By kind and by tag: built for a type by its first query that asks (the planner's own reads
        # never do), then kept up to date.
        self._kind: dict[str, _Multi | None] = {t: None for t in ENTITY_TYPES}
        self._tag: dict[str, _Multi | None] = {t: None for t in ENTITY_TYPES}
        self._out = _Multi()
        self._in_map: _Multi | None = None  # by link target: built by the first query that asks
        self._sorted_ids: dict[str, list[str] | None] = {t: None for t in ENTITY_TYPES}
        self._sorted_releases: dict[str, list[str] | None] = {t: None for t in ENTITY_TYPES}

    # --- maintenance ---------------------------------------------------------------------------

    def put(self, entity: StoredEntity, sort_ns: int, ref: object = None) -> StoredEntity:
        """Add or replace an entity; its revision is the one this index holds for the id."""
        rev = self._revisions[entity.type].get(entity.id, 0)
        if entity.revision != rev:
            entity = replace(entity, revision=rev)
        if self._loader is None:
            ref = entity
        self.put_summary(entity.type, entity.id, summarize(entity, sort_ns), ref)
        if self._loader is not None:
            self._remember((entity.type, entity.id), ref, entity)
        return entity

    def put_summary(self, entity_type: str, entity_id: str, summary: Summary, ref: object) -> None:
        t = entity_type
        table = self._entities[t]
        old = table.get(entity_id)
        if old is None:
            self._sorted_ids[t] = None
        elif old[1] == summary:
            table[entity_id] = (ref, old[1])
            self._cache.pop((t, entity_id), None)
            return
        else:
            self._unlink(t, entity_id, old[1])
            self._cache.pop((t, entity_id), None)
        table[entity_id] = (ref, summary)
        _ns, releases, kind, tags, source, target, _active, _bidir = summary
        if source is not None and target is not None:
            self._out.add_one(source, entity_id)
            if self._in_map is not None:
                self._in_map.add_one(target, entity_id)
            return
        if releases:
            self._sorted_releases[t] = None
            if len(releases) == 1:
                self._release[t].add_one(releases[0], entity_id)
            else:
                self._release[t].add(releases, entity_id)
        if (kind is not None and self._kind[t] is not None) or (tags and self._tag[t] is not None):
            self._link_optional(t, entity_id, summary)

    def put_summaries(self, entity_type: str, rows: Iterable[tuple[str, Summary, object]]) -> None:
        """``put_summary`` for many entities at once: a restart loads 100,000 from the summary cache.
        Into a type that holds nothing yet it does the same work without the per-entity checks and
        calls, which are most of a restart's time; otherwise it goes entity by entity."""
        t = entity_type
        table = self._entities[t]
        if table:
            for entity_id, summary, ref in rows:
                self.put_summary(t, entity_id, summary, ref)
            return
        self._sorted_ids[t] = None
        self._sorted_releases[t] = None
        # A key seen for the first time takes the id itself (what ``_Multi.add_one`` does, inline).
        out, out_map, in_map = self._out, self._out._map, self._in_map
        by_release = self._release[t]
        release_map = by_release._map
        optional = self._kind[t] is not None or self._tag[t] is not None
        for entity_id, summary, ref in rows:
            table[entity_id] = (ref, summary)
            source, target = summary[4], summary[5]
            if source is not None and target is not None:
                if source in out_map:
                    out.add_one(source, entity_id)
                else:
                    out_map[source] = entity_id
                if in_map is not None:
                    in_map.add_one(target, entity_id)
                continue
            releases = summary[1]
            if releases:
                if len(releases) == 1 and releases[0] not in release_map:
                    release_map[releases[0]] = entity_id
                else:
                    by_release.add(releases, entity_id)
            if optional:
                self._link_optional(t, entity_id, summary)

    def _link_optional(self, t: str, entity_id: str, summary: Summary) -> None:
        kinds, tags = self._kind[t], self._tag[t]
        if kinds is not None and summary.kind is not None:
            kinds.add((summary.kind,), entity_id)
        if tags is not None and summary.tags:
            tags.add(summary.tags, entity_id)

    def remove(self, entity_type: str, entity_id: str) -> None:
        old = self._entities[entity_type].pop(entity_id, None)
        self._cache.pop((entity_type, entity_id), None)
        if old is None:
            return
        self._sorted_ids[entity_type] = None
        self._unlink(entity_type, entity_id, old[1])

    def _unlink(self, entity_type: str, entity_id: str, summary: Summary) -> None:
        if summary.source is not None and summary.target is not None:
            self._out.discard((summary.source,), entity_id)
            if self._in_map is not None:
                self._in_map.discard((summary.target,), entity_id)
        else:
            if summary.releases:
                self._sorted_releases[entity_type] = None
                self._release[entity_type].discard(summary.releases, entity_id)
            kinds, tags = self._kind[entity_type], self._tag[entity_type]
            if kinds is not None and summary.kind is not None:
                kinds.discard((summary.kind,), entity_id)
            if tags is not None and summary.tags:
                tags.discard(summary.tags, entity_id)

    def set_revision(self, entity_type: str, entity_id: str, revision: int) -> None:
        """The highest version sidecar of an id (0 when it has none)."""
        if revision:
            self._revisions[entity_type][entity_id] = revision
        else:
            self._revisions[entity_type].pop(entity_id, None)

    def clear_type(self, entity_type: str) -> None:
        for entity_id in list(self._entities[entity_type]):
            self.remove(entity_type, entity_id)
        self._revisions[entity_type].clear()

    def ids(self, entity_type: str) -> list[str]:
        return list(self._entities[entity_type])

    def table(self, entity_type: str) -> Mapping[str, _Entry]:
        return self._entities[entity_type]

    def entries(self, entity_type: str) -> Iterable[tuple[str, _Entry]]:
        return self._entities[entity_type].items()

    def revision_table(self, entity_type: str) -> dict[str, int]:
        """id -> highest version sidecar, for the git store to update in bulk (0 is never stored)."""
        return self._revisions[entity_type]

    def _remember(self, key: tuple[str, str], ref: object, entity: StoredEntity) -> None:
        cache = self._cache
        cache[key] = (ref, entity)
        cache.move_to_end(key)
        while len(cache) > self._cache_size:
            cache.popitem(last=False)

    # --- queries -------------------------------------------------------------------------------

    def revision(self, entity_type: str, entity_id: str) -> int:
        if self._freshen is not None:
            self._freshen(entity_type, entity_id)
        return self._revisions[entity_type].get(entity_id, 0)

    def has(self, entity_type: str, entity_id: str) -> bool:
        return entity_id in self._entities[entity_type]

    def ref(self, entity_type: str, entity_id: str) -> object:
        entry = self._entities[entity_type].get(entity_id)
        return entry[0] if entry is not None else None

    def summary(self, entity_type: str, entity_id: str) -> Summary | None:
        entry = self._entities[entity_type].get(entity_id)
        return entry[1] if entry is not None else None

    def get(self, entity_type: str, entity_id: str) -> StoredEntity | None:
        return self._load(entity_type, entity_id)

    def _load(self, entity_type: str, entity_id: str) -> StoredEntity | None:
        if self._freshen is not None:
            self._freshen(entity_type, entity_id)  # may replace the entry: read it after
        entry = self._entities[entity_type].get(entity_id)
        if entry is None:
            return None
        ref = entry[0]
        rev = self._revisions[entity_type].get(entity_id, 0)
        if self._loader is None:
            entity = ref
            assert isinstance(entity, StoredEntity)
            return entity if entity.revision == rev else replace(entity, revision=rev)
        key = (entity_type, entity_id)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == ref:
            self._cache.move_to_end(key)
            entity = hit[1]
            if entity.revision != rev:
                entity = replace(entity, revision=rev)
                self._cache[key] = (ref, entity)
            return entity
        loaded = self._loader(entity_type, entity_id, ref, rev)
        if loaded is not None:
            self._remember(key, ref, loaded)
        return loaded

    def count(self, entity_type: str) -> int:
        return len(self._entities[entity_type])

    def _sorted(self, entity_type: str, ids: Iterable[str], oldest_first: bool = False) -> list[StoredEntity]:
        table = self._entities[entity_type]
        hits = [(table[i][1].sort_ns, i) for i in ids if i in table]
        if oldest_first:
            hits.sort()
        else:
            hits.sort(key=lambda hit: (-hit[0], hit[1]))
        out = []
        for _ns, i in hits:
            entity = self._load(entity_type, i)
            if entity is not None:
                out.append(entity)
        return out

    def find(
        self,
        entity_type: EntityType,
        *,
        release: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
    ) -> list[StoredEntity]:
        candidates: set[str] | None = None
        if (kind is not None and self._kind[entity_type] is None) or (
            tag is not None and self._tag[entity_type] is None
        ):
            self._build_optional(entity_type)
        for multi, key in (
            (self._release[entity_type], normalize_release(release) if release is not None else None),
            (self._kind[entity_type], kind),
            (self._tag[entity_type], tag),
        ):
            if key is None or multi is None:
                continue
            ids = multi.get(key)
            candidates = set(ids) if candidates is None else candidates.intersection(ids)
        if candidates is None:
            return self._sorted(entity_type, self._entities[entity_type])
        return self._sorted(entity_type, candidates)

    def _build_optional(self, t: str) -> None:
        self._kind[t], self._tag[t] = _Multi(), _Multi()  # both rebuilt whole
        for entity_id, (_ref, summary) in self._entities[t].items():
            if summary.source is None or summary.target is None:
                self._link_optional(t, entity_id, summary)

    def releases(self, entity_type: EntityType) -> list[str]:
        cached = self._sorted_releases[entity_type]
        if cached is None:
            cached = self._sorted_releases[entity_type] = sorted(self._release[entity_type].keys())
        return list(cached)

    def links_from(self, entity_id: str) -> list[StoredEntity]:
        return self._sorted("relationship", self._out.get(entity_id))

    def _in(self) -> _Multi:
        if self._in_map is None:
            self._in_map = _Multi()
            for entity_id, (_ref, summary) in self._entities["relationship"].items():
                if summary.source is not None and summary.target is not None:
                    self._in_map.add_one(summary.target, entity_id)
        return self._in_map

    def links_to(self, entity_id: str) -> list[StoredEntity]:
        return self._sorted("relationship", self._in().get(entity_id))

    def connected(self, entity_id: str, max_depth: int | None = None) -> list[str]:
        """Engram's BFS (relationship_storage.rs ``GraphAnalyzer::bfs``): active edges only,
        outbound edges of any direction, inbound edges only when bidirectional; start id first.
        Neighbours are visited oldest relationship first so the answer is deterministic.
        Answered from the summaries alone: no entity is loaded."""
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
            for s in self._oldest(self._out.get(node)):
                if s.active and s.target is not None and s.target not in visited:
                    visited.add(s.target)
                    queue.append((s.target, depth + 1))
            for s in self._oldest(self._in().get(node)):
                if s.active and s.bidirectional and s.source is not None and s.source not in visited:
                    visited.add(s.source)
                    queue.append((s.source, depth + 1))
        return result

    def links_from_oldest(self, entity_id: str) -> list[StoredEntity]:
        return self._sorted("relationship", self._out.get(entity_id), oldest_first=True)

    def links_to_oldest(self, entity_id: str) -> list[StoredEntity]:
        return self._sorted("relationship", self._in().get(entity_id), oldest_first=True)

    def _oldest(self, ids: Iterable[str]) -> list[Summary]:
        table = self._entities["relationship"]
        hits = [(table[i][1], i) for i in ids if i in table]
        hits.sort(key=lambda hit: (hit[0].sort_ns, hit[1]))
        return [hit[0] for hit in hits]

    def resolve(self, entity_type: EntityType, id_or_prefix: str) -> StoredEntity:
        """Exact id, else a unique prefix of 4-35 characters, as ``engram`` resolves short ids."""
        return _resolve(self, entity_type, id_or_prefix)

    def sorted_ids(self, entity_type: str) -> list[str]:
        ids = self._sorted_ids[entity_type]
        if ids is None:
            ids = self._sorted_ids[entity_type] = sorted(self._entities[entity_type])
        return ids


def _resolve(index: EntityIndex, entity_type: EntityType, id_or_prefix: str) -> StoredEntity:
    if not isinstance(id_or_prefix, str):
        raise InvalidInput("must be a string", field="id")
    key = id_or_prefix.strip().lower()
    exact = index.get(entity_type, key)
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
    ids = index.sorted_ids(entity_type)
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
    found = index.get(entity_type, matches[0])
    if found is None:
        raise NotFound(f"{entity_type} {matches[0]} cannot be read", field="id")
    return found
