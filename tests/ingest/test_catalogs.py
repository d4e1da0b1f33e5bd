"""Importing a province's own catalog: JSON Lines and sheets, every bad row refused at once, versions kept,
and every process (and every document) on the active one."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import openpyxl
import pytest

from classifiers.catalog import (
    CatalogError,
    default_catalog_path,
    load_catalog,
    national_catalog_path,
)
from examples.synth import EXAMPLES, write_example
from ingest.catalogs import (
    BAD_CODE,
    BAD_LIST,
    MISSING_COLUMN,
    MISSING_VALUE,
    NOT_JSON,
    NOT_OBJECT,
    REPEATED_CODE,
    UNKNOWN_LEVEL,
    CatalogRowsError,
    catalog_key,
    import_catalog,
    load_stored_catalog,
)
from ingest.intake import intake
from ingest.pipeline import process_document
from ingest.records import document_record
from ingest.services import Services, build_services
from ingest.settings import Settings
from storage.access import AuditFilter, AuditRepository
from storage.repositories import CatalogVersionRepository, DocumentRepository

PROVINCE = [
    {
        "code": "1.000894",
        "name": "Đăng ký kết hôn",
        "levels": ["Cấp xã"],
        "field": "Hộ tịch",
        "agency": "Ủy ban nhân dân cấp xã",
        "components": [
            {"name": "Tờ khai đăng ký kết hôn", "copies": 1, "kind": "bản chính", "form_files": ["TK.docx"]},
            {"name": "Giấy tờ chứng minh nơi cư trú (nếu có)", "copies": 1, "kind": "bản sao"},
        ],
        "results": ["Giấy chứng nhận kết hôn"],
    },
    {
        "code": "2.002999",
        "name": "Cấp giấy phép khai thác thủy sản ven bờ",
        "levels": ["Cấp tỉnh"],
        "field": "Thủy sản",
        "components": [{"name": "Đơn đề nghị cấp giấy phép", "kind": "bản chính"}],
    },
]


def _jsonl(path: Path, entries: list[dict] | list[str]) -> Path:
    lines = [entry if isinstance(entry, str) else json.dumps(entry, ensure_ascii=False) for entry in entries]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _versions(services: Services) -> list[tuple[str, bool]]:
    with services.db.unit_of_work() as session:
        return [(v.version, v.active) for v in CatalogVersionRepository(session).all()]


def _audit(services: Services) -> list[tuple[str, str, dict]]:
    with services.db.unit_of_work() as session:
        entries = AuditRepository(session).find(AuditFilter(), limit=100)
        return [(e.action, e.outcome, e.detail) for e in entries]


def test_a_json_lines_catalog_is_merged_stored_and_made_active(services: Services, tmp_path: Path) -> None:
    imported = import_catalog(
        services.db, services.store, _jsonl(tmp_path / "tinh.jsonl", PROVINCE), actor="t"
    )
    assert imported.new and imported.from_file == 2 and imported.source == "tinh.jsonl"
    assert _versions(services) == [(imported.version, True)]
    assert services.store.exists(catalog_key(imported.version))
    catalog = load_stored_catalog(services.store, imported.version)
    assert catalog.version == imported.version and len(catalog.procedures) == imported.procedures
    curated = catalog.get("ket-hon")  # the curated entry keeps its id and titles, completed by the file
    assert curated is not None and curated.code == "1.000894" and curated.levels == ("Cấp xã",)
    assert curated.form_titles == ("TỜ KHAI ĐĂNG KÝ KẾT HÔN",) and curated.field == "Hộ tịch"
    form, residence = curated.dossier_components
    assert (form.copies, form.original, form.forms, form.optional) == (1, True, ("TK.docx",), False)
    assert residence.optional and residence.original is False
    new = catalog.by_code("2.002999")
    assert new is not None and new.id == "2.002999" and new.levels == ("Cấp tỉnh",)
    assert catalog.by_code("1.000005") is None, "the national entries the file does not list are gone"
    assert catalog.get("ly-lich-tu-phap") is not None, "curated entries without a code stay"
    [(action, outcome, detail)] = _audit(services)
    assert (action, outcome, detail["version"], detail["new"]) == (
        "catalog.import",
        "ok",
        imported.version,
        True,
    )


def test_the_shipped_national_file_imported_is_the_shipped_catalog(services: Services) -> None:
    imported = import_catalog(services.db, services.store, national_catalog_path(), actor="t")
    assert imported.version == load_catalog().version and imported.from_file == 1601


def test_a_csv_sheet_with_vietnamese_headers(services: Services, tmp_path: Path) -> None:
    sheet = tmp_path / "danh-muc.csv"
    sheet.write_text(
        "Mã thủ tục;Tên thủ tục;Lĩnh vực;Cấp thực hiện;Thành phần hồ sơ;Ghi chú\n"
        '2.002999;Cấp giấy phép khai thác thủy sản;Thủy sản;Cấp tỉnh, xã;"- Đơn đề nghị\n- Bản sao CCCD";x\n'
        '1.000894; Đăng ký kết hôn ;Hộ tịch;cấp xã;"Tờ khai; Giấy xác nhận tình trạng hôn nhân";\n',
        encoding="utf-8-sig",
    )
    imported = import_catalog(services.db, services.store, sheet, actor="t")
    assert imported.from_file == 2
    assert imported.columns == ("code", "name", "field", "level", "components")
    catalog = load_stored_catalog(services.store, imported.version)
    fishing = catalog.by_code("2.002999")
    assert fishing is not None and fishing.levels == ("Cấp tỉnh", "Cấp xã") and fishing.field == "Thủy sản"
    assert [c.name for c in fishing.dossier_components] == ["Đơn đề nghị", "Bản sao CCCD"]
    marriage = catalog.get("ket-hon")
    assert marriage is not None and marriage.levels == ("Cấp xã",)
    assert [c.name for c in marriage.dossier_components] == ["Tờ khai", "Giấy xác nhận tình trạng hôn nhân"]


def test_an_xlsx_sheet_with_a_code_excel_made_a_number(services: Services, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Code", "Name", "Field", "Level", "Components", "Agency"])
    sheet.append(
        [2.00081, "Chứng thực bản sao từ bản chính", "Chứng thực", "Cấp xã", "Bản chính\nBản sao", None]
    )
    sheet.append([None, None, None, None, None, None])
    sheet.append(["1.001193", "Đăng ký khai sinh", "Hộ tịch", "Cấp xã;Cấp tỉnh", "Tờ khai", "UBND xã"])
    path = tmp_path / "danh-muc.xlsx"
    workbook.save(path)
    imported = import_catalog(services.db, services.store, path, actor="t")
    catalog = load_stored_catalog(services.store, imported.version)
    copies = catalog.by_code("2.000810")
    assert copies is not None and [c.name for c in copies.dossier_components] == ["Bản chính", "Bản sao"]
    birth = catalog.get("khai-sinh")
    assert birth is not None and birth.levels == ("Cấp xã", "Cấp tỉnh") and birth.agency == "UBND xã"


def test_every_bad_row_is_named_and_nothing_is_imported(services: Services, tmp_path: Path) -> None:
    sheet = tmp_path / "loi.csv"
    sheet.write_text(
        "code,name,field,level,components\n"
        "1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,Tờ khai\n"
        ",Không có mã,Hộ tịch,Cấp xã,\n"
        "1.1193,Mã sai,Hộ tịch,Cấp xã,\n"
        "1.001193,Trùng mã,Hộ tịch,Cấp xã,\n"
        "2.000815,Cấp lạ,Chứng thực,Cấp thôn,\n"
        "2.000884,,Chứng thực,Cấp xã,\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogRowsError) as caught:
        import_catalog(services.db, services.store, sheet, actor="t")
    problems = [(p.row, p.column, p.code) for p in caught.value.problems]
    assert problems == [
        (3, "code", MISSING_VALUE),
        (4, "code", BAD_CODE),
        (5, "code", REPEATED_CODE),
        (6, "level", UNKNOWN_LEVEL),
        (7, "name", MISSING_VALUE),
    ]
    assert caught.value.code == "catalog.invalid_rows" and caught.value.rows == 5
    assert caught.value.problems[2].first_row == 2 and caught.value.problems[3].value == "Cấp thôn"
    assert "row 4, code: '1.1193' is not a procedure code" in caught.value.message
    assert _versions(services) == [] and not list(services.store.keys("catalogs/"))
    [(action, outcome, detail)] = _audit(services)
    assert (action, outcome, detail["bad_rows"]) == ("catalog.import", "catalog.invalid_rows", 5)


def test_bad_json_lines_are_named_by_line(services: Services, tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "loi.jsonl",
        [
            PROVINCE[0],
            "{not json",
            "[1, 2]",
            "",
            json.dumps({"code": "2.002999", "name": "x", "levels": "Cấp xã"}),
        ],
    )
    with pytest.raises(CatalogRowsError) as caught:
        import_catalog(services.db, services.store, path, actor="t")
    problems = [(p.row, p.column, p.code) for p in caught.value.problems]
    assert problems == [(2, None, NOT_JSON), (3, None, NOT_OBJECT), (5, "level", BAD_LIST)]


def test_a_sheet_without_a_code_column_is_refused_at_its_header(services: Services, tmp_path: Path) -> None:
    sheet = tmp_path / "thieu-cot.csv"
    sheet.write_text("\nmã số,tên\n1.001193,Đăng ký khai sinh\n", encoding="utf-8")
    with pytest.raises(CatalogRowsError) as caught:
        import_catalog(services.db, services.store, sheet, actor="t")
    [problem] = caught.value.problems
    assert (problem.row, problem.column, problem.code) == (2, "code", MISSING_COLUMN)


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("danh-muc.txt", b"1.001193", "catalog.unreadable"),
        ("hong.xlsx", b"not a workbook", "catalog.unreadable"),
        ("hong.jsonl.gz", b"\x1f\x8b broken", "catalog.unreadable"),
        ("trong.jsonl", b"\n\n", "catalog.empty"),
        ("trong.csv", b"code,name\n", "catalog.empty"),
    ],
)
def test_unusable_files_are_refused_with_a_code(
    services: Services, tmp_path: Path, name: str, content: bytes, code: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CatalogError) as caught:
        import_catalog(services.db, services.store, tmp_path / name, actor="t")
    assert caught.value.code == code and _versions(services) == []


def test_the_same_file_twice_is_one_version_and_an_older_one_comes_back(
    services: Services, tmp_path: Path
) -> None:
    first_file = _jsonl(tmp_path / "a.jsonl", PROVINCE)
    first = import_catalog(services.db, services.store, first_file, actor="t")
    again = import_catalog(services.db, services.store, first_file, actor="t")
    assert again.version == first.version and not again.new
    gz = tmp_path / "b.jsonl.gz"
    gz.write_bytes(gzip.compress(first_file.read_bytes().split(b"\n", 1)[1]))  # the second procedure only
    second = import_catalog(services.db, services.store, gz, actor="t")
    assert second.version != first.version and second.new
    assert dict(_versions(services)) == {first.version: False, second.version: True}
    back = import_catalog(services.db, services.store, first_file, actor="t")
    assert back.version == first.version and not back.new
    assert dict(_versions(services)) == {first.version: True, second.version: False}


def test_a_new_process_loads_the_active_catalog_and_running_ones_switch(
    settings: Settings, tmp_path: Path
) -> None:
    running = build_services(settings.model_copy(update={"model_refresh_seconds": 0}))
    try:
        shipped = running.catalog.version
        imported = import_catalog(
            running.db, running.store, _jsonl(tmp_path / "t.jsonl", PROVINCE), actor="t"
        )
        started = build_services(settings)
        try:
            assert started.catalog_import == imported.version == started.catalog.version
            assert started.classifier.catalog is started.catalog
        finally:
            started.close()
        assert running.catalog.version == shipped and running.catalog_import is None
        running.refresh()
        assert running.catalog_import == imported.version == running.catalog.version
        assert running.classifier.catalog is running.catalog
    finally:
        running.close()


def test_the_configured_catalog_path_wins_over_an_import(settings: Settings, tmp_path: Path) -> None:
    pinned = settings.model_copy(update={"catalog_path": default_catalog_path(), "model_refresh_seconds": 0})
    services = build_services(pinned)
    try:
        import_catalog(services.db, services.store, _jsonl(tmp_path / "t.jsonl", PROVINCE), actor="t")
        services.refresh()
        again = build_services(pinned)
        again.close()
        for built in (services, again):
            assert built.catalog_import is None and len(built.catalog.procedures) == 20
    finally:
        services.close()


def test_a_damaged_stored_catalog_leaves_the_shipped_one_in_use(settings: Settings, tmp_path: Path) -> None:
    services = build_services(settings)
    try:
        imported = import_catalog(
            services.db, services.store, _jsonl(tmp_path / "t.jsonl", PROVINCE), actor="t"
        )
        services.store.put_bytes(catalog_key(imported.version), b"damaged", content_type="application/gzip")
        with pytest.raises(CatalogError):
            load_stored_catalog(services.store, imported.version)
        started = build_services(settings)
        started.close()
        assert started.catalog_import is None and started.catalog.version == load_catalog().version
    finally:
        services.close()


def test_a_document_records_the_catalog_version_and_the_procedure_code(
    settings: Settings, tmp_path: Path
) -> None:
    services = build_services(settings.model_copy(update={"model_refresh_seconds": 0}))
    try:
        spec = next(s for s in EXAMPLES if s.name == "ket-hon-ban-dien-tu.pdf")
        path = write_example(spec, tmp_path)
        shipped = services.catalog.version
        imported = import_catalog(
            services.db, services.store, _jsonl(tmp_path / "t.jsonl", PROVINCE), actor="t"
        )
        document_id = intake(services, path.read_bytes(), source=path.name).document_id
        process_document(services, document_id)  # refreshes first: classified with the imported catalog
        with services.db.unit_of_work() as session:
            document = DocumentRepository(session).get(document_id, with_pages=True)
            assert document is not None
            record = document_record(document, services.catalog)
            without_catalog = document_record(document)
        assert imported.version != shipped
        assert record["procedure"] == "ket-hon" and record["procedure_code"] == "1.000894"
        assert record["catalog_version"] == imported.version
        assert without_catalog["procedure_code"] == "1.000894", "the shipped curated codes, without a catalog"
    finally:
        services.close()
