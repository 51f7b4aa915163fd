"""Settings from flags and environment, and the CLI's demo, show and list commands (in process)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from release_planner.server.cli import build_parser, main, settings_from_args
from release_planner.server.settings import ENV_PREFIX, Settings, SettingsError, settings_table

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


def settings_for(argv: list[str], environ: dict[str, str] | None = None) -> Settings:
    return settings_from_args(build_parser().parse_args(argv), environ or {})


def test_defaults_serve_stdio_with_the_git_store_and_the_workspace_chosen_later() -> None:
    s = settings_for([])
    # No workspace: the server takes the client's root, else the current directory if usable.
    assert (s.workspace, s.store, s.transport, s.read_only, s.agent) == (
        None,
        "git",
        "stdio",
        False,
        None,
    )
    assert (s.http_host, s.http_port, s.http_path, s.log_level) == ("127.0.0.1", 8765, "/mcp", "WARNING")


def test_a_flag_wins_over_the_environment_and_the_environment_over_the_default(tmp_path: Path) -> None:
    env = {f"{ENV_PREFIX}STORE": "memory", f"{ENV_PREFIX}AGENT": "from-env", f"{ENV_PREFIX}READ_ONLY": "yes"}
    s = settings_for(["serve", "--agent", "from-flag", "--workspace", str(tmp_path)], env)
    assert (s.store, s.agent, s.read_only, s.workspace) == ("memory", "from-flag", True, tmp_path.resolve())


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20)


@given(
    env_agent=st.none() | NAMES,
    flag_agent=st.none() | NAMES,
    env_store=st.none() | st.sampled_from(["git", "memory"]),
    flag_store=st.none() | st.sampled_from(["git", "memory"]),
)
def test_each_setting_comes_from_the_flag_else_the_environment_else_the_default(
    env_agent: str | None, flag_agent: str | None, env_store: str | None, flag_store: str | None
) -> None:
    env = {f"{ENV_PREFIX}AGENT": env_agent, f"{ENV_PREFIX}STORE": env_store}
    argv = [
        *([f"--agent={flag_agent}"] if flag_agent else []),
        *(["--store", flag_store] if flag_store else []),
    ]
    s = settings_for(argv, {k: v for k, v in env.items() if v is not None})
    assert s.agent == (flag_agent or env_agent)
    assert s.store == (flag_store or env_store or "git")


def test_options_before_and_after_the_subcommand_both_count() -> None:
    s = settings_for(["--store", "memory", "serve", "--http", "--port", "9000", "--log-level", "debug"])
    assert (s.store, s.transport, s.http_port, s.log_level) == ("memory", "http", 9000, "DEBUG")


def test_a_bad_value_names_both_the_flag_and_the_variable() -> None:
    with pytest.raises(SettingsError) as info:
        settings_for([], {f"{ENV_PREFIX}HTTP_PORT": "70000"})
    assert "--port / ENGRAM_RELEASE_PLANNER_HTTP_PORT" in str(info.value)
    with pytest.raises(SettingsError, match="ENGRAM_RELEASE_PLANNER_READ_ONLY='maybe'"):
        settings_for([], {f"{ENV_PREFIX}READ_ONLY": "maybe"})


def test_a_bad_setting_exits_with_status_2_and_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--path", "mcp"]) == 2
    assert (
        "--path / ENGRAM_RELEASE_PLANNER_HTTP_PATH: Value error, must start with '/'"
        in capsys.readouterr().err
    )


def test_the_settings_table_has_a_row_for_every_setting() -> None:
    rows = settings_table()
    assert [env for _, env, _, _ in rows] == [ENV_PREFIX + name.upper() for name in Settings.model_fields]
    assert all(flag and meaning for flag, _, _, meaning in rows)


def test_the_demo_plans_the_seed_release_over_mcp(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--store", "memory"]) == 0
    out = capsys.readouterr().out
    assert "1. create_release_plan    created context" in out
    assert "2. design_migration_path  skipped: 2.5.0 has no breaking changes" in out
    unwrapped = " ".join(out.split())  # the summary is wrapped for the terminal
    assert "Stakeholder summary:" in out and "1% → 5% → 20% → 50% → 100%" in unwrapped
    assert "release task" in out


def test_show_and_list_report_an_empty_store_plainly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["list", "--store", "memory", "--workspace", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"No releases planned in {tmp_path.resolve()}\n"
    assert main(["show", "2.5.0", "--store", "memory"]) == 1
    assert "no release 2.5.0 is planned" in capsys.readouterr().err


def test_the_demo_leaves_a_git_workspace_that_show_and_list_read_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("release_planner.server.engram.gitrefs")
    ws = tmp_path / "ws"
    assert main(["demo", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert f"git -C {ws} for-each-ref refs/engram" in out and f"show 2.5.0 --workspace {ws}" in out
    assert main(["list", "--workspace", str(ws)]) == 0
    listing = capsys.readouterr().out
    assert "2.5.0" in listing and "Enterprise Features" in listing
    assert main(["show", "v2.5.0", "--workspace", str(ws)]) == 0
    assert "# Release Plan: v2.5.0 - Enterprise Features" in capsys.readouterr().out


def test_show_prints_no_terminal_control_sequences_from_stored_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # An entity another tool wrote is shown as stored: an escape sequence in it would reach the
    # terminal (OSC 52 writes the clipboard, others retitle the window or hide lines).
    pygit2 = pytest.importorskip("pygit2")
    ws = tmp_path / "ws"
    assert main(["demo", "--workspace", str(ws)]) == 0
    repo = pygit2.Repository(str(ws))
    refs = [r for r in repo.references if r.startswith("refs/engram/context/") and r.count("/") == 3]
    stored = {r: json.loads(repo[repo.references[r].target].data) for r in refs}
    ((ref, env),) = [
        (r, e) for r, e in stored.items() if e["data"]["title"].startswith("Release Plan: v2.5.0")
    ]
    env["data"]["metadata"] = {}  # untyped now: shown as stored
    env["data"]["content"] = "Scope\x1b]52;c;cm0gLXJmIH4=\x07 agreed\r\nhidden\rshown\n"
    repo.references[ref].set_target(repo.create_blob(json.dumps(env).encode()))
    capsys.readouterr()
    assert main(["show", "2.5.0", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "Scope\\x1b]52;c;cm0gLXJmIH4=\\x07 agreed\nhidden\\rshown" in out, out
    assert not any(ch in out for ch in "\x1b\x07\r")
