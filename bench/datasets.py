"""The page sets the benchmark runs on: what each engine is given, and the truth it is scored against.

A dataset is a list of documents (one input file each, as sohoa receives it) whose pages carry their ground
truth and the image plain tesseract reads, plus the PDFs OCRmyPDF gets (same pages, same order).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bench import corpus

SCRIBE_DIR = "scribeocr-benchmark"
RESOURCES_DIR = "ocrmypdf-resources"
RESOURCE_PDFS: dict[str, tuple[int, ...]] = {
    # file: clockwise turn that makes each page upright, as pypdfium2 renders it (/Rotate applied)
    "skew.pdf": (0,),
    "rotated_skew.pdf": (0,),
    "cardinal.pdf": (0, 270, 180, 90),
}
RENDER_DPI = 300


@dataclass(frozen=True)
class TruthPage:
    """One page to score."""

    id: str
    truth: str
    image: Path
    """The page image plain tesseract reads."""
    group: str
    """Breakdown row: synthetic difficulty, real page category, or source file."""
    upright_turn: int | None
    """Clockwise quarter turn that makes the page upright; None when unknown."""
    blank: bool


@dataclass(frozen=True)
class Document:
    """One input file as sohoa receives it, and its pages in order."""

    path: Path
    pages: tuple[TruthPage, ...]


@dataclass(frozen=True)
class Dataset:
    """Pages with truth, in the order every engine reports them."""

    name: str
    title: str
    lang: str
    documents: tuple[Document, ...]
    pdfs: tuple[tuple[Path, int], ...]
    """What OCRmyPDF is given: PDFs and their page counts, covering the pages in order."""
    work_dir: Path

    @property
    def pages(self) -> list[TruthPage]:
        return [page for document in self.documents for page in document.pages]


def _images_pdf(images: list[Path], target: Path) -> Path:
    """One PDF of the images, each embedded without re-encoding (img2pdf); alpha is flattened first."""
    import img2pdf
    from PIL import Image

    sources: list[str] = []
    for image in images:
        with Image.open(image) as opened:
            if opened.mode in ("RGBA", "LA", "PA") or (opened.mode == "P" and "transparency" in opened.info):
                flat = target.parent / f"{image.stem}.flat.png"
                rgba = opened.convert("RGBA")
                canvas = Image.new("RGB", rgba.size, "white")
                canvas.paste(rgba, mask=rgba.getchannel("A"))
                canvas.save(flat, dpi=opened.info.get("dpi", (96, 96)))
                sources.append(str(flat))
                continue
        sources.append(str(image))
    target.write_bytes(img2pdf.convert(sources, rotation=img2pdf.Rotation.ifvalid))
    return target


def synthetic(out_dir: Path, n: int, *, lang: str, seed: int = 2026) -> tuple[Dataset, str]:
    """The synthetic corpus (built or reused under out_dir/corpus) and its one-line summary."""
    pages = corpus.build_corpus(out_dir / "corpus", n, seed=seed)
    work = out_dir / "work" / "synthetic"
    work.mkdir(parents=True, exist_ok=True)
    documents = tuple(
        Document(
            p.image,
            (
                TruthPage(
                    p.plan.name,
                    p.truth,
                    p.image,
                    p.plan.difficulty,
                    p.plan.upright_turn,
                    p.plan.kind == "blank",
                ),
            ),
        )
        for p in pages
    )
    pdf = _images_pdf([p.image for p in pages], work / "all-pages.pdf")
    title = f"Synthetic Vietnamese forms and receipts ({len(pages)} pages, `{lang}`)"
    return Dataset("synthetic", title, lang, documents, ((pdf, len(pages)),), work), corpus.summary(pages)


def _read_truth(path: Path) -> str:
    return unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))


def scribe(testdata: Path, out_dir: Path, *, lang: str) -> tuple[Dataset | None, str]:
    """scribeocr-benchmark: real pages with hand-corrected truth; images without truth are left out."""
    root = testdata / SCRIBE_DIR
    if not (root / "img").is_dir():
        return None, f"skipped scribeocr-benchmark: {root / 'img'} is absent"
    work = out_dir / "work" / "scribeocr"
    work.mkdir(parents=True, exist_ok=True)
    documents: list[Document] = []
    skipped: list[str] = []
    for image in sorted((root / "img").iterdir()):
        truth = root / "derived_gt_txt" / f"{image.stem}.txt"
        if not truth.is_file():
            skipped.append(image.name)
            continue
        page = TruthPage(image.stem, _read_truth(truth), image, image.stem.split("_")[0], 0, False)
        documents.append(Document(image, (page,)))
    pdf = _images_pdf([d.path for d in documents], work / "all-pages.pdf")
    note = f"scribeocr-benchmark: {len(documents)} pages" + (
        f" (no truth, left out: {', '.join(skipped)})" if skipped else ""
    )
    title = f"scribeocr-benchmark real pages ({len(documents)} pages, `{lang}`)"
    return Dataset("scribeocr", title, lang, tuple(documents), ((pdf, len(documents)),), work), note


def _render_pdf(pdf: Path, work: Path) -> list[Path]:
    """Each page of `pdf` as a PNG at RENDER_DPI (the images plain tesseract reads)."""
    import pypdfium2 as pdfium

    paths: list[Path] = []
    document = pdfium.PdfDocument(str(pdf))
    try:
        for index in range(len(document)):
            path = work / f"{pdf.stem}-{index + 1}.png"
            if not path.is_file():
                bitmap = document[index].render(scale=RENDER_DPI / 72)
                bitmap.to_pil().save(path, dpi=(RENDER_DPI, RENDER_DPI))
            paths.append(path)
    finally:
        document.close()
    return paths


def resources(testdata: Path, out_dir: Path, *, lang: str) -> tuple[Dataset | None, str]:
    """OCRmyPDF's skewed and rotated test PDFs, every page scored against linn.txt."""
    root = testdata / RESOURCES_DIR
    missing = [name for name in (*RESOURCE_PDFS, "linn.txt") if not (root / name).is_file()]
    if missing:
        return None, f"skipped ocrmypdf-resources: {', '.join(missing)} absent under {root}"
    work = out_dir / "work" / "ocrmypdf-resources"
    work.mkdir(parents=True, exist_ok=True)
    truth = _read_truth(root / "linn.txt")
    documents: list[Document] = []
    for name, turns in RESOURCE_PDFS.items():
        images = _render_pdf(root / name, work)
        if len(images) != len(turns):
            raise ValueError(f"{name}: {len(images)} pages, expected {len(turns)}")
        documents.append(
            Document(
                root / name,
                tuple(
                    TruthPage(f"{name}#{i + 1}", truth, image, name, turn, False)
                    for i, (image, turn) in enumerate(zip(images, turns, strict=True))
                ),
            )
        )
    pdfs = tuple((d.path, len(d.pages)) for d in documents)
    pages = sum(len(d.pages) for d in documents)
    title = f"OCRmyPDF skewed/rotated test PDFs vs linn.txt ({pages} pages, `{lang}`)"
    note = f"ocrmypdf-resources: {', '.join(RESOURCE_PDFS)} ({pages} pages)"
    return Dataset("ocrmypdf-resources", title, lang, tuple(documents), pdfs, work), note
