"""Signed copies: a staff account's signing certificate (its PKCS#12 kept encrypted under the server's
secret), and on each document who signed its stored PDF, when, and whether that PDF claims PDF/A-2b.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "signing_certificates",
        sa.Column("identity_id", sa.String(length=32), nullable=False),
        sa.Column("sealed_pkcs12", sa.LargeBinary(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("identity_id"),
    )
    op.add_column("documents", sa.Column("signed_by", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("documents", sa.Column("signature_error", sa.String(length=64), nullable=True))
    op.add_column("documents", sa.Column("pdfa", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "pdfa")
    op.drop_column("documents", "signature_error")
    op.drop_column("documents", "signed_at")
    op.drop_column("documents", "signed_by")
    op.drop_table("signing_certificates")
