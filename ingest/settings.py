"""All settings in one typed place (pydantic-settings, `SOHOA_` environment prefix).

Built by `load_settings()`, never at import time, and validated there: a bad value stops start-up with a
clear message instead of failing on the first document.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of one sohoa process; every field can be set as SOHOA_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="SOHOA_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Field(
        default=Path("./data"), description="Embedded mode: SQLite file and object folder."
    )
    database_url: str | None = Field(default=None, description="Default: SQLite at <data_dir>/sohoa.db.")
    broker_url: str | None = Field(default=None, description="Celery broker; unset means embedded mode.")
    result_backend: str | None = None

    s3_endpoint: str | None = Field(default=None, description="S3 host:port; unset means the local folder.")
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = Field(default="sohoa", description="Bucket for all objects; created if missing.")
    s3_secure: bool = Field(default=True, description="HTTPS to the S3 endpoint.")
    s3_region: str | None = None
    s3_server_side_encryption: bool = Field(default=False, description="Ask S3 to encrypt objects (SSE-S3).")
    metrics_token: str | None = Field(
        default=None,
        min_length=16,
        repr=False,
        description="Bearer token that may read /metrics (a Prometheus scraper's); admins may always.",
    )

    fan_out_min_pages: int = Field(
        default=4,
        ge=0,
        description="With a broker, documents of this many pages are read page by page "
        "by all workers (0: never).",
    )
    page_timeout_seconds: float = Field(
        default=600.0, gt=0, description="Hard limit for one page task (fan-out); soft limit 30 s before."
    )
    retry_max_seconds: float = Field(
        default=900.0, gt=0, description="How long a document waits for unreachable storage before it fails."
    )
    retry_backoff_max_seconds: float = Field(default=60.0, gt=0, description="Longest wait between retries.")
    lease_seconds: float = Field(
        default=60.0,
        ge=5,
        description="A worker renews its hold on a document or page every quarter of this; one not renewed "
        "this long (its machine died) is taken over by another worker.",
    )
    sweep_interval_seconds: float = Field(
        default=15.0, gt=0, description="How often every worker looks for stuck or lost documents."
    )
    requeue_queued_after_seconds: float = Field(
        default=1800.0, gt=0, description="A document queued this long is sent to the workers again."
    )

    ocr_languages: str = Field(default="vie", description="Tesseract languages, e.g. 'vie' or 'vie+eng'.")
    ocr_dpi: float = Field(default=300.0, ge=72, le=600, description="Resolution PDF pages are rendered at.")
    ocr_timeout_seconds: float = Field(default=180.0, gt=0, description="Limit for one tesseract call.")
    document_timeout_seconds: float = Field(default=3600.0, gt=0, description="Hard limit for one document.")
    max_page_pixels: int = Field(default=60_000_000, gt=1_000_000, description="Larger pages are downscaled.")
    max_file_bytes: int = Field(default=2 * 1024**3, gt=0, description="Larger inputs are refused.")
    max_pages: int = Field(
        default=1000, ge=1, description="Documents with more pages (or TIFF frames) are refused as too large."
    )
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="OCR processes.")

    catalog_path: Path | None = Field(
        default=None,
        description="Procedure catalog file (curated YAML or national JSON Lines) that wins over "
        "`sohoa catalog import`; default: the active imported catalog, else the shipped one.",
    )
    retrain_after_confirmations: int = Field(
        default=20, ge=0, description="Retrain the learned model after this many new confirmations; 0: never."
    )
    model_refresh_seconds: float = Field(
        default=60.0, ge=0, description="How often a worker looks for a newer learned model."
    )
    language: Literal["vi", "en"] = Field(
        default="vi", description="Language of messages for people (CLI, hot folder): vi or en."
    )
    dossier_grouping: Literal["together", "off"] = Field(
        default="together",
        description="together: files that came together (one folder, ZIP directory, upload batch, hot-folder "
        "burst) take the dossier code found on any of them; off: each file only by its own pages.",
    )
    split_stacks: bool = Field(
        default=True, description="Split multi-page scans at receipts and separator sheets into dossiers."
    )
    keep_separator_sheets: bool = Field(
        default=False, description="Keep printed separator sheets as the first page of their dossier."
    )
    spool_dir: Path | None = Field(
        default=None, description="Where ZIP members and uploads are spooled (default: the system temp)."
    )
    watch_settle_seconds: float = Field(
        default=5.0, ge=0, description="Hot folder: a file must keep its size this long before it is taken."
    )
    watch_group_gap_seconds: float = Field(
        default=120.0, gt=0, description="Hot folder: files of one folder this close in time came together."
    )
    watch_poll_seconds: float = Field(default=2.0, gt=0, description="Hot folder: how often it looks.")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Webhooks: limit of one request.")
    webhook_max_attempts: int = Field(
        default=12, ge=1, description="Webhooks: attempts before a delivery is given up (about a day)."
    )
    webhook_backoff_seconds: float = Field(
        default=30.0, gt=0, description="Webhooks: wait after the first failure; doubles each time, ≤ 1 h."
    )
    webhook_poll_seconds: float = Field(
        default=2.0, gt=0, description="Webhooks: how often due ones are sent."
    )
    web_session_hours: float = Field(
        default=10.0, gt=0, le=24 * 30, description="Web app: a sign-in lasts this long (a working day)."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Web app: wrong passwords in a row before the account is locked."
    )
    login_lockout_minutes: float = Field(
        default=15.0, gt=0, description="Web app: how long a locked account refuses every password."
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Web app: mark the session cookie Secure — auto: when the request came over HTTPS (or "
        "X-Forwarded-Proto says so behind a proxy), always in production.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Seals the staff accounts' signing certificates in the database; every process of a "
        "centre needs the same one. Unset in development: a key generated in <data_dir>/secret.key.",
    )
    signing_pkcs12: Path | None = Field(
        default=None,
        description="Signing: the unattended station's identity (a PKCS#12 file); it signs every document "
        "whose scanning officer holds no certificate of their own.",
    )
    signing_password: SecretStr | None = Field(default=None, description="Signing: the PKCS#12's password.")
    signing_pkcs11_module: Path | None = Field(
        default=None,
        description="Signing with a PKCS#11 token or HSM instead of a file: the module (.so) to load.",
    )
    signing_pkcs11_token: str | None = Field(default=None, description="Signing: the token's label.")
    signing_pkcs11_pin: SecretStr | None = Field(default=None, description="Signing: the token's user PIN.")
    signing_pkcs11_key_label: str | None = Field(default=None, description="Signing: the key's label.")
    signing_pkcs11_cert_label: str | None = Field(
        default=None, description="Signing: the certificate's label (default: the key's)."
    )
    signing_timestamp_url: str | None = Field(
        default=None, description="Signing: an RFC 3161 timestamp server; set, signatures are PAdES B-T."
    )
    signing_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Signing: limit of one timestamp request."
    )
    sign_on: Literal["processing", "approval"] = Field(
        default="processing",
        description="Signing: when — at the end of processing, or, for documents that go to review, "
        "when a reviewer approves them (signed by the reviewer).",
    )
    signing_trust_roots: str | None = Field(
        default=None,
        description="Verifying: CA certificate files (PEM) a signature may chain up to, separated by "
        "commas; the station's and the accounts' chains are trusted as well.",
    )
    min_procedure_confidence: float = Field(default=0.6, ge=0, le=1)
    min_ocr_confidence: float = Field(default=0.55, ge=0, le=1, description="Pages below go to review.")

    @field_validator("ocr_languages")
    @classmethod
    def _languages_look_valid(cls, value: str) -> str:
        parts = value.split("+")
        if not all(part.isidentifier() for part in parts):
            raise ValueError("languages are tesseract codes joined by '+', e.g. 'vie+eng'")
        return value

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        """With SOHOA_ENVIRONMENT=production, refuse what is only fit for a laptop, and say why."""
        if self.environment == "production" and (problems := self.production_problems()):
            raise ValueError("refusing to run in production: " + "; ".join(problems))
        return self

    def production_problems(self) -> list[str]:
        """What makes these settings unsafe for a centre's server (empty in development)."""
        problems = []
        url = self.effective_database_url
        if not url.startswith("postgresql"):
            problems.append("SOHOA_DATABASE_URL must be a PostgreSQL URL (SQLite is for one machine's tests)")
        elif _weak_secret(_url_password(url)):
            problems.append("the database password in SOHOA_DATABASE_URL is empty or a well-known default")
        if not self.s3_endpoint:
            problems.append("SOHOA_S3_ENDPOINT must be set (a local object folder is not for production)")
        else:
            if _weak_secret(self.s3_access_key) or _weak_secret(self.s3_secret_key):
                problems.append("SOHOA_S3_ACCESS_KEY / SOHOA_S3_SECRET_KEY are empty or well-known defaults")
        if not self.broker_url:
            problems.append(
                "SOHOA_BROKER_URL must be set (Redis or RabbitMQ): production runs Celery workers"
            )
        elif _weak_secret(_url_password(self.broker_url), allow_empty=True):
            problems.append("the broker password in SOHOA_BROKER_URL is a well-known default (guest, …)")
        return problems

    def to_json_with_secrets(self) -> str:
        """These settings as JSON with their secrets in the clear, for a pool process of this machine
        (pydantic masks SecretStr in JSON); never log or store it."""
        import json

        data = self.model_dump(mode="json")
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                data[name] = value.get_secret_value()
        return json.dumps(data)

    @property
    def signing_trust_root_paths(self) -> list[Path]:
        """`signing_trust_roots` as paths."""
        return [Path(p.strip()) for p in (self.signing_trust_roots or "").split(",") if p.strip()]

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: everything runs in this machine's processes."""
        return not self.broker_url

    @property
    def effective_database_url(self) -> str:
        """The database URL in use (SQLite under data_dir unless set)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sohoa.db').resolve()}"

    @property
    def objects_dir(self) -> Path:
        """Root of the local object store."""
        return self.data_dir / "objects"


WELL_KNOWN_SECRETS = frozenset(
    {"guest", "admin", "password", "minioadmin", "postgres", "secret", "changeme", "sohoa", "test", "123456"}
)


def _weak_secret(value: str | None, *, allow_empty: bool = False) -> bool:
    if not value:
        return not allow_empty
    return value.lower() in WELL_KNOWN_SECRETS or len(value) < 8


def _url_password(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password
    except ValueError:
        return None


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and .env), with explicit overrides for tests and the CLI."""
    return Settings(**overrides)  # type: ignore[arg-type]
