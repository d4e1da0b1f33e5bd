"""Staff web sessions and login lockout: a table of signed-in browsers (only a hash of each cookie), and on
each account the count of failed logins in a row and until when it is locked; the scanning station a document
came from.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "identities", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.add_column("identities", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("documents", sa.Column("station", sa.String(length=64), nullable=True))
    op.create_index("ix_documents_station", "documents", ["station"])
    op.create_index("ix_documents_finished_at", "documents", ["finished_at"])  # the dashboard's periods
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("identity_id", sa.String(length=32), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_web_sessions_identity_id", "web_sessions", ["identity_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_identity_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index("ix_documents_finished_at", table_name="documents")
    op.drop_index("ix_documents_station", table_name="documents")
    op.drop_column("documents", "station")
    op.drop_column("identities", "locked_until")
    op.drop_column("identities", "failed_logins")
