"""What one process needs to run the pipeline, built once from settings.

Originals are read from a local copy, never whole into memory: `Services.original_path` streams the object
into this process's spool folder, `sohoa-spool-<host>-<pid>-*` under the system temporary folder (`TMPDIR`;
the worker container mounts a volume at /tmp), checks its SHA-256, and keeps the last one for the next call.
Folders left by killed processes are removed when a process of the same host makes its own.

The learned model and the active imported catalog (`sohoa catalog import`) live in the object store and
the database, so `refresh` picks up a newer one of either on the same tick, without a restart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from classifiers.catalog import Catalog, CatalogError, load_catalog
from classifiers.model import ModelError, ProcedureModel
from classifiers.procedure import ProcedureClassifier
from ingest.catalogs import active_version, load_stored_catalog, starting_catalog
from ingest.settings import Settings
from ocr.page import PageOptions
from ocr.tesseract import TesseractEngine
from storage import errors as storage_errors
from storage.db import Database, create_database
from storage.errors import IntegrityMismatch, StorageError, StorageUnavailable
from storage.objects import CHUNK, LocalObjectStore, ObjectStore

log = logging.getLogger(__name__)

MODEL_KEY = "models/procedure-model.json"
"""The learned model lives in the object store, so every worker on every machine sees the same one."""


@dataclass
class Services:
    """Database, object store, catalog, classifier and OCR engine of this process."""

    settings: Settings
    db: Database
    store: ObjectStore
    catalog: Catalog
    classifier: ProcedureClassifier
    engine: TesseractEngine
    page_options: PageOptions
    catalog_import: str | None = None
    """The imported catalog version in use (`catalog_versions.version`); None: the shipped or configured
    one."""
    model_sha256: str | None = None
    model_checked_at: float = field(default=0.0)
    _spool_dir: Path | None = field(default=None, repr=False)
    _spooled: tuple[str, Path] | None = field(default=None, repr=False)

    def original_path(self, key: str, *, sha256: str | None = None) -> Path:
        """A local copy of original `key`, streamed from the store in chunks, kept for the next call.

        In Celery mode the document task counts pages and then processes, and page tasks of one document
        follow each other, so one download serves them all. The copy is checked against `sha256` (the
        digest recorded at intake) when given, and S3 checks its own recorded digest as it is read to the
        end. Spooling another original, or `close()`, removes the previous copy and any scratch files.
        Read-only: the copy is shared by whoever asks for the same key.
        """
        if self._spooled is not None and self._spooled[0] == key and self._spooled[1].is_file():
            return self._spooled[1]
        self._clear_spool()
        target = self.scratch_file("", prefix="original-")  # a new name: an old path never shows new bytes
        try:
            digest = _download(self.store, key, target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if sha256 is not None and digest != sha256:
            target.unlink(missing_ok=True)
            raise IntegrityMismatch(f"object {key} does not match the SHA-256 recorded at intake")
        self._spooled = (key, target)
        return target

    def scratch_file(self, suffix: str, *, prefix: str = "scratch-") -> Path:
        """A new empty file in the spool folder, for what is too big to keep in memory (a searchable PDF).

        Whoever stores it removes it; leftovers go when the next original is spooled or at `close()`.
        """
        handle, name = tempfile.mkstemp(dir=self._spool(), prefix=prefix, suffix=suffix)
        os.close(handle)
        return Path(name)

    def refresh(self, *, force: bool = False) -> None:
        """Before each document: pick up a newer learned model and a newly activated catalog, looked for at
        most every `model_refresh_seconds` (one tick for both)."""
        if self._due(force):
            self._reload_catalog(strict=force)
            self._reload_model(strict=force)

    def refresh_model(self, *, force: bool = False) -> None:
        """Load a newer learned model if one was trained since (checked at most every few seconds)."""
        if self._due(force):
            self._reload_model(strict=force)

    def use_catalog(self, catalog: Catalog, imported: str | None) -> None:
        """Classify with `catalog` from now on (the learned model kept); one assignment swaps the classifier,
        so a document being concluded meanwhile keeps the one it started with."""
        self.catalog = catalog
        self.classifier = ProcedureClassifier(
            catalog, min_confidence=self.settings.min_procedure_confidence, model=self.classifier.model
        )
        self.catalog_import = imported

    def _due(self, force: bool) -> bool:
        """Whether a refresh tick is due (it starts now if so)."""
        now = time.monotonic()
        if not force and now - self.model_checked_at < self.settings.model_refresh_seconds:
            return False
        self.model_checked_at = now
        return True

    def _reload_model(self, *, strict: bool) -> None:
        try:
            stored = self.store.sha256_of(MODEL_KEY)
            if stored != self.model_sha256:
                self.classifier.model = None if stored is None else load_model(self.store)
                self.model_sha256 = stored
        except (ModelError, StorageError) as exc:
            if strict:
                raise
            log.warning("keeping the current procedure model: %s", exc)

    def _reload_catalog(self, *, strict: bool) -> None:
        """Switch to the active imported catalog when it changed (`settings.catalog_path` pins one)."""
        if self.settings.catalog_path is not None:
            return
        try:
            active = active_version(self.db)
            if active == self.catalog_import:
                return
            catalog = load_catalog(None) if active is None else load_stored_catalog(self.store, active)
        except (CatalogError, StorageError, SQLAlchemyError) as exc:
            if strict:
                raise
            log.warning("keeping the current procedure catalog: %s", exc)
            return
        log.info("classifying with catalog %s from now on", active or "shipped")
        self.use_catalog(catalog, active)

    def close(self) -> None:
        """Release pooled connections and remove the spool folder."""
        self.db.dispose()
        if self._spool_dir is not None:
            shutil.rmtree(self._spool_dir, ignore_errors=True)
        self._spool_dir = self._spooled = None

    def _spool(self) -> Path:
        """This process's spool folder, made on first use (a forked child makes its own)."""
        folder = self._spool_dir
        if folder is None or not folder.is_dir() or not folder.name.startswith(_spool_prefix()):
            _remove_stale_spools()
            self._spool_dir = folder = Path(tempfile.mkdtemp(prefix=_spool_prefix()))
        return folder

    def _clear_spool(self) -> None:
        """Remove the previous original's copy and the scratch files derived from it."""
        self._spooled = None
        if self._spool_dir is not None and self._spool_dir.is_dir():
            for path in self._spool_dir.iterdir():
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)


def _spool_prefix(pid: int | None = None) -> str:
    """Spool folders are named by host and process, so a crashed process's folder can be told apart."""
    return f"sohoa-spool-{socket.gethostname()}-{os.getpid() if pid is None else pid}-"


def _remove_stale_spools() -> None:
    """Remove the spool folders of this host's processes that are gone (killed before `close()`)."""
    host = f"sohoa-spool-{socket.gethostname()}-"
    for folder in Path(tempfile.gettempdir()).glob(f"{host}*"):
        pid = folder.name.removeprefix(host).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, run by another user
    return True


def _download(store: ObjectStore, key: str, target: Path) -> str:
    """Copy object `key` into `target` chunk by chunk; returns the SHA-256 of what was written."""
    digest = hashlib.sha256()
    with store.open(key) as stream:
        try:
            with target.open("wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:  # the store's disk, or ours, failing: retry later like an unreachable store
            raise StorageUnavailable(f"cannot copy {key} to {target}: {exc}") from exc
    return digest.hexdigest()


def build_store(settings: Settings) -> ObjectStore:
    """The object store the settings select: S3 when `s3_endpoint` is set, else the local folder."""
    if not settings.s3_endpoint:
        return LocalObjectStore(settings.objects_dir)
    return build_s3_store(settings)


def build_s3_store(settings: Settings) -> ObjectStore:
    """The S3 store of the settings, its bucket created if missing; a coded error when not configured."""
    from storage.s3 import S3ObjectStore

    if not settings.s3_endpoint:
        raise StorageError(
            "set SOHOA_S3_ENDPOINT (and its keys) to use S3", code=storage_errors.INVALID_CONFIG
        )
    if not settings.s3_access_key or not settings.s3_secret_key:
        raise StorageError(
            "SOHOA_S3_ENDPOINT is set: SOHOA_S3_ACCESS_KEY and SOHOA_S3_SECRET_KEY are needed too",
            code=storage_errors.INVALID_CONFIG,
        )
    store = S3ObjectStore(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        bucket=settings.s3_bucket,
        secure=settings.s3_secure,
        region=settings.s3_region,
        server_side_encryption=settings.s3_server_side_encryption,
    )
    store.ensure_bucket()
    return store


def load_model(store: ObjectStore) -> ProcedureModel:
    """The stored learned model; a damaged model is reported, not silently ignored."""
    return ProcedureModel.from_json(store.get_bytes(MODEL_KEY), origin=MODEL_KEY)


def build_services(settings: Settings) -> Services:
    """Connect to storage and load the catalog; raises coded errors when something is missing."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = create_database(settings.effective_database_url)
    store = build_store(settings)
    catalog, imported = starting_catalog(settings, db, store)
    services = Services(
        settings=settings,
        db=db,
        store=store,
        catalog=catalog,
        catalog_import=imported,
        classifier=ProcedureClassifier(catalog, min_confidence=settings.min_procedure_confidence),
        engine=TesseractEngine(
            languages=settings.ocr_languages, timeout_seconds=settings.ocr_timeout_seconds
        ),
        page_options=PageOptions(),
    )
    services.refresh_model(force=True)
    return services
