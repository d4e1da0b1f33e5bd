"""What one process needs to run the pipeline, built once from settings."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from classifiers.catalog import Catalog, load_catalog
from classifiers.model import ModelError, ProcedureModel
from classifiers.procedure import ProcedureClassifier
from ingest.settings import Settings
from ocr.page import PageOptions
from ocr.tesseract import TesseractEngine
from storage.db import Database, create_database
from storage.errors import StorageError
from storage.objects import LocalObjectStore, ObjectStore

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
    model_sha256: str | None = None
    model_checked_at: float = field(default=0.0)
    _last_original: dict[str, bytes] = field(default_factory=dict, repr=False)

    def original_bytes(self, key: str) -> bytes:
        """An original's bytes (verified by the store), kept for the next call: in Celery mode the document
        task counts pages and then processes, and page tasks of one document follow each other."""
        if key not in self._last_original:
            data = self.store.get_bytes(key)
            self._last_original.clear()
            self._last_original[key] = data
        return self._last_original[key]

    def refresh_model(self, *, force: bool = False) -> None:
        """Load a newer learned model if one was trained since (checked at most every few seconds)."""
        now = time.monotonic()
        if not force and now - self.model_checked_at < self.settings.model_refresh_seconds:
            return
        self.model_checked_at = now
        try:
            stored = self.store.sha256_of(MODEL_KEY)
            if stored != self.model_sha256:
                self.classifier.model = None if stored is None else load_model(self.store)
                self.model_sha256 = stored
        except (ModelError, StorageError) as exc:
            if force:
                raise
            log.warning("keeping the current procedure model: %s", exc)

    def close(self) -> None:
        """Release pooled connections."""
        self.db.dispose()


def build_store(settings: Settings) -> ObjectStore:
    """The object store the settings select: S3 when `s3_endpoint` is set, else the local folder."""
    if not settings.s3_endpoint:
        return LocalObjectStore(settings.objects_dir)
    return build_s3_store(settings)


def build_s3_store(settings: Settings) -> ObjectStore:
    """The S3 store of the settings, its bucket created if missing; a coded error when not configured."""
    from storage.s3 import S3ObjectStore

    if not settings.s3_endpoint:
        raise StorageError("set SOHOA_S3_ENDPOINT (and its keys) to use S3", code="storage.invalid_config")
    if not settings.s3_access_key or not settings.s3_secret_key:
        raise StorageError(
            "SOHOA_S3_ENDPOINT is set: SOHOA_S3_ACCESS_KEY and SOHOA_S3_SECRET_KEY are needed too",
            code="storage.invalid_config",
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
    catalog = load_catalog(settings.catalog_path)
    services = Services(
        settings=settings,
        db=create_database(settings.effective_database_url),
        store=build_store(settings),
        catalog=catalog,
        classifier=ProcedureClassifier(catalog, min_confidence=settings.min_procedure_confidence),
        engine=TesseractEngine(
            languages=settings.ocr_languages, timeout_seconds=settings.ocr_timeout_seconds
        ),
        page_options=PageOptions(),
    )
    services.refresh_model(force=True)
    return services
