"""What ``notifications/cancelled`` means for a write, over the SDK's in-memory client.

A write that has started (handed to its worker thread) runs to its end and is stored whole; the
cancel only drops the response, as MCP requires. A write cancelled before that stores nothing.
Either way the client is told in a log message, and the release read afterwards agrees with it.

The store's commit waits on an event, so each cancel lands at a known point; a request answered
after the cancel was sent proves the server has applied it (one connection handles messages in order).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest
from mcp import Client
from mcp.types import LoggingMessageNotificationParams

from release_planner.server.app import build_server
from release_planner.server.cancellation import guard_write, settled_write
from release_planner.server.engram.memory import MemoryStore
from release_planner.server.settings import Settings
from release_planner.tools.errors import StorageError
from release_planner.tools.examples import release_plan
from release_planner.tools.ports import Change, StoredEntity

pytestmark = pytest.mark.anyio
WAIT = 30  # the most any step may take before the test fails instead of hanging


class GatedStore(MemoryStore):
    """A memory store whose commits wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.failure: Exception | None = None

    def commit(self, changes: Sequence[Change]) -> list[StoredEntity]:
        self.entered.set()
        if not self.gate.wait(WAIT):
            raise TimeoutError("the test never opened the gate")
        if self.failure is not None:
            raise self.failure
        return super().commit(changes)


def plan(version: str) -> dict[str, Any]:
    args = copy.deepcopy(release_plan.ARGS)
    args["version"] = version
    args["target_date"] = "2026-09-14"  # a Monday, so no calendar warnings depend on the version
    return args


class Notices:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.arrived = anyio.Event()

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        text = str(params.data)
        if "cancelled" in text:
            assert params.level == "warning" and params.logger == "release_planner"
            self.messages.append(text)
            self.arrived.set()


async def settle(client: Client) -> None:
    """One more request answered: the server has handled every message sent before it."""
    assert not (await client.call_tool("list_release_plans", {})).is_error


async def cancel_while_committing(client: Client, store: GatedStore, args: dict[str, Any]) -> None:
    """Send a write, cancel it once its commit has begun, make sure the server applied the cancel,
    then let the commit finish."""
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "create_release_plan", args)
            await anyio.to_thread.run_sync(store.entered.wait, abandon_on_cancel=True)
            tg.cancel_scope.cancel()  # the client sends notifications/cancelled for the call
        await settle(client)
    finally:
        store.gate.set()


async def test_a_write_cancelled_after_it_started_is_stored_whole_and_the_client_is_told():
    store = GatedStore()
    notices = Notices()
    server = build_server(Settings(store="memory"), store=store)
    async with Client(server, mode="legacy", logging_callback=notices) as client:
        with anyio.fail_after(WAIT):
            await cancel_while_committing(client, store, plan("4.1.0"))
            await notices.arrived.wait()  # today's server stores the plan and says nothing
        view = (await client.call_tool("get_release_plan", {"version": "4.1.0"})).structured_content
    assert notices.messages == [
        "create_release_plan: cancelled after it started (checking and storing release 4.1.0), "
        "and completed: stored revision 1"
    ]
    assert view is not None
    revisions = {a["kind"]: a["revision"] for a in view["artifacts"]}
    assert revisions["release_plan"] == 1, revisions
    assert "## Feature Batching" in view["markdown"]


async def test_a_write_cancelled_while_another_holds_the_lock_stores_nothing_and_the_client_is_told():
    store = GatedStore()
    notices = Notices()
    server = build_server(Settings(store="memory"), store=store)
    async with Client(server, mode="legacy", logging_callback=notices) as client:
        with anyio.fail_after(WAIT):
            async with anyio.create_task_group() as outer:
                outer.start_soon(client.call_tool, "create_release_plan", plan("4.1.0"))
                await anyio.to_thread.run_sync(store.entered.wait, abandon_on_cancel=True)
                try:
                    async with anyio.create_task_group() as tg:  # waits for the first write's lock
                        tg.start_soon(client.call_tool, "create_release_plan", plan("4.2.0"))
                        await settle(client)  # the second call has reached the server
                        tg.cancel_scope.cancel()
                    await settle(client)  # ... and its cancel has been applied
                finally:
                    store.gate.set()
            await notices.arrived.wait()
        listed = (await client.call_tool("list_release_plans", {})).structured_content
    assert listed is not None
    assert [r["release"] for r in listed["releases"]] == ["4.1.0"]
    assert notices.messages == [
        "create_release_plan: cancelled before it started; nothing was stored (release 4.2.0)"
    ]


async def test_a_started_write_that_fails_says_it_was_refused_and_nothing_is_stored():
    store = GatedStore()
    store.failure = StorageError("the workspace is not writable", next_step="fix its permissions")
    notices = Notices()
    server = build_server(Settings(store="memory"), store=store)
    async with Client(server, mode="legacy", logging_callback=notices) as client:
        with anyio.fail_after(WAIT):
            await cancel_while_committing(client, store, plan("4.1.0"))
            await notices.arrived.wait()
        listed = (await client.call_tool("list_release_plans", {})).structured_content
    assert listed is not None and listed["releases"] == []
    assert notices.messages == [
        "create_release_plan: cancelled after it started (checking and storing release 4.1.0); "
        "refused, nothing was stored: the workspace is not writable"
    ]


class RecordingContext:
    """Just what the cancellation rules use of a tool's Context: progress and log messages."""

    def __init__(self) -> None:
        self.request_context = self
        self.session = self
        self.lifespan_context = SimpleNamespace(log_level="info")
        self.sent: list[str] = []

    async def report_progress(self, *_args: Any) -> None:
        return None

    async def send_log_message(self, *, data: str, **_kwargs: Any) -> None:
        self.sent.append(data)


async def test_a_cancel_after_the_write_returned_still_tells_the_client_it_was_stored():
    # After the store has answered, the tool still sends its own log message (and, for a new
    # release, resources/list_changed): a cancel landing there dropped the response without a word.
    ctx = RecordingContext()

    async def run() -> SimpleNamespace:
        return SimpleNamespace(revision=1)

    async def call() -> None:
        await settled_write(
            ctx, anyio.Lock(), "create_release_plan", "checking and storing release 4.1.0", run,
            lambda r: f"stored revision {r.revision}",
        )  # fmt: skip
        scope.cancel()  # notifications/cancelled arrives now
        await anyio.lowlevel.checkpoint()  # the tool's "created ..." log message

    with anyio.fail_after(WAIT), anyio.CancelScope() as scope:
        await guard_write(ctx, "create_release_plan", "4.1.0", call)
    assert scope.cancelled_caught
    assert ctx.sent == [
        "create_release_plan: cancelled after it started (checking and storing release 4.1.0), "
        "and completed: stored revision 1"
    ]
