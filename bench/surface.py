"""What the tool surface costs an agent: characters of ``tools/list``, in all and per tool.

    .venv/bin/python bench/surface.py            # the table
    .venv/bin/python bench/surface.py --json     # the same as JSON

Columns: ``chars`` is the tool's entry in ``tools/list`` as compact JSON (what every conversation
loads before any work); ``input`` and ``output`` are its schemas, ``descriptions`` the tool's
description plus its parameters'. The budget (``server/schemas.py``: 30,000 in all, 6,000 a tool) is
kept by ``tests/meta/test_meta_surface_budget.py``; this script shows where the characters go.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import anyio

from release_planner.server.app import build_server
from release_planner.server.engram.memory import MemoryStore
from release_planner.server.schemas import TOOL_BUDGET, TOTAL_BUDGET, surface_cost
from release_planner.server.settings import Settings


async def listed(read_only: bool = False) -> list[dict]:
    settings = Settings(workspace=Path.cwd(), store="memory", read_only=read_only)
    server = build_server(settings, store=MemoryStore())
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in await server.list_tools()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--read-only", action="store_true", help="the --read-only server's tools")
    args = parser.parse_args()
    rows = surface_cost(anyio.run(listed, args.read_only))
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    print(f"{'tool':<28} {'chars':>7} {'input':>7} {'output':>7} {'descriptions':>13}")
    for name, row in rows.items():
        if name == "total":
            print("-" * 66)
        print(
            f"{name:<28} {row['chars']:>7,} {row['input']:>7,} {row['output']:>7,} {row['descriptions']:>13,}"
        )
    total = rows.pop("total")["chars"]
    worst = max(rows.items(), key=lambda item: item[1]["chars"])
    print(
        f"\nbudget: {total:,} of {TOTAL_BUDGET:,} in all; largest {worst[0]} {worst[1]['chars']:,} "
        f"of {TOOL_BUDGET:,} a tool"
    )
    return 0 if total <= TOTAL_BUDGET and worst[1]["chars"] <= TOOL_BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
