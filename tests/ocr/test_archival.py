"""PDF/A-2b output: the structures ISO 19005-2 level B requires, checked with pikepdf, and the same file read
back by two other readers (pdfium and poppler) with its pages, colour and resolution intact."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pdfplumber
import pikepdf
import pypdfium2 as pdfium
from PIL import Image

from ocr.archival import ArchivalFacts, archival_problems, check_file, claims_pdfa, make_archival
from ocr.searchable_pdf import PageLayer, Placement, build_searchable_pdf, image_source_pdf
from tests.ocr.pdfs import born_digital_pdf

FACTS = ArchivalFacts(title="Bản số hóa hồ sơ thử", created=datetime(2026, 12, 2, 8, 30, tzinfo=UTC))


def _colour_scan(width: int = 1654, height: int = 2339) -> bytes:
    """A colour A4 page at 200 dpi: a red stamp and blue ink on cream paper, as PNG."""
    rng = np.random.default_rng(3)
    pixels = np.full((height, width, 3), (246, 240, 222), np.uint8)
    pixels[300:500, 300:700] = (200, 30, 40)
    pixels[800:820, 200:1400] = (20, 40, 160)
    pixels = np.clip(pixels.astype(np.int16) + rng.normal(0, 3, pixels.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", dpi=(200, 200))
    return buffer.getvalue()


def _two_pages_one_blank() -> tuple[bytes, list[PageLayer]]:
    """A two-frame colour TIFF at 200 dpi (a page and its blank back side) wrapped as the pipeline does."""
    front = Image.open(io.BytesIO(_colour_scan()))
    blank = Image.new("RGB", front.size, (250, 250, 250))
    buffer = io.BytesIO()
    front.save(
        buffer,
        format="TIFF",
        save_all=True,
        append_images=[blank],
        compression="tiff_adobe_deflate",
        dpi=(200, 200),
    )
    source = image_source_pdf(buffer.getvalue(), dpi=200)
    placement = Placement(width=1654, height=2339, dpi=200, quarter_turn=0, skew=0.8)
    return source, [PageLayer(0, placement, None), PageLayer(1)]


def test_a_scanned_document_comes_out_pdfa_2b_and_reads_the_same_elsewhere(tmp_path: Path) -> None:
    source, layers = _two_pages_one_blank()
    pdf = build_searchable_pdf(source, layers, archival=FACTS)
    assert check_file(pdf) == []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert claims_pdfa(document) and "/ID" in document.trailer
        meta = document.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert meta["dc:title"] == FACTS.title
        [intent] = document.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1" and int(intent.DestOutputProfile.N) == 3
        assert len(document.pages) == 2, "the blank back side is still a page"
        images = [
            o for o in document.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"
        ]
        front = max(images, key=lambda o: int(o.Width))
        assert (int(front.Width), int(front.Height)) == (1654, 2339), "the scan's own resolution"
        assert front.ColorSpace == "/DeviceRGB", "colour kept, not binarized"

    rendered = pdfium.PdfDocument(pdf)  # a second reader
    assert len(rendered) == 2
    colour = np.asarray(rendered[0].render(scale=200 / 72).to_pil().convert("RGB"))
    red = colour[300:500, 300:700].reshape(-1, 3).mean(axis=0)
    assert red[0] > 150 and red[1] < 90 and red[2] < 90, f"the red stamp is still red: {red}"
    with pdfplumber.open(io.BytesIO(pdf)) as plumbed:  # a third (pdfminer)
        assert len(plumbed.pages) == 2
    path = tmp_path / "archival.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in info.splitlines())}
    assert fields["Pages"] == "2" and fields["Encrypted"] == "no" and fields["Title"] == FACTS.title, info


def test_a_born_digital_source_with_its_fonts_embedded_is_archival_too() -> None:
    pdf = build_searchable_pdf(born_digital_pdf(2), [PageLayer(0), PageLayer(1)], archival=FACTS)
    assert check_file(pdf) == []


def _helvetica_pdf() -> bytes:
    """A PDF using the standard Helvetica without embedding it: what PDF/A forbids."""
    document = pikepdf.new()
    page = document.add_blank_page(page_size=(595, 842))
    page.obj.Resources = pikepdf.Dictionary(
        Font=pikepdf.Dictionary(
            F1=pikepdf.Dictionary(
                Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
            )
        )
    )
    page.obj.Contents = document.make_stream(b"BT /F1 12 Tf 72 720 Td (To khai) Tj ET")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_what_pdfa_forbids_keeps_the_claim_off_instead_of_lying() -> None:
    pdf = build_searchable_pdf(_helvetica_pdf(), [PageLayer(0)], archival=FACTS)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert not claims_pdfa(document) and "/OutputIntents" not in document.Root
        assert archival_problems(document) == ["the font /Helvetica is not embedded"]
    assert "the XMP metadata does not claim PDF/A-2b" in check_file(pdf)


def test_the_check_bites_on_each_missing_structure() -> None:
    source, layers = _two_pages_one_blank()
    plain = build_searchable_pdf(source, layers)
    problems = check_file(plain)
    assert "no PDF/A output intent" in problems and "the XMP metadata does not claim PDF/A-2b" in problems
    with pikepdf.open(io.BytesIO(build_searchable_pdf(source, layers, archival=FACTS))) as document:
        document.Root.Pages.Kids[0].Annots = pikepdf.Array(
            [
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Square, Rect=[0, 0, 9, 9], F=2
                ),
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Square, Rect=[0, 0, 9, 9], F=4
                ),
            ]
        )
        assert archival_problems(document) == [
            "an annotation that is hidden or does not print",
            "an annotation without an appearance",
        ]


def test_fixable_faults_are_fixed_before_the_claim() -> None:
    source, layers = _two_pages_one_blank()
    with pikepdf.open(io.BytesIO(build_searchable_pdf(source, layers))) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image":
                obj.Interpolate = True
        assert "an image asks for interpolation" in archival_problems(document)
        assert make_archival(document, FACTS) == []
        assert claims_pdfa(document)
        buffer = io.BytesIO()
        document.save(buffer)
    assert check_file(buffer.getvalue()) == []
