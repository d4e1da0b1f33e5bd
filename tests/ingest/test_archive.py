"""Archive packages (`ingest.archive`) of a dossier processed for real: a receipt whose back side is blank,
the application form, a paper in review, a failed file, one still queued and a withdrawn one; the XML checked
against the XSD in the repository with lxml, and the XSD shown to refuse what it should. The small dossiers
of the later tests are made without OCR (`tests.documents`); `tmp_path/data` holds their database."""

from __future__ import annotations

import copy
import hashlib
import io
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from examples.synth import EXAMPLE_DPI, make_blank, make_page, make_receipt
from ingest.archive import (
    NAMESPACE,
    ArchiveOptions,
    ExportedDossier,
    FailedExport,
    dossiers_finished_since,
    export_dossier,
    export_since,
    receipt_date,
    validate_metadata,
)
from ingest.errors import IngestError
from ingest.intake import intake
from ingest.pipeline import process_document
from ingest.services import Services, build_services
from ingest.settings import load_settings
from storage.errors import IntegrityMismatch
from storage.models import Document, DocumentStatus, utcnow
from storage.objects import ObjectStore
from storage.s3 import S3ObjectStore
from tests.conftest import REPO
from tests.documents import read_document

XSD = REPO / "ingest" / "schemas" / "archive-1.xsd"
NS = {"a": NAMESPACE}
CODE = "000.00.21.H61-250401-0001"
SIGNED_AT = datetime(2026, 2, 5, 2, 3, 4, tzinfo=UTC)


@dataclass(frozen=True)
class Built:
    services: Services
    ids: dict[str, str]
    """receipt, withdrawn, form, failed, review, queued → document id."""
    originals: dict[str, bytes]
    exported: ExportedDossier
    target: Path


def _tiff(first: Image.Image, *rest: Image.Image) -> bytes:
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=rest, compression="jpeg", dpi=(200, 200))
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(200, 200))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("archive")
    services = build_services(
        load_settings(data_dir=folder / "data", workers=2, broker_url=None, database_url=None)
    )
    receipt = make_receipt("ho-kinh-doanh", seed=3, dpi=EXAMPLE_DPI, dossier_code=CODE)
    form = make_page("ho-kinh-doanh", seed=3, dpi=EXAMPLE_DPI, dossier_code=CODE)
    originals = {
        "receipt": _tiff(receipt.image, make_blank(seed=3, dpi=EXAMPLE_DPI).image),
        "form": _png(form.image),
        "failed": b"",
        "queued": b"not read yet",
        "review": b"ghi-chu.png-original",  # what `read_document` stores
    }
    ids = {"receipt": intake(services, originals["receipt"], source="giay-tiep-nhan.tif").document_id}
    ids["withdrawn"] = read_document(services, "nham.png", text="Quét nhầm", dossier=CODE)
    ids["form"] = intake(services, originals["form"], source="to-khai.png", dossier=CODE).document_id
    ids["failed"] = intake(services, originals["failed"], source="rong.pdf", dossier=CODE).document_id
    ids["review"] = read_document(services, "ghi-chu.png", text="Ghi chú bổ sung", dossier=CODE)
    ids["queued"] = intake(services, originals["queued"], source="cho.png", dossier=CODE).document_id
    for name in ("receipt", "form", "failed"):
        process_document(services, ids[name])
    with services.db.unit_of_work() as session:
        withdrawn = session.get(Document, ids["withdrawn"])
        signed = session.get(Document, ids["form"])
        assert withdrawn is not None and signed is not None
        withdrawn.withdrawn_at, withdrawn.withdrawn_reason = utcnow(), "quét nhầm"
        signed.signed_by, signed.signed_at, signed.pdfa = "Nguyễn Văn Ký", SIGNED_AT, True
    target = folder / "luu-tru"
    try:
        yield Built(services, ids, originals, export_dossier(services, CODE, target), target)
    finally:
        services.close()


def _xml(built: Built) -> etree._ElementTree:
    return etree.parse(str(built.exported.metadata))


def _text(tree: etree._ElementTree | etree._Element, path: str) -> list[str]:
    return [e.text for e in tree.iterfind(path, NS)]


def _document(tree: etree._ElementTree, sequence: int) -> etree._Element:
    [found] = [
        d
        for d in tree.iterfind("a:Documents/a:Document", NS)
        if d.findtext("a:Sequence", None, NS) == str(sequence)
    ]
    return found


def _files(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_processed_dossier_is_what_the_test_expects(built: Built) -> None:
    with built.services.db.unit_of_work() as session:
        rows = {name: session.get(Document, i) for name, i in built.ids.items()}
        status = {name: row.status for name, row in rows.items() if row is not None}
        receipt = session.get(Document, built.ids["receipt"])
        assert receipt is not None and receipt.dossier_code == CODE, "filed by its QR code"
        assert [p.blank for p in receipt.pages] == [False, True]
    assert status == {
        "receipt": "done",
        "withdrawn": "needs_review",
        "form": "done",
        "failed": "failed",
        "review": "needs_review",
        "queued": "queued",
    }


def test_the_metadata_validates_against_the_xsd_in_the_repository(built: Built) -> None:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    schema.assertValid(_xml(built))
    assert built.exported.metadata == built.target / CODE / f"{CODE}.xml"


def test_files_are_named_by_dossier_code_and_sequence_with_a_checksum_list(built: Built) -> None:
    folder = built.target / CODE
    assert sorted(_files(folder)) == [
        f"{CODE}.1.pdf",
        f"{CODE}.2.pdf",
        f"{CODE}.4.pdf",
        f"{CODE}.xml",
        "SHA256SUMS",
        f"originals/{CODE}.1.tif",
        f"originals/{CODE}.2.png",
        f"originals/{CODE}.4.bin",
    ]
    assert [d.sequence for d in built.exported.documents] == [1, 2, 4]
    assert [d.file_name for d in built.exported.documents] == [f"{CODE}.{n}.pdf" for n in (1, 2, 4)]
    sums = (folder / "SHA256SUMS").read_text().splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in sums}
    assert listed == {name: digest for name, digest in _files(folder).items() if name != "SHA256SUMS"}
    if shutil.which("sha256sum"):
        checked = subprocess.run(
            ["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    assert built.exported.size_bytes == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_originals_are_byte_identical_and_pdfs_are_the_stored_ones(built: Built) -> None:
    folder, tree = built.target / CODE, _xml(built)
    for sequence, name, extension in ((1, "receipt", "tif"), (2, "form", "png"), (4, "review", "bin")):
        copied = (folder / "originals" / f"{CODE}.{sequence}.{extension}").read_bytes()
        assert copied == built.originals[name]
        element = _document(tree, sequence)
        assert element.findtext("a:OriginalSha256", None, NS) == hashlib.sha256(copied).hexdigest()
        assert element.findtext("a:DocumentId", None, NS) == built.ids[name]
        with built.services.db.unit_of_work() as session:
            document = session.get(Document, built.ids[name])
            assert document is not None and document.pdf_key is not None
            stored_pdf = built.services.store.get_bytes(document.pdf_key)
        pdf = (folder / f"{CODE}.{sequence}.pdf").read_bytes()
        assert pdf == stored_pdf and pdf.startswith(b"%PDF")
        assert element.findtext("a:PdfSha256", None, NS) == hashlib.sha256(pdf).hexdigest()


def test_a_blank_back_side_is_counted_and_flagged(built: Built) -> None:
    tree = _xml(built)
    receipt = _document(tree, 1)
    assert receipt.findtext("a:PageCount", None, NS) == "2"
    assert _text(receipt, "a:BlankPages/a:Page") == ["2"]
    assert _document(tree, 2).find("a:BlankPages", NS) is None
    assert _text(tree, "a:PageCount") == ["4"] and _text(tree, "a:BlankPageCount") == ["1"]
    assert built.exported.documents[0].blank_pages == (2,) and built.exported.pages == 4


def test_dossier_fields_of_decree_30(built: Built) -> None:
    tree = _xml(built)
    root = tree.getroot()
    assert root.tag == f"{{{NAMESPACE}}}Dossier" and root.get("version") == "1"
    assert _text(tree, "a:FileCode") == [CODE]
    [title] = _text(tree, "a:Title")
    assert title.startswith("Hồ sơ đăng ký thành lập hộ kinh doanh của "), title
    assert len(title.split(" của ", 1)[1].split()) >= 2, "the applicant named on the receipt"
    assert _text(tree, "a:Retention") == ["Vĩnh viễn"] and _text(tree, "a:Rights") == ["Hạn chế"]
    assert _text(tree, "a:Creator") == ["Trung tâm Phục vụ hành chính công tỉnh Vĩnh Long"]
    assert _text(tree, "a:Language") == ["vi"]
    assert _text(tree, "a:StartDate") == ["2025-04-01"], "the receipt day its code holds"
    [end] = _text(tree, "a:EndDate")
    assert date.fromisoformat(end) >= date(2025, 4, 1)
    assert _text(tree, "a:DocumentCount") == ["3"]
    [description] = _text(tree, "a:Description")
    assert "3 tài liệu, 4 trang (trong đó 1 trang trắng)" in description
    assert "1 tài liệu còn chờ cán bộ kiểm tra" in description
    assert _text(tree, "a:ProcedureId") == ["ho-kinh-doanh"] and _text(tree, "a:ProcedureCode") == [
        "1.001612"
    ]
    assert _text(tree, "a:CatalogVersion") == [built.services.catalog.version]
    keywords = _text(tree, "a:Keywords/a:Keyword")
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in keywords and len(keywords) == len(set(keywords))


def test_document_fields_type_subject_dates_status_and_signature(built: Built) -> None:
    tree = _xml(built)
    receipt, form, review = (_document(tree, n) for n in (1, 2, 4))
    assert receipt.findtext("a:Type", None, NS) == "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
    assert receipt.findtext("a:Kind", None, NS) == "receipt"
    assert receipt.findtext("a:IssuedDate", None, NS) == "2025-04-01"
    assert "TIẾP NHẬN HỒ SƠ" in (receipt.findtext("a:Subject", None, NS) or "")
    assert receipt.findtext("a:SourceName", None, NS) == "giay-tiep-nhan.tif"
    assert receipt.findtext("a:MediaType", None, NS) == "image/tiff"
    assert form.findtext("a:Kind", None, NS) == "application_form"
    assert "ĐĂNG KÝ HỘ KINH DOANH" in (form.findtext("a:Subject", None, NS) or "")
    issued = form.findtext("a:IssuedDate", None, NS)
    assert issued is not None and issued < "2025-04-02", "the form's date line, not a birth date"
    assert form.findtext("a:Status", None, NS) == "done" and form.findtext("a:PdfA", None, NS) == "true"
    assert form.findtext("a:Signature/a:SignedBy", None, NS) == "Nguyễn Văn Ký"
    assert form.findtext("a:Signature/a:SignedAt", None, NS) == "2026-02-05T02:03:04Z"
    assert receipt.find("a:Signature", NS) is None
    assert review.findtext("a:Status", None, NS) == "needs_review"
    assert review.findtext("a:Type", None, NS) == "Tài liệu chưa xác định loại"
    assert review.findtext("a:Subject", None, NS) == "Tài liệu chưa xác định loại"
    assert review.find("a:Kind", NS) is None and review.find("a:Number", NS) is None


def test_failed_queued_and_withdrawn_documents_are_left_out_and_said_why(built: Built) -> None:
    left = {(d.sequence, d.reason, d.status, d.error_code) for d in built.exported.left_out}
    assert left == {(3, "failed", "failed", "input.empty"), (5, "unfinished", "queued", None)}
    xml = built.exported.metadata.read_text(encoding="utf-8")
    for name in ("failed", "queued", "withdrawn"):
        assert built.ids[name] not in xml
    assert "nham.png" not in xml and "rong.pdf" not in xml


def test_exporting_again_gives_the_same_package_and_drops_what_is_not_part_of_it(built: Built) -> None:
    folder = built.target / CODE
    before = _files(folder)
    (folder / "ghi-tay.txt").write_text("a stray file")
    again = export_dossier(built.services, CODE, built.target)
    assert _files(folder) == before, "same names, same bytes"
    assert again.documents == built.exported.documents and again.left_out == built.exported.left_out
    assert sorted(p.name for p in built.target.iterdir()) == [CODE], "no build folder left behind"


def _broken(built: Built, change: str) -> bytes:
    tree = copy.deepcopy(_xml(built))
    root = tree.getroot()
    documents = root.find("a:Documents", NS)
    if change == "no title":
        root.remove(root.find("a:Title", NS))
    elif change == "same sequence twice":
        documents.append(copy.deepcopy(documents[0]))
        documents[-1].find("a:FileName", NS).text = "khac.pdf"
    elif change == "short checksum":
        documents[0].find("a:PdfSha256", NS).text = "abc"
    elif change == "zero pages":
        documents[0].find("a:PageCount", NS).text = "0"
    elif change == "bad date":
        root.find("a:StartDate", NS).text = "01/04/2025"
    elif change == "local signing time":
        documents[1].find("a:Signature/a:SignedAt", NS).text = "2026-02-05T09:03:04+07:00"
    elif change == "unknown element":
        etree.SubElement(root, f"{{{NAMESPACE}}}Secret").text = "x"
    elif change == "other namespace":
        root.tag = "{urn:other}Dossier"
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))


@pytest.mark.parametrize(
    "change",
    [
        "no title",
        "same sequence twice",
        "short checksum",
        "zero pages",
        "bad date",
        "local signing time",
        "unknown element",
        "other namespace",
    ],
)
def test_the_xsd_refuses_broken_metadata(built: Built, change: str) -> None:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    broken = _broken(built, change)
    assert not schema.validate(etree.fromstring(broken))
    with pytest.raises(IngestError) as refused:
        validate_metadata(broken)
    assert refused.value.code == "archive.invalid_metadata"


def test_unchanged_metadata_passes_the_same_check(built: Built) -> None:
    validate_metadata(built.exported.metadata.read_bytes())
    with pytest.raises(IngestError, match="well-formed"):
        validate_metadata(b"<Dossier")


# --- small dossiers made without OCR ---------------------------------------------------------------------


def _finished(
    services: Services, document_id: str, at: datetime, status: DocumentStatus | None = None
) -> None:
    with services.db.unit_of_work() as session:
        document = session.get(Document, document_id)
        assert document is not None
        document.finished_at = at
        if status is not None:
            document.status = status.value
        if status is DocumentStatus.FAILED:
            document.pdf_key, document.error_code = None, "input.unreadable"


def test_since_takes_dossiers_with_a_document_finished_from_that_day_in_vietnam_time(
    services: Services, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    a, b, c, d = (f"000.00.21.H61-260131-000{n}" for n in (1, 2, 3, 4))
    _finished(
        services,
        read_document(services, "a.png", text="A", dossier=a),
        datetime(2026, 1, 31, 17, 0, tzinfo=UTC),
    )
    _finished(
        services,
        read_document(services, "b.png", text="B", dossier=b),
        datetime(2026, 1, 31, 16, 59, tzinfo=UTC),
    )
    _finished(
        services,
        read_document(services, "c.png", text="C", dossier=c),
        datetime(2026, 2, 3, tzinfo=UTC),
        DocumentStatus.DONE,
    )
    failed = read_document(services, "d.png", text="D", dossier=d)
    _finished(services, failed, datetime(2026, 2, 3, tzinfo=UTC), DocumentStatus.FAILED)
    assert dossiers_finished_since(services, date(2026, 2, 1)) == [a, c], "00:00 in Vietnam is 17:00 UTC"
    seen: list[str] = []
    outcomes = export_since(services, date(2026, 2, 1), out, progress=lambda o: seen.append(o.code))
    assert [o.code for o in outcomes] == seen == [a, c]
    assert all(isinstance(o, ExportedDossier) for o in outcomes)
    assert sorted(p.name for p in out.iterdir()) == [a, c]
    assert export_since(services, date(2026, 2, 4), out) == []


def test_a_changed_original_is_refused_and_the_previous_package_stays(
    services: Services, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code = "000.00.21.H61-260201-0001"
    document_id = read_document(
        services, "to-khai.png", text="TỜ KHAI", dossier=code, status=DocumentStatus.DONE
    )
    export_dossier(services, code, out)
    before = _files(out / code)
    with services.db.unit_of_work() as session:
        document = session.get(Document, document_id)
        assert document is not None
        key = document.original_key
    services.store.put_bytes(key, b"other bytes", content_type="application/octet-stream")
    with pytest.raises(IntegrityMismatch) as refused:
        export_dossier(services, code, out)
    assert refused.value.code == "storage.corrupt" and document_id in refused.value.message
    assert _files(out / code) == before
    assert sorted(p.name for p in out.iterdir()) == [code], "the half-built package is gone"


def test_since_goes_on_after_a_dossier_that_fails(services: Services, tmp_path: Path) -> None:
    out = tmp_path / "out"
    broken, fine = "000.00.21.H61-260202-0001", "000.00.21.H61-260202-0002"
    moment = datetime(2026, 2, 2, 3, tzinfo=UTC)
    bad = read_document(services, "x.png", text="X", dossier=broken)
    _finished(services, bad, moment)
    _finished(services, read_document(services, "y.png", text="Y", dossier=fine), moment)
    with services.db.unit_of_work() as session:
        document = session.get(Document, bad)
        assert document is not None
        services.store.delete(str(document.pdf_key))
    first, second = export_since(services, date(2026, 2, 2), out)
    assert (
        isinstance(first, FailedExport) and first.code == broken and first.error_code == "storage.not_found"
    )
    assert isinstance(second, ExportedDossier) and second.code == fine
    assert sorted(p.name for p in out.iterdir()) == [fine]


def test_unknown_dossier_and_dossier_with_nothing_to_export(services: Services, tmp_path: Path) -> None:
    with pytest.raises(IngestError) as unknown:
        export_dossier(services, "000.00.21.H61-250101-9999", tmp_path / "out")
    assert unknown.value.code == "archive.unknown_dossier"
    assert not (tmp_path / "out").exists()
    code = "000.00.21.H61-250101-0001"
    _finished(
        services, read_document(services, "z.png", text="Z", dossier=code), utcnow(), DocumentStatus.FAILED
    )
    with pytest.raises(IngestError) as nothing:
        export_dossier(services, code, tmp_path / "out")
    assert nothing.value.code == "archive.nothing_to_export"


def test_options_reach_the_metadata_and_blank_ones_are_refused(services: Services, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = "HS-CU-1998-07"  # an older archive's code: no receipt day in it
    read_document(
        services, "cu.png", text="ĐƠN", dossier=code, status=DocumentStatus.DONE, kind="application_form"
    )
    options = ArchiveOptions(retention="20 năm", rights="Công khai", creator="UBND xã Mỏ Cày")
    exported = export_dossier(services, code, out, options)
    tree = etree.parse(str(exported.metadata))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(tree)
    assert _text(tree, "a:Retention") == ["20 năm"] and _text(tree, "a:Rights") == ["Công khai"]
    assert _text(tree, "a:Creator") == ["UBND xã Mỏ Cày"]
    assert _text(tree, "a:Title") == [f"Hồ sơ {code}"] and tree.find("a:ProcedureId", NS) is None
    assert receipt_date(code) is None and receipt_date(CODE) == date(2025, 4, 1)
    with pytest.raises(IngestError) as blank:
        ArchiveOptions(retention="  ")
    assert blank.value.code == "archive.bad_option"


def test_export_streams_from_s3(services: Services, s3_store: S3ObjectStore, tmp_path: Path) -> None:
    out = tmp_path / "out"
    store: ObjectStore = s3_store
    services.store = store
    code = "000.00.21.H61-260203-0001"
    document_id = read_document(services, "s3.png", text="TỜ KHAI", dossier=code, status=DocumentStatus.DONE)
    exported = export_dossier(services, code, out)
    [document] = exported.documents
    assert document.document_id == document_id
    copied = (out / code / document.original_name).read_bytes()
    assert copied == b"s3.png-original"
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.parse(str(exported.metadata)))
