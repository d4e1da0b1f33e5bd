"""The procedure catalog: which administrative procedures exist, how their papers are titled, and which
documents their dossiers hold.

By default every province- and commune-level procedure of the national catalog (`data/national.jsonl.gz`,
derived by `scripts/build_catalog.py`) merged with sohoa's curated entries (`data/procedures.yaml`: slugs,
form titles, component titles). A province points settings at its own file. Validated on load, so a typo is
reported with its position, not at classification.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

import yaml

from classifiers.text import fold
from errors import SohoaError


class CatalogError(SohoaError):
    """The catalog file is missing or malformed."""

    code = "catalog.invalid"


@dataclass(frozen=True)
class Component:
    """One document a procedure's dossier holds, as the national catalog lists it."""

    name: str
    optional: bool = False
    """Only in some cases: "(nếu có)", "Trường hợp …", "Đối với …" (`condition` says which)."""
    condition: str | None = None
    copies: int | None = None
    original: bool | None = None
    """True: bản chính (the original); False: bản sao (a copy); None: not said."""
    forms: tuple[str, ...] = ()
    """Names of the form files attached to it (e.g. "Mẫu CT01.docx")."""


@dataclass(frozen=True)
class Procedure:
    """One administrative procedure (thủ tục hành chính) of the catalog."""

    id: str
    """Stable identifier used in exports and the API: a curated slug ("khai-sinh") or the national code."""
    code: str | None
    """National procedure code D.DDDDDD, when known."""
    name: str
    form_titles: tuple[str, ...]
    """Titles printed on the main application form (curated)."""
    components: tuple[str, ...]
    """Titles of documents that usually travel in the same dossier (curated, matched on pages)."""
    levels: tuple[str, ...] = ()
    """Cấp tỉnh, Cấp xã, … (national catalog)."""
    field: str | None = None
    """Lĩnh vực, e.g. "Hộ tịch"."""
    agency: str | None = None
    dossier_components: tuple[Component, ...] = ()
    """The dossier's documents as the national catalog lists them (what completeness checks)."""
    results: tuple[str, ...] = ()
    """What the procedure issues."""

    @property
    def folded_name(self) -> str:
        """The name without tone marks, for matching OCR text."""
        return fold(self.name)


@dataclass(frozen=True)
class Catalog:
    """All procedures, in catalog order, found by id or national code at dictionary speed."""

    procedures: tuple[Procedure, ...]
    _by_id: dict[str, Procedure] = field(init=False, repr=False, compare=False)
    _by_code: dict[str, Procedure] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {p.id: p for p in self.procedures})
        object.__setattr__(self, "_by_code", {p.code: p for p in reversed(self.procedures) if p.code})

    def get(self, procedure_id: str) -> Procedure | None:
        """The procedure with this id, or None."""
        return self._by_id.get(procedure_id)

    def by_code(self, code: str) -> Procedure | None:
        """The procedure whose national code is `code` (province suffixes such as .000.00.00.H38 ignored)."""
        base = ".".join(code.strip().split(".")[:2])
        return self._by_code.get(base)

    @cached_property
    def version(self) -> str:
        """A short fingerprint of the catalog's content: documents record the version they were classified
        with, and the same content always gives the same version."""
        digest = hashlib.sha256()
        for procedure in self.procedures:
            digest.update(json.dumps(_canonical(procedure), ensure_ascii=False, sort_keys=True).encode())
        return digest.hexdigest()[:12]

    def search(self, query: str, *, limit: int = 20) -> list[Procedure]:
        """Procedures whose code, id, name or field (tone marks optional) holds every word of `query`; names
        that start with the query first, then catalog order. An empty query lists the first `limit`."""
        words = fold(query).split()
        if not words:
            return list(self.procedures[:limit])
        hits: list[tuple[int, int, Procedure]] = []
        for position, procedure in enumerate(self.procedures):
            haystack = (
                f"{fold(procedure.code or '')} {fold(procedure.id)} {procedure.folded_name} "
                f"{fold(procedure.field or '')}"
            )
            if all(word in haystack for word in words):
                starts = 0 if procedure.folded_name.startswith(" ".join(words)) else 1
                hits.append((starts, position, procedure))
        hits.sort(key=lambda hit: (hit[0], hit[1]))
        return [procedure for _, _, procedure in hits[:limit]]


def default_catalog_path() -> Path:
    """The curated catalog shipped inside the package (form titles, component titles, slugs)."""
    return DATA / "procedures.yaml"


def national_catalog_path() -> Path:
    """The province- and commune-level procedures of the national catalog, shipped inside the package
    (derived by `scripts/build_catalog.py`)."""
    return DATA / "national.jsonl.gz"


DATA = Path(__file__).resolve().parent / "data"
OPTIONAL_MARKS = ("neu co", "truong hop", "doi voi", "trong truong hop")
"""A component that only some dossiers hold: "(nếu có)", or a name that starts with a case."""


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog to classify with: by default every national procedure of province or commune level,
    merged with the curated entries (which keep their ids, form titles and component titles). A YAML file
    replaces the curated entries alone (no national ones); a JSON Lines file (`.jsonl`, `.jsonl.gz`) of
    the national shape replaces the national ones."""
    if path is not None and path.suffix in (".yaml", ".yml"):
        return Catalog(procedures=tuple(load_curated(path)))
    national = load_national(path or national_catalog_path())
    return merge(load_curated(default_catalog_path()), national)


def merge(curated: list[Procedure], national: list[Procedure]) -> Catalog:
    """Curated entries first, each completed with its national twin (same code): levels, field, agency,
    dossier components, results; then every other national procedure."""
    twins = {p.code: p for p in national if p.code}
    merged: list[Procedure] = []
    taken: set[str] = set()
    for procedure in curated:
        twin = twins.get(procedure.code or "")
        if twin is not None:
            taken.add(twin.code or "")
            procedure = replace(
                procedure,
                levels=twin.levels,
                field=twin.field,
                agency=twin.agency,
                dossier_components=twin.dossier_components,
                results=twin.results,
            )
        merged.append(procedure)
    ids = {p.id for p in merged}
    merged.extend(p for p in national if p.code not in taken and p.id not in ids)
    return Catalog(procedures=tuple(merged))


def load_curated(source: Path) -> list[Procedure]:
    """Read and validate a curated YAML catalog."""
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"cannot read the procedure catalog {source}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"the procedure catalog {source} is not valid YAML: {exc}") from exc
    if not isinstance(raw, list):
        raise CatalogError(f"the procedure catalog {source} must be a list of procedures")
    procedures: list[Procedure] = []
    seen: set[str] = set()
    for position, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("name"):
            raise CatalogError(f"entry {position} of {source} needs at least an id and a name")
        procedure_id = str(entry["id"])
        if procedure_id in seen:
            raise CatalogError(f"entry {position} of {source} repeats the id {procedure_id!r}")
        seen.add(procedure_id)
        procedures.append(
            Procedure(
                id=procedure_id,
                code=str(entry["code"]) if entry.get("code") else None,
                name=str(entry["name"]),
                form_titles=tuple(str(t) for t in entry.get("form_titles") or ()),
                components=tuple(str(t) for t in entry.get("components") or ()),
            )
        )
    if not procedures:
        raise CatalogError(f"the procedure catalog {source} is empty")
    return procedures


def load_national(source: Path) -> list[Procedure]:
    """Read a catalog in the national portal's JSON Lines shape (gzip when it ends in .gz)."""
    try:
        data = source.read_bytes()
        text = (gzip.decompress(data) if source.suffix == ".gz" else data).decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read the procedure catalog {source}: {exc}") from exc
    procedures: list[Procedure] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CatalogError(f"line {number} of {source} is not JSON: {exc.msg}") from exc
        procedure = national_procedure(entry, where=f"line {number} of {source}")
        if procedure.id in seen:
            raise CatalogError(f"line {number} of {source} repeats the code {procedure.id}")
        seen.add(procedure.id)
        procedures.append(procedure)
    if not procedures:
        raise CatalogError(f"the procedure catalog {source} is empty")
    return procedures


def national_procedure(entry: object, *, where: str) -> Procedure:
    """One procedure of the national shape (`code`, `name`, `levels`, `field`, `components`, …)."""
    if not isinstance(entry, dict):
        raise CatalogError(f"{where} is not an object")
    code, name = str(entry.get("code") or "").strip(), " ".join(str(entry.get("name") or "").split())
    if not code or not name:
        raise CatalogError(f"{where} needs a code and a name")
    components = entry.get("components") or []
    if not isinstance(components, list):
        raise CatalogError(f"{where}: components must be a list")
    return Procedure(
        id=code,
        code=code,
        name=name,
        form_titles=(),
        components=(),
        levels=tuple(str(level) for level in entry.get("levels") or ()),
        field=str(entry["field"]) if entry.get("field") else None,
        agency=str(entry["agency"]) if entry.get("agency") else None,
        dossier_components=tuple(component(c) for c in components if isinstance(c, dict) and c.get("name")),
        results=tuple(str(r) for r in entry.get("results") or () if r),
    )


def component(raw: dict[str, object]) -> Component:
    """A dossier component from its catalog entry, with whether it is only needed in some cases."""
    name = " ".join(str(raw["name"]).split())
    folded = fold(name)
    optional = any(folded.startswith(mark) for mark in OPTIONAL_MARKS[1:]) or OPTIONAL_MARKS[0] in folded
    copies = raw.get("copies")
    kind = fold(str(raw.get("kind") or ""))
    forms = raw.get("form_files") or raw.get("forms") or ()
    return Component(
        name=name,
        optional=optional,
        condition=name if optional else None,
        copies=copies if isinstance(copies, int) and copies > 0 else None,
        original=True if kind == "ban chinh" else False if kind == "ban sao" else None,
        forms=tuple(str(f) for f in forms) if isinstance(forms, list | tuple) else (),
    )


def _canonical(procedure: Procedure) -> dict[str, object]:
    return asdict(procedure)
