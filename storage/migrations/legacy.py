"""Databases made by `create_all` before migrations existed: bring them to revision 0001 and stamp it.

Until migrations arrived, `create_database` ran `Base.metadata.create_all`, which adds missing tables but
never missing columns. So an embedded data folder started by an older release can lack the table and
columns later releases added; they are added here (all nullable or defaulted, no data touched) before the
database is stamped 0001. Nothing here may follow the live models: it describes revision 0001 for ever.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection

from storage.migrations import alembic_config

LEGACY_REVISION = "0001"
"""The revision a `create_all` database matches once the additions below are made."""


def _late_columns() -> list[sa.Column[Any]]:
    """Columns of `documents` added to the models after the first release, as revision 0001 has them."""
    return [
        sa.Column("words_key", sa.Text(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
    ]


def is_legacy(connection: Connection) -> bool:
    """True when sohoa's tables exist but no migration was ever recorded."""
    if MigrationContext.configure(connection).get_current_revision() is not None:
        return False
    return sa.inspect(connection).has_table("documents")


def adopt_legacy_schema(connection: Connection) -> bool:
    """Make a pre-migration database revision 0001 and stamp it; False when there was nothing to adopt."""
    if not is_legacy(connection):
        return False
    operations = Operations(MigrationContext.configure(connection))
    _add_late_columns(connection, operations)
    if not sa.inspect(connection).has_table("procedure_corrections"):
        _create_procedure_corrections(operations)
    command.stamp(alembic_config(connection), LEGACY_REVISION)
    return True


def _add_late_columns(connection: Connection, operations: Operations) -> None:
    present = {column["name"] for column in sa.inspect(connection).get_columns("documents")}
    for column in _late_columns():
        if column.name in present:
            continue
        operations.add_column("documents", column)
        if column.server_default is not None and connection.dialect.name == "postgresql":
            # 0001 has no server default; SQLite keeps a harmless one (dropping it means copying the table).
            operations.alter_column("documents", column.name, server_default=None)


def _create_procedure_corrections(operations: Operations) -> None:
    operations.create_table(
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
    operations.create_index(
        "ix_procedure_corrections_document_id", "procedure_corrections", ["document_id"], unique=False
    )
