import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from classifiers.catalog import Catalog, load_catalog
from ingest.errors import IngestError
from ingest.manifest import (
    Manifest,
    ManifestProblem,
    ManifestRow,
    normalise_path,
    read_manifest,
    resolve_procedure,
    validate_manifest,
)

TODAY = date(2025, 6, 1)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(None)


def _csv(tmp_path: Path, text: str, *, name: str = "m.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx(tmp_path: Path, rows: Sequence[Sequence[object]], *, name: str = "m.xlsx") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for index, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=index, column=column, value=value)
    workbook.create_sheet("second").append(["ignored", "sheet"])
    path = tmp_path / name
    workbook.save(path)
    return path


def _read(path: Path) -> Manifest:
    return read_manifest(path, today=TODAY)


def _codes(problems: Sequence[ManifestProblem]) -> list[tuple[int, str]]:
    return [(p.line, p.code) for p in problems]


def _error(path: Path) -> IngestError:
    with pytest.raises(IngestError) as caught:
        _read(path)
    return caught.value


GOOD_CSV = (
    "file,dossier,procedure,received,applicant\n"
    "hoso/001.pdf,H38.22-250301-0001,khai-sinh,2025-03-01,Nguyễn Văn An\n"
    "hoso/002.tif,H38.22-250301-0002,1.000894,01/03/2025,\n"
    "hoso/003.jpg,,,,\n"
)


def test_good_csv_reads_every_column_and_validates_clean(tmp_path: Path, catalog: Catalog) -> None:
    manifest = _read(_csv(tmp_path, GOOD_CSV))
    assert manifest.rows[0] == ManifestRow(
        2, "hoso/001.pdf", "H38.22-250301-0001", "khai-sinh", date(2025, 3, 1), "Nguyễn Văn An"
    )
    assert manifest.rows[1].received == date(2025, 3, 1) and manifest.rows[1].applicant is None
    assert manifest.rows[2] == ManifestRow(4, "hoso/003.jpg", None, None, None, None)
    assert not manifest.problems
    available = ["hoso/001.pdf", "hoso/002.tif", "hoso/003.jpg", "hoso/extra.pdf"]
    assert validate_manifest(manifest, available=available, catalog=catalog) == []
    assert sorted(manifest.mapping()) == ["hoso/001.pdf", "hoso/002.tif", "hoso/003.jpg"]


def test_national_codes_resolve_to_catalog_ids(tmp_path: Path, catalog: Catalog) -> None:
    text = "file,dossier,procedure\na.pdf,X1,1.000894\nb.pdf,X2,1.001193.000.00.00.H38\nc.pdf,X3,KHAI-TU\n"
    manifest = _read(_csv(tmp_path, text))
    assert validate_manifest(manifest, available=["a.pdf", "b.pdf", "c.pdf"], catalog=catalog) == []
    assert [r.procedure for r in manifest.resolved(catalog).rows] == ["ket-hon", "khai-sinh", "khai-tu"]
    found = resolve_procedure(" 1.000894 ", catalog)
    assert found is not None and found.id == "ket-hon"
    assert resolve_procedure("9.999999", catalog) is None


def test_good_xlsx_with_date_cells_and_numbers(tmp_path: Path, catalog: Catalog) -> None:
    path = _xlsx(
        tmp_path,
        [
            ["File", "Dossier", "Procedure", "Received", "Applicant"],
            ["a.pdf", "H38-1", "khai-sinh", datetime(2025, 3, 1, 14, 30), "Trần Thị Bình"],
            ["b.pdf", 12345, None, date(2024, 12, 31), None],
            ["c.pdf", None, None, "15/03/2024", None],
        ],
    )
    manifest = _read(path)
    assert [(r.line, r.file, r.dossier, r.received) for r in manifest.rows] == [
        (2, "a.pdf", "H38-1", date(2025, 3, 1)),
        (3, "b.pdf", "12345", date(2024, 12, 31)),
        (4, "c.pdf", None, date(2024, 3, 15)),
    ]
    assert manifest.rows[0].applicant == "Trần Thị Bình" and not manifest.problems
    assert validate_manifest(manifest, available=["a.pdf", "b.pdf", "c.pdf"], catalog=catalog) == []


def test_xlsx_number_in_the_date_column_is_not_a_date(tmp_path: Path) -> None:
    path = _xlsx(tmp_path, [["file", "dossier", "received"], ["a.pdf", "X", 45000], ["b.pdf", "X", 45000.5]])
    manifest = _read(path)
    assert _codes(manifest.problems) == [(2, "manifest.bad_date"), (3, "manifest.bad_date")]
    assert "45000" in manifest.problems[0].message
    assert [r.received for r in manifest.rows] == [None, None]


def test_xlsx_empty_rows_are_skipped_and_lines_stay_true(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path, [[None], ["file", "dossier"], ["a.pdf", "X"], [None, None], [None], ["b.pdf", "Y"]]
    )
    assert [(r.line, r.file) for r in _read(path).rows] == [(3, "a.pdf"), (6, "b.pdf")]


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    manifest = _read(_csv(tmp_path, "\ufefffile,dossier\na.pdf,X\n"))
    assert [(r.file, r.dossier) for r in manifest.rows] == [("a.pdf", "X")]


def test_semicolon_delimiter_with_bom_and_commas_in_cells(tmp_path: Path) -> None:
    text = "\ufeffTệp;Mã hồ sơ;Người nộp\r\nhoso\\a.pdf;X1;Nguyễn Văn An, Trần Thị B\r\n"
    manifest = _read(_csv(tmp_path, text))
    assert [(r.file, r.dossier, r.applicant) for r in manifest.rows] == [
        ("hoso/a.pdf", "X1", "Nguyễn Văn An, Trần Thị B")
    ]


def test_vietnamese_headers_ignore_case_spaces_and_tone_marks(tmp_path: Path) -> None:
    header = "  TỆP TIN , Mã  hồ sơ,Mã thủ tục,Ngày tiếp nhận,Chủ hồ sơ,Ghi chú\n"
    decomposed = unicodedata.normalize("NFD", header)  # as macOS writes it
    manifest = _read(_csv(tmp_path, decomposed + "a.pdf,X,khai-sinh,15.03.2024,Lê Văn C,note\n"))
    assert manifest.rows == (ManifestRow(2, "a.pdf", "X", "khai-sinh", date(2024, 3, 15), "Lê Văn C"),)
    other = _read(
        _csv(tmp_path, "Đường dẫn,Hồ sơ,Thủ tục,Ngày nhận,Người nộp hồ sơ\na.pdf,X,,,\n", name="o.csv")
    )
    assert other.rows[0].file == "a.pdf" and other.rows[0].dossier == "X"


def test_tab_separated_and_cp1258_text(tmp_path: Path) -> None:
    tone_split = "Tê\u0323p\thô\u0300 sơ\nb.pdf\tY\n"  # cp1258 keeps tone marks apart
    path = tmp_path / "cp.csv"
    path.write_bytes(tone_split.encode("cp1258"))
    assert [(r.file, r.dossier) for r in _read(path).rows] == [("b.pdf", "Y")]


def test_utf16_unicode_text_export(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Tệp\tMã hồ sơ\r\nc.pdf\tZ\r\n", encoding="utf-16")
    assert [(r.file, r.dossier) for r in _read(path).rows] == [("c.pdf", "Z")]


def test_text_in_no_known_encoding_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"file,dossier\na\x81\x8d.pdf,X\n")
    error = _error(path)
    assert error.code == "manifest.unreadable" and "UTF-8" in error.message


def test_unknown_extension_missing_and_broken_files_are_unreadable(tmp_path: Path) -> None:
    (tmp_path / "m.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really")
    for name in ["m.xls", "absent.csv", "absent.xlsx", "broken.xlsx"]:
        assert _error(tmp_path / name).code == "manifest.unreadable", name


@pytest.mark.parametrize(
    ("header", "missing"),
    [("file,procedure", "'dossier'"), ("ho so,applicant", "'file'"), ("", "'file'")],
)
def test_missing_required_column_is_named(tmp_path: Path, header: str, missing: str) -> None:
    error = _error(_csv(tmp_path, f"{header}\na,b\n" if header else "\n\n"))
    assert error.code == "manifest.missing_column" and missing in error.message


def test_two_headers_for_one_column_are_refused(tmp_path: Path) -> None:
    assert _error(_csv(tmp_path, "file,dossier,tệp\na,b,c\n")).code == "manifest.duplicate_column"


def test_every_bad_row_is_reported_with_its_line(tmp_path: Path, catalog: Catalog) -> None:
    text = (
        "file,dossier,procedure,received\n"
        "ok.pdf,X1,khai-sinh,2025-01-01\n"  # 2
        "gone.pdf,X2,,\n"  # 3
        "bad.pdf,mã hồ sơ/1,,\n"  # 4
        "proc.pdf,X4,no-such-thing,\n"  # 5
        "date.pdf,X5,,31/02/2025\n"  # 6
        ",X6,,\n"  # 7
        "ok.pdf,X7,,\n"  # 8
        "worst.pdf,../x,9.999999,yesterday\n"  # 9
    )
    manifest = _read(_csv(tmp_path, text))
    available = ["ok.pdf", "bad.pdf", "proc.pdf", "date.pdf", "worst.pdf"]
    problems = validate_manifest(manifest, available=available, catalog=catalog)
    assert _codes(problems) == [
        (3, "manifest.file_missing"),
        (4, "manifest.bad_dossier"),
        (5, "manifest.unknown_procedure"),
        (6, "manifest.bad_date"),
        (7, "manifest.file_missing"),
        (8, "manifest.duplicate_file"),
        (9, "manifest.bad_date"),
        (9, "manifest.bad_dossier"),
        (9, "manifest.unknown_procedure"),
    ]
    by_line = {(p.line, p.code): p for p in problems}
    assert "'gone.pdf'" in by_line[3, "manifest.file_missing"].message
    assert by_line[7, "manifest.file_missing"].file is None
    assert "'no-such-thing'" in by_line[5, "manifest.unknown_procedure"].message
    assert "'31/02/2025'" in by_line[6, "manifest.bad_date"].message


def test_duplicate_file_names_both_lines_and_first_row_wins(tmp_path: Path, catalog: Catalog) -> None:
    manifest = _read(_csv(tmp_path, "file,dossier\na.pdf,X1\nb.pdf,X2\n./a.pdf,X3\n"))
    problems = validate_manifest(manifest, available={"a.pdf", "b.pdf"}, catalog=catalog)
    assert _codes(problems) == [(4, "manifest.duplicate_file")]
    assert "lines 2 and 4" in problems[0].message and problems[0].file == "a.pdf"
    assert manifest.mapping()["a.pdf"].dossier == "X1"


def test_paths_normalise_separators_and_leading_dot(tmp_path: Path, catalog: Catalog) -> None:
    manifest = _read(_csv(tmp_path, "file,dossier\n.\\2024\\a.pdf,X\n./././b.pdf,Y\n"))
    assert [r.file for r in manifest.rows] == ["2024/a.pdf", "b.pdf"]
    assert validate_manifest(manifest, available=["2024\\a.pdf", "./b.pdf"], catalog=catalog) == []
    assert normalise_path(unicodedata.normalize("NFD", " hồ sơ/tệp.pdf ")) == "hồ sơ/tệp.pdf"


@pytest.mark.parametrize(
    "text", ["2024-03-15", "15/03/2024", "15-03-2024", "15.03.2024", "  15/3/2024 ", "2025-06-02"]
)
def test_accepted_date_forms(tmp_path: Path, text: str) -> None:
    manifest = _read(_csv(tmp_path, f"file,dossier,received\na.pdf,X,{text}\n"))
    expected = date(2025, 6, 2) if text.startswith("2025") else date(2024, 3, 15)
    assert manifest.rows[0].received == expected and not manifest.problems


@pytest.mark.parametrize(
    "text",
    [
        "2024/03/15",
        "15/03/24",
        "03-15-2024",
        "15/03-2024",
        "20240315",
        "2024-3-15",
        "15 March 2024",
        "2024-03-15 10:00",
        "2025-06-03",
        "31/12/2999",
    ],
)
def test_rejected_date_forms(tmp_path: Path, text: str) -> None:
    manifest = _read(_csv(tmp_path, f"file,dossier,received\na.pdf,X,{text}\n"))
    assert _codes(manifest.problems) == [(2, "manifest.bad_date")]
    assert manifest.rows[0].received is None and manifest.rows[0].file == "a.pdf"


def test_future_excel_date_cell_is_rejected(tmp_path: Path) -> None:
    path = _xlsx(tmp_path, [["file", "dossier", "received"], ["a.pdf", "X", datetime(2025, 6, 3)]])
    assert _codes(_read(path).problems) == [(2, "manifest.bad_date")]
    fresh = read_manifest(_csv(tmp_path, f"file,dossier,received\na,X,{date.today() + timedelta(days=1)}\n"))
    assert not fresh.problems


def test_empty_csv_rows_are_skipped(tmp_path: Path) -> None:
    manifest = _read(_csv(tmp_path, "\nfile,dossier\n\na.pdf,X\n,\n , , \nb.pdf,\n"))
    assert [(r.line, r.file, r.dossier) for r in manifest.rows] == [(4, "a.pdf", "X"), (7, "b.pdf", None)]


def test_too_many_rows_are_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "file,dossier\n" + "".join(f"{i}.pdf,X\n" for i in range(4)))
    assert len(read_manifest(path, max_rows=4).rows) == 4
    with pytest.raises(IngestError) as caught:
        read_manifest(path, max_rows=3)
    assert caught.value.code == "manifest.too_large"


def test_fifty_thousand_rows_validate(tmp_path: Path, catalog: Catalog) -> None:
    count = 50_000
    lines = [f"scans/{i:06d}.pdf;HS-{i};khai-sinh;15/03/2024;Người {i}\n" for i in range(count)]
    lines[777] = "scans/000001.pdf;HS-x;;;\n"  # a duplicate of line 3
    path = _csv(tmp_path, "tệp;mã hồ sơ;thủ tục;ngày nhận;người nộp\n" + "".join(lines))
    manifest = _read(path)
    available = [f"scans/{i:06d}.pdf" for i in range(count) if i != 4242]
    problems = validate_manifest(manifest, available=available, catalog=catalog)
    assert len(manifest.rows) == count
    assert _codes(problems) == [(779, "manifest.duplicate_file"), (4244, "manifest.file_missing")]
    assert len(manifest.mapping()) == count - 1
