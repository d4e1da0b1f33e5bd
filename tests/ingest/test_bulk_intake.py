"""Bulk intake end to end in embedded mode: stacks split into dossiers, every page of a folder in its
dossier, manifests, and imports that stop and resume — real scans, real OCR, the real pool."""

from __future__ import annotations

import csv
import threading
from collections.abc import Sequence
from pathlib import Path

import img2pdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from examples import synth
from ingest import batch
from ingest.manifest import read_manifest
from ingest.separator import separator_sheet_pdf
from ingest.services import Services
from ingest.submit import Incoming, open_submitter
from storage.models import Document, DocumentStatus, Stack
from storage.repositories import DocumentRepository

DPI = 150
CODES = ("000.00.21.H61-250401-0001", "000.20.31.H61-250402-0002", "000.24.35.H61-250403-0003")
PROCEDURES = ("ho-kinh-doanh", "khai-sinh", "tam-tru")


def _jpeg(image: Image.Image, path: Path) -> Path:
    image.convert("L").save(path, "JPEG", quality=85, dpi=(DPI, DPI))
    return path


def _pdf(images: Sequence[Image.Image], path: Path) -> Path:
    encoded = []
    for n, image in enumerate(images):
        page = path.with_name(f".{path.stem}-{n}.jpg")
        encoded.append(_jpeg(image, page).read_bytes())
        page.unlink()
    path.write_bytes(img2pdf.convert(encoded))
    return path


def _receipt(n: int) -> Image.Image:
    return synth.make_receipt(PROCEDURES[n], seed=n, dpi=DPI, dossier_code=CODES[n]).image


def _form(n: int) -> Image.Image:
    return synth.make_page(PROCEDURES[n], seed=n, dpi=DPI, dossier_code=CODES[n]).image


def _separator(code: str) -> Image.Image:
    document = pdfium.PdfDocument(separator_sheet_pdf(code))
    try:
        return document[0].render(scale=200 / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()


def _documents(services: Services) -> list[Document]:
    with services.db.unit_of_work() as session:
        documents = list(DocumentRepository(session).iter_all())
        for document in documents:
            session.expunge(document)
        return sorted(documents, key=lambda d: d.source)


def _import(services: Services, paths: list[Path], **options: object) -> batch.ImportResult:
    request = batch.ImportRequest.build(paths, dossier=None, manifest=None, duplex=False)
    return batch.run_import(services, request, **options)  # type: ignore[arg-type]


def test_a_stack_with_three_receipts_becomes_three_dossiers_with_their_pages(
    services: Services, tmp_path: Path
) -> None:
    stack = _pdf([_receipt(0), _form(0), _receipt(1), _form(1), _receipt(2), _form(2)], tmp_path / "quay.pdf")
    result = _import(services, [stack])
    assert not result.left
    documents = _documents(services)
    assert [(d.source, d.dossier_code, d.dossier_source, d.page_count, d.status) for d in documents] == [
        ("quay.pdf#pages=1-2", CODES[0], "separator", 2, "done"),
        ("quay.pdf#pages=3-4", CODES[1], "separator", 2, "done"),
        ("quay.pdf#pages=5-6", CODES[2], "separator", 2, "done"),
    ]
    assert [d.procedure_id for d in documents] == list(PROCEDURES)
    with services.db.unit_of_work() as session:
        (row,) = session.query(Stack).all()
        assert row.page_count == 6 and row.part_ids == [d.id for d in documents]
        assert services.store.get_bytes(row.original_key) == stack.read_bytes(), "the stack is kept untouched"
    for document in documents:
        assert document.original_key.startswith(f"dossiers/{document.dossier_code}/")
        assert document.stack_id == row.id

    again = _import(services, [stack])  # the same stack again: nothing new, nothing read twice
    assert not again.processed_now and len(_documents(services)) == 3


def test_printed_separator_sheets_start_dossiers_and_are_dropped(services: Services, tmp_path: Path) -> None:
    images = [_separator(CODES[0]), _form(0), _form(0), _separator(CODES[1]), _form(1)]
    stack = _pdf(images, tmp_path / "may-quet-1.pdf")
    _import(services, [stack])
    documents = _documents(services)
    assert [(d.source, d.dossier_code, d.page_count) for d in documents] == [
        ("may-quet-1.pdf#pages=2-3", CODES[0], 2),
        ("may-quet-1.pdf#pages=5", CODES[1], 1),
    ]
    assert all(d.dossier_source == "separator" and d.status == "done" for d in documents)


def test_a_dossier_scanned_one_page_per_file_ends_with_every_page_in_it(
    services: Services, tmp_path: Path
) -> None:
    root = tmp_path / "luu-tru"
    for n in (0, 1):
        folder = root / f"ho-so-{n + 1}"
        folder.mkdir(parents=True)
        _jpeg(_form(n), folder / "trang-01.jpg")
        _jpeg(_receipt(n), folder / "trang-02.jpg")  # the receipt need not come first
        _jpeg(synth.make_blank(seed=n, dpi=DPI).image, folder / "trang-03.jpg")
    component = synth.make_component(PROCEDURES[0], seed=0, dpi=DPI, dossier_code=CODES[0]).image
    _jpeg(component, root / "ho-so-1" / "trang-04.jpg")
    _import(services, [root])
    documents = _documents(services)
    assert len(documents) == 7
    for document in documents:
        expected = CODES[0] if document.source.startswith("ho-so-1/") else CODES[1]
        assert document.dossier_code == expected, document.source
        assert document.original_key.startswith(f"dossiers/{expected}/"), document.original_key
        assert document.pdf_key and document.pdf_key.startswith(f"dossiers/{expected}/")
    how = {d.source: d.dossier_source for d in documents}
    assert how["ho-so-1/trang-02.jpg"] == "barcode" and how["ho-so-1/trang-01.jpg"] == "group"
    assert how["ho-so-1/trang-04.jpg"] == "group"


def test_files_of_a_folder_with_two_dossier_codes_go_to_review_not_to_a_guess(
    services: Services, tmp_path: Path
) -> None:
    folder = tmp_path / "lan-lon"
    folder.mkdir()
    _jpeg(_receipt(0), folder / "a.jpg")
    _jpeg(_receipt(1), folder / "b.jpg")
    _jpeg(_form(2), folder / "c.jpg")
    _import(services, [folder])
    codes = {d.source: (d.dossier_code, d.status, d.review_reasons) for d in _documents(services)}
    assert codes["a.jpg"][0] == CODES[0] and codes["b.jpg"][0] == CODES[1]
    code, status, reasons = codes["c.jpg"]
    assert code is None and status == "needs_review" and "dossier.ambiguous" in reasons
    assert CODES[0] in reasons[-1] and CODES[1] in reasons[-1]


def test_grouping_can_be_switched_off(tmp_path: Path) -> None:
    from ingest.services import build_services
    from ingest.settings import load_settings

    settings = load_settings(data_dir=tmp_path / "data", workers=2, dossier_grouping="off")
    services = build_services(settings)
    try:
        folder = tmp_path / "ho-so"
        folder.mkdir()
        _jpeg(_receipt(0), folder / "1.jpg")
        _jpeg(_form(0), folder / "2.jpg")
        _import(services, [folder])
        assert {d.source: d.dossier_code for d in _documents(services)} == {"1.jpg": CODES[0], "2.jpg": None}
    finally:
        services.close()


def _write_manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "dossier", "procedure", "received", "applicant"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_manifest_maps_files_and_a_contradicting_page_goes_to_review(
    services: Services, tmp_path: Path
) -> None:
    root = tmp_path / "kho"
    root.mkdir()
    _jpeg(_form(0), root / "don.jpg")
    _jpeg(_receipt(1), root / "phieu.jpg")  # prints CODES[1]; the manifest says CODES[2]
    manifest = _write_manifest(
        tmp_path / "bang-ke.csv",
        [
            {"file": "don.jpg", "dossier": CODES[0], "procedure": "ho-kinh-doanh", "received": "15/03/2025",
             "applicant": "Nguyễn Văn An"},
            {"file": "phieu.jpg", "dossier": CODES[2], "procedure": "", "received": "", "applicant": ""},
        ],
    )  # fmt: skip
    read = read_manifest(manifest).resolved(services.catalog)
    request = batch.ImportRequest.build([root], dossier=None, manifest=manifest, duplex=False)
    batch.run_import(services, request, manifest=read)
    documents = {d.source: d for d in _documents(services)}
    form, receipt = documents["don.jpg"], documents["phieu.jpg"]
    assert (form.dossier_code, form.dossier_source, form.procedure_id) == (
        CODES[0],
        "manifest",
        "ho-kinh-doanh",
    )
    assert form.applicant == "Nguyễn Văn An" and str(form.received_on) == "2025-03-15"
    assert form.procedure_confidence == 1.0
    assert (receipt.dossier_code, receipt.status) == (CODES[2], "needs_review")
    assert "dossier.conflict" in receipt.review_reasons
    assert CODES[1] in receipt.review_reasons[-1] and CODES[2] in receipt.review_reasons[-1]


def test_an_import_stopped_midway_resumes_and_imports_every_file_exactly_once(
    services: Services, tmp_path: Path
) -> None:
    folder = tmp_path / "ho-so"
    folder.mkdir()
    for n in range(3):
        _jpeg(_receipt(n), folder / f"{n}-phieu.jpg")
        _jpeg(_form(n), folder / f"{n}-don.jpg")
    stop = threading.Event()
    taken: list[str] = []

    def after_two(item: batch.Taken) -> None:  # the first Ctrl-C, after two files were stored
        taken.append(item.source)
        if len(taken) == 2:
            stop.set()

    first = _import(services, [folder], events=batch.ImportEvents(on_taken=after_two), stop=stop)
    assert first.interrupted and len(taken) == 2
    statuses = [d.status for d in _documents(services)]
    assert len(statuses) == 2, "no file after the stop was taken"
    assert all(s in ("done", "needs_review", "queued") for s in statuses)

    second = _import(services, [folder])
    assert second.import_id == first.import_id and second.run == 2
    documents = _documents(services)
    assert len(documents) == 6 and len({d.sha256 for d in documents}) == 6
    assert all(DocumentStatus(d.status).finished and d.attempts == 1 for d in documents)
    outcomes = {o.source: o.outcome for o in batch.import_outcomes(services, second)}
    finished_first = {d.source for d in documents if d.source in taken}
    assert all(outcomes[s] in ("earlier", "processed") for s in finished_first)
    assert sum(o == "processed" for o in outcomes.values()) >= 4, outcomes


def test_a_rerun_retries_documents_that_failed_for_a_passing_reason(
    services: Services, tmp_path: Path
) -> None:
    folder = tmp_path / "ho-so"
    folder.mkdir()
    _jpeg(_receipt(0), folder / "phieu.jpg")
    (folder / "hong.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    first = _import(services, [folder])
    with services.db.unit_of_work() as session:  # as a worker killed mid-page leaves it
        document = next(d for d in DocumentRepository(session).iter_all() if d.source == "phieu.jpg")
        document.status, document.error_code = DocumentStatus.FAILED, "processing.crashed"
    second = _import(services, [folder])
    documents = {d.source: d for d in _documents(services)}
    assert documents["phieu.jpg"].status == "done" and documents["phieu.jpg"].attempts == 2
    assert documents["hong.jpg"].error_code == "input.unreadable" and documents["hong.jpg"].attempts == 1
    assert second.processed_now == {documents["phieu.jpg"].id} and first.import_id == second.import_id


def test_the_submitter_is_the_one_way_in_for_uploads_too(services: Services, tmp_path: Path) -> None:
    with open_submitter(services, queue="interactive") as submitter:
        page = _jpeg(_form(0), tmp_path / "form.jpg")
        taken = submitter.submit(Incoming(source="form.jpg", path=page, group="upload:quay-3"))
        again = submitter.submit(Incoming(source="copy.jpg", path=page))
        left = submitter.wait([taken.documents[0].document_id])
    assert not left and again.documents[0].duplicate
    (document,) = _documents(services)
    assert document.group_key == "upload:quay-3" and document.status == "done"


@pytest.mark.parametrize("stop_when", ["before", "never"])
def test_waiting_reports_each_document_once(services: Services, tmp_path: Path, stop_when: str) -> None:
    with open_submitter(services) as submitter:
        ids = []
        for n in range(3):
            ids += submitter.submit(
                Incoming(source=f"{n}.jpg", path=_jpeg(_form(n), tmp_path / f"{n}.jpg"))
            ).to_process
        seen: list[str] = []
        stop = threading.Event()
        if stop_when == "before":
            stop.set()
        left = submitter.wait(ids, on_finished=lambda f: seen.append(f.document_id), stop=stop)
    assert len(seen) == len(set(seen))
    assert set(seen) | left == set(ids) and not set(seen) & left
