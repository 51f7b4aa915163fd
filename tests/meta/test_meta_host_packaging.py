"""The host packaging files say what the server really is: ``manifest.json`` (the MCP Bundle Claude
Desktop installs) and ``server.json`` (the entry of the official MCP registry).

``npx @anthropic-ai/mcpb validate`` checks the manifest against its schema in CI; these tests check
what no schema can: the version is the package's, the listed tools and prompts are the server's, and
the launch commands are ones the command line accepts. No npm or PyPI package carries the registry's
server.json schema, so its structure is checked here, after the registry's published rules.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from meta_surface import make_server

from release_planner.server.cli import build_parser, settings_from_args
from release_planner.server.settings import ENV_PREFIX, Settings

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
MANIFEST: dict[str, Any] = json.loads((ROOT / "manifest.json").read_text())
SERVER_JSON: dict[str, Any] = json.loads((ROOT / "server.json").read_text())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_bundle_and_the_registry_entry_carry_the_package_name_and_version() -> None:
    assert MANIFEST["name"] == PYPROJECT["name"]
    assert MANIFEST["version"] == PYPROJECT["version"]
    assert SERVER_JSON["version"] == PYPROJECT["version"]
    (package,) = SERVER_JSON["packages"]
    assert package["identifier"] == PYPROJECT["name"]
    assert package["version"] == PYPROJECT["version"]


async def test_the_bundle_lists_the_tools_a_default_server_registers_in_order() -> None:
    served = [t.name for t in await make_server(toolsets="default").list_tools()]
    assert [t["name"] for t in MANIFEST["tools"]] == served
    assert all(t.get("description") for t in MANIFEST["tools"])


async def test_the_bundle_lists_the_prompts_of_a_default_server_with_their_arguments() -> None:
    served = {
        p.name: [a.name for a in p.arguments or []]
        for p in await make_server(toolsets="default").list_prompts()
    }
    listed = {p["name"]: p.get("arguments", []) for p in MANIFEST["prompts"]}
    assert listed == served
    for prompt in MANIFEST["prompts"]:
        used = set(re.findall(r"\$\{arguments\.(\w+)\}", prompt["text"]))
        assert used <= set(prompt.get("arguments", [])), prompt["name"]


def test_the_bundle_starts_the_console_script_on_the_workspace_the_user_picks() -> None:
    server = MANIFEST["server"]
    assert (ROOT / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert server["type"] == "uv" and config["command"] == "uv"
    args = config["args"]
    # `uv run --directory <bundle> <script> ...` runs the console script of the bundled pyproject.
    assert args[:3] == ["run", "--directory", "${__dirname}"]
    assert args[3] in PYPROJECT["scripts"]
    placeholders = set(re.findall(r"\$\{user_config\.(\w+)\}", " ".join(args)))
    assert placeholders <= set(MANIFEST["user_config"]), placeholders
    workspace = MANIFEST["user_config"]["workspace"]
    assert workspace["type"] == "directory" and workspace["required"] is True
    cli_args = [a.replace("${user_config.workspace}", "/tmp/plans") for a in args[4:]]
    ns = build_parser().parse_args(cli_args)
    assert ns.command == "serve" and settings_from_args(ns, environ={}).workspace == Path("/tmp/plans")


def test_the_registry_entry_has_the_shape_the_registry_accepts() -> None:
    assert re.fullmatch(
        r"https://static\.modelcontextprotocol\.io/schemas/\d{4}-\d{2}-\d{2}/server\.schema\.json",
        SERVER_JSON["$schema"],
    )
    known = {
        "$schema",
        "name",
        "title",
        "description",
        "version",
        "packages",
        "remotes",
        "repository",
        "websiteUrl",
        "icons",
        "_meta",
    }
    assert set(SERVER_JSON) <= known, set(SERVER_JSON) - known
    # reverse-DNS namespace, one slash, then the server's own name
    assert re.fullmatch(r"[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+/[a-zA-Z0-9._-]+", SERVER_JSON["name"])
    assert 1 <= len(SERVER_JSON["description"]) <= 100
    assert len(SERVER_JSON.get("title", "x")) <= 100
    assert re.fullmatch(r"\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?", SERVER_JSON["version"])
    (package,) = SERVER_JSON["packages"]
    assert package["registryType"] == "pypi" and package["registryBaseUrl"] == "https://pypi.org"
    assert package["transport"] == {"type": "stdio"}
    assert package.get("runtimeHint", "uvx") in {"uvx", "npx", "docker", "dnx"}
    for argument in package["packageArguments"]:
        assert argument["type"] in {"positional", "named"}
        assert argument.get("format", "string") in {"string", "number", "boolean", "filepath"}
        if argument["type"] == "positional":
            assert "value" in argument or "valueHint" in argument
        else:
            assert argument["name"].startswith("--")
    for variable in package["environmentVariables"]:
        assert variable["name"] and variable["description"]
        assert variable.get("format", "string") in {"string", "number", "boolean", "filepath"}


def test_the_registry_arguments_and_variables_are_ones_the_server_reads() -> None:
    (package,) = SERVER_JSON["packages"]
    argv: list[str] = []
    for argument in package["packageArguments"]:
        if argument["type"] == "positional":
            argv.append(argument["value"])
        else:
            argv += [argument["name"], "/tmp/plans"]
    ns = build_parser().parse_args(argv)
    assert ns.command == "serve" and settings_from_args(ns, environ={}).workspace == Path("/tmp/plans")
    for variable in package["environmentVariables"]:
        assert variable["name"].startswith(ENV_PREFIX)
        field = variable["name"].removeprefix(ENV_PREFIX).lower()
        assert field in Settings.model_fields, variable["name"]
        if "default" in variable:
            assert str(Settings.model_fields[field].default) == variable["default"]


def test_the_readme_names_the_registry_entry_so_pypi_proves_ownership() -> None:
    # The registry checks that the PyPI package's description says `mcp-name: <name>`.
    assert f"mcp-name: {SERVER_JSON['name']}" in (ROOT / "README.md").read_text()
