"""Bulk intake: resumable imports and their items, scanned stacks, per-document group and manifest facts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Every new column is nullable, so existing documents are untouched: they belong to no group, stack or import.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "stacks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("original_key", sa.Text(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("part_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stacks_sha256", "stacks", ["sha256"], unique=True)
    op.create_table(
        "imports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "import_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("last_run", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("import_id", "source"),
    )
    op.create_index("ix_import_items_import_id", "import_items", ["import_id"], unique=False)
    # Plain ADD COLUMN on both databases: SQLite's batch mode would rebuild `documents` and drop the
    # full-text triggers of 0002. SQLite takes the foreign key inline, PostgreSQL as a named constraint.
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("documents", sa.Column("group_key", sa.String(length=255), nullable=True))
    if sqlite:  # alembic refuses a foreign key in ADD COLUMN on SQLite; SQLite itself takes it inline
        op.execute("ALTER TABLE documents ADD COLUMN stack_id VARCHAR(32) REFERENCES stacks (id)")
    else:
        op.add_column("documents", sa.Column("stack_id", sa.String(length=32), nullable=True))
    op.add_column("documents", sa.Column("given_procedure", sa.String(length=64), nullable=True))
    op.add_column("documents", sa.Column("received_on", sa.Date(), nullable=True))
    op.add_column("documents", sa.Column("applicant", sa.Text(), nullable=True))
    op.create_index("ix_documents_group_key", "documents", ["group_key"], unique=False)
    op.create_index("ix_documents_stack_id", "documents", ["stack_id"], unique=False)
    if not sqlite:
        op.create_foreign_key("documents_stack_id_fkey", "documents", "stacks", ["stack_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("documents_stack_id_fkey", "documents", type_="foreignkey")
    op.drop_index("ix_documents_stack_id", table_name="documents")
    op.drop_index("ix_documents_group_key", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        for column in ("applicant", "received_on", "given_procedure", "stack_id", "group_key"):
            batch.drop_column(column)
    op.drop_table("import_items")
    op.drop_table("imports")
    op.drop_index("ix_stacks_sha256", table_name="stacks")
    op.drop_table("stacks")
