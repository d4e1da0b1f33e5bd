"""Where things are kept: the object store (original bytes, PDFs, text) and the metadata database.

Public pieces: `objects.ObjectStore` with `objects.LocalObjectStore` and `s3.S3ObjectStore`, `migrate.migrate`
between them; `db.create_database` / `db.upgrade_database` / `db.Database`; `search` (full text); the models
in `models`; the repositories in `repositories`; `backup.backup` / `backup.restore` (snapshots). Repositories
never commit: the caller's unit of work does.
"""
