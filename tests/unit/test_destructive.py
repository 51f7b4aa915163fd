"""The recogniser of data-destroying steps, over real command lines of the common migration tools."""

from __future__ import annotations

import pytest

from release_planner.tools.destructive import destructive, removes_old_path

DESTRUCTIVE = [
    ("alembic downgrade -1", "alembic downgrade"),
    ("alembic -c alembic.ini downgrade base", "alembic downgrade"),
    ("poetry run alembic downgrade head-1", "alembic downgrade"),
    ("bin/rails db:rollback STEP=1", "db:rollback"),
    ("bundle exec rake db:migrate:down VERSION=20240101000000", "db:migrate:down"),
    ("bin/rails db:migrate VERSION=20231201000000", "rails db:migrate VERSION="),
    ("rails db:migrate:redo", "db:migrate:down"),
    ("rails db:drop", "db:drop"),
    ("python manage.py migrate billing 0012_previous", "django migrate to an earlier migration"),
    ("python manage.py migrate billing zero", "django migrate to an earlier migration"),
    ("django-admin migrate --database=replica billing zero", "django migrate to an earlier migration"),
    ("python manage.py flush --noinput", "django flush"),
    ("flyway -url=jdbc:postgresql://db/app undo", "flyway undo"),
    ("flyway undo -target=7", "flyway undo"),
    ("flyway clean", "flyway clean"),
    ("liquibase rollback --tag=v2.4.0", "liquibase rollback"),
    ("liquibase rollbackCount 1", "liquibase rollback"),
    ("liquibase rollback-count --count=1", "liquibase rollback"),
    ("liquibase --changelog-file=db.xml rollback-to-date 2026-01-01", "liquibase rollback"),
    ("liquibase rollbackToDate 2026-01-01", "liquibase rollback"),
    ("mvn liquibase:rollback -Dliquibase.rollbackCount=1", "liquibase rollback"),
    ("npx prisma migrate reset --force", "prisma migrate reset"),
    ("npx prisma db push --force-reset", "prisma db push --force-reset"),
    ("npx prisma db push --accept-data-loss", "--accept-data-loss"),
    ("npx knex migrate:rollback --all", "migrate:rollback"),
    ("knex migrate:down 20240101_add_users.js", "migrate:rollback"),
    ("php artisan migrate:rollback --step=1", "migrate:rollback"),
    ("npx sequelize-cli db:migrate:undo", "db:migrate:undo"),
    ("npx sequelize-cli db:migrate:undo:all", "db:migrate:undo"),
    ('migrate -path ./migrations -database "$DATABASE_URL" down 1', "golang-migrate down"),
    ("migrate -source file://db -database postgres://db/app force 20240101", "golang-migrate down"),
    ("docker run migrate/migrate -path=/migrations -database $DB down -all", "golang-migrate down"),
    ("mix ecto.rollback --step 1", "ecto rollback"),
    ("goose -dir db postgres $DB down", "goose down"),
    ("dbmate rollback", "dbmate down"),
    ("diesel migration revert", "migration revert"),
    ("sqlx migrate revert", "migration revert"),
    ("npm run typeorm migration:revert", "typeorm migration:revert"),
    ("psql -c 'DROP TABLE users_old;'", "DROP TABLE"),
    ("DROP TABLE IF EXISTS legacy_sessions", "DROP TABLE"),
    ("DROP SCHEMA legacy CASCADE", "DROP SCHEMA"),
    ("DROP DATABASE app_v1", "DROP DATABASE"),
    ("ALTER TABLE users DROP COLUMN user_name", "DROP COLUMN"),
    ("alter table users drop user_name", "ALTER TABLE ... DROP"),
    ("ALTER TABLE orders ADD COLUMN x int; ALTER TABLE orders DROP y", "ALTER TABLE ... DROP"),
    ("TRUNCATE TABLE events", "TRUNCATE"),
    ("TRUNCATE audit_log", "TRUNCATE"),
    ("Run the down-migration", "down-migration"),
    ("Run reverse migration", "down-migration"),
    ("Downgrade the database schema", "down-migration"),
    ("Revert the last database migration", "down-migration"),
    # A condition is not a negation of the command that follows it.
    ("If the deploy does not succeed run alembic downgrade -1", "alembic downgrade"),
]

HARMLESS = [
    "alembic upgrade head",
    "alembic downgrade head:-1 --sql",  # offline mode prints the SQL and runs nothing
    "alembic history",
    "rails db:migrate",
    "rails db:migrate:status",
    "python manage.py migrate",
    "python manage.py migrate billing",
    "python manage.py migrate billing zero --plan",
    "flyway migrate",
    "flyway -cleanDisabled=true migrate",
    "flyway info",
    "liquibase update",
    "liquibase rollback-sql --tag=v1",
    "liquibase rollbackCountSQL 1",
    "liquibase update-testing-rollback",
    "npx prisma migrate deploy",
    "npx prisma db push",
    "npx knex migrate:latest",
    "npx sequelize-cli db:migrate",
    "migrate -path ./m -database $DB up",
    # Indexes, views and constraints hold no data and are rebuilt from what is left.
    "DROP INDEX CONCURRENTLY idx_users_email",
    "DROP VIEW v_users",
    "ALTER TABLE users DROP CONSTRAINT fk_org",
    "ALTER TABLE users ALTER COLUMN email DROP NOT NULL",
    "ALTER TABLE users ALTER COLUMN email DROP DEFAULT",
    # Application rollbacks.
    "helm rollback api 3",
    "kubectl rollout undo deployment/api",
    "kubectl delete -f k8s/elasticsearch.yaml",
    "kubectl scale deployment/api --replicas=0",
    "git revert abc123",
    "Roll back the deployment",
    "curl -X POST https://flags.example.com/api/emergency-disable",
    # Negated.
    "Do not run alembic downgrade",
    "No down-migration: redeploy the previous image",
    "never use `flyway undo`",
    "Redeploy the previous version without a down-migration",
    # Prose that only shares a word.
    "Drop traffic to 0%",
    "Truncate the log output",
    "SELECT * FROM users WHERE dropped = true",
]


@pytest.mark.parametrize(("command", "name"), DESTRUCTIVE)
def test_a_destructive_command_is_named(command: str, name: str) -> None:
    assert destructive(command) == name


@pytest.mark.parametrize("command", HARMLESS)
def test_a_forward_preview_negated_or_rebuildable_step_is_not_destructive(command: str) -> None:
    assert destructive(command) is None


def test_empty_text_is_not_destructive() -> None:
    assert destructive(None) is None and destructive("") is None


@pytest.mark.parametrize(
    "action",
    [
        "Drop the user_name column",
        "Drop column user_name",
        "Remove the v1 endpoints",
        "Shut down the legacy API",
        "Old API is removed",
        "Disable /api/v1 routes",
        "Delete the old sessions table",
        "Drop table users_old",
        "Remove the v1 endpoints from the gateway",
        "Turn off the legacy API permanently",
        "Email customers, then remove the v1 endpoints",
        "ALTER TABLE users DROP COLUMN user_name",
    ],
)
def test_a_phase_action_that_drops_the_old_thing_is_recognised(action: str) -> None:
    assert removes_old_path(action)


@pytest.mark.parametrize(
    "action",
    [
        "Email users that the v1 endpoints will be removed",
        "Announce removal of the v1 API",
        "Do not drop the table yet",
        "Remove deprecation warnings from the response",
        "Remove feature flag enable_api_v2",
        "Remove v1 from the docs navigation",
        "Disable API key creation for new customers",
        "Turn off the backfill job",
        "Both old and new API versions available",
        "Old API returns 410 Gone",
        "Add deprecation warnings to API responses",
        "Publish migration guide",
    ],
)
def test_a_phase_action_that_keeps_announces_or_negates_is_not_a_removal(action: str) -> None:
    assert not removes_old_path(action)
