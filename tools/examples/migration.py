"""The skill's step-2 template (API v1 to v2) as ``design_migration_path`` arguments for v3.0.0.

The skill defers "API v3 (Breaking Changes)" from v2.5.0 to v3.0.0 (Q3 2026) and illustrates the
migration with an API v1 to v2 switch; ``PLAN_V3_ARGS`` is a small v3.0.0 release plan carrying
that breaking change, so the path's T-offsets get dates (T = Monday, July 13, 2026).

``ARGS`` is the path corrected: measurable exit criteria gate the shutdown, and the rollback plan
says how long it holds. ``SEED_AS_WRITTEN`` is the template's values as written: its deprecation
phases run T-90 to T+60 with no exit metric, so the shutdown happens on a date, not on evidence.
"""

from __future__ import annotations

import copy
from typing import Any

CHANGE = "API v1 to v2"

PLAN_V3_ARGS: dict[str, Any] = {
    "version": "3.0.0",
    "name": "API v2",
    "target_date": "2026-07-13",
    "release_type": "major",
    "objectives": ["Retire the XML API v1 in favour of the JSON API v2"],
    "success_metrics": ["Less than 1% of API calls on v1 seven days before shutdown"],
    "features": [
        {
            "name": "API v2 (JSON, filter syntax, Bearer auth)",
            "batch": "must_have",
            "reason": "Deferred from v2.5.0; requires a 90-day migration period for customers",
            "risk": "high",
            "risk_note": "every integration must change",
            "rollback_complexity": "medium",
            "rollback_note": "v1 stays available until T+60",
            "flag": "enable_api_v2",
        }
    ],
    "breaking_changes": [
        {
            "name": CHANGE,
            "category": "api",
            "change": "Query parameters use filter[] syntax, responses are JSON instead of XML, and "
            "authentication needs a Bearer token instead of an API key",
            "affects": ["GET /api/v1/users", "All /api/v1 endpoints"],
            "migration": "Follow the API v1 to v2 migration path: update the client, parse JSON, "
            "switch to Bearer tokens",
            "deprecation_period_days": 90,
            "backward_compatible": False,
            "compatibility_details": "v1 stays available until T+60 days",
        }
    ],
    "dependencies": [],
    "risks": [
        {
            "description": "Customers miss the deprecation notices and break at shutdown",
            "level": "high",
            "mitigation": "Usage dashboard, proactive outreach to heavy v1 users, exit criteria gate "
            "the shutdown",
        }
    ],
}

_CUSTOMER_STEPS: list[dict[str, Any]] = [
    {
        "title": "Update API Client",
        "code": {
            "language": "bash",
            "text": "# Old API (deprecated)\nGET /api/v1/users?name=john\n\n"
            "# New API\nGET /api/v2/users?filter[name]=john",
        },
        "instructions": "**Changes:**\n"
        "- Query parameters now use filter[] syntax\n"
        "- Response format changed from XML to JSON\n"
        "- Authentication now requires Bearer token instead of API key",
    },
    {
        "title": "Update Response Parsing",
        "before": {
            "label": "Old response",
            "language": "xml",
            "text": "<user>\n  <id>123</id>\n  <name>John</name>\n</user>",
        },
        "after": {
            "label": "New response",
            "language": "json",
            "text": '{\n  "data": {\n    "id": "123",\n    "type": "user",\n'
            '    "attributes": {\n      "name": "John"\n    }\n  }\n}',
        },
        "instructions": "Read fields from data.attributes; ids are now strings.",
    },
    {
        "title": "Test in Sandbox",
        "instructions": "- Sandbox environment: https://sandbox.example.com\n"
        "- Test API key: request one at https://developers.example.com/keys\n"
        "- Validation checklist: https://docs.example.com/api/v2/checklist",
    },
    {
        "title": "Deploy to Production",
        "instructions": "- Update API base URL from v1 to v2\n"
        "- Monitor error rates for 24 hours\n"
        "- Rollback procedure: redeploy the previous client version (v1 answers until T+60 days)",
    },
]

ARGS: dict[str, Any] = {
    "version": "3.0.0",
    "change": CHANGE,
    "rationale": "XML and API-key auth block the enterprise integrations; v2 gives JSON, filtering and "
    "Bearer tokens",
    "affects": ["All API v1 integrations", "Customers authenticating with API keys"],
    "change_type": "api",
    "phases": [
        {
            "name": "Deprecation Announcement",
            "kind": "announce",
            "start": "T-90",
            "actions": [
                "Publish migration guide",
                "Email affected customers",
                "Add deprecation warnings to API responses",
                "Update documentation with migration examples",
            ],
        },
        {
            "name": "Dual Support",
            "kind": "dual_support",
            "start": "T-60",
            "end": "T+30",
            "actions": [
                "Both old and new API versions available",
                "Old version returns deprecation headers",
                "Dashboard shows usage of deprecated endpoints",
                "Proactive outreach to heavy users of old API",
            ],
        },
        {
            "name": "Sunset Warning",
            "kind": "sunset_warning",
            "start": "T+30",
            "end": "T+60",
            "actions": [
                "Increase deprecation warning severity",
                "Daily emails to customers still on old API",
                "Support team prepared for migration assistance",
                'Hold "office hours" for migration help',
            ],
        },
        {
            "name": "Shutdown",
            "kind": "shutdown",
            "start": "T+60",
            "actions": [
                "Only once the exit criteria hold; otherwise extend Sunset Warning by 30 days",
                "Old API returns 410 Gone",
                "Automatic redirect to migration guide",
                "Manual exemptions on case-by-case basis",
            ],
        },
    ],
    "customer_steps": _CUSTOMER_STEPS,
    "support_resources": [
        {"label": "Migration Guide", "detail": "https://docs.example.com/api/v2/migration"},
        {"label": "API Changelog", "detail": "https://docs.example.com/api/changelog"},
        {"label": "Support Contact", "detail": "migrations@example.com"},
        {"label": "Office Hours", "detail": "Fridays 2-4pm UTC on Zoom (https://zoom.example.com/migration)"},
    ],
    "backward_compatibility": {
        "preserved": [
            "All v1 endpoints available until T+60 days",
            "Data models remain same (only format changes)",
            "Rate limits unchanged",
        ],
        "not_compatible": [
            "XML format no longer supported",
            "API key auth deprecated (use Bearer tokens)",
            "Response structure changed (requires parsing updates)",
        ],
    },
    "rollback_plan": {
        "actions": [
            "Old API can be re-enabled within 1 hour",
            "Database schema supports both versions (dual-write)",
            "No data loss during migration window",
        ],
        "window_days": 60,
    },
    "exit_criteria": [
        {
            "metric": "old_api_call_share",
            "comparator": "<",
            "threshold": 1,
            "unit": "percent",
            "window_minutes": 7 * 24 * 60,
        },
        {"metric": "active_v1_api_keys", "comparator": "<=", "threshold": 10, "unit": "count"},
        "Every enterprise customer has confirmed migration or holds a written exemption",
    ],
    "confidence": 0.85,
}


def _as_written() -> dict[str, Any]:
    seed = copy.deepcopy(ARGS)
    seed["phases"][3]["actions"] = seed["phases"][3]["actions"][1:]
    seed["customer_steps"][2]["instructions"] = (
        "- Sandbox environment: https://sandbox.example.com\n"
        "- Test API key provided: [How to obtain]\n"
        "- Validation checklist: [Link to doc]"
    )
    seed["customer_steps"][3]["instructions"] = (
        "- Update API base URL from v1 to v2\n"
        "- Monitor error rates for 24 hours\n"
        "- Rollback procedure: [Revert to old client version]"
    )
    seed["support_resources"] = [
        {"label": "Migration Guide", "detail": "[URL]"},
        {"label": "API Changelog", "detail": "[URL]"},
        {"label": "Support Contact", "detail": "migrations@example.com"},
        {"label": "Office Hours", "detail": "Fridays 2-4pm UTC on Zoom [link]"},
    ]
    del seed["rollback_plan"]["window_days"]
    seed["exit_criteria"] = []
    return seed


SEED_AS_WRITTEN: dict[str, Any] = _as_written()
