"""Everything that knows MCP or Engram: settings, the composition root, the CLI and the storage adapters."""
