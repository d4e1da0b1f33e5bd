"""Where things are kept: the object store (original bytes, PDFs, text) and the metadata database.

Public pieces: `objects.ObjectStore` with `objects.LocalObjectStore` (an S3 backend comes with the same
interface), `db.create_database` / `db.Database`, the models in `models`, and the repositories in
`repositories`. Repositories never commit: the caller's unit of work does.
"""
