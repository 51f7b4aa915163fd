"""The README's tools, prompts, resources and settings tables are generated from the server itself.

A change to the surface that is not reflected in the README fails here; regenerate with
``UPDATE_SNAPSHOTS=1 python -m pytest tests/meta/test_readme_tables.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from meta_surface import surface

from release_planner.server.settings import settings_table

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(
    r"(<!-- generated:(?P<name>[a-z]+) -->\n)(?P<body>.*?)(<!-- /generated:(?P=name) -->)", re.S
)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _first_sentence(text: str) -> str:
    text = " ".join((text or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def _hints(tool: dict[str, Any]) -> str:
    notes = tool.get("annotations") or {}
    words = ["read-only" if notes.get("readOnlyHint") else "writes"]
    if notes.get("idempotentHint"):
        words.append("idempotent")
    if notes.get("destructiveHint"):
        words.append("destructive")
    return ", ".join(words)


def render_tables(data: dict[str, Any]) -> dict[str, str]:
    tools = ["| tool | parameters | what it does | kind |", "|---|---|---|---|"]
    for tool in data["tools"]:
        props = tool["inputSchema"].get("properties", {})
        required = set(tool["inputSchema"].get("required", []))
        params = ", ".join(f"`{p}`" if p in required else f"`{p}?`" for p in props)
        what = _cell(_first_sentence(tool.get("description", "")))
        tools.append(f"| `{tool['name']}` | {params} | {what} | {_hints(tool)} |")
    prompts = ["| prompt | arguments | what it is for |", "|---|---|---|"]
    for prompt in data["prompts"]:
        args = ", ".join(
            f"`{a['name']}`" if a.get("required") else f"`{a['name']}?`" for a in prompt.get("arguments", [])
        )
        prompts.append(f"| `{prompt['name']}` | {args} | {_cell(prompt.get('description', ''))} |")
    resources = ["| resource | type | what it holds |", "|---|---|---|"]
    for res in data["resource_templates"]:
        resources.append(
            f"| `{res['uriTemplate']}` | {res.get('mimeType', '')} | {_cell(res.get('description', ''))} |"
        )
    for res in data["resources"]:
        resources.append(
            f"| `{res['uri']}` | {res.get('mimeType', '')} | {_cell(res.get('description', ''))} |"
        )
    settings = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for flag, env, default, meaning in settings_table():
        settings.append(f"| `{flag}` | `{env}` | {_cell(default)} | {_cell(meaning)} |")
    return {
        name: "\n".join(rows) + "\n"
        for name, rows in {
            "tools": tools,
            "prompts": prompts,
            "resources": resources,
            "settings": settings,
        }.items()
    }


async def test_the_readme_tables_match_the_server() -> None:
    tables = render_tables(await surface())
    text = README.read_text(encoding="utf-8")
    found = {m["name"] for m in BLOCK.finditer(text)}
    assert found == set(tables), f"README needs generated blocks for {sorted(set(tables) - found)}"
    updated = BLOCK.sub(lambda m: m.group(1) + tables[m["name"]] + m.group(4), text)
    if updated != text and os.environ.get("UPDATE_SNAPSHOTS") == "1":
        README.write_text(updated, encoding="utf-8")
        return
    assert updated == text, (
        "README.md tables are out of date with the server; run "
        "UPDATE_SNAPSHOTS=1 python -m pytest tests/meta/test_readme_tables.py"
    )
