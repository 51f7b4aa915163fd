"""Bench-only stdio launcher: ``python bench/_serve_with_noop.py WORKSPACE``.

Builds the server exactly as ``engram-release-planner serve --workspace WORKSPACE --store git`` does
(``build_server(settings)``, ``run("stdio")``), then adds the bench's no-op tools, the server-side
timers and a ``bench_stats`` tool (see ``_instrument``), so the stdio rows can be compared with a
no-op on the same process and report server-side time.
"""

from __future__ import annotations

import logging
import sys

from _instrument import instrument

from release_planner.server.app import build_server
from release_planner.server.settings import Settings


def main(argv: list[str]) -> int:
    settings = Settings.from_sources({"workspace": argv[1], "store": "git"})
    logging.basicConfig(level=settings.log_level, stream=sys.stderr)
    server = instrument(build_server(settings), with_stats_tool=True)
    server.run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
