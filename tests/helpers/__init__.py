"""Helpers shared by the reliability and hostile-input suites (git refs, MCP results, invariants)."""
