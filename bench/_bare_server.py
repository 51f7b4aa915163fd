"""The cold-start baseline: a bare ``MCPServer`` on stdio that imports nothing else."""

from mcp.server.mcpserver import MCPServer

MCPServer("bare").run("stdio")
