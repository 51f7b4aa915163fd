"""Raw HTML in user text is made inert in the Markdown we render and store; the spec keeps it as sent.

Markdown passes raw HTML through, so `<script>` in a risk's description would run in any viewer of
the stored Markdown. Outside code every `<` that could open a tag becomes `&lt;`; inside code spans
and fenced blocks the text is shown as written (it is inert there, and `&lt;` would show literally).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from helpers.checks import structured
from hostile_session import mcp_session

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools.examples import release_plan, rollback
from release_planner.tools.markdown import escape_html
from release_planner.tools.ports import ContextRecord
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<iframe src="https://evil.example/"></iframe>',
    "<!-- hide --><svg/onload=alert(1)>",
    "</p><a href='javascript:alert(1)'>x</a>",
]
RAW = re.compile(r"<(script|img|iframe|svg|a|/p|!--)", re.I)


def raw_html_outside_code(markdown: str) -> list[str]:
    """Tags a renderer would pass through, ignoring ``` fences at line start and `code` spans."""
    prose = re.sub(r"(?ms)^\s*```.*?^\s*```", "", markdown)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return RAW.findall(prose)


# -- the helper ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_tags_in_prose_are_escaped(payload: str):
    markdown = f"## Risks\n\n- {payload}\n  - **Mitigation:** watch {payload}\n"
    escaped = escape_html(markdown)
    assert raw_html_outside_code(escaped) == []
    assert escaped.replace("&lt;", "<") == markdown  # nothing else changed: it renders as written


@pytest.mark.parametrize(
    "markdown",
    [
        "- **Check:** `kubectl describe pod <pod-name>`\n",
        "**Old response:**\n```xml\n<user>\n  <id>123</id>\n</user>\n```\n",
        '- Step\n\n  ```html\n  <div class="x"></div>\n  ```\n',
        "1. Run\n   ````\n   ``` <b> ```\n   ````\n",
        "- error_rate < 0.5% for 60 min\n- active_keys <= 10\n- a<1 and b <2\n",
    ],
    ids=["code-span", "fence", "fence-in-list", "longer-fence", "comparisons"],
)
def test_code_and_comparisons_are_left_as_written(markdown: str):
    assert escape_html(markdown) == markdown


@pytest.mark.parametrize(
    "markdown",
    [
        # The fence belongs to the list item; the unindented line ends the item, and the fence with it.
        "- item\n  ```\n<script>x</script>\n",
        # Lazy continuation keeps the item open: the fence is the item's, the tag is outside it again.
        "- item\nlazy line\n  ```\n<script>x</script>\n",
        # Indented four past the item's content: not a fence, so the tag is prose.
        "- item\n      ```\n  <script>x</script>\n      ```\n",
        # A fence inside a block quote is not followed into the quote; its content is escaped.
        "> ```\n> <script>x</script>\n> ```\n",
        # A backtick left open on one line pairs with the next line's: `b <script> ` is not a span.
        "a `x\ny` <script>x</script> `z`\n",
        # In a table row `|` splits cells before code spans are seen.
        "| a | b |\n|---|---|\n| `x | <script>x</script> | y` |\n",
        # An escaped backtick opens nothing.
        "\\`<script>x</script>`\n",
        # An unclosed fence inside a list item, then a fence line at the top level.
        "- a\n  ```\n- <script>x</script>\n",
    ],
    ids=[
        "item-ends-fence",
        "lazy-continuation",
        "over-indented-fence",
        "quoted-fence",
        "span-across-lines",
        "table-cell",
        "escaped-backtick",
        "unclosed-fence",
    ],
)
def test_tags_a_renderer_would_see_are_escaped_wherever_code_is_ambiguous(markdown: str):
    escaped = escape_html(markdown)
    assert "<script>" not in escaped, escaped
    assert escaped.replace("&lt;", "<") == markdown


def test_a_fence_info_string_is_escaped_too():
    assert escape_html("```<script>\nx\n```\n") == "```&lt;script>\nx\n```\n"


# -- end to end: stored Markdown, stored spec -------------------------------------------------------


def stored(store: MemoryStore, kind: str) -> tuple[str, dict[str, Any]]:
    """The stored Markdown and spec of the release's one artifact of ``kind``."""
    (entity,) = [e for t in ("context", "reasoning") for e in store.find(t) if e.planner_metadata and
                 e.planner_metadata.get("kind") == kind]  # fmt: skip
    record = entity.record
    markdown = record.content if isinstance(record, ContextRecord) else getattr(record, "conclusion", "")
    return markdown, dict(entity.planner_metadata["spec"])


def test_html_in_user_text_is_escaped_in_the_stored_markdown_and_kept_in_the_spec():
    plan = copy.deepcopy(release_plan.ARGS)
    plan["name"] = f"Enterprise {PAYLOADS[1]}"
    plan["objectives"][0] = PAYLOADS[0]
    plan["features"][0]["reason"] = PAYLOADS[1]
    plan["risks"][0]["description"] = PAYLOADS[2]
    plan["success_metrics"] = [f"p95 below 200 ms {PAYLOADS[3]}"]
    back = copy.deepcopy(rollback.ARGS)
    back["manual_triggers"][0] = PAYLOADS[4]
    back["procedures"][0]["steps"][0]["action"] = f"Open {PAYLOADS[0]} the dashboard"
    store = MemoryStore()
    with mcp_session("auto", store=store, seed=False) as session:
        assert not session.call("create_release_plan", plan).is_error
        assert not session.call("design_rollback", back).is_error
        view = structured(session.call("get_release_plan", {"version": plan["version"]}))

    plan_markdown, plan_spec = stored(store, "release_plan")
    rollback_markdown, rollback_spec = stored(store, "rollback_strategy")
    for markdown in (plan_markdown, rollback_markdown, view["markdown"]):
        assert raw_html_outside_code(markdown) == [], markdown
    assert "&lt;script>alert(1)&lt;/script>" in plan_markdown
    assert "Open &lt;script>alert(1)&lt;/script> the dashboard" in rollback_markdown

    assert view["name"] == plan_spec["name"] == f"Enterprise {PAYLOADS[1]}"
    assert plan_spec["objectives"][0] == PAYLOADS[0]
    assert plan_spec["features"][0]["reason"] == PAYLOADS[1]
    assert plan_spec["risks"][0]["description"] == PAYLOADS[2]
    assert rollback_spec["manual_triggers"][0] == PAYLOADS[4]
    assert rollback_spec["procedures"][0]["steps"][0]["action"] == f"Open {PAYLOADS[0]} the dashboard"


# -- what renderers read differently from a naive line split ------------------------------------------


@pytest.mark.parametrize(
    "markdown",
    [
        # CommonMark ends a line at \r\n and at a lone \r as well as at \n: the fence closes there.
        "```\r\nx\r\n```\r\n<script>x</script>\r\n",
        "```\nx\n```\r<script>x</script>\n",
        # An empty item cannot interrupt a paragraph: `1.` and the indented ``` continue it.
        "a\n1.\n    ```\n   <script>x</script>\n",
        # Nor can an ordered item that does not start at 1.
        "a\n2. b\n    ```\n    <script>x</script>\n",
        # An item may begin with one blank line only: after two, the ``` is indented code, not a fence.
        "-\n\n    ```\n  <script>x</script>\n",
        # A backtick fence whose info string has a backtick is no fence: the line continues the item,
        # so the next fence is the item's, and the unindented tag is outside it.
        "- |\n```\\`\n  ```\n<script>x</script>\n",
    ],
    ids=["crlf", "lone-cr", "empty-item", "ordered-from-2", "blank-start", "backtick-info"],
)
def test_line_ends_and_list_items_are_read_as_commonmark_reads_them(markdown: str):
    escaped = escape_html(markdown)
    assert "<script>" not in escaped, escaped
    assert escaped.replace("&lt;", "<") == markdown


def test_a_carriage_return_in_user_text_does_not_open_a_way_out_of_a_fence():
    plan = copy.deepcopy(release_plan.ARGS)
    plan["risks"][0]["description"] = "Logs show:\n```\nERROR 42\n```\r<img src=x onerror=alert(1)>"
    store = MemoryStore()
    with mcp_session("auto", store=store, seed=False) as session:
        assert not session.call("create_release_plan", plan).is_error
        view = structured(session.call("get_release_plan", {"version": plan["version"]}))
    plan_markdown, plan_spec = stored(store, "release_plan")
    for markdown in (plan_markdown, view["markdown"]):
        assert "<img" not in markdown, markdown
        assert "&lt;img src=x onerror=alert(1)>" in markdown
    assert plan_spec["risks"][0]["description"] == plan["risks"][0]["description"]


def test_markdown_trimmed_inside_a_code_span_stays_inert():
    # A line longer than half the limit is cut where the limit falls, here inside a code span: the
    # backtick left open must not let the tag it held out as HTML.
    plan = copy.deepcopy(release_plan.ARGS)
    plan["objectives"][0] = "Run `<img src=x onerror=alert(1)>" + "a" * 1500 + "`"
    planner = ReleasePlanner(MemoryStore(), max_markdown_chars=1000)
    written = planner.create_release_plan(ReleasePlanSpec.model_validate(plan))
    view = planner.get_release_plan(plan["version"])
    for result in (written, view):
        assert result.markdown_truncated
        assert "<img" not in result.markdown, result.markdown
        assert "&lt;img src=x onerror=alert(1)>" in result.markdown
