"""Recognise steps that destroy data: down-migrations of the common tools and raw destructive SQL.

Pure functions over one piece of text (a shell command, a SQL statement, or a sentence of prose), so
the rollback strategy, the runbook and the migration path all judge the same words the same way.

``destructive(text)`` names what it found (``"alembic downgrade"``, ``"DROP TABLE"``), or returns
None. What counts, and why:

* down-migrations, which undo schema changes and so drop what the release added together with the
  data written into it since: alembic ``downgrade``; Rails ``db:rollback``, ``db:migrate:down``,
  ``db:migrate:redo``, ``db:migrate VERSION=``; Django ``migrate <app> <earlier>`` and
  ``migrate <app> zero``; Flyway ``undo``; Liquibase ``rollback``, ``rollback-count``,
  ``rollback-to-date`` (and their camelCase forms); Knex and Laravel ``migrate:rollback``,
  ``migrate:down``, ``migrate:reset``/``fresh``/``refresh``; Sequelize ``db:migrate:undo[:all]``;
  golang-migrate ``down``, ``drop`` and ``force`` (which marks a version applied without running it);
  TypeORM ``migration:revert``; Ecto ``ecto.rollback``; goose and dbmate ``down``; diesel and sqlx
  ``revert``;
* resets that drop everything: Prisma ``migrate reset``, ``db push --force-reset`` or
  ``--accept-data-loss``; Flyway ``clean``; Liquibase ``drop-all``; Rails and Sequelize ``db:drop``,
  ``db:reset``, ``db:purge``; Django ``flush``; Ecto ``ecto.drop``/``ecto.reset``; Laravel ``db:wipe``;
* raw SQL that deletes stored data: ``DROP TABLE|COLUMN|SCHEMA|DATABASE``, ``TRUNCATE`` and
  ``ALTER TABLE ... DROP <column>``;
* prose that says the same: "run the down-migration", "reverse migration", "downgrade the schema",
  "revert the database migration".

What does not count: previews that only print SQL (``alembic ... --sql``, Liquibase ``*-sql``,
Django ``--plan``); forward migrations (``alembic upgrade head``, ``rails db:migrate``, ``flyway
migrate``, ``prisma migrate deploy``); dropping what holds no data and can be rebuilt from what is
left (``DROP INDEX`` even ``CONCURRENTLY``, views, functions, triggers, ``ALTER TABLE ... DROP
CONSTRAINT|DEFAULT|NOT NULL``); application rollbacks (``helm rollback``, ``kubectl rollout undo``);
and anything negated in its clause ("do not run alembic downgrade", "no down-migration").

``removes_old_path(text)`` is the prose form a migration phase uses to drop the old thing ("drop the
user_name column", "remove the v1 endpoints", "shut down the legacy API"); a sentence that announces,
plans or negates it ("email users that v1 will be removed", "do not drop the table yet") is not one.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
# Within one shell command: stop at a newline or a command separator.
_ARGS = r"[^\n;&|]*?"
# A sub-command standing as its own word (not part of a flag, path or longer name).
_ALONE_BEFORE = r"(?<![\w/.:=-])"
_ALONE_AFTER = r"(?![\w/.=-])"

# (what it is called in a finding, pattern)
_COMMANDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, _I))
    for name, pattern in (
        ("alembic downgrade", rf"\balembic\b{_ARGS}{_ALONE_BEFORE}downgrade{_ALONE_AFTER}"),
        ("rails db:migrate VERSION=", rf"\bdb:migrate\s{_ARGS}\bVERSION=\S"),
        ("db:rollback", r"\bdb:rollback\b"),
        ("db:migrate:down", r"\bdb:migrate:(?:down|redo)\b"),
        ("db:migrate:undo", r"\bdb:migrate:undo(?::all)?\b"),
        ("db:drop", r"\bdb:(?:drop|reset|purge|wipe)\b"),
        (
            "django migrate to an earlier migration",
            r"\b(?:manage\.py|django-admin)\s+migrate\s+(?:--?[\w-]+(?:=\S+)?\s+)*[A-Za-z_]\w*\s+"
            r"(?:zero|\d{4}\w*)(?![\w-])",
        ),
        ("django flush", r"\b(?:manage\.py|django-admin)\s+(?:flush|reset_db)\b"),
        ("flyway undo", rf"\bflyway\b{_ARGS}{_ALONE_BEFORE}undo{_ALONE_AFTER}"),
        ("flyway clean", rf"\bflyway\b{_ARGS}{_ALONE_BEFORE}clean{_ALONE_AFTER}"),
        (
            "liquibase rollback",
            rf"\bliquibase\b{_ARGS}(?<![\w-])(?:rollback(?:-count|-to-date|-one-changeset|-one-update|Count"
            r"|ToDate|OneChangeSet|OneUpdate)?|drop-?all)(?![\w-])",
        ),
        ("prisma migrate reset", r"\bprisma\s+migrate\s+reset\b"),
        ("prisma db push --force-reset", rf"\bprisma\s+db\s+push\b{_ARGS}--force-reset\b"),
        ("--accept-data-loss", r"--accept-data-loss\b"),
        ("migrate:rollback", r"\bmigrate:(?:rollback|down|reset|fresh|refresh)\b"),
        ("typeorm migration:revert", r"\bmigration:revert\b"),
        ("ecto rollback", r"\becto\.(?:rollback|drop|reset)\b"),
        (
            "golang-migrate down",
            r"\bmigrate\s+(?:-{1,2}[\w-]+(?:[= ](?:\"[^\"]*\"|'[^']*'|[^\s-]\S*))?\s+)*(?:down|drop|force)\b",
        ),
        ("goose down", rf"\bgoose\b{_ARGS}{_ALONE_BEFORE}(?:down|down-to|reset){_ALONE_AFTER}"),
        ("dbmate down", rf"\bdbmate\b{_ARGS}{_ALONE_BEFORE}(?:down|rollback|drop){_ALONE_AFTER}"),
        ("migration revert", r"\b(?:diesel\s+migration|sqlx\s+migrate)\s+(?:revert|redo)\b"),
        ("DROP TABLE", r"\bDROP\s+TABLE\b"),
        ("DROP COLUMN", r"\bDROP\s+COLUMN\b"),
        ("DROP SCHEMA", r"\bDROP\s+SCHEMA\b"),
        ("DROP DATABASE", r"\bDROP\s+DATABASE\b"),
        # In capitals as SQL is written, or with TABLE; "truncate the log output" is prose.
        ("TRUNCATE", r"(?-i:\bTRUNCATE\s+)(?:TABLE\s+)?(?:ONLY\s+)?[\"`\[]?[A-Za-z_]|\bTRUNCATE\s+TABLE\b"),
        (
            "ALTER TABLE ... DROP",
            r"\bALTER\s+TABLE\b[^;]*?\bDROP\s+(?!(?:CONSTRAINT|INDEX|KEY|DEFAULT|NOT\s+NULL|FOREIGN|PRIMARY"
            r"|CHECK|PARTITION|TRIGGER|EXPRESSION|IDENTITY)\b)[\"`\[]?\w",
        ),
        (
            "down-migration",
            r"\b(?:down|reverse)[- ]?migrations?\b|\bdowngrade\s+(?:the\s+)?(?:database|schema|db)\b"
            r"|\b(?:revert|roll\s*back|undo)\s+(?:the\s+)?(?:last\s+|latest\s+)?(?:schema|database|db)\s+"
            r"migrations?\b",
        ),
    )
)

# Previews print the SQL a command would run and change nothing (Liquibase's ``*-sql`` commands are
# already left out by the pattern, as is ``update-testing-rollback``, which ends where it started).
_PREVIEW = re.compile(r"\s--(?:sql|plan)\b", _I)

# A negation that governs the match: "do not run alembic downgrade", "without a down-migration",
# "never use `flyway undo`": the negating word, at most one verb and an article, right before it.
_NEGATED = re.compile(
    r"\b(?:no|not|never|without|avoid\w*|don'?t|doesn'?t|instead\s+of|rather\s+than)\s+"
    r"(?:[\w-]+\s+)?(?:(?:a|an|the|any)\s+)?[`'\"]?$",
    _I,
)
_CLAUSE_BREAK = re.compile(r"[.;,:!?\n()]|&&|\|\||\bthen\b|\bbut\b", _I)


def negated(text: str, start: int) -> bool:
    """Whether the words of ``text`` right before position ``start`` negate what stands there."""
    return bool(_NEGATED.search(text[:start]))


def _clause_around(text: str, start: int, end: int) -> str:
    """The clause a match sits in: from the clause break before it to the one after it."""
    before = [m.end() for m in _CLAUSE_BREAK.finditer(text, 0, start)]
    after = _CLAUSE_BREAK.search(text, end)
    return text[before[-1] if before else 0 : after.start() if after else len(text)]


def _command_around(text: str, start: int, end: int) -> str:
    """The shell command a match sits in: from the last separator before it to the next one."""
    left = max(text.rfind(sep, 0, start) for sep in ("\n", ";", "&&", "||"))
    rights = [i for i in (text.find(sep, end) for sep in ("\n", ";", "&&", "||")) if i != -1]
    return text[left + 1 : min(rights) if rights else len(text)]


def destructive(text: str | None) -> str | None:
    """The name of the first data-destroying command or statement in ``text``, or None."""
    if not text:
        return None
    for name, pattern in _COMMANDS:
        for m in pattern.finditer(text):
            if negated(text, m.start()) or _PREVIEW.search(_command_around(text, m.start(), m.end())):
                continue
            return name
    return None


# ----- prose that drops the old thing, as a migration phase says it


_REMOVE_VERB = (
    r"(?:drop|drops|dropping|remove|removes|removing|delete|deletes|deleting|decommission|decommissions"
    r"|retire|retires|purge|purges|tear\s+down|tears\s+down|shut\s+(?:down|off)|shuts\s+(?:down|off)"
    r"|switch\s+off|switches\s+off|turn\s+off|turns\s+off|disable|disables|sunset)"
)
_OLD_THING = (
    r"(?:columns?|tables?|schemas?|databases?|fields?|endpoints?|apis?|routes?|collections?"
    r"|v\d+(?:\.\d+)*)"
)
# Up to three words between the verb and the thing ("drop the old user_name column"), none of them a
# preposition or conjunction that would make the thing belong to another phrase.
_LINK_WORDS = r"(?:from|to|for|in|on|with|of|and|or|after|before|once|when|until|into|by|that|which)"
# The thing must end its phrase ("disable API key creation" disables key creation, not the API), unless
# a name follows it ("drop table users_old"); and where it is only taken out of the documentation or
# the UI ("remove v1 from the docs"), the path itself stays.
_PHRASE_END = (
    r"(?=\s*$|\s*[.,;:!?)(]|\s+[`'\"]?[\w.]*[_.`'\"][\w.]*|\s+(?:for|in|on|at|and|or|with|to|after|once|when"
    r"|if|behind|across|entirely|completely|permanently|for\s+good|from(?!\s+(?:the\s+)?(?:docs?|documentation"
    r"|navigation|nav|menus?|sidebar|examples?|readme|guides?|sdks?|ui|dashboards?|website|portal|changelog"
    r"|openapi|spec))\b))"
)
_REMOVES = re.compile(
    rf"\b{_REMOVE_VERB}\s+(?:(?!{_LINK_WORDS}\b)[\w/`'\".:{{}}\[\]-]+\s+){{0,3}}?{_OLD_THING}\b{_PHRASE_END}"
    rf"|\b{_OLD_THING}\s+(?:is|are|gets?|will\s+be)?\s*(?:dropped|removed|deleted|decommissioned"
    r"|retired|purged|shut\s+down|switched\s+off|turned\s+off|disabled|sunset)\b",
    _I,
)
# The sentence only talks about the removal: it announces, schedules or warns of it.
_ONLY_TALKS = re.compile(
    r"\b(?:will|would|going\s+to|to\s+be|plan|plans|planned|planning|schedul\w*|announc\w*|notif\w*|"
    r"e-?mails?|warn\w*|notice|deadline|remind\w*|tell|inform\w*|publish\w*|blog|changelog|prepare\w*)\b",
    _I,
)


def removes_old_path(text: str | None) -> bool:
    """Whether a sentence says the phase drops, removes or switches off the old thing."""
    if not text:
        return False
    if destructive(text) is not None:
        return True
    for m in _REMOVES.finditer(text):
        if negated(text, m.start()) or _ONLY_TALKS.search(_clause_around(text, m.start(), m.end())):
            continue
        return True
    return False
