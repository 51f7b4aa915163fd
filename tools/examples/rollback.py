"""Step 3, the rollback strategy of the skill's v2.5.0 example, as ``design_rollback`` arguments.

``ARGS`` is the example corrected: every automatic trigger has a sustained window (the payment one had
none), confidence is left to be computed from the rehearsals, no database procedure is listed because
v2.5.0 ships no migrations, and the external notice follows one set of outage thresholds (the skill
gave both "only if > 15 min" and "status page for a 5-10 min code rollback").

``SEED_AS_WRITTEN`` is the skill's generic step-3 template filled in as written for v2.5.0: an
``alembic downgrade -1`` database rollback that loses data, hand-typed confidences 0.95/0.70/0.99/0.50
and no rehearsal dates. It must draw ``confidence_without_rehearsal`` and
``destructive_database_rollback``.
"""

from __future__ import annotations

from typing import Any

FLAGS = [
    "enable_payment_processing",
    "enable_elasticsearch_search",
    "enable_websocket_notifications",
    "enable_dark_mode",
]

_REHEARSAL_TEAM = ["Alice Chen (on-call)", "Bob Wilson (release engineer)", "Carol Davis (DevOps)"]

ARGS: dict[str, Any] = {
    "version": "v2.5.0",
    "automatic_triggers": [
        {"metric": "error_rate", "comparator": ">", "threshold": 5, "unit": "percent", "window_minutes": 5},
        {"metric": "latency_p99", "comparator": ">", "threshold": 2, "unit": "seconds", "window_minutes": 10},
        {
            "metric": "payment_failure_rate",
            "comparator": ">",
            "threshold": 2,
            "unit": "percent",
            "window_minutes": 5,
        },
        {
            "metric": "db_pool_utilization",
            "comparator": ">",
            "threshold": 90,
            "unit": "percent",
            "window_minutes": 5,
        },
    ],
    "manual_triggers": [
        "Payment data corruption detected",
        "Critical security vulnerability in the Stripe integration",
        "Elasticsearch cluster unresponsive for more than 10 minutes",
        "Executive decision (e.g. major customer complaint)",
    ],
    "procedures": [
        {
            "type": "feature_flag",
            "applies_to": FLAGS,
            "complexity": "very_low",
            "risk": "very_low",
            "time_to_rollback_minutes": 1,
            "steps": [
                {"action": "Open the feature flag dashboard: https://flags.example.com/dashboard"},
                {
                    "action": "Set the four v2.5.0 flags to 0% (or only the affected cohort)",
                    "command": "curl -X POST https://flags.example.com/api/emergency-disable \\\n"
                    '  -d \'{"release": "v2.5.0"}\' \\\n'
                    '  -H "Authorization: Bearer $EMERGENCY_TOKEN"',
                },
                {"action": "Verify users see the old experience (test with an internal account)"},
                {"action": 'Post in Slack #incidents: "Features disabled via flags - investigating"'},
                {"action": "Monitor error rates for 5 minutes"},
            ],
            "prerequisites": [
                "All new features behind feature flags",
                "Old code paths still functional",
                "Flag dashboard accessible to the on-call engineer",
            ],
            "data_loss_risk": "none",
            "rehearsal": {
                "date": "2026-03-12",
                "measured_minutes": 0.75,
                "environment": "staging",
                "participants": _REHEARSAL_TEAM,
                "issues_found": [],
            },
        },
        {
            "type": "application",
            "applies_to": ["all"],
            "complexity": "low",
            "risk": "low",
            "time_to_rollback_minutes": 10,
            "time_to_rollback_best_minutes": 5,
            "steps": [
                {"action": "Disable all feature flags (see Type 1)"},
                {
                    "action": "Roll back the Kubernetes deployments",
                    "command": "kubectl rollout undo deployment/api-server\n"
                    "kubectl rollout undo deployment/websocket-server",
                },
                {
                    "action": "Verify pods healthy (all Running, Ready 1/1)",
                    "command": 'kubectl get pods | grep -E "api-server|websocket"',
                },
                {"action": "Run smoke tests", "command": "npm run test:smoke"},
                {"action": "Monitor for 10 minutes"},
            ],
            "prerequisites": [
                "Previous Docker images available in registry",
                "No database migration in this release",
            ],
            "data_loss_risk": "none",
            "rehearsal": {
                "date": "2026-03-12",
                "measured_minutes": 7,
                "environment": "staging",
                "participants": _REHEARSAL_TEAM,
                "issues_found": [],
            },
        },
        {
            "type": "infrastructure",
            "applies_to": ["Elasticsearch cluster", "WebSocket infrastructure"],
            "complexity": "high",
            "risk": "medium",
            "time_to_rollback_minutes": 120,
            "time_to_rollback_best_minutes": 60,
            "steps": [
                {"action": "Declare a P0 incident and page the engineering lead"},
                {"action": "Disable feature flags (Type 1)"},
                {
                    "action": "Remove the Elasticsearch cluster; search falls back to SQL automatically",
                    "command": "kubectl delete -f k8s/elasticsearch.yaml",
                },
                {
                    "action": "Scale the WebSocket servers to zero; clients fall back to polling",
                    "command": "kubectl scale deployment/websocket-server --replicas=0",
                },
                {"action": "Verify the application is healthy without the new infrastructure"},
                {"action": "Schedule the infrastructure fix for the next release"},
            ],
            "prerequisites": [
                "Fallback mechanisms in code (SQL search, polling)",
                "Graceful degradation tested",
            ],
            "data_loss_risk": "none",
        },
    ],
    "communication": {
        "internal_channel": "Slack #incidents",
        "internal_template": "ROLLBACK IN PROGRESS\n"
        "Release: v2.5.0\n"
        "Reason: <trigger, e.g. payment processing error rate 8%>\n"
        "Method: <procedure, e.g. feature flag disable (Type 1)>\n"
        "ETA: <minutes>\n"
        "Impact: New features disabled, existing functionality unaffected\n"
        "Status: Bob Wilson will update every 5 min",
        "external_channel": "Status page",
        "external_template": "We've temporarily disabled some new features while we investigate an issue. "
        "All existing functionality is working normally. Your data is safe.",
        "rules": [
            {"max_outage_minutes": 1, "channels": []},
            {
                "min_outage_minutes": 1,
                "max_outage_minutes": 60,
                "channels": ["Status page"],
                "audience": "All users",
            },
            {
                "min_outage_minutes": 60,
                "channels": ["Status page", "Email"],
                "audience": "Enterprise customers",
            },
        ],
    },
}


SEED_AS_WRITTEN: dict[str, Any] = {
    "version": "v2.5.0",
    "automatic_triggers": [
        {"metric": "error_rate", "comparator": ">", "threshold": 5, "unit": "percent", "window_minutes": 5},
        {"metric": "latency_p99", "comparator": ">", "threshold": 2, "unit": "seconds", "window_minutes": 10},
        # "Database connection pool exhausted": one observation, no window.
        {"metric": "db_pool_utilization", "comparator": ">=", "threshold": 100, "unit": "percent"},
    ],
    "manual_triggers": [
        "Critical security vulnerability discovered",
        "Data corruption detected",
        "Critical bug affecting more than 10% of users",
        "Performance degradation causing customer complaints",
        "Executive decision (compliance, legal, business)",
    ],
    "procedures": [
        {
            "type": "application",
            "applies_to": ["all"],
            "complexity": "low",
            "risk": "very_low",
            "time_to_rollback_minutes": 10,
            "time_to_rollback_best_minutes": 5,
            "steps": [
                {
                    "action": "Run the rollback command",
                    "command": "kubectl rollout undo deployment/api-server",
                },
                {"action": "Verify previous version pods healthy", "command": "kubectl get pods"},
                {"action": "Monitor error rates for 5 minutes"},
                {"action": "Post incident report in #incidents Slack channel"},
            ],
            "prerequisites": [
                "Previous Docker image available in registry",
                "No database migration in this release (or see Type 2)",
            ],
            "confidence": 0.95,
        },
        {
            "type": "database",
            "applies_to": ["Database schema"],
            "complexity": "high",
            "risk": "medium",
            "time_to_rollback_minutes": 60,
            "time_to_rollback_best_minutes": 30,
            "steps": [
                {"action": "Put application in maintenance mode"},
                {
                    "action": "Stop all application pods",
                    "command": "kubectl scale deployment/api-server --replicas=0",
                },
                {"action": "Run reverse migration", "command": "alembic downgrade -1"},
                {"action": "Verify schema rolled back: check column exists"},
                {"action": "Deploy previous application version"},
                {"action": "Verify application healthy"},
                {"action": "Exit maintenance mode"},
                {"action": "Monitor for data consistency issues"},
            ],
            "prerequisites": [
                "Reverse migration tested in staging",
                "Database backup taken before migration",
                "Maintenance mode procedure tested",
            ],
            "data_loss_risk": "possible",
            "data_loss_mitigation": "Take database snapshot before rollback for later recovery",
            "confidence": 0.70,
        },
        {
            "type": "feature_flag",
            "applies_to": ["enable_new_payment_flow"],
            "complexity": "very_low",
            "risk": "very_low",
            "time_to_rollback_minutes": 1,
            "steps": [
                {"action": "Open feature flag dashboard"},
                {"action": "Find flag: enable_new_payment_flow"},
                {"action": "Set to false for all users (or specific cohort)"},
                {"action": "Verify users see old experience"},
                {"action": "Monitor metrics for 5 minutes"},
            ],
            "prerequisites": [
                "Feature behind flag in code",
                "Flag dashboard access for on-call engineer",
                "Both old and new code paths functional",
            ],
            "confidence": 0.99,
        },
        {
            "type": "infrastructure",
            "applies_to": ["Kubernetes cluster", "Database version", "Load balancer configuration"],
            "complexity": "very_high",
            "risk": "high",
            "time_to_rollback_minutes": 240,
            "time_to_rollback_best_minutes": 120,
            "steps": [
                {"action": "Declare P0 incident"},
                {"action": "Assemble incident team (DevOps, Backend, Frontend)"},
                {"action": "Follow infrastructure rollback runbook"},
                {"action": "Coordinate with external vendors if needed"},
                {
                    "action": "Execute rollback in stages: infrastructure changes, then application code, "
                    "then verify all services healthy"
                },
                {"action": "Post-incident review within 24 hours"},
            ],
            "prerequisites": [
                "Infrastructure as code in git (can revert commit)",
                "Backup of previous infrastructure state",
                "Runbook tested in disaster recovery drill",
            ],
            "confidence": 0.50,
        },
    ],
    "communication": {
        "internal_channel": "Slack #incidents",
        "internal_template": "ROLLBACK IN PROGRESS\nRelease: v2.5.0\nReason: [Error rate spike]\n"
        "ETA: [10 minutes]\nStatus updates: Every 5 min",
        "external_channel": "Status page",
        "external_template": "We've identified an issue with today's release and are rolling back to the "
        "previous version. Your data is safe. Service will be fully restored within [N] minutes.",
        "rules": [
            {"max_outage_minutes": 15, "channels": ["Status page"], "audience": "All users"},
            {"min_outage_minutes": 15, "channels": ["Email"], "audience": "Affected customers"},
        ],
    },
}
