"""Full-text search over documents' accent-folded text (PostgreSQL tsvector + GIN, SQLite FTS5).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Both dialects keep one row per document in `search_text` (original text for snippets, folded text for
matching), deleted with its document. PostgreSQL derives a `simple`-configuration tsvector from the folded
text in a generated column; SQLite keeps an external-content FTS5 index in step with triggers (FTS5 needs
a stable integer rowid, hence the `id` column there). Used by `storage.search`.
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

POSTGRESQL_UP = [
    """
    CREATE TABLE search_text (
        document_id VARCHAR(32) PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        folded TEXT NOT NULL,
        terms TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', folded)) STORED
    )
    """,
    "CREATE INDEX ix_search_text_terms ON search_text USING GIN (terms)",
]

SQLITE_UP = [
    """
    CREATE TABLE search_text (
        id INTEGER PRIMARY KEY,
        document_id VARCHAR(32) NOT NULL UNIQUE REFERENCES documents (id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        folded TEXT NOT NULL
    )
    """,
    """
    CREATE VIRTUAL TABLE search_text_fts USING fts5(
        folded, content='search_text', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER search_text_after_insert AFTER INSERT ON search_text BEGIN
        INSERT INTO search_text_fts (rowid, folded) VALUES (new.id, new.folded);
    END
    """,
    """
    CREATE TRIGGER search_text_after_delete AFTER DELETE ON search_text BEGIN
        INSERT INTO search_text_fts (search_text_fts, rowid, folded) VALUES ('delete', old.id, old.folded);
    END
    """,
    """
    CREATE TRIGGER search_text_after_update AFTER UPDATE ON search_text BEGIN
        INSERT INTO search_text_fts (search_text_fts, rowid, folded) VALUES ('delete', old.id, old.folded);
        INSERT INTO search_text_fts (rowid, folded) VALUES (new.id, new.folded);
    END
    """,
]

SQLITE_DOWN = [
    "DROP TRIGGER search_text_after_update",
    "DROP TRIGGER search_text_after_delete",
    "DROP TRIGGER search_text_after_insert",
    "DROP TABLE search_text_fts",
    "DROP TABLE search_text",
]


def _dialect() -> str:
    return op.get_context().dialect.name


def upgrade() -> None:
    dialect = _dialect()
    if dialect == "postgresql":
        statements = POSTGRESQL_UP
    elif dialect == "sqlite":
        statements = SQLITE_UP
    else:
        raise NotImplementedError(f"full-text search is written for PostgreSQL and SQLite, not {dialect}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if _dialect() == "sqlite" else ["DROP TABLE search_text"]:
        op.execute(statement)
