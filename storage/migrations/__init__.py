"""Alembic migrations of the metadata database, shipped inside the package and run without an alembic.ini.

Public pieces: `alembic_config` (the configuration `storage.db` runs upgrades with), `include_name`
(what autogenerate compares: the ORM tables, not the search objects) and `legacy.adopt_legacy_schema`
(databases made by `create_all` before migrations existed).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

SCRIPT_LOCATION = Path(__file__).resolve().parent
"""Folder holding env.py, script.py.mako and versions/."""

HEAD_REVISION = "0008"
"""The newest revision shipped (a test checks it is alembic's head): a process whose database is there
already starts without importing alembic at all (about half a second)."""

SEARCH_TABLE_PREFIX = "search_text"
"""Full-text search objects (PostgreSQL `search_text`, SQLite `search_text` + `search_text_fts*`): made
by migration 0002 with dialect-specific DDL, so they are not ORM models and autogenerate must skip them."""


def alembic_config(connection: Connection | None = None) -> Config:
    """A configuration pointing at these migrations; with a connection, env.py migrates on it."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str | None:
    """The newest revision shipped with this code, as alembic reads it from the scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Autogenerate filter: skip the search tables (their indexes and triggers go with them)."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE_PREFIX))
