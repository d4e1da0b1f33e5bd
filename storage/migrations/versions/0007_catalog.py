"""Imported procedure catalogs: a table of the versions a province imported (at most one active), and on each
document the catalog version it was classified with and the kind of component document it is.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_versions",
        sa.Column("version", sa.String(length=12), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("procedures", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=160), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_index(  # at most one active catalog, whatever two concurrent imports do
        "uq_catalog_versions_active",
        "catalog_versions",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.add_column("documents", sa.Column("catalog_version", sa.String(length=12), nullable=True))
    op.add_column("documents", sa.Column("document_kind", sa.String(length=48), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "document_kind")
    op.drop_column("documents", "catalog_version")
    op.drop_index("uq_catalog_versions_active", table_name="catalog_versions")
    op.drop_table("catalog_versions")
