"""PDF/A-2b for the stored PDF: what ISO 19005-2 level B asks of a file, checked and added with pikepdf.

`archival_problems` lists what keeps a PDF from conforming (fonts not embedded, CMYK colour without a CMYK
output intent, LZW, PostScript or reference XObjects, hidden or unprintable annotations, encryption, a
missing file identifier or metadata). `make_archival` fixes what it may (image interpolation, annotation
print flags) and, when nothing else stands in the way, adds the sRGB output intent and the XMP metadata that
claim PDF/A-2b; otherwise it claims nothing, because a false claim is worse than none. `claims_pdfa` reads
the claim back. veraPDF is not packaged for Debian or PyPI: these checks cover the structures the scanned
output can carry, and the tests read the result in second readers (pdfium, poppler).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pikepdf

PDFA_PART, PDFA_CONFORMANCE = "2", "B"
PRODUCER = "sohoa"
FORBIDDEN_FILTERS = frozenset({"/LZWDecode", "/LZW"})
PRINT, HIDDEN, INVISIBLE, NO_VIEW = 4, 2, 1, 32
"""Annotation flags (ISO 32000-1, 12.5.3)."""


@dataclass(frozen=True)
class ArchivalFacts:
    """What the archival metadata says of the document."""

    title: str
    created: datetime
    language: str = "vi"


def archival_problems(pdf: pikepdf.Pdf, *, require_claim: bool = False) -> list[str]:
    """What keeps `pdf` from being PDF/A-2b, one short English sentence each (empty: nothing found).

    With `require_claim`, a missing output intent, XMP claim or file identifier counts too (checking a
    finished file rather than one about to be made archival).
    """
    problems: list[str] = []
    if pdf.is_encrypted:
        problems.append("the file is encrypted")
    cmyk_intent = _output_intent_is_cmyk(pdf)
    for obj in _reachable(pdf):
        if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            continue
        kind = obj.get("/Type")
        subtype = obj.get("/Subtype")
        is_font = kind == pikepdf.Name.Font or (subtype in _FONT_SUBTYPES and "/BaseFont" in obj)
        if is_font and (problem := _font_problem(obj)):
            problems.append(problem)
        if isinstance(obj, pikepdf.Stream):
            filters = obj.get("/Filter")
            names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
            if FORBIDDEN_FILTERS.intersection(names):
                problems.append("a stream is LZW-compressed")
            if subtype == pikepdf.Name.PS or "/PS" in obj:
                problems.append("a PostScript XObject")
            if subtype == pikepdf.Name.Form and "/Ref" in obj:
                problems.append("a reference XObject")
            if subtype == pikepdf.Name.Image:
                if obj.get("/ColorSpace") == pikepdf.Name.DeviceCMYK and not cmyk_intent:
                    problems.append("a CMYK image without a CMYK output intent")
                if obj.get("/Interpolate") is True:
                    problems.append("an image asks for interpolation")
        if "/Annots" in obj and isinstance(obj.get("/Annots"), pikepdf.Array):
            for annotation in obj.Annots:
                if isinstance(annotation, pikepdf.Dictionary) and (
                    problem := _annotation_problem(annotation)
                ):
                    problems.append(problem)
    if require_claim:
        if "/ID" not in pdf.trailer:
            problems.append("the file has no identifier (trailer /ID)")
        if not _has_output_intent(pdf):
            problems.append("no PDF/A output intent")
        if not claims_pdfa(pdf):
            problems.append("the XMP metadata does not claim PDF/A-2b")
    return sorted(set(problems))


_FONT_SUBTYPES = frozenset(
    {pikepdf.Name.Type1, pikepdf.Name.TrueType, pikepdf.Name.Type0, pikepdf.Name.Type3, pikepdf.Name.MMType1}
)


def _font_problem(font: pikepdf.Object) -> str | None:
    """Every font a PDF/A file uses must be embedded (Type 3 fonts are their own glyphs)."""
    subtype = font.get("/Subtype")
    if subtype == pikepdf.Name.Type3:
        return None
    if subtype == pikepdf.Name.Type0:
        descendants = font.get("/DescendantFonts")
        if not isinstance(descendants, pikepdf.Array) or not len(descendants):
            return "a composite font without its descendant font"
        font = descendants[0]
    descriptor = font.get("/FontDescriptor")
    if not isinstance(descriptor, pikepdf.Dictionary) or not any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
    ):
        return f"the font {font.get('/BaseFont', '?')} is not embedded"
    return None


def _annotation_problem(annotation: pikepdf.Dictionary) -> str | None:
    subtype = annotation.get("/Subtype")
    if subtype == pikepdf.Name.Popup:
        return None
    flags = int(annotation.get("/F", 0))
    if not flags & PRINT or flags & (HIDDEN | INVISIBLE | NO_VIEW):
        return "an annotation that is hidden or does not print"
    if subtype != pikepdf.Name.Link and "/AP" not in annotation:
        return "an annotation without an appearance"
    return None


def _reachable(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Every object the catalog reaches, once (streams' data is not read)."""
    seen: set[tuple[int, int]] = set()
    stack: list[pikepdf.Object] = [pdf.Root]
    while stack:
        obj = stack.pop()
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        yield obj
        if isinstance(obj, pikepdf.Array):
            stack.extend(v for v in obj if isinstance(v, pikepdf.Array | pikepdf.Dictionary | pikepdf.Stream))
        elif isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            for key, value in obj.items():
                if key in ("/Parent", "/P") or not isinstance(
                    value, pikepdf.Array | pikepdf.Dictionary | pikepdf.Stream
                ):
                    continue
                stack.append(value)


def _fix_what_may_be_fixed(pdf: pikepdf.Pdf) -> None:
    """Images never interpolate and kept annotations print: both harmless for a scan."""
    for obj in _reachable(pdf):
        if (
            isinstance(obj, pikepdf.Stream)
            and obj.get("/Subtype") == pikepdf.Name.Image
            and "/Interpolate" in obj
        ):
            del obj["/Interpolate"]
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) and isinstance(
            obj.get("/Annots"), pikepdf.Array
        ):
            for annotation in obj.Annots:
                if (
                    isinstance(annotation, pikepdf.Dictionary)
                    and annotation.get("/Subtype") != pikepdf.Name.Popup
                ):
                    flags = int(annotation.get("/F", 0))
                    annotation.F = (flags | PRINT) & ~(HIDDEN | INVISIBLE | NO_VIEW)


def make_archival(pdf: pikepdf.Pdf, facts: ArchivalFacts) -> list[str]:
    """Make `pdf` PDF/A-2b in place (before it is saved) and return [] — or return the problems that keep
    it from conforming, leaving it without the claim."""
    _fix_what_may_be_fixed(pdf)
    if problems := archival_problems(pdf):
        return problems
    icc = pdf.make_stream(_srgb_profile())
    icc.N = 3
    pdf.Root.OutputIntents = pikepdf.Array(
        [
            pikepdf.Dictionary(
                Type=pikepdf.Name.OutputIntent,
                S=pikepdf.Name.GTS_PDFA1,
                OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"),
                Info=pikepdf.String("sRGB IEC61966-2.1"),
                DestOutputProfile=icc,
            )
        ]
    )
    pdf.Root.Lang = pikepdf.String(facts.language)
    stamp = facts.created.isoformat(timespec="seconds")
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
        meta["pdfaid:part"] = PDFA_PART
        meta["pdfaid:conformance"] = PDFA_CONFORMANCE
        meta["dc:title"] = facts.title
        meta["dc:language"] = [facts.language]
        meta["pdf:Producer"] = PRODUCER
        meta["xmp:CreatorTool"] = PRODUCER
        meta["xmp:CreateDate"] = stamp
        meta["xmp:ModifyDate"] = stamp
        meta["xmp:MetadataDate"] = stamp
    return []


def claims_pdfa(pdf: pikepdf.Pdf) -> bool:
    """Whether the file's XMP metadata claims PDF/A-2b."""
    if "/Metadata" not in pdf.Root:
        return False
    meta = pdf.open_metadata()
    return meta.get("pdfaid:part") == PDFA_PART and meta.get("pdfaid:conformance") == PDFA_CONFORMANCE


def _has_output_intent(pdf: pikepdf.Pdf) -> bool:
    intents = pdf.Root.get("/OutputIntents")
    return isinstance(intents, pikepdf.Array) and any(
        isinstance(i, pikepdf.Dictionary)
        and i.get("/S") == pikepdf.Name.GTS_PDFA1
        and "/DestOutputProfile" in i
        for i in intents
    )


def _output_intent_is_cmyk(pdf: pikepdf.Pdf) -> bool:
    intents = pdf.Root.get("/OutputIntents")
    if not isinstance(intents, pikepdf.Array):
        return False
    return any(
        isinstance(i, pikepdf.Dictionary)
        and isinstance(i.get("/DestOutputProfile"), pikepdf.Stream)
        and int(i.DestOutputProfile.get("/N", 0)) == 4
        for i in intents
    )


@functools.cache
def _srgb_profile() -> bytes:
    """An sRGB ICC profile made by littleCMS (through Pillow): nothing to ship, nothing to download."""
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return bytes(profile.tobytes())


def check_file(data: bytes) -> list[str]:
    """`archival_problems` of a finished file, claim included (for tests and `sohoa verify`)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return archival_problems(pdf, require_claim=True)
