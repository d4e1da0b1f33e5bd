"""Initial schema: dossiers, documents, pages, procedure corrections (as `create_all` made them before).

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Constraint names are left to the database, exactly as `create_all` leaves them, so a database made by
`create_all` before migrations existed is this revision once stamped (see `storage.migrations.legacy`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("review_reasons", sa.JSON(), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=True),
        sa.Column("dossier_source", sa.String(length=16), nullable=True),
        sa.Column("procedure_id", sa.String(length=64), nullable=True),
        sa.Column("procedure_confidence", sa.Float(), nullable=True),
        sa.Column("procedure_candidates", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("mean_ocr_confidence", sa.Float(), nullable=True),
        sa.Column("original_key", sa.Text(), nullable=False),
        sa.Column("pdf_key", sa.Text(), nullable=True),
        sa.Column("text_key", sa.Text(), nullable=True),
        sa.Column("words_key", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["dossier_code"], ["dossiers.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_documents_dossier_code", "documents", ["dossier_code"], unique=False)
    op.create_index("ix_documents_procedure_id", "documents", ["procedure_id"], unique=False)
    op.create_index("ix_documents_sha256", "documents", ["sha256"], unique=True)
    op.create_index("ix_documents_status", "documents", ["status"], unique=False)
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_source", sa.String(length=8), nullable=False),
        sa.Column("ocr_confidence", sa.Float(), nullable=True),
        sa.Column("blank", sa.Boolean(), nullable=False),
        sa.Column("rotation", sa.Integer(), nullable=False),
        sa.Column("skew", sa.Float(), nullable=False),
        sa.Column("dpi", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "number"),
    )
    op.create_index("ix_pages_document_id", "pages", ["document_id"], unique=False)
    op.create_table(
        "procedure_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("old_procedure", sa.String(length=64), nullable=True),
        sa.Column("new_procedure", sa.String(length=64), nullable=False),
        sa.Column("corrected_by", sa.String(length=128), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_procedure_corrections_document_id", "procedure_corrections", ["document_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("procedure_corrections")
    op.drop_table("pages")
    op.drop_table("documents")
    op.drop_table("dossiers")
