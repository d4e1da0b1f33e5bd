"""The procedure catalog: which administrative procedures exist and how their papers are titled.

Loaded from a YAML data file (the project's own copy by default; a province points settings at its edited
file). Validated on load so a typo in a province's file is reported with its position, not at classification.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from classifiers.text import fold
from errors import SohoaError


class CatalogError(SohoaError):
    """The catalog file is missing or malformed."""

    code = "catalog.invalid"


@dataclass(frozen=True)
class Procedure:
    """One administrative procedure (thủ tục hành chính) of the catalog."""

    id: str
    """Stable identifier used in exports and the API, e.g. "khai-sinh"."""
    code: str | None
    """National procedure code D.DDDDDD, when known."""
    name: str
    form_titles: tuple[str, ...]
    """Titles printed on the main application form."""
    components: tuple[str, ...]
    """Titles of documents that usually travel in the same dossier."""

    @property
    def folded_name(self) -> str:
        """The name without tone marks, for matching OCR text."""
        return fold(self.name)


@dataclass(frozen=True)
class Catalog:
    """All procedures, in file order."""

    procedures: tuple[Procedure, ...]

    def get(self, procedure_id: str) -> Procedure | None:
        """The procedure with this id, or None."""
        return next((p for p in self.procedures if p.id == procedure_id), None)

    def by_code(self, code: str) -> Procedure | None:
        """The procedure whose national code is `code` (province suffixes such as .000.00.00.H38 ignored)."""
        base = ".".join(code.strip().split(".")[:2])
        return next((p for p in self.procedures if p.code and p.code == base), None)

    def search(self, query: str, *, limit: int = 20) -> list[Procedure]:
        """Procedures whose code, id or name (tone marks optional) holds every word of `query`; names
        that start with the query first, then catalog order. An empty query lists the first `limit`."""
        words = fold(query).split()
        if not words:
            return list(self.procedures[:limit])
        hits: list[tuple[int, int, Procedure]] = []
        for position, procedure in enumerate(self.procedures):
            haystack = f"{fold(procedure.code or '')} {fold(procedure.id)} {procedure.folded_name}"
            if all(word in haystack for word in words):
                starts = 0 if procedure.folded_name.startswith(" ".join(words)) else 1
                hits.append((starts, position, procedure))
        hits.sort(key=lambda hit: (hit[0], hit[1]))
        return [procedure for _, _, procedure in hits[:limit]]


def default_catalog_path() -> Path:
    """The catalog shipped inside the package."""
    return Path(__file__).resolve().parent / "data" / "procedures.yaml"


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate a catalog file (default: the shipped one)."""
    source = path or default_catalog_path()
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
    return Catalog(procedures=tuple(procedures))
