"""The synthetic benchmark corpus: degraded Vietnamese forms and receipts with their ground truth.

`plan_corpus` decides every page (cheap, no pixels); `build_corpus` renders the plan with `examples.synth`,
writes `NAME.jpg` + `NAME.gt.txt` per page and a `corpus.json` manifest, and reuses a folder whose manifest
already matches the plan. Everything comes from the seed: the same arguments give the same files.

The mix, for n pages: about one in twelve a blank back side (4 of 48); a third of the pages "hard" — about
half of those turned 90/180/270°, the others skewed 2.5–7° either way; the rest skewed under 1.5°. Forms and
receipts of the six procedures, three font families, side-by-side blocks stacked so the truth is in reading
order; 300 and 200 dpi alternating; noise, blur, JPEG round trip at quality 50–90, and on some pages dark
scanner borders, yellowed paper and specks.
"""

from __future__ import annotations

import io
import json
import math
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from examples import synth

CORPUS_VERSION = 1
"""Bump when the plan or the rendering changes, so an old corpus folder is rebuilt rather than reused."""
FAMILIES = ("serif", "sans", "dejavu")
DPIS = (300, 200)
FILE_JPEG_QUALITY = 90
MANIFEST = "corpus.json"

Kind = Literal["form", "receipt", "blank"]
Difficulty = Literal["rotated", "skewed", "mild", "blank"]
Turn = Literal[0, 90, 180, 270]
TURNS: tuple[Turn, ...] = (90, 180, 270)


@dataclass(frozen=True)
class PlannedPage:
    """One corpus page: what to render and how to spoil it."""

    name: str
    """File stem: NAME.jpg and NAME.gt.txt."""
    kind: Kind
    procedure_id: str | None
    family: str | None
    dpi: int
    seed: int
    difficulty: Difficulty
    degradation: synth.Degradation

    @property
    def upright_turn(self) -> int:
        """Clockwise quarter turn that makes the page upright again."""
        return (360 - self.degradation.rotate) % 360


def blank_count(n: int) -> int:
    """Blank back sides in a corpus of n pages: one in twelve, at least one."""
    return max(1, n // 12)


def hard_count(n: int) -> int:
    """Pages turned or skewed over 2°: a third, rounded up."""
    return math.ceil(n / 3)


def plan_corpus(n: int, *, seed: int = 2026) -> list[PlannedPage]:
    """Decide the n pages of the corpus; deterministic in (n, seed)."""
    if n < 4:
        raise ValueError("a corpus needs at least 4 pages (text, turned, skewed, blank)")
    rng = np.random.default_rng([seed, n])
    blanks, hard = blank_count(n), hard_count(n)
    rotated = (hard + 1) // 2
    texts = n - blanks
    difficulty: list[Difficulty] = ["rotated"] * rotated
    difficulty += ["skewed"] * (hard - rotated)
    difficulty += ["mild"] * (texts - hard)
    difficulty = [difficulty[i] for i in rng.permutation(texts)]
    blank_at = {round((k + 1) * n / (blanks + 1)) for k in range(blanks)}
    while len(blank_at) < blanks:  # tiny n: positions collide
        blank_at.add(max(set(range(n)) - blank_at))
    procedures = list(synth.PROCEDURES)
    pages: list[PlannedPage] = []
    text_index = turn_index = 0
    for index in range(n):
        dpi = DPIS[index % len(DPIS)]
        page_seed = int(rng.integers(1, 2**31))
        if index in blank_at:
            ordinal = index - text_index
            pages.append(_blank(ordinal, index, dpi, page_seed, np.random.default_rng([seed, n, index])))
            continue
        i = text_index
        text_index += 1
        kind: Kind = "receipt" if (i // len(procedures)) % 3 == 1 else "form"
        family = FAMILIES[(i + i // len(procedures)) % len(FAMILIES)]
        page_rng = np.random.default_rng([seed, n, index])
        rotate: Turn = TURNS[turn_index % len(TURNS)] if difficulty[i] == "rotated" else 0
        turn_index += difficulty[i] == "rotated"
        degradation = _degradation(page_rng, difficulty[i], rotate)
        procedure_id = procedures[i % len(procedures)]
        name = f"p{index:03d}-{procedure_id}-{kind}"
        pages.append(
            PlannedPage(name, kind, procedure_id, family, dpi, page_seed, difficulty[i], degradation)
        )
    return pages


def _degradation(rng: np.random.Generator, difficulty: Difficulty, rotate: Turn) -> synth.Degradation:
    if difficulty == "skewed":
        angle = float(rng.uniform(2.5, 7.0)) * float(rng.choice((-1.0, 1.0)))
    else:
        angle = float(rng.uniform(-1.5, 1.5))
    return synth.Degradation(
        rotate=rotate,
        skew=round(angle, 2),
        noise=round(float(rng.uniform(1.0, 8.0)), 1),
        blur=round(float(rng.uniform(0.0, 1.0)), 2),
        jpeg_quality=int(rng.integers(50, 91)),
        border_mm=round(float(rng.uniform(3.0, 8.0)), 1) if rng.random() < 0.3 else 0.0,
        yellow=round(float(rng.uniform(0.2, 0.7)), 2) if rng.random() < 0.4 else 0.0,
        specks=float(rng.choice((0.0005, 0.002))) if rng.random() < 0.3 else 0.0,
    )


def _blank(ordinal: int, index: int, dpi: int, page_seed: int, rng: np.random.Generator) -> PlannedPage:
    """The `ordinal`-th back side: paper grain, JPEG; the 2nd framed by the scanner lid, every other one
    yellowed, the 3rd specked."""
    degradation = synth.Degradation(
        skew=round(float(rng.uniform(-1.0, 1.0)), 2),
        noise=round(float(rng.uniform(1.0, 5.0)), 1),
        blur=round(float(rng.uniform(0.0, 0.8)), 2),
        jpeg_quality=int(rng.integers(60, 91)),
        border_mm=4.0 if ordinal == 1 else 0.0,
        yellow=0.4 if ordinal % 2 else 0.0,
        specks=0.0005 if ordinal == 2 else 0.0,
    )
    return PlannedPage(f"p{index:03d}-blank", "blank", None, None, dpi, page_seed, "blank", degradation)


@dataclass(frozen=True)
class CorpusPage:
    """A written corpus page: its plan, image file and ground truth (NFC lines joined by "\\n")."""

    plan: PlannedPage
    image: Path
    truth: str


def _manifest(plan: list[PlannedPage], seed: int) -> dict[str, object]:
    return {
        "version": CORPUS_VERSION,
        "seed": seed,
        "pages": [{**asdict(p), "degradation": asdict(p.degradation)} for p in plan],
    }


def render_page(page: PlannedPage) -> tuple[bytes, str]:
    """JPEG bytes (quality 90, DPI recorded) and ground truth of one planned page."""
    if page.kind == "blank":
        synth_page = synth.make_blank(seed=page.seed, dpi=page.dpi)
    else:
        make = synth.make_receipt if page.kind == "receipt" else synth.make_page
        synth_page = make(
            page.procedure_id or "", seed=page.seed, dpi=page.dpi, stacked=True, family=page.family
        )
    image = synth.degrade(synth_page.image, page.degradation, np.random.default_rng([page.seed, 7]))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=FILE_JPEG_QUALITY, dpi=(page.dpi, page.dpi))
    truth = unicodedata.normalize("NFC", "\n".join(synth_page.lines))
    return buffer.getvalue(), truth


def build_corpus(out_dir: Path, n: int, *, seed: int = 2026) -> list[CorpusPage]:
    """Write (or reuse, when its manifest matches) the corpus of n pages under `out_dir`."""
    plan = plan_corpus(n, seed=seed)
    manifest = _manifest(plan, seed)
    manifest_path = out_dir / MANIFEST
    pages = [CorpusPage(p, out_dir / f"{p.name}.jpg", "") for p in plan]
    reusable = (
        manifest_path.is_file()
        and json.loads(manifest_path.read_text()) == manifest
        and all(page.image.is_file() and page.image.with_suffix(".gt.txt").is_file() for page in pages)
    )
    if not reusable:
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in [*out_dir.glob("*.jpg"), *out_dir.glob("*.gt.txt"), manifest_path]:
            old.unlink(missing_ok=True)
        for page in pages:
            data, truth = render_page(page.plan)
            page.image.write_bytes(data)
            _truth_path(page.image).write_text(truth, encoding="utf-8")
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return [CorpusPage(p.plan, p.image, _truth_path(p.image).read_text(encoding="utf-8")) for p in pages]


def _truth_path(image: Path) -> Path:
    return image.with_name(image.name.removesuffix(".jpg") + ".gt.txt")


def summary(pages: list[CorpusPage]) -> str:
    """One line: how many pages of each sort the corpus holds."""
    plans = [p.plan for p in pages]
    count = {d: sum(p.difficulty == d for p in plans) for d in ("rotated", "skewed", "mild", "blank")}
    turns = "/".join(str(sum(p.degradation.rotate == t for p in plans)) for t in (90, 180, 270))
    receipts = sum(p.kind == "receipt" for p in plans)
    forms = sum(p.kind == "form" for p in plans)
    dpis = ", ".join(f"{sum(p.dpi == d for p in plans)}×{d}" for d in DPIS)
    hard_skews = [abs(p.degradation.skew) for p in plans if p.difficulty == "skewed"]
    skew_range = f" {min(hard_skews):.1f}–{max(hard_skews):.1f}°" if hard_skews else ""
    return (
        f"corpus: {len(plans)} pages ({forms} forms, {receipts} receipts, {count['blank']} blank) · "
        f"{count['rotated']} turned 90/180/270 ({turns}) · {count['skewed']} skewed{skew_range} · "
        f"{count['mild']} skewed < 1.5° · dpi {dpis} · fonts {'/'.join(FAMILIES)}"
    )
