"""`GET /api/v1/procedures`: the catalog in use, found by words of a name (tone marks optional), a code or a
field — and a catalog imported while the API runs is what it searches on the next refresh tick."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from ingest.catalogs import import_catalog
from ingest.services import Services
from ingest.settings import Settings
from tests.identities import bearer, make_key


def test_a_catalog_imported_while_serving_is_searched_after_the_refresh_tick(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    reader = bearer(make_key(services, "reader"))
    quick = settings.model_copy(update={"model_refresh_seconds": 0.5})
    with TestClient(create_app(quick)) as client:

        def found(words: str) -> list[str]:
            answer = client.get("/api/v1/procedures", params={"q": words}, headers=reader)
            assert answer.status_code == 200
            return [p["code"] for p in answer.json()["procedures"]]

        assert found("ho tich") and "1.001193" in found("ho tich khai sinh")  # by field and name
        assert found("khai thac thuy san ven bo") == []
        sheet = tmp_path / "danh-muc.csv"
        sheet.write_text(
            "code,name,field,level,components\n"
            "2.002999,Cấp giấy phép khai thác thủy sản ven bờ,Thủy sản,Cấp tỉnh,Đơn đề nghị\n",
            encoding="utf-8",
        )
        import_catalog(services.db, services.store, sheet, actor="test")
        deadline = time.monotonic() + 30
        while not found("khai thac thuy san ven bo") and time.monotonic() < deadline:
            time.sleep(0.3)
        assert found("khai thac thuy san ven bo") == ["2.002999"]
