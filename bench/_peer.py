"""The peer: ``@modelcontextprotocol/server-memory`` (the reference knowledge-graph MCP server).

It stores the same release our server stores, shaped the only way it can: one entity per artifact
(name = the Engram title, observations = the Markdown our tool returned and the JSON arguments it
was given), plus the release hub, and one relation per link. Each of our write steps becomes a
``create_entities`` plus a ``create_relations`` call; reading the release back is ``open_nodes``.
It keeps its graph in one JSONL file (``MEMORY_FILE_PATH``) and reads the whole file on every call.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = "@modelcontextprotocol/server-memory"


@dataclass(frozen=True)
class Stored:
    """One artifact as our server stored it in the example (from the write tool's result)."""

    release: str
    hub: str  # the release task's title
    name: str  # the artifact's Engram title
    kind: str
    markdown: str
    spec_json: str
    relation: str  # references / documents


def npx() -> str:
    path = shutil.which("npx")
    if path is None:
        raise RuntimeError("npx not found: install Node.js and npm (apt-get install nodejs npm)")
    return path


def server_params(memory_file: Path) -> Any:
    import os

    from mcp import StdioServerParameters

    env = dict(os.environ, MEMORY_FILE_PATH=str(memory_file))
    return StdioServerParameters(command=npx(), args=["-y", PACKAGE], env=env)


def entity(name: str, kind: str, observations: list[str]) -> dict[str, Any]:
    return {"name": name, "entityType": kind, "observations": observations}


def relation(source: str, target: str, kind: str) -> dict[str, str]:
    return {"from": source, "to": target, "relationType": kind}


def step_calls(art: Stored, new_hub: bool) -> list[tuple[str, dict[str, Any]]]:
    """The peer calls that mirror one of our write steps (a new release also adds its hub)."""
    entities = [entity(art.name, art.kind, [art.markdown, art.spec_json])]
    if new_hub:
        entities.insert(0, entity(art.hub, "release", [f"Release v{art.release}"]))
    return [
        ("create_entities", {"entities": entities}),
        ("create_relations", {"relations": [relation(art.hub, art.name, art.relation)]}),
    ]


def link_calls(arts: list[Stored]) -> list[tuple[str, dict[str, Any]]]:
    """Our link_release_entities for one release: every hub relation again (the peer skips duplicates)."""
    return [("create_relations", {"relations": [relation(a.hub, a.name, a.relation) for a in arts]})]


def write_graph_file(path: Path, arts: list[Stored], copies: int) -> int:
    """A JSONL graph holding ``copies`` clones of one release (renamed per copy); returns the number
    of records (entities + relations), the peer's counterpart of our entity count."""
    records = 0
    with path.open("w") as fh:
        for i in range(copies):
            suffix = f" #{i}"
            hub = arts[0].hub + suffix
            lines = [{"type": "entity", **entity(hub, "release", [f"Release v{arts[0].release}"])}]
            for art in arts:
                lines.append(
                    {"type": "entity", **entity(art.name + suffix, art.kind, [art.markdown, art.spec_json])}
                )
                lines.append({"type": "relation", **relation(hub, art.name + suffix, art.relation)})
            fh.write("".join(json.dumps(line) + "\n" for line in lines))
            records += len(lines)
    return records
