"""Leases that prove they are alive: each document's lease names its process and is renewed on a heartbeat;
the pages of a fanned-out document get leases of their own.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Documents processing when this runs have no heartbeat: they count as abandoned and the sweep resends them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("claimed_process", sa.String(length=255), nullable=True))
    op.add_column("documents", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "page_leases",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_process", sa.String(length=255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("page_leases")
    op.drop_column("documents", "heartbeat_at")
    op.drop_column("documents", "claimed_process")
