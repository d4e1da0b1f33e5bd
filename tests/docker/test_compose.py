"""The compose file and Dockerfile cannot run here (no Docker engine); check that they parse and agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.settings import Settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_has_every_service_with_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "worker", "beat", "watch", "redis", "postgres", "minio", "migrate"} <= set(services)
    for name in ("api", "worker", "redis", "postgres", "minio"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    for name in ("redis", "postgres", "minio"):
        volume = services[name]["volumes"][0].split(":")[0]
        assert volume in compose["volumes"], name


def test_servers_start_before_the_app_and_migrations_before_workers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("api", "worker", "beat", "watch"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["db", "upgrade"]


def test_no_secret_is_written_in_the_files(compose: dict[str, Any]) -> None:
    text = (DOCKER / "compose.yaml").read_text(encoding="utf-8")
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|ACCESS_KEY", key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", str(value)), (
                    f"{key} must come from the environment"
                )
    assert "PASSWORD" not in (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"postgresql://sohoa:\$\{POSTGRES_PASSWORD:\?", text)


def test_app_environment_names_are_settings_sohoa_knows(compose: dict[str, Any]) -> None:
    known = {f"SOHOA_{name.upper()}" for name in Settings.model_fields}
    for service in ("api", "worker", "beat", "migrate", "watch"):
        names = set(compose["services"][service]["environment"])
        assert names <= known, names - known
        assert {"SOHOA_DATABASE_URL", "SOHOA_BROKER_URL", "SOHOA_S3_ENDPOINT"} <= names


def test_images_are_targets_of_the_dockerfile(compose: dict[str, Any]) -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, flags=re.MULTILINE))
    for name, service in compose["services"].items():
        if "build" in service:
            assert service["build"]["target"] in targets, name
            assert (DOCKER / ".." / service["build"]["context"]).resolve().is_dir()
    worker_stage = dockerfile.split("AS worker", 1)[1]
    assert "tesseract-ocr-vie" in worker_stage and "tesseract-ocr-eng" in worker_stage
    copied = re.findall(r"^COPY (\w+) ", dockerfile, flags=re.MULTILINE)
    for folder in copied:
        assert (DOCKER.parent / folder).is_dir(), folder
    project = tomllib.loads((DOCKER.parent / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= set(copied)  # the image holds every package the project installs


def test_the_hot_folder_service_watches_the_mounted_scan_folder(compose: dict[str, Any]) -> None:
    watch = compose["services"]["watch"]
    assert watch["command"] == ["watch", "/scans"]
    assert any(volume.endswith(":/scans") for volume in watch["volumes"])
