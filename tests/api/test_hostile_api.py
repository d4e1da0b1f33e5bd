"""Bad input refused cleanly: coded 4xx in the one error shape, downloads that cannot run scripts or hold
database connections, names that cannot reach the file system, and a production guard."""

from __future__ import annotations

import io
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from api.uploads import upload_source
from ingest.intake import intake
from ingest.services import Services, build_services
from ingest.settings import load_settings
from tests.identities import bearer, make_key
from tests.ocr.pdfs import SAFE_LINK, active_elements, active_pdf, link_targets, pixel_bomb_tiff
from tests.serving import SOHOA, sohoa_serve, wait_finished

CODE = "000.00.21.H61-251201-0077"
UPLOAD_LIMIT = 4 * 2**20
"""SOHOA_MAX_FILE_BYTES of the module's server."""


@dataclass
class Served:
    """A real `sohoa serve` (embedded, one worker) and this process's own services on its data folder."""

    http: httpx.Client
    base: str
    services: Services
    data_dir: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("hostile-serve")
    data = root / "data"
    services = build_services(load_settings(data_dir=data, broker_url=None, database_url=None))
    key = make_key(services, "admin")
    try:
        with (
            sohoa_serve(
                {
                    "SOHOA_DATA_DIR": str(data),
                    "SOHOA_WORKERS": "1",
                    "SOHOA_MAX_FILE_BYTES": str(UPLOAD_LIMIT),
                    "SOHOA_SPOOL_DIR": str(root / "spool"),
                },
                root / "serve.log",
            ) as base,
            httpx.Client(base_url=base, headers=bearer(key), timeout=120) as http,
        ):
            yield Served(http, base, services, data)
    finally:
        services.close()


@pytest.fixture
def admin(served: Served) -> httpx.Client:
    """An admin's client of the real server (every route allowed)."""
    return served.http


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["code"])


def test_every_error_has_the_one_documented_shape(admin: httpx.Client) -> None:
    assert _error(admin.get("/api/v1/nothing-here"), 404) == "request.not_found"
    assert _error(admin.delete("/api/v1/search"), 405) == "request.method_not_allowed"
    assert _error(admin.get("/api/v1/search"), 422) == "request.invalid"  # q missing
    assert _error(admin.get("/api/v1/search", params={"q": "a", "offset": 10**12}), 422) == "request.invalid"
    assert _error(admin.put("/api/v1/documents/x/procedure", content=b"{not json"), 422) == "request.invalid"
    empty_procedure = admin.put("/api/v1/documents/x/procedure", json={"procedure": ""})
    assert _error(empty_procedure, 422) == "request.invalid"
    assert _error(admin.post("/api/v1/documents"), 422) == "request.invalid"  # no file
    empty = admin.post("/api/v1/documents", files={"file": ("a.jpg", b"", "image/jpeg")})
    assert _error(empty, 422) == "input.empty"
    huge = admin.post(
        "/api/v1/documents",
        files={"file": ("a.jpg", b"\xff\xd8", "image/jpeg")},
        data={"dossier": "x y" * 300_000},
    )
    assert _error(huge, 422) == "input.bad_dossier_code" and len(huge.text) < 1000
    over = admin.post(
        "/api/v1/documents",
        files={"file": ("a.jpg", b"\xff\xd8", "image/jpeg")},
        data={"dossier": "x" * 2_000_000},
    )
    assert _error(over, 400) == "request.malformed" and len(over.text) < 1000
    schema = admin.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorBody", (method, path, status)
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_downloads_are_attachments_named_for_people_that_run_nothing(
    admin: httpx.Client, served: Served
) -> None:
    services = served.services
    first = intake(services, b"%PDF-1.4 first", source="a.pdf", dossier=CODE).document_id
    second = intake(services, b"%PDF-1.4 second", source="b.pdf", dossier=CODE).document_id
    loose = intake(services, b"\x89PNG\r\n\x1a\n loose", source="Giấy khai sinh.png").document_id
    response = admin.get(f"/api/v1/documents/{second}/original")
    assert response.status_code == 200 and response.content == b"%PDF-1.4 second"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f'filename="{CODE}.2.original.pdf"' in disposition
    assert (
        f'filename="{CODE}.1.original.pdf"'
        in admin.get(f"/api/v1/documents/{first}/original").headers["content-disposition"]
    )
    named = admin.get(f"/api/v1/documents/{loose}/original").headers["content-disposition"]
    assert "filename*=UTF-8''Gi%E1%BA%A5y%20khai%20sinh.original.png" in named


def test_upload_names_are_labels_never_paths(admin: httpx.Client, served: Served) -> None:
    for name, expected in (
        ("../../../etc/passwd", "passwd"),
        ("/abs/path/scan.pdf", "scan.pdf"),
        ("C:\\scans\\x.pdf", "x.pdf"),
        ("..", "upload"),
    ):
        content = f"not a scan {name!r}".encode()
        response = admin.post("/api/v1/documents", files={"file": (name, content, "application/pdf")})
        assert response.status_code == 202, response.text
        record = admin.get(f"/api/v1/documents/{response.json()['id']}").json()
        assert record["source"] == expected
    # httpx percent-encodes a NUL in a multipart name; a raw client need not: send the bytes themselves.
    boundary = "sohoa-hostile"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="nul\x00byte.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\nnot a scan either\r\n--{boundary}--\r\n"
    ).encode()
    raw = admin.post(
        "/api/v1/documents",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert raw.status_code == 202, raw.text  # taken in, under a cleaned name
    assert admin.get(f"/api/v1/documents/{raw.json()['id']}").json()["source"] == "nulbyte.pdf"
    assert upload_source("nul\x00byte\r\n.pdf") == "nulbyte.pdf" and upload_source(None) == "upload"
    stored = {p.name for p in served.data_dir.rglob("*")}
    assert "passwd" not in stored and not (served.data_dir.parent / "etc").exists()


def test_production_refuses_to_start_with_laptop_settings(tmp_path: Path) -> None:
    env = {**os.environ, "SOHOA_ENVIRONMENT": "production", "SOHOA_DATA_DIR": str(tmp_path)}
    for name in ("SOHOA_DATABASE_URL", "SOHOA_S3_ENDPOINT", "SOHOA_BROKER_URL"):
        env.pop(name, None)
    result = subprocess.run(
        [SOHOA, "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    for reason in ("PostgreSQL", "SOHOA_S3_ENDPOINT", "SOHOA_BROKER_URL"):
        assert reason in result.stderr, result.stderr
    with pytest.raises(ValueError, match="well-known defaults"):
        load_settings(
            environment="production",
            database_url="postgresql://sohoa:a-long-password@db/sohoa",
            s3_endpoint="s3:9000",
            s3_access_key="minioadmin",
            s3_secret_key="minioadmin",
            broker_url="redis://redis:6379/0",
        )


def test_slow_downloads_hold_no_database_connection(tmp_path: Path, pg_database: str) -> None:
    """16 clients stall mid-download of a 6 MB original; health, records and search still answer."""
    settings = load_settings(data_dir=tmp_path / "data", database_url=pg_database, broker_url=None, workers=1)
    services = build_services(settings)
    big = b"%PDF-1.4\n" + os.urandom(6 * 1024 * 1024)
    document_id = intake(services, big, source="big.pdf").document_id
    key = make_key(services, "reader")
    services.close()
    env = {"SOHOA_DATA_DIR": str(settings.data_dir), "SOHOA_DATABASE_URL": pg_database}
    with sohoa_serve(env, tmp_path / "serve.log") as base, ExitStack() as stack:
        for _ in range(16):
            client = stack.enter_context(httpx.Client(base_url=base, headers=bearer(key), timeout=30))
            response = stack.enter_context(client.stream("GET", f"/api/v1/documents/{document_id}/original"))
            assert response.status_code == 200
            next(response.iter_bytes(65536))  # read a little, then stall: the server's send blocks
        with httpx.Client(base_url=base, headers=bearer(key), timeout=10) as probe:
            for _ in range(3):
                assert probe.get("/healthz").status_code == 200
                assert probe.get(f"/api/v1/documents/{document_id}").status_code == 200
                assert probe.get("/api/v1/search", params={"q": "x"}).status_code == 200


def _blank_pdf(pages: int) -> bytes:

    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _blank_tiff(frames: int) -> bytes:

    first, *rest = (Image.new("1", (1654, 2339), 1) for _ in range(frames))
    out = io.BytesIO()
    first.save(out, format="TIFF", compression="group4", save_all=True, append_images=rest, dpi=(200, 200))
    return out.getvalue()


def test_huge_blank_documents_do_not_hold_up_a_counter_upload(tmp_path: Path) -> None:
    """A 5,000-page PDF and a 2,000-frame TIFF of blank pages, then a one-page scan: the first two are refused
    or finished in seconds, the scan is done within a minute (against a real `sohoa serve`, 2 workers)."""
    from examples.synth import EXAMPLES, write_example

    data = tmp_path / "data"
    services = build_services(load_settings(data_dir=data, broker_url=None, database_url=None))
    key = make_key(services, "scanner")
    reader = make_key(services, "reader")
    services.close()
    scan = write_example(next(s for s in EXAMPLES if s.name == "ket-hon-giay-tiep-nhan.jpg"), tmp_path)
    with sohoa_serve({"SOHOA_DATA_DIR": str(data), "SOHOA_WORKERS": "2"}, tmp_path / "serve.log") as base:
        with httpx.Client(base_url=base, headers=bearer(key), timeout=120) as http:
            sent = {}
            for name, content in (("5000-trang.pdf", _blank_pdf(5000)), ("2000-to.tif", _blank_tiff(2000))):
                response = http.post("/api/v1/documents", files={"file": (name, content)})
                assert response.status_code == 202, response.text
                sent[name] = (response.json()["id"], time.monotonic())
            counter = http.post(
                "/api/v1/documents", files={"file": (scan.name, scan.read_bytes(), "image/jpeg")}
            )
            sent["counter"] = (counter.json()["id"], time.monotonic())
        finished = _wait(base, reader, {name: i for name, (i, _) in sent.items()}, timeout=180)
        pdf_status, pdf_code, pdf_at = finished["5000-trang.pdf"]
        assert (pdf_status, pdf_code) == ("failed", "input.too_large")
        assert pdf_at - sent["5000-trang.pdf"][1] < 30
        tiff_status, _code, tiff_at = finished["2000-to.tif"]
        assert tiff_status in ("failed", "needs_review", "done") and tiff_at - sent["2000-to.tif"][1] < 60
        counter_status, _code, counter_at = finished["counter"]
        assert counter_status in ("done", "needs_review") and counter_at - sent["counter"][1] < 60


def _wait(
    base: str, key: str, ids: dict[str, str], *, timeout: float
) -> dict[str, tuple[str, str | None, float]]:
    """name → (status, error code, when it was first seen finished)."""
    seen: dict[str, tuple[str, str | None, float]] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, headers=bearer(key), timeout=30) as http:
        while len(seen) < len(ids) and time.monotonic() < deadline:
            for name, document_id in ids.items():
                if name in seen:
                    continue
                record = http.get(f"/api/v1/documents/{document_id}").json()
                if record["status"] in ("done", "needs_review", "failed"):
                    seen[name] = (record["status"], (record["error"] or {}).get("code"), time.monotonic())
            time.sleep(0.5)
    assert len(seen) == len(ids), seen
    return seen


def test_a_tiff_whose_later_frame_is_a_pixel_bomb_fails_as_too_large(admin: httpx.Client) -> None:
    """A 1×1 first frame, then a 196 Mpx one in 9 kB of group4: `input.too_large`, and the server goes on."""
    response = admin.post("/api/v1/documents", files={"file": ("bomb.tif", pixel_bomb_tiff(), "image/tiff")})
    assert response.status_code == 202, response.text
    record = wait_finished(admin, response.json()["id"], timeout=120)
    assert (record["status"], record["error"]["code"]) == ("failed", "input.too_large"), record["error"]
    assert admin.get("/healthz").status_code == 200


def test_the_served_pdf_of_an_active_born_digital_pdf_is_inert(admin: httpx.Client) -> None:
    data = active_pdf()
    assert active_elements(data), "the test file carries what the test looks for"
    response = admin.post("/api/v1/documents", files={"file": ("active.pdf", data, "application/pdf")})
    assert response.status_code == 202, response.text
    record = wait_finished(admin, response.json()["id"], timeout=120)
    assert record["status"] in ("done", "needs_review"), record["error"]
    served_pdf = admin.get(f"/api/v1/documents/{record['id']}/pdf")
    assert served_pdf.status_code == 200 and served_pdf.headers["x-content-type-options"] == "nosniff"
    assert served_pdf.headers["content-disposition"].startswith("attachment;")
    assert active_elements(served_pdf.content) == []
    assert sorted(link_targets(served_pdf.content)) == ["goto page 1", "goto page 2", f"uri {SAFE_LINK}"]


def test_an_upload_over_the_size_limit_is_refused_and_leaves_nothing(
    admin: httpx.Client, served: Served
) -> None:
    """Streamed to the spool and refused once the limit is crossed: 413, nothing stored, nothing left over."""
    before = {p for p in served.data_dir.rglob("*") if p.is_file()}
    over = os.urandom(UPLOAD_LIMIT + 2**20)
    response = admin.post("/api/v1/documents", files={"file": ("to-lon.tif", over, "image/tiff")})
    assert _error(response, 413) == "input.too_large"
    spool = served.data_dir.parent / "spool"
    spooled = list(spool.glob("**/sohoa-upload-*"))
    assert spool.is_dir()  # the upload did go through this server's spool folder
    after = {p for p in served.data_dir.rglob("*") if p.is_file() and not p.name.startswith("sohoa.db")}
    assert after <= before and spooled == []
    assert admin.get("/healthz").status_code == 200
