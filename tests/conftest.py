"""Shared fixtures: isolated settings and services per test, and the third-party test scans."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings

pytest_plugins = ["tests.fixtures_pg", "tests.fixtures_s3", "tests.production"]

REPO = Path(__file__).resolve().parent.parent
TESTDATA = REPO.parent / "shared" / "testdata"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded-mode settings with everything under a fresh temporary folder."""
    return load_settings(data_dir=tmp_path / "data", workers=2, broker_url=None, database_url=None)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Real services (SQLite, local object store, tesseract) for one test."""
    built = build_services(settings)
    yield built
    built.close()


def shared_testdata(*parts: str) -> Path:
    """A path under ../shared/testdata, skipping the test with a clear reason when it is absent."""
    path = TESTDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"third-party test scans not found at {path} (they live in ../shared/testdata)")
    return path
