"""Engram storage adapters: the git-refs store (default), the engram-CLI store and the in-memory store."""
