"""Fill an Engram workspace with N realistic entities, fast.

One release (the seed's v2.5.0 example: task, plan, rollback, rollout, runbook and the four links
from the task) is planned once through the real ``ReleasePlanner`` on a ``GitRefsStore``; its nine
blobs become a template. Every clone gets fresh UUIDs and its own version (``1.<i>.0``), and its
envelope is re-stamped the way ``format.envelope_blob`` does it (``content_hash`` and ``size_bytes``
of the canonical data), so real Engram and our store read the clones exactly as written ones.

Speed comes from doing per clone only string work: the template's canonical data and its pretty
envelope are kept as text with the ids and version as the only variable parts, all blobs go into
one pack through ``git fast-import``, and the refs (entity plus ``v1`` sidecar, as Engram names
them) go into ``packed-refs``, the state ``git gc`` leaves a repository in (``loose_refs=True``
writes them as loose files instead, as Engram itself does; slow on this machine's disk).

The seed's own v2.5.0 and v3.0.0 (with its migration path) are planned through the real store
first, so the releases the bench calls were written by our code.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release_planner.server.engram import format as fmt
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.examples import migration, release_plan, rollback, rollout, runbook
from release_planner.tools.registry import BY_NAME
from release_planner.tools.service import ReleasePlanner

TEMPLATE_VERSION = "2.5.0"
ENTITY_TYPES = ("task", "context", "reasoning", "relationship")
MARKER = ".bench-populated.json"


@dataclass(frozen=True)
class TemplateEntity:
    type: str
    id: str
    agent: str
    canonical: str  # canonical JSON of the flat data (what Engram hashes)
    pretty: str  # the envelope blob with HASH/SIZE placeholders


def _spec(kind: str, args: dict[str, Any]) -> Any:
    return BY_NAME[kind].spec.model_validate(args)


def plan_seed(planner: ReleasePlanner, *, with_v3: bool = True) -> None:
    """The seed's six steps for v2.5.0 (and v3.0.0 with its migration path) through the use cases."""
    planner.create_release_plan(_spec("release_plan", release_plan.ARGS), agent="bench")
    if with_v3:
        planner.create_release_plan(_spec("release_plan", migration.PLAN_V3_ARGS), agent="bench")
        planner.design_migration_path(_spec("migration_path", migration.ARGS), agent="bench")
    planner.design_rollback(_spec("rollback_strategy", rollback.ARGS), agent="bench")
    planner.plan_rollout(_spec("rollout_plan", rollout.ARGS), agent="bench")
    planner.create_runbook(_spec("runbook", runbook.ARGS), agent="bench")
    planner.link_release_entities(TEMPLATE_VERSION, agent="bench")
    if with_v3:
        planner.link_release_entities("3.0.0", agent="bench")


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, check=True).stdout


def _read_refs(repo: Path) -> dict[str, str]:
    out = _git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/engram")
    refs = {}
    for line in out.decode().splitlines():
        oid, name = line.split(" ", 1)
        refs[name] = oid
    return refs


def build_template(workdir: Path) -> list[TemplateEntity]:
    """Plan v2.5.0 once in a scratch repo and turn its entities into text templates."""
    repo = workdir / "template"
    store = GitRefsStore(repo)
    try:
        plan_seed(ReleasePlanner(store), with_v3=False)
    finally:
        store.close()
    entities: list[TemplateEntity] = []
    for name, oid in sorted(_read_refs(repo).items()):
        parts = name.split("/")
        if len(parts) != 4 or parts[2] not in ENTITY_TYPES:
            continue
        env = json.loads(_git(repo, "cat-file", "blob", oid))
        data = env["data"]
        canonical = fmt.canonical_json(data).decode()
        env["content_hash"] = "@@HASH@@"
        env["size_bytes"] = 999_999_999_999
        pretty = json.dumps(env, indent=2, ensure_ascii=False, allow_nan=False)
        pretty = pretty.replace("999999999999", "@@SIZE@@")
        entities.append(TemplateEntity(parts[2], parts[3], env["agent"], canonical, pretty))
    return entities


def _blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _project_id(repo: Path) -> str:
    oid = _read_refs_one(repo, fmt.WORKSPACE_REF)
    return str(json.loads(_git(repo, "cat-file", "blob", oid))["project_id"])


def _read_refs_one(repo: Path, name: str) -> str:
    return _git(repo, "rev-parse", name).decode().strip()


def _entity_count(repo: Path) -> int:
    return sum(
        1 for name in _read_refs(repo) if len(name.split("/")) == 4 and name.split("/")[2] in ENTITY_TYPES
    )


def populate(
    repo: Path, n_entities: int, template: list[TemplateEntity], *, loose_refs: bool = False, seed: int = 5
) -> dict[str, Any]:
    """A workspace with ``n_entities`` Engram entities (sidecars not counted): the seed's v2.5.0 and
    v3.0.0 planned through the store, then clones of v2.5.0 up to the count (padded with plain
    tasks when the count is not a multiple of the release size). Returns what was written.

    The clones' refs go into ``packed-refs`` (as after ``git gc``/``git pack-refs``) unless
    ``loose_refs``: creating 2N loose ref files costs ~0.2-0.6 ms each on this machine's ext4."""
    started = time.perf_counter()
    store = GitRefsStore(repo)
    try:
        plan_seed(ReleasePlanner(store))
    finally:
        store.close()
    seed_count = _entity_count(repo)
    project_id = _project_id(repo)
    per_release = len(template)
    clones, pad = divmod(max(0, n_entities - seed_count), per_release)

    rng = random.Random(seed)
    ids = [t.id for t in template]
    id_pattern = re.compile("|".join(re.escape(i) for i in ids) + "|" + re.escape(TEMPLATE_VERSION))
    stamp = fmt.format_sidecar_timestamp(fmt.system_clock())
    importer = _FastImport(repo)
    refs: list[tuple[str, str]] = []

    def add(entity_type: str, entity_id: str, agent: str, blob: bytes) -> None:
        side = fmt.canonical_json(
            {
                "agent": agent,
                "created_at": stamp,
                "entity_type": entity_type,
                "project_id": project_id,
                "uuid": entity_id,
                "version": 1,
            }
        )
        importer.add(blob)
        importer.add(side)
        refs.append((fmt.entity_ref(entity_type, entity_id), _blob_oid(blob)))
        refs.append((fmt.sidecar_ref(entity_type, entity_id, 1), _blob_oid(side)))

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    try:
        for i in range(clones):
            mapping = {old: new_id() for old in ids}
            mapping[TEMPLATE_VERSION] = f"1.{i}.0"

            def sub(text: str, mapping: dict[str, str] = mapping) -> str:
                return id_pattern.sub(lambda m: mapping[m.group(0)], text)

            for t in template:
                canonical = sub(t.canonical).encode()
                digest = hashlib.sha256(canonical).hexdigest()
                pretty = sub(t.pretty).replace('"@@HASH@@"', json.dumps(digest), 1)
                pretty = pretty.replace("@@SIZE@@", str(len(canonical)), 1)
                add(t.type, mapping[t.id], t.agent, pretty.encode())
        task_template = next(t for t in template if t.type == "task")
        for j in range(pad):
            eid = new_id()
            data = json.loads(task_template.canonical)
            data.update(id=eid, title=f"Housekeeping task {j}", tags=["chore"])
            data.pop("metadata", None)  # Engram omits an empty metadata map
            add("task", eid, task_template.agent, fmt.envelope_blob("task", eid, task_template.agent, data))
    finally:
        importer.finish()
    if loose_refs:
        _write_loose_refs(repo / ".git", refs)
    else:
        _write_packed_refs(repo / ".git", refs)
    info = {
        "entities": seed_count + clones * per_release + pad,
        "releases": clones + 2,
        "refs": "loose" if loose_refs else "packed",
        "seconds": round(time.perf_counter() - started, 2),
    }
    (repo / MARKER).write_text(json.dumps(info))
    return info


class _FastImport:
    """All blobs into one pack: far faster than 2N loose objects. Refs are written separately.

    ``--depth=0`` keeps every blob whole (zlib only), so reading one costs what reading a loose
    object costs, not a walk down a delta chain."""

    def __init__(self, repo: Path) -> None:
        self.proc = subprocess.Popen(
            [
                "git",
                "-C",
                str(repo),
                "-c",
                "core.compression=1",
                "fast-import",
                "--quiet",
                "--done",
                "--depth=0",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        assert self.proc.stdin is not None
        self.stdin = self.proc.stdin

    def add(self, blob: bytes) -> None:
        self.stdin.write(b"blob\ndata %d\n" % len(blob) + blob + b"\n")

    def finish(self) -> None:
        self.stdin.write(b"done\n")
        self.stdin.close()
        if self.proc.wait() != 0:
            raise RuntimeError("git fast-import failed")


def _write_packed_refs(git_dir: Path, refs: list[tuple[str, str]]) -> None:
    path = git_dir / "packed-refs"
    existing = path.read_text().splitlines() if path.exists() else []
    lines = {line.split(" ", 1)[1]: line for line in existing if line and line[0] not in "#^"}
    for name, oid in refs:
        lines[name] = f"{oid} {name}"
    body = "# pack-refs with: peeled fully-peeled sorted \n" + "".join(lines[n] + "\n" for n in sorted(lines))
    tmp = git_dir / "packed-refs.new"
    tmp.write_text(body)
    os.replace(tmp, path)


def _write_loose_refs(git_dir: Path, refs: list[tuple[str, str]]) -> None:
    made: set[str] = set()
    for name, oid in refs:
        path = os.path.join(git_dir, name)
        parent = os.path.dirname(path)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, (oid + "\n").encode())
        finally:
            os.close(fd)


class RepoCache:
    """Populated workspaces under one directory, built once per size and reused within a run."""

    def __init__(self, root: Path, *, loose_refs: bool = False) -> None:
        self.root = root
        self.loose_refs = loose_refs
        self._template: list[TemplateEntity] | None = None
        self.built: dict[int, dict[str, Any]] = {}

    def template(self) -> list[TemplateEntity]:
        if self._template is None:
            self._template = build_template(self.root)
        return self._template

    def get(self, n_entities: int) -> Path:
        repo = self.root / f"ws-{n_entities}"
        marker = repo / MARKER
        if marker.exists():
            self.built.setdefault(n_entities, json.loads(marker.read_text()))
            return repo
        self.built[n_entities] = populate(repo, n_entities, self.template(), loose_refs=self.loose_refs)
        return repo

    def copy(self, n_entities: int, name: str) -> Path:
        """A separate copy of the populated workspace, so two servers under test never see each
        other's writes (each would otherwise re-read the other's refs on its next call)."""
        repo = self.root / f"ws-{n_entities}-{name}"
        if not repo.exists():
            shutil.copytree(self.get(n_entities), repo, symlinks=True)
        return repo

    def empty(self, name: str = "ws-empty") -> Path:
        """An initialised workspace with no entities (the store made its init commit and workspace ref)."""
        repo = self.root / name
        if not repo.exists():
            GitRefsStore(repo).close()
        return repo
