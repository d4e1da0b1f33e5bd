"""What signing and PDF/A cost a page: the whole pipeline with and without a signing identity, in one process.

    .venv/bin/python bench/signing.py [--runs 3]

Each run processes the same one-page synthetic scans (`examples/synth.py`) through `process_document` twice,
interleaved: once with nobody to sign (the baseline: cleanup, OCR, classification, PDF/A, storing) and once
with a station identity (`SOHOA_SIGNING_PKCS12`, a throwaway RSA-2048 certificate), so both see the same
machine load. Also times the two steps alone on the same PDFs: `ocr.archival.make_archival` and
`ingest.signing.sign_pdf`. Prints per-page medians and the ratio signed / unsigned. Not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pikepdf

from bench.engines import cpu_model
from examples.certificates import issue, make_ca, write_pkcs12
from examples.synth import EXAMPLES, write_example
from ingest.intake import intake
from ingest.pipeline import process_document
from ingest.services import Services, build_services
from ingest.settings import load_settings
from ingest.signing import StampFacts, load_pkcs12, sign_pdf
from ocr.archival import ArchivalFacts, make_archival
from storage.models import Document

PAGES = ("ket-hon-giay-tiep-nhan.jpg", "thuong-tru-nghieng-4-do.jpg", "tam-tru-xoay-90.png")


def _process(services: Services, scan: Path, salt: int) -> tuple[float, Document]:
    """Seconds to process one scan (its bytes made unique so dedup does not skip it) and its row."""
    taken = intake(services, _unique(scan, salt), source=scan.name)
    began = time.perf_counter()
    process_document(services, taken.document_id)
    seconds = time.perf_counter() - began
    with services.db.unit_of_work() as session:
        document = session.get(Document, taken.document_id)
        assert document is not None
        session.expunge(document)
    return seconds, document


def _unique(scan: Path, salt: int) -> bytes:
    """The image's bytes with a trailing comment-like tail: decoders ignore it, the SHA-256 differs."""
    return scan.read_bytes() + b"\0" * (salt + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sohoa-bench-signing-"))
    (work / "scans").mkdir()
    scans = [write_example(next(s for s in EXAMPLES if s.name == name), work / "scans") for name in PAGES]
    ca = make_ca("bench CA")
    station = issue(ca, "Trạm quét bench", unit="Một cửa")
    p12 = write_pkcs12(work / "station.p12", station, "bench-password", chain=(ca,))
    common = {"workers": 1, "broker_url": None, "database_url": None}
    unsigned = build_services(load_settings(data_dir=work / "unsigned", **common))
    signed = build_services(
        load_settings(
            data_dir=work / "signed", signing_pkcs12=p12, signing_password="bench-password", **common
        )
    )
    times: dict[str, list[float]] = {"unsigned": [], "signed": []}
    pdfs: list[Path] = []
    try:
        for scan in scans:  # warm both (imports, fonts, the stamp font, tesseract's data)
            _process(unsigned, scan, 10_000)
            _process(signed, scan, 10_000)
        for run in range(args.runs):
            for index, scan in enumerate(scans):
                salt = run * 100 + index
                seconds, _ = _process(unsigned, scan, salt)
                times["unsigned"].append(seconds)
                seconds, document = _process(signed, scan, salt)
                times["signed"].append(seconds)
                assert document.signed_by == "Trạm quét bench", document.signature_error
                if run == 0:
                    assert document.pdf_key is not None
                    target = work / f"{scan.stem}.pdf"
                    target.write_bytes(_first_revision(signed.store.get_bytes(document.pdf_key)))
                    pdfs.append(target)
        archival, signing = _steps(pdfs, p12)
    finally:
        unsigned.close()
        signed.close()
    base, with_signing = statistics.median(times["unsigned"]), statistics.median(times["signed"])
    print(
        f"sohoa signing bench, {time.strftime('%Y-%m-%d')}, {cpu_model()}, "
        f"{len(scans)} one-page scans × {args.runs} runs"
    )
    print(f"  page, no signing identity (baseline): median {base * 1000:7.0f} ms")
    print(f"  page, signed by the station:          median {with_signing * 1000:7.0f} ms")
    print(f"  ratio signed / unsigned: {with_signing / base:.3f} ({(with_signing / base - 1) * 100:+.1f}%)")
    print(f"  the steps alone: PDF/A {archival * 1000:.1f} ms, signing {signing * 1000:.1f} ms a document")


def _first_revision(signed: bytes) -> bytes:
    end = signed.index(b"%%EOF") + len(b"%%EOF")
    return signed[: end + 1]


def _steps(pdfs: list[Path], p12: Path) -> tuple[float, float]:
    """Median seconds of `make_archival` and of `sign_pdf` alone on the stored (unsigned) PDFs."""
    identity = load_pkcs12(p12.read_bytes(), b"bench-password", source="bench")
    archival, signing = [], []
    for pdf in pdfs * 3:
        with pikepdf.open(pdf) as opened:
            began = time.perf_counter()
            make_archival(opened, ArchivalFacts(title="bench", created=_now()))
            archival.append(time.perf_counter() - began)
        began = time.perf_counter()
        sign_pdf(
            pdf, pdf.with_suffix(".signed.pdf"), identity, stamp=StampFacts(unit="Một cửa", scanned_at=_now())
        )
        signing.append(time.perf_counter() - began)
    return statistics.median(archival), statistics.median(signing)


def _now() -> datetime:
    return datetime.now(UTC)


if __name__ == "__main__":
    main()
