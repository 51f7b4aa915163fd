"""The first index reads blobs through ``git cat-file --batch`` (another core inflates them), and that
is only ever faster, never different: whatever git does, the index answers as one read blob by blob
through pygit2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_summary_cache import _answers

from release_planner.server.engram import batchread
from release_planner.server.engram.batchread import UNREAD, BatchReader
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.summaries import CACHE_FILE
from release_planner.tools.examples import migration, release_plan, rollback, rollout, runbook
from release_planner.tools.migration import MigrationPathSpec
from release_planner.tools.ports import Change, ContextRecord, new_entity_id
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.runbook import RunbookSpec
from release_planner.tools.service import ReleasePlanner


def _git(repo: Path, *args: str, data: bytes | None = None) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=data, capture_output=True, check=True
    ).stdout.decode()


def _workspace(path: Path) -> dict[str, str]:
    """Two planned releases, packed and delta-compressed by ``git gc``, then refs that cannot be
    served: a missing object, a tree, a blob that is not JSON, and a loose edit over a packed ref."""
    with GitRefsStore(path) as store:
        planner = ReleasePlanner(store)
        planner.create_release_plan(ReleasePlanSpec.model_validate(release_plan.ARGS))
        for spec, example in ((RollbackSpec, rollback), (RolloutSpec, rollout), (RunbookSpec, runbook)):
            planner.write(spec.model_validate(example.ARGS))
        planner.create_release_plan(ReleasePlanSpec.model_validate(migration.PLAN_V3_ARGS))
        planner.write(MigrationPathSpec.model_validate(migration.ARGS))
        planner.link_release_entities("2.5.0")
        planner.link_release_entities("3.0.0")
    _git(path, "gc", "--aggressive", "--prune=now", "--quiet")
    assert "size-pack" in _git(path, "count-objects", "-v")
    edited = new_entity_id()
    with GitRefsStore(path) as store:
        store.commit([Change(edited, ContextRecord(title="Release Plan: v2.6.0", content="loose, over gc"))])
    (path / ".git" / CACHE_FILE).unlink()
    broken = {name: new_entity_id() for name in ("missing", "tree", "junk")}
    tree = _git(path, "write-tree").strip()
    junk = _git(path, "hash-object", "-w", "--stdin", data=b"{not json").strip()
    for name, value in (("missing", "1" * 40), ("tree", tree), ("junk", junk)):
        (path / ".git" / "refs" / "engram" / "context" / broken[name]).write_text(value + "\n")
    return broken


def _index(
    path: Path, monkeypatch: pytest.MonkeyPatch, *, batch: bool
) -> tuple[dict[str, Any], list[str], set[str]]:
    """(every query's answer, the blobs the scan read one by one, the problem refs) of a first index."""
    monkeypatch.setattr(batchread, "MIN_BLOBS", 0 if batch else 10**9)
    store = GitRefsStore(path)
    single: list[str] = []
    original = store._scan._read_blob

    def counting(oid: str) -> bytes | None:
        single.append(oid)
        return original(oid)

    monkeypatch.setattr(store._scan, "_read_blob", counting)
    try:
        store.warm()
        problems = {p.ref for p in store.problems()}
        scanned = list(single)
        return _answers(store), scanned, problems
    finally:
        store.close()
        (path / ".git" / CACHE_FILE).unlink(missing_ok=True)


def test_the_batch_answers_every_query_as_blob_by_blob_reading_does(tmp_path: Path, monkeypatch) -> None:
    broken = _workspace(tmp_path)
    batched, single, problems = _index(tmp_path, monkeypatch, batch=True)
    one_by_one, every, problems_alone = _index(tmp_path, monkeypatch, batch=False)
    assert batched == one_by_one
    assert problems == problems_alone == {f"refs/engram/context/{i}" for i in broken.values()}
    assert len(batched) > 40 and batched["task releases"] == ["2.5.0", "3.0.0"]
    # git served every readable blob; only the missing object and the tree were asked again.
    assert len(every) > 10 and len(single) == 2


def test_without_git_on_the_path_the_blobs_are_read_one_by_one(tmp_path: Path, monkeypatch) -> None:
    _workspace(tmp_path)
    expected, _single, _problems = _index(tmp_path, monkeypatch, batch=False)
    monkeypatch.setattr(batchread.shutil, "which", lambda _name: None)
    answers, single, _problems = _index(tmp_path, monkeypatch, batch=True)
    assert answers == expected and len(single) > 10


@pytest.mark.parametrize(
    "damage",
    [
        "head -c 3000",  # the output ends in the middle of an object
        "sed -e '1s/^[0-9a-f]*/0000000000000000000000000000000000000000/'",  # a header for another object
        "sed -e '1s/ blob [0-9]*$/ blob 7/'",  # a wrong size
        "true",  # no output at all
    ],
)
def test_a_batch_that_goes_wrong_hands_the_rest_back(tmp_path: Path, monkeypatch, damage: str) -> None:
    _workspace(tmp_path)
    expected, _single, _problems = _index(tmp_path, monkeypatch, batch=False)
    started: list[BatchReader] = []
    real_popen = subprocess.Popen

    def damaged(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        script = " ".join(f"'{a}'" for a in argv) + " | " + damage
        return real_popen(["sh", "-c", script], **kwargs)

    def recording(git_dir: str, oids: list[str], **kwargs: Any) -> BatchReader | None:
        reader = real_start(git_dir, oids, **kwargs)
        if reader is not None:
            started.append(reader)
        return reader

    real_start = BatchReader.start
    monkeypatch.setattr(batchread.subprocess, "Popen", damaged)
    monkeypatch.setattr(BatchReader, "start", staticmethod(recording))
    answers, single, _problems = _index(tmp_path, monkeypatch, batch=True)
    assert answers == expected
    assert single  # the rest was read by the store itself
    assert started and all(r._proc.poll() is not None for r in started)  # and no process is left


def test_a_request_out_of_order_ends_the_batch_and_the_process(tmp_path: Path) -> None:
    _workspace(tmp_path)
    oids = [line.split()[0] for line in _git(tmp_path, "for-each-ref", "refs/engram/task").splitlines()]
    reader = BatchReader.start(str(tmp_path / ".git"), oids, min_blobs=0)
    assert reader is not None
    first = reader.take(oids[0])
    assert isinstance(first, bytes) and b'"entity_type": "task"' in first
    assert reader.take("f" * 40) is UNREAD
    assert reader.take(oids[1]) is UNREAD  # nothing more from this batch
    assert reader._proc.poll() is not None


def test_a_batch_is_not_started_for_a_few_blobs(tmp_path: Path) -> None:
    _workspace(tmp_path)
    assert BatchReader.start(str(tmp_path / ".git"), ["a" * 40] * 3) is None


def test_the_environment_cannot_point_the_batch_at_another_repository(tmp_path: Path, monkeypatch) -> None:
    _workspace(tmp_path / "ws")
    other = tmp_path / "other"
    _git(tmp_path, "init", "-q", str(other))
    oid = _git(tmp_path / "ws", "for-each-ref", "--format=%(objectname)", "refs/engram/task").split()[0]
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other / ".git" / "objects"))
    reader = BatchReader.start(str(tmp_path / "ws" / ".git"), [oid], min_blobs=0)
    assert reader is not None
    blob = reader.take(oid)
    reader.close()
    assert isinstance(blob, bytes) and blob.startswith(b"{")


@pytest.mark.skipif(sys.platform != "linux", reason="counts the process's children through /proc")
def test_the_first_scan_leaves_no_git_process_behind(tmp_path: Path, monkeypatch) -> None:
    _workspace(tmp_path)
    monkeypatch.setattr(batchread, "MIN_BLOBS", 0)
    with GitRefsStore(tmp_path) as store:
        store.warm()
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
        assert not [c for c in children if b"cat-file" in Path(f"/proc/{c}/cmdline").read_bytes()]
