"""Helpers for tests of one migration: the revision before it, and rows written in raw SQL
(the ORM models describe the head schema, not the one a test migrates from)."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import TextClause, text

from astroshield.config import Settings
from astroshield.migrate import alembic_config


def revision_before(settings: Settings, revision: str) -> str:
    before = ScriptDirectory.from_config(alembic_config(settings)).get_revision(revision)
    assert before is not None and isinstance(before.down_revision, str)
    return before.down_revision


def insert_organisation(organisation_id: str) -> TextClause:
    return text(
        "INSERT INTO organisations (id, name, slug, created_at) VALUES "
        f"('{organisation_id}', 'org', 'org', CURRENT_TIMESTAMP)"
    )
