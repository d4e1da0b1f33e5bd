"""Alembic environment for sohoa's metadata database.

`storage.db.upgrade_database` hands over an open connection (in `config.attributes["connection"]`), already
inside the transaction and lock it wants. From the command line (developers: `alembic revision
--autogenerate`), the URL comes from `-x url=...`, then `sqlalchemy.url`, then `SOHOA_DATABASE_URL`.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from storage.db import normalise_url
from storage.migrations import include_name
from storage.models import Base

config = context.config


def command_line_url() -> str:
    """The database to migrate when Alembic runs from its command line."""
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    url = url or os.environ.get("SOHOA_DATABASE_URL")
    if not url:
        raise SystemExit(
            "give the database: alembic -x url=sqlite:///path/to/sohoa.db ... (or SOHOA_DATABASE_URL)"
        )
    return normalise_url(url)


def run_on(connection: Connection) -> None:
    """Migrate on this connection; batch mode on SQLite, whose ALTER TABLE is limited."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade head --sql`)."""
    url = command_line_url()
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate on the connection storage.db gave, or on a fresh one from the command line."""
    given = config.attributes.get("connection")
    if given is not None:
        run_on(given)
        return
    engine = create_engine(command_line_url())
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
