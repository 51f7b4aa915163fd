"""The git store's persistent summary cache: restarts read only unseen blobs, and the cache cannot
mislead (it is keyed by blob id) or break a store when it is damaged. The first scan saves it after
the answer it was built for."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from release_planner.server.engram import gitrefs
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.summaries import CACHE_FILE
from release_planner.tools.ports import Change, ContextRecord, TaskRecord, new_entity_id


def _seed(path: Path) -> tuple[str, str]:
    task, ctx = new_entity_id(), new_entity_id()
    with GitRefsStore(path) as store:
        store.commit(
            [
                Change(task, TaskRecord(title="Release v1.2.3 - Cache", tags=("release",))),
                Change(ctx, ContextRecord(title="Release Plan: v1.2.3", content="plan")),
            ]
        )
    return task, ctx


def _blob_reads(store: GitRefsStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    original = store._read_blob

    def counting(oid: str) -> bytes | None:
        reads.append(oid)
        return original(oid)

    monkeypatch.setattr(store, "_read_blob", counting)
    return reads


def test_a_restart_on_an_unchanged_workspace_reads_no_entity_blob(tmp_path: Path, monkeypatch) -> None:
    task, _ctx = _seed(tmp_path)
    assert (tmp_path / ".git" / CACHE_FILE).exists()
    store = GitRefsStore(tmp_path)
    reads = _blob_reads(store, monkeypatch)
    store.warm()
    assert reads == []
    assert store.releases("task") == ["1.2.3"]
    assert store.get("task", task).title == "Release v1.2.3 - Cache"  # loaded on demand
    assert store.get("task", task).title == "Release v1.2.3 - Cache"  # and kept while in use
    assert len(reads) == 1
    store.close()


def test_an_entity_changed_by_another_writer_is_read_anew_despite_the_cache(tmp_path: Path) -> None:
    task, _ctx = _seed(tmp_path)
    with GitRefsStore(tmp_path) as other:
        other.commit([Change(task, TaskRecord(title="Release v9.9.9 - Moved"), expected_revision=1)])
    with GitRefsStore(tmp_path) as store:
        assert store.find("task", release="1.2.3") == []
        assert [e.id for e in store.find("task", release="9.9.9")] == [task]
        assert store.get("task", task).revision == 2


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"version": 1, "rows": [[1, 2], "x", null]}'])
def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path: Path, damage: bytes) -> None:
    task, ctx = _seed(tmp_path)
    cache = tmp_path / ".git" / CACHE_FILE
    cache.write_bytes(damage)
    with GitRefsStore(tmp_path) as store:
        assert {e.id for e in store.find("context", release="1.2.3")} == {ctx}
        assert store.get("task", task) is not None
    assert cache.read_bytes() != damage


def test_a_cache_row_for_another_id_is_not_trusted(tmp_path: Path) -> None:
    task, _ctx = _seed(tmp_path)
    cache = tmp_path / ".git" / CACHE_FILE
    text = cache.read_text().replace(task, new_entity_id())
    cache.write_text(text)
    with GitRefsStore(tmp_path) as store:
        assert [e.id for e in store.find("task", release="1.2.3")] == [task]


def test_a_restart_reuses_the_cached_packed_refs_only_while_that_file_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from release_planner.server.engram import scan

    task, ctx = _seed(tmp_path)
    gone = new_entity_id()
    with GitRefsStore(tmp_path) as store:
        store.commit([Change(task, TaskRecord(title="Release v1.2.3 - Twice"), expected_revision=1)])
        store.commit([Change(gone, TaskRecord(title="Release v1.2.3 - Gone"))])
        store.commit([Change(gone, TaskRecord(title="gone"), delete=True, expected_revision=1)])
    subprocess.run(["git", "-C", str(tmp_path), "pack-refs", "--all"], check=True)
    parses: list[int] = []
    original = scan.parse_packed

    def counting(raw: bytes, types: object) -> object:
        parses.append(len(raw))
        return original(raw, types)  # type: ignore[arg-type]

    monkeypatch.setattr(scan, "parse_packed", counting)
    with GitRefsStore(tmp_path) as store:  # packed-refs changed since the cache: read, and cached anew
        store.warm()
        assert parses
    parses.clear()

    store = GitRefsStore(tmp_path)
    reads = _blob_reads(store, monkeypatch)
    store.warm()
    assert (parses, reads) == ([], [])  # neither packed-refs nor any entity blob was parsed
    assert (store.get("task", task).title, store.get("task", task).revision) == ("Release v1.2.3 - Twice", 2)
    assert store.get("context", ctx).revision == 1
    assert store.get("task", gone) is None
    assert store._index.revision("task", gone) == 1  # its sidecar stays, packed
    store.close()

    with GitRefsStore(tmp_path) as other:  # a loose ref over the packed one
        other.commit(
            [Change(ctx, ContextRecord(title="Release Plan: v1.2.4", content="moved"), expected_revision=1)]
        )
    with GitRefsStore(tmp_path) as store:
        moved = store.get("context", ctx)
        assert (moved.title, moved.revision) == ("Release Plan: v1.2.4", 2)
        assert [e.id for e in store.find("context", release="1.2.4")] == [ctx]
        assert store.find("context", release="1.2.3") == []


def test_a_copied_workspace_recognises_its_packed_refs_by_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from release_planner.server.engram import scan

    task, _ctx = _seed(tmp_path / "a")
    subprocess.run(["git", "-C", str(tmp_path / "a"), "pack-refs", "--all"], check=True)
    with GitRefsStore(tmp_path / "a") as store:
        store.warm()  # caches what the new packed-refs holds
    shutil.copytree(tmp_path / "a", tmp_path / "b", symlinks=True)  # another inode, the same bytes
    parses: list[bytes] = []
    original = scan.parse_packed
    monkeypatch.setattr(scan, "parse_packed", lambda raw, types: parses.append(raw) or original(raw, types))
    with GitRefsStore(tmp_path / "b") as store:
        assert [e.id for e in store.find("task", release="1.2.3")] == [task]
        assert parses == []
    (tmp_path / "b" / ".git" / "packed-refs").write_bytes(b"# pack-refs with: peeled fully-peeled sorted \n")
    with GitRefsStore(tmp_path / "b") as store:  # other bytes: read again, and the task is gone
        assert store.find("task", release="1.2.3") == []
        assert parses


def _answers(store: GitRefsStore) -> dict[str, object]:
    """Every query of the port, over every type, release, kind, tag and entity of the store."""
    answers: dict[str, object] = {}
    everything = {t: store.find(t) for t in ("task", "context", "reasoning", "relationship")}
    for t, entities in everything.items():
        answers[f"{t} all"] = [(e.id, e.revision) for e in entities]
        answers[f"{t} releases"] = store.releases(t)
        for release in store.releases(t):
            answers[f"{t} release {release}"] = [e.id for e in store.find(t, release=release)]
        for e in entities:
            for tag in e.tags:
                answers[f"{t} tag {tag}"] = [x.id for x in store.find(t, tag=tag)]
            meta = e.planner_metadata or {}
            if isinstance(meta.get("kind"), str):
                answers[f"{t} kind {meta['kind']}"] = [x.id for x in store.find(t, kind=meta["kind"])]
            answers[f"from {e.id}"] = sorted(x.id for x in store.links_from(e.id))
            answers[f"to {e.id}"] = sorted(x.id for x in store.links_to(e.id))
            answers[f"connected {e.id}"] = sorted(store.connected(e.id))
    return answers


def test_a_restart_from_the_cache_answers_every_query_as_a_full_read_does(tmp_path: Path) -> None:
    from release_planner.tools.examples import migration, release_plan, rollback, rollout, runbook
    from release_planner.tools.migration import MigrationPathSpec
    from release_planner.tools.release_plan import ReleasePlanSpec
    from release_planner.tools.rollback import RollbackSpec
    from release_planner.tools.rollout import RolloutSpec
    from release_planner.tools.runbook import RunbookSpec
    from release_planner.tools.service import ReleasePlanner

    with GitRefsStore(tmp_path) as store:
        planner = ReleasePlanner(store)
        planner.create_release_plan(ReleasePlanSpec.model_validate(release_plan.ARGS))
        for spec in (RollbackSpec, RolloutSpec, RunbookSpec):
            example = {RollbackSpec: rollback, RolloutSpec: rollout, RunbookSpec: runbook}[spec]
            planner.write(spec.model_validate(example.ARGS))
        planner.create_release_plan(ReleasePlanSpec.model_validate(migration.PLAN_V3_ARGS))
        planner.write(MigrationPathSpec.model_validate(migration.ARGS))
        planner.link_release_entities("2.5.0")
        planner.link_release_entities("3.0.0")
        planner.write(RolloutSpec.model_validate(rollout.ARGS), expected_revision=1)  # a revision 2
    cache = tmp_path / ".git" / CACHE_FILE
    assert cache.exists()
    with GitRefsStore(tmp_path) as restarted:
        from_cache = _answers(restarted)
    cache.unlink()
    with GitRefsStore(tmp_path) as cold:
        from_blobs = _answers(cold)
    assert from_cache == from_blobs
    assert len(from_cache) > 40 and from_cache["task releases"] == ["2.5.0", "3.0.0"]


def test_loading_summaries_in_bulk_keeps_the_index_as_one_by_one_does() -> None:
    from release_planner.server.engram.index import EntityIndex, Summary

    def plan(i: int, release: str) -> Summary:
        return Summary(i, (release,), "release_plan", ("release", f"v{release}"), None, None, True, False)

    def link(i: int, source: str, target: str) -> Summary:
        return Summary(i, (), None, (), source, target, True, i % 2 == 0)

    contexts = [(f"c{i}", plan(i, f"1.{i % 3}.0"), f"oid-c{i}") for i in range(12)]
    links = [(f"r{i}", link(i, f"c{i % 4}", f"c{(i + 1) % 12}"), f"oid-r{i}") for i in range(12)]
    later = [(f"c{i}", plan(100 + i, "9.0.0"), f"oid-new{i}") for i in range(0, 12, 3)]  # into a full type

    one_by_one, bulk = EntityIndex(), EntityIndex()
    for t, rows in (("context", contexts), ("relationship", links), ("context", later)):
        for eid, summary, ref in rows:
            one_by_one.put_summary(t, eid, summary, ref)
        bulk.put_summaries(t, iter(rows))

    def state(ix: EntityIndex) -> object:
        ix._build_optional("context")  # the kind and tag maps, built by the first query that asks
        return (
            {t: dict(ix.table(t)) for t in ("context", "relationship")},
            sorted(ix.releases("context")),
            {r: sorted(ix._release["context"].get(r)) for r in ("1.0.0", "1.1.0", "1.2.0", "9.0.0")},
            {c: (sorted(ix._out.get(c)), sorted(ix._in().get(c))) for c in ("c0", "c1", "c2", "c3")},
            sorted(ix._kind["context"].get("release_plan")),  # type: ignore[union-attr]
            {tag: sorted(ix._tag["context"].get(tag)) for tag in ("v1.0.0", "v9.0.0")},  # type: ignore[union-attr]
            ix.sorted_ids("context"),
        )

    assert state(bulk) == state(one_by_one)
    assert state(bulk)[2]["9.0.0"] == ["c0", "c3", "c6", "c9"]  # type: ignore[index]


def test_the_first_scan_saves_its_cache_soon_after_without_a_close(tmp_path: Path, monkeypatch) -> None:
    with GitRefsStore(tmp_path) as store:
        task = new_entity_id()
        store.commit([Change(task, TaskRecord(title="Release v1.0.0 - Soon"))])
    cache = tmp_path / ".git" / CACHE_FILE
    cache.unlink()
    monkeypatch.setattr(gitrefs, "CACHE_SAVE_DELAY_S", 0.05)
    store = GitRefsStore(tmp_path)
    store.warm()
    assert not cache.exists()  # not on the path of the call that built the index
    deadline = time.monotonic() + 10
    while not cache.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.exists()
    later = new_entity_id()
    store.commit([Change(later, TaskRecord(title="Release v1.0.1 - Later"))])
    store._read_blob = lambda oid: pytest.fail(f"nothing should need reading ({oid})")  # type: ignore[method-assign]
    store.close()  # what was learnt after the deferred save is saved now

    restarted = GitRefsStore(tmp_path)
    monkeypatch.setattr(restarted, "_read_blob", lambda oid: pytest.fail(f"read {oid} despite the cache"))
    restarted.warm()
    assert restarted.releases("task") == ["1.0.0", "1.0.1"]
    restarted._read_blob = GitRefsStore._read_blob.__get__(restarted)  # type: ignore[method-assign]
    restarted.close()


def test_a_close_during_the_delay_saves_the_cache_and_stops_the_saver(tmp_path: Path, monkeypatch) -> None:
    with GitRefsStore(tmp_path) as store:
        store.commit([Change(new_entity_id(), TaskRecord(title="Release v2.0.0 - Close"))])
    cache = tmp_path / ".git" / CACHE_FILE
    cache.unlink()
    monkeypatch.setattr(gitrefs, "CACHE_SAVE_DELAY_S", 60.0)
    store = GitRefsStore(tmp_path)
    store.warm()
    saver = store._saver
    assert saver is not None and saver.is_alive()
    started = time.monotonic()
    store.close()
    assert time.monotonic() - started < 5 and not saver.is_alive()
    assert cache.exists()


def test_a_missing_object_is_not_cached_as_a_problem_so_its_return_is_seen(tmp_path: Path) -> None:
    """A ref whose object was missing (pruned; a partial clone) was cached as a problem by blob id, so
    once the object came back (a fetch, a repair) restarts still reported it while a cold read served it."""
    task, _ctx = _seed(tmp_path)
    ref = (
        subprocess.run(
            ["git", "-C", str(tmp_path), "rev-parse", f"refs/engram/task/{task}"],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    loose = tmp_path / ".git" / "objects" / ref[:2] / ref[2:]
    kept = loose.read_bytes()
    loose.unlink()
    (tmp_path / ".git" / CACHE_FILE).unlink()
    with GitRefsStore(tmp_path) as store:
        assert [p.ref for p in store.problems()] == [f"refs/engram/task/{task}"]
    assert (tmp_path / ".git" / CACHE_FILE).exists()
    loose.write_bytes(kept)  # the object is back
    with GitRefsStore(tmp_path) as restarted:
        assert restarted.problems() == []
        assert restarted.get("task", task).title == "Release v1.2.3 - Cache"
