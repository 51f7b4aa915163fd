"""Step 1 of the skill's v2.5.0 "Enterprise Features" example as ``create_release_plan`` arguments.

``ARGS`` is the example corrected: the target moves from Sunday March 15 to Monday March 16, 2026,
and every shipping feature names the flag the skill's rollout plan uses for it (the skill's plan
names none, although its rollback strategy relies on them). ``SEED_AS_WRITTEN`` keeps the skill's
values, so checking it reports the weekend release date.
"""

from __future__ import annotations

import copy
from typing import Any

_FEATURES: list[dict[str, Any]] = [
    {
        "name": "Payment Processing (Stripe Integration)",
        "batch": "must_have",
        "reason": "Required for monetization, blocks enterprise tier",
        "prerequisites": ["Stripe production account approved", "PCI compliance passed"],
        "risk": "medium",
        "risk_note": "external integration, financial transactions",
        "rollback_complexity": "medium",
        "rollback_note": "must not lose payment data",
        "flag": "enable_payment_processing",
    },
    {
        "name": "Advanced Search (Elasticsearch)",
        "batch": "must_have",
        "reason": "Key enterprise differentiator, bundled with tier",
        "prerequisites": ["Elasticsearch cluster deployed"],
        "risk": "low",
        "risk_note": "isolated feature, can disable via flag",
        "rollback_complexity": "low",
        "rollback_note": "search falls back to basic SQL",
        "flag": "enable_elasticsearch_search",
    },
    {
        "name": "Real-time Notifications (WebSocket)",
        "batch": "nice_to_have",
        "reason": "Improves enterprise UX, shows platform sophistication",
        "prerequisites": ["WebSocket infrastructure", "Redis pub/sub"],
        "risk": "medium",
        "risk_note": "new architecture, affects all users",
        "rollback_complexity": "medium",
        "rollback_note": "graceful degradation to polling",
        "flag": "enable_websocket_notifications",
    },
    {
        "name": "Dark Mode UI",
        "batch": "nice_to_have",
        "reason": "Highly requested (200+ votes), easy to deliver",
        "risk": "very_low",
        "risk_note": "cosmetic change",
        "rollback_complexity": "very_low",
        "rollback_note": "CSS toggle",
        "flag": "enable_dark_mode",
    },
    {
        "name": "Mobile App Redesign",
        "batch": "deferred",
        "reason": "QA found 15 bugs, not ready",
        "target_version": "2.6.0",
        "target_when": "April 2026",
    },
    {
        "name": "API v3 (Breaking Changes)",
        "batch": "deferred",
        "reason": "Requires 90-day migration period for customers",
        "target_version": "3.0.0",
        "target_when": "Q3 2026",
    },
]

ARGS: dict[str, Any] = {
    "version": "2.5.0",
    "name": "Enterprise Features",
    "target_date": "2026-03-16",
    "release_type": "minor",
    "objectives": [
        "Enable enterprise tier ($199/month) for B2B customers",
        "Monetize through payment processing integration",
        "Differentiate from competitors with advanced search",
    ],
    "success_metrics": [
        "50 enterprise customers signed up within 60 days",
        "Payment processing handles $100K volume in first month",
        "Advanced search used by 70% of enterprise users",
    ],
    "features": _FEATURES,
    "breaking_changes": [],
    "dependencies": [
        {
            "name": "Frontend component library v1.8.0 deployed",
            "scope": "internal",
            "status": "done",
            "due": "2026-03-01",
        },
        {
            "name": "Elasticsearch cluster provisioned",
            "scope": "internal",
            "status": "done",
            "due": "2026-03-05",
        },
        {
            "name": "WebSocket infrastructure tested",
            "scope": "internal",
            "status": "done",
            "due": "2026-03-08",
        },
        {
            "name": "Stripe production account approved",
            "scope": "external",
            "status": "done",
            "due": "2026-02-20",
        },
        {"name": "PCI compliance review passed", "scope": "external", "status": "done", "due": "2026-03-01"},
        {
            "name": "SSL certificates renewed",
            "scope": "external",
            "status": "done",
            "notes": "valid until 2027",
        },
    ],
    "risks": [
        {
            "description": "Payment integration edge cases: refunds, disputes, failed charges",
            "level": "high",
            "mitigation": "Extensive testing with test cards, gradual rollout, Stripe support SLA",
        },
        {
            "description": "WebSocket scaling under load: untested at 100K concurrent connections",
            "level": "medium",
            "mitigation": "Load testing at 2x expected traffic, horizontal scaling ready",
        },
        {
            "description": "Elasticsearch cluster stability: first time in production",
            "level": "medium",
            "mitigation": "Fallback to SQL search, monitoring, DevOps on standby",
        },
        {
            "description": "UI changes confuse users: dark mode, notification UI",
            "level": "low",
            "mitigation": "In-app tutorial, blog post, support documentation",
        },
    ],
}


def _as_written() -> dict[str, Any]:
    seed = copy.deepcopy(ARGS)
    seed["target_date"] = "2026-03-15"  # a Sunday
    for feature in seed["features"]:
        feature.pop("flag", None)  # the skill's plan names no flags
    return seed


SEED_AS_WRITTEN: dict[str, Any] = _as_written()
