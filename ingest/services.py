"""What one process needs to run the pipeline, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass

from classifiers.catalog import Catalog, load_catalog
from classifiers.model import ProcedureModel
from classifiers.procedure import ProcedureClassifier
from ingest.settings import Settings
from ocr.page import PageOptions
from ocr.tesseract import TesseractEngine
from storage.db import Database, create_database
from storage.objects import LocalObjectStore, ObjectStore


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

    def close(self) -> None:
        """Release pooled connections."""
        self.db.dispose()


def build_store(settings: Settings) -> ObjectStore:
    """The object store the settings select (local folder in embedded mode)."""
    return LocalObjectStore(settings.objects_dir)


def load_model(settings: Settings) -> ProcedureModel | None:
    """The learned model if one was trained; a damaged file is reported, not silently ignored."""
    path = settings.effective_model_path
    return ProcedureModel.load(path) if path.exists() else None


def build_services(settings: Settings) -> Services:
    """Connect to storage and load the catalog; raises coded errors when something is missing."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = load_catalog(settings.catalog_path)
    return Services(
        settings=settings,
        db=create_database(settings.effective_database_url),
        store=build_store(settings),
        catalog=catalog,
        classifier=ProcedureClassifier(
            catalog, min_confidence=settings.min_procedure_confidence, model=load_model(settings)
        ),
        engine=TesseractEngine(
            languages=settings.ocr_languages, timeout_seconds=settings.ocr_timeout_seconds
        ),
        page_options=PageOptions(),
    )
