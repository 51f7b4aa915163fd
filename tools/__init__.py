"""The release-planning domain: models, checks, planning math, Markdown, use cases and the storage port.

Nothing in this package knows MCP or git; adapters live in ``release_planner.server``.
"""
