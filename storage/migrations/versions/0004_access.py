"""Who may see what: units, identities (API keys and staff accounts), the audit trail, each document's unit,
API batches beside imports, webhooks and their deliveries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Existing documents get no unit (they belong to the province) and no `received_by`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=True),
        sa.Column("key_prefix", sa.String(length=16), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["unit"], ["units.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "name"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index("ix_identities_unit", "identities", ["unit"], unique=False)
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("dossier_code", sa.String(length=64), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_audit_entries_actor", "audit_entries", ["actor"], unique=False)
    op.create_index("ix_audit_entries_document_id", "audit_entries", ["document_id"], unique=False)
    op.create_index("ix_audit_entries_dossier_code", "audit_entries", ["dossier_code"], unique=False)
    # Plain ADD COLUMN, as in 0003: SQLite batch mode would rebuild `documents`, dropping its triggers.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE documents ADD COLUMN unit VARCHAR(64) REFERENCES units (code)")
    else:
        op.add_column("documents", sa.Column("unit", sa.String(length=64), nullable=True))
        op.create_foreign_key("documents_unit_fkey", "documents", "units", ["unit"], ["code"])
    op.add_column("documents", sa.Column("received_by", sa.String(length=160), nullable=True))
    op.add_column("documents", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("documents", sa.Column("withdrawn_reason", sa.Text(), nullable=True))
    op.create_index("ix_documents_unit", "documents", ["unit"], unique=False)
    op.add_column("imports", sa.Column("kind", sa.String(length=8), server_default="import", nullable=False))
    op.add_column("imports", sa.Column("created_by", sa.String(length=32), nullable=True))
    op.add_column("imports", sa.Column("unit", sa.String(length=64), nullable=True))
    op.create_index("ix_imports_created_by", "imports", ["created_by"], unique=False)
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhooks_owner_id", "webhooks", ["owner_id"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hook_id", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["hook_id"], ["webhooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hook_id", "event_key"),
    )
    op.create_index("ix_webhook_deliveries_hook_id", "webhook_deliveries", ["hook_id"], unique=False)
    op.create_index("ix_webhook_deliveries_state", "webhook_deliveries", ["state"], unique=False)
    op.create_index(
        "ix_webhook_deliveries_next_attempt_at", "webhook_deliveries", ["next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_index("ix_imports_created_by", table_name="imports")
    with op.batch_alter_table("imports") as batch:
        for column in ("unit", "created_by", "kind"):
            batch.drop_column(column)
    op.drop_index("ix_documents_unit", table_name="documents")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("documents_unit_fkey", "documents", type_="foreignkey")
    with op.batch_alter_table("documents") as batch:
        for column in ("withdrawn_reason", "withdrawn_at", "received_by", "unit"):
            batch.drop_column(column)
    op.drop_index("ix_audit_entries_dossier_code", table_name="audit_entries")
    op.drop_index("ix_audit_entries_document_id", table_name="audit_entries")
    op.drop_index("ix_audit_entries_actor", table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_index("ix_identities_unit", table_name="identities")
    op.drop_table("identities")
    op.drop_table("units")
