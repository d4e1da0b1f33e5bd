"""A province's own procedure catalog: imported from a file, kept by version, loaded by every worker.

    imported = import_catalog(db, store, Path("danh-muc.xlsx"), actor="cli:an")   # CatalogImport
    catalog, version = starting_catalog(settings, db, store)   # what a process classifies with

Public pieces: `read_catalog_file`, `import_catalog`, `starting_catalog`, `active_version`,
`load_stored_catalog`, `encode_catalog`, `catalog_key`, the values `CatalogImport` and `RowProblem`, and
`CatalogRowsError`.

Files: JSON Lines of the national shape (`.jsonl`, `.jsonl.gz`: `code`, `name`, `levels`, `field`,
`agency`, `components` [{`name`, `copies`, `kind`, `form_files`}], `results`) or a sheet (`.csv`, `.xlsx`,
header row first, names matched ignoring case, spaces and tone marks; unknown columns ignored): `code`
(`mã`, `mã thủ tục`) and `name` (`tên`, `tên thủ tục`) required; `field` (`lĩnh vực`), `level` (`cấp`,
`cấp thực hiện`; several separated by `;` or `,`), `components` (`thành phần`, `thành phần hồ sơ`; one
per line or separated by `;`), `agency` (`cơ quan`, `cơ quan thực hiện`) and `results` (`kết quả`).

Every row is checked before anything is kept, and every bad row is reported at once (`CatalogRowsError`,
`catalog.invalid_rows`, one `RowProblem` per row and column). A good file is merged with the curated
entries (as `classifiers.catalog.load_catalog` does), stored as `catalogs/<version>.jsonl.gz` (one
`Procedure` per line: exactly the content its version fingerprints), made the active `catalog_versions`
row and audited as `catalog.import`. The same content imported again is the same version.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import re
import zipfile
from collections.abc import Generator
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import ParseError

from sqlalchemy.exc import IntegrityError

from classifiers.catalog import (
    Catalog,
    CatalogError,
    Component,
    Procedure,
    default_catalog_path,
    load_catalog,
    load_curated,
    merge,
    national_procedure,
)
from classifiers.text import fold, nfc
from storage.audit import AuditEvent, record_audit
from storage.db import Database
from storage.errors import ObjectNotFound
from storage.models import CatalogVersion
from storage.objects import ObjectStore
from storage.repositories import CatalogVersionRepository

if TYPE_CHECKING:
    from ingest.settings import Settings

log = logging.getLogger(__name__)

INVALID_ROWS = "catalog.invalid_rows"
UNREADABLE = "catalog.unreadable"
EMPTY = "catalog.empty"
TOO_LARGE = "catalog.too_large"
NOT_FOUND = "catalog.not_found"
BUSY = "catalog.busy"
IMPORT_CODES = frozenset({INVALID_ROWS, UNREADABLE, EMPTY, TOO_LARGE, NOT_FOUND, BUSY})
"""Refusals the person importing or looking up fixes (the CLI exits 2 for them, not 1); a catalog in use
that cannot be read (the configured file, a damaged stored one) stays `catalog.invalid`, an operator's."""

MISSING_VALUE = "catalog.missing_value"
BAD_CODE = "catalog.bad_code"
REPEATED_CODE = "catalog.repeated_code"
UNKNOWN_LEVEL = "catalog.unknown_level"
NOT_JSON = "catalog.not_json"
NOT_OBJECT = "catalog.not_object"
BAD_LIST = "catalog.bad_list"
BAD_COMPONENT = "catalog.bad_component"
MISSING_COLUMN = "catalog.missing_column"
DUPLICATE_COLUMN = "catalog.duplicate_column"
"""Codes of `RowProblem`s (the last two are the header row's)."""

MAX_ROWS = 100_000
"""Procedures beyond which a file is refused (the shipped national file has 1,601)."""
KEY_PREFIX = "catalogs/"
CODE_SHAPE = re.compile(r"\d\.\d{6}")
"""A national procedure code: 1.001193, 2.000815."""

LEVELS: dict[str, str] = {
    "cap bo": "Cấp bộ",
    "bo": "Cấp bộ",
    "cap tinh": "Cấp tỉnh",
    "tinh": "Cấp tỉnh",
    "cap huyen": "Cấp huyện",
    "huyen": "Cấp huyện",
    "cap xa": "Cấp xã",
    "xa": "Cấp xã",
    "co quan khac": "Cơ quan khác",
}
"""Levels a procedure may be carried out at (folded → as the national catalog writes them)."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "ma", "ma thu tuc", "ma tthc"),
    "name": ("name", "ten", "ten thu tuc", "ten tthc"),
    "field": ("field", "linh vuc"),
    "level": ("level", "levels", "cap", "cap thuc hien"),
    "components": ("components", "thanh phan", "thanh phan ho so"),
    "agency": ("agency", "co quan", "co quan thuc hien"),
    "results": ("results", "ket qua", "ket qua thuc hien"),
}
"""Accepted headers per sheet column, already folded."""
REQUIRED_COLUMNS = ("code", "name")
REQUIRED_ALIASES = {"code": ("mã", "mã thủ tục"), "name": ("tên", "tên thủ tục")}
"""How the required columns may be named, as people write them (for messages)."""
_HEADERS = {alias.replace(" ", ""): column for column, aliases in COLUMNS.items() for alias in aliases}
_DELIMITERS = (",", ";", "\t")
_LEVEL_SPLIT = re.compile(r"[;,\n]")
_ITEM_SPLIT = re.compile(r"[;\n]")
_BULLET = re.compile(r"^[-•+*]\s*")


class CatalogRowsError(CatalogError):
    """Some rows of an imported file are bad: all of them, each with its row, column and reason."""

    code = INVALID_ROWS

    def __init__(self, source: str, problems: list[RowProblem]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(str(problem) for problem in self.problems[:10])
        more = f"; … and {len(self.problems) - 10} more" if len(self.problems) > 10 else ""
        super().__init__(f"{source}: {self.rows} bad row(s), nothing imported: {shown}{more}")

    @property
    def rows(self) -> int:
        """How many distinct rows are bad."""
        return len({problem.row for problem in self.problems})


@dataclass(frozen=True)
class RowProblem:
    """One reason one row of an imported catalog cannot be used."""

    row: int
    """The line of a JSON Lines file, or the row people see in the spreadsheet (the header is usually 1)."""
    column: str | None
    """`code`, `name`, `level`, `components`, …; None when the whole row is wrong (not JSON)."""
    code: str
    message: str
    """For people, in English, naming the value (`ingest.messages` words it in Vietnamese from the code)."""
    value: str = ""
    """The offending value (a code, a level, a header), for the message in another language."""
    first_row: int | None = None
    """For a repeated code: the row it is first on."""

    def __str__(self) -> str:
        return f"row {self.row}{f', {self.column}' if self.column else ''}: {self.message}"


@dataclass(frozen=True)
class CatalogImport:
    """What an import made: the version now active, and how much of it came from the file."""

    version: str
    procedures: int
    """Procedures of the catalog now in use (the file's, with the curated entries merged in)."""
    from_file: int
    source: str
    new: bool
    """False when this very content was imported before (the same version, made active again)."""
    columns: tuple[str, ...] = ()
    """The sheet columns that were read (empty for JSON Lines), so a misnamed header shows."""


@dataclass(frozen=True)
class _Entry:
    """A row turned into the national shape, before it is checked."""

    row: int
    raw: dict[str, Any]


# ---------------------------------------------------------------------------------------------- reading


def read_catalog_file(path: Path) -> tuple[list[Procedure], tuple[str, ...]]:
    """Every procedure of a `.jsonl`, `.jsonl.gz`, `.csv` or `.xlsx` file and the sheet columns read;
    `CatalogRowsError` naming every bad row, or a coded `CatalogError` when the file is unusable."""
    name = path.name.lower()
    columns: tuple[str, ...] = ()
    if name.endswith((".jsonl", ".jsonl.gz")):
        entries, problems = _jsonl_entries(path)
    elif name.endswith((".csv", ".xlsx")):
        cells = _csv_cells(path) if name.endswith(".csv") else _xlsx_cells(path)
        with closing(cells):
            entries, problems, columns = _sheet_entries(cells, path.name)
    else:
        raise CatalogError(
            f"{path.name!r} is not a catalog file: use .jsonl, .jsonl.gz, .csv or .xlsx", code=UNREADABLE
        )
    procedures, checked = _checked(entries)
    problems = sorted([*problems, *checked], key=lambda problem: problem.row)
    if problems:
        raise CatalogRowsError(path.name, problems)
    if not procedures:
        raise CatalogError(f"{path.name!r} holds no procedure", code=EMPTY)
    return procedures, columns


def _jsonl_entries(path: Path) -> tuple[list[_Entry], list[RowProblem]]:
    """One entry per non-blank line, or the problem that line has (not JSON, not an object)."""
    try:
        data = path.read_bytes()
        text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8-sig")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read {path.name!r}: {exc}", code=UNREADABLE) from exc
    entries: list[_Entry] = []
    problems: list[RowProblem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(entries) >= MAX_ROWS:
            raise CatalogError(f"{path.name!r} has more than {MAX_ROWS} procedures", code=TOO_LARGE)
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(RowProblem(number, None, NOT_JSON, f"not JSON: {exc.msg}", value=exc.msg))
            continue
        if not isinstance(raw, dict):
            problems.append(RowProblem(number, None, NOT_OBJECT, "not a JSON object"))
            continue
        entries.append(_Entry(number, raw))
    return entries, problems


_Cells = Generator[tuple[int, tuple[object, ...]], None, None]
"""(row number, cells) per row of a sheet, as a generator so it can be closed early."""


def _csv_cells(path: Path) -> _Cells:
    """Rows of a CSV file in UTF-8 (BOM or not) or Windows-1258, with `,`, `;` or tab between cells."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read {path.name!r}: {exc.strerror}", code=UNREADABLE) from exc
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CatalogError(f"{path.name!r} is neither UTF-8 nor Windows-1258 text", code=UNREADABLE)
    header = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(_DELIMITERS, key=lambda d: sum(_header_key(c) in _HEADERS for c in header.split(d)))
    try:
        yield from enumerate(map(tuple, csv.reader(text.splitlines(keepends=True), delimiter=delimiter)), 1)
    except csv.Error as exc:
        raise CatalogError(f"{path.name!r} is not a readable CSV file: {exc}", code=UNREADABLE) from exc


def _xlsx_cells(path: Path) -> _Cells:
    """Rows of the workbook's first sheet."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    broken = (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, IndexError, ParseError)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except broken as exc:
        raise CatalogError(f"{path.name!r} is not a readable XLSX workbook: {exc}", code=UNREADABLE) from exc
    try:
        yield from enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
    except broken as exc:
        raise CatalogError(f"{path.name!r} is not a readable XLSX workbook: {exc}", code=UNREADABLE) from exc
    finally:
        workbook.close()


def _sheet_entries(cells: _Cells, source: str) -> tuple[list[_Entry], list[RowProblem], tuple[str, ...]]:
    """The header from the first non-empty row, then one entry (national shape) per non-empty row."""
    columns: dict[str, int] | None = None
    entries: list[_Entry] = []
    for row, values in cells:
        if all(_text(value) == "" for value in values):
            continue
        if columns is None:
            columns, problems = _columns(row, values)
            if problems:
                return [], problems, ()
            continue
        if len(entries) >= MAX_ROWS:
            raise CatalogError(f"{source!r} has more than {MAX_ROWS} procedures", code=TOO_LARGE)
        entries.append(_Entry(row, _sheet_row(values, columns)))
    if columns is None:
        raise CatalogError(f"{source!r} is empty: it needs a header row with 'code' and 'name'", code=EMPTY)
    return entries, [], tuple(columns)


def _header_key(text: str) -> str:
    return fold(text).replace("_", "").replace(" ", "")


def _columns(row: int, header: tuple[object, ...]) -> tuple[dict[str, int], list[RowProblem]]:
    """Column name → cell index, and the header's problems (a required column missing, one named twice)."""
    columns: dict[str, int] = {}
    problems: list[RowProblem] = []
    for index, cell in enumerate(header):
        column = _HEADERS.get(_header_key(_text(cell)))
        if column is None:
            continue
        if column in columns:
            message = f"two columns mean {column!r} (the second is {_text(cell)!r})"
            problems.append(RowProblem(row, column, DUPLICATE_COLUMN, message, value=_text(cell)))
            continue
        columns[column] = index
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            aliases = ", ".join(REQUIRED_ALIASES[column])
            message = f"the header row has no {column!r} column (nor {aliases})"
            problems.append(RowProblem(row, column, MISSING_COLUMN, message, value=aliases))
    return columns, problems


def _sheet_row(values: tuple[object, ...], columns: dict[str, int]) -> dict[str, Any]:
    """A sheet row in the national JSON Lines shape."""

    def cell(column: str) -> str:
        index = columns.get(column)
        if index is None or index >= len(values):
            return ""
        return _text(values[index], code=column == "code")

    return {
        "code": cell("code"),
        "name": cell("name"),
        "field": cell("field") or None,
        "levels": _split(cell("level"), _LEVEL_SPLIT),
        "agency": cell("agency") or None,
        "components": [{"name": name} for name in _split(cell("components"), _ITEM_SPLIT)],
        "results": _split(cell("results"), _ITEM_SPLIT),
    }


def _text(value: object, *, code: bool = False) -> str:
    """A cell as trimmed NFC text; a whole number loses Excel's `.0`, and a code Excel turned into a number
    (2.00081) gets its six decimals back."""
    if value is None:
        return ""
    if isinstance(value, float) and code and 0 < value < 10:
        return f"{value:.6f}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(str(value)).strip()


def _split(text: str, separators: re.Pattern[str]) -> list[str]:
    items = (_BULLET.sub("", " ".join(part.split())) for part in separators.split(text))
    return [item for item in items if item]


# ------------------------------------------------------------------------------------------- checking


def _checked(entries: list[_Entry]) -> tuple[list[Procedure], list[RowProblem]]:
    """The procedures of the entries that are good, and every problem of those that are not."""
    procedures: list[Procedure] = []
    problems: list[RowProblem] = []
    first_row: dict[str, int] = {}
    for entry in entries:
        cleaned, found = _clean(entry, first_row)
        problems.extend(found)
        if not found:
            procedures.append(national_procedure(cleaned, where=f"row {entry.row}"))
    return procedures, problems


def _clean(entry: _Entry, first_row: dict[str, int]) -> tuple[dict[str, Any], list[RowProblem]]:
    """The entry with its levels written as the national catalog writes them, and its problems
    (`first_row` remembers on which row each code was first seen).

    Text is otherwise left as `classifiers.catalog.national_procedure` reads it (sheet cells are already
    trimmed NFC), so the shipped national file imported gives exactly the shipped catalog's version.
    """
    raw, row = entry.raw, entry.row
    code = str(raw.get("code") or "").strip()
    problems = _code_problems(row, code, first_row)
    if not str(raw.get("name") or "").strip():
        problems.append(RowProblem(row, "name", MISSING_VALUE, "no procedure name"))
    lists: dict[str, list[Any]] = {}
    for key, column in (("levels", "level"), ("components", "components"), ("results", "results")):
        value = raw.get(key) or []
        if isinstance(value, list):
            lists[key] = value
        else:
            problems.append(RowProblem(row, column, BAD_LIST, f"{key} must be a list"))
    levels: list[str] = []
    for level in lists.get("levels", []):
        known = LEVELS.get(fold(str(level)))
        if known is None:
            message = f"{str(level)!r} is not a level ({', '.join(dict.fromkeys(LEVELS.values()))})"
            problems.append(RowProblem(row, "level", UNKNOWN_LEVEL, message, value=str(level)))
        elif known not in levels:
            levels.append(known)
    components: list[dict[str, Any]] = []
    for component in lists.get("components", []):
        if isinstance(component, str):
            component = {"name": component}
        if not isinstance(component, dict) or not str(component.get("name") or "").strip():
            problems.append(RowProblem(row, "components", BAD_COMPONENT, "a component without a name"))
            continue
        components.append(component)
    return {**raw, "code": code, "levels": levels, "components": components}, problems


def _code_problems(row: int, code: str, first_row: dict[str, int]) -> list[RowProblem]:
    """Missing, not of the D.DDDDDD shape, or already on an earlier row."""
    if not code:
        return [RowProblem(row, "code", MISSING_VALUE, "no procedure code")]
    if not CODE_SHAPE.fullmatch(code):
        message = f"{code!r} is not a procedure code of the shape D.DDDDDD (e.g. 1.001193)"
        return [RowProblem(row, "code", BAD_CODE, message, value=code)]
    first = first_row.setdefault(code, row)
    if first != row:
        message = f"{code} is already on row {first}"
        return [RowProblem(row, "code", REPEATED_CODE, message, value=code, first_row=first)]
    return []


# ------------------------------------------------------------------------------------ storing, loading


def catalog_key(version: str) -> str:
    """Where a catalog version's content is kept in the object store."""
    return f"{KEY_PREFIX}{version}.jsonl.gz"


def import_catalog(db: Database, store: ObjectStore, path: Path, *, actor: str) -> CatalogImport:
    """Read and check `path`, merge the curated entries in, store the result and make it the active catalog.

    Nothing is stored when a row is bad (`CatalogRowsError`). Every attempt is audited as `catalog.import`
    (the refusal's code as its outcome). Idempotent: the same content gives the same version and row.
    """
    try:
        national, columns = read_catalog_file(path)
    except CatalogError as exc:
        bad_rows = exc.rows if isinstance(exc, CatalogRowsError) else 0
        _audit(db, actor, exc.code, source=path.name, bad_rows=bad_rows)
        raise
    catalog = merge(load_curated(default_catalog_path()), national)
    version = catalog.version
    store.put_bytes(catalog_key(version), encode_catalog(catalog), content_type="application/gzip")
    try:
        with db.unit_of_work() as session:
            repository = CatalogVersionRepository(session)
            known = repository.get(version)
            row = known or CatalogVersion(
                version=version, source=path.name, procedures=len(catalog.procedures), imported_by=actor
            )
            repository.activate(row)
        new = known is None
    except IntegrityError as exc:  # another import made its catalog active at the same moment
        _audit(db, actor, BUSY, source=path.name, version=version)
        message = "another catalog was made active at the same moment: run the import again"
        raise CatalogError(message, code=BUSY) from exc
    imported = CatalogImport(
        version=version,
        procedures=len(catalog.procedures),
        from_file=len(national),
        source=path.name,
        new=new,
        columns=columns,
    )
    _audit(db, actor, "ok", source=path.name, version=version, procedures=len(catalog.procedures), new=new)
    return imported


def _audit(db: Database, actor: str, outcome: str, **detail: object) -> None:
    record_audit(db, AuditEvent(actor=actor, action="catalog.import", outcome=outcome, detail=dict(detail)))


def encode_catalog(catalog: Catalog) -> bytes:
    """One `Procedure` per line, gzip without a timestamp: the same catalog always makes the same bytes."""
    lines = (json.dumps(asdict(p), ensure_ascii=False, sort_keys=True) for p in catalog.procedures)
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)


def load_stored_catalog(store: ObjectStore, version: str) -> Catalog:
    """A stored catalog version, checked against its version (a damaged object is `catalog.invalid`)."""
    key = catalog_key(version)
    data = store.get_bytes(key)
    try:
        lines = gzip.decompress(data).decode("utf-8").splitlines()
        catalog = Catalog(procedures=tuple(_stored_procedure(json.loads(line)) for line in lines if line))
    except (EOFError, gzip.BadGzipFile, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CatalogError(f"the stored catalog {key} is damaged: {exc}") from exc
    if catalog.version != version:
        raise CatalogError(f"the stored catalog {key} does not match its version (it is {catalog.version})")
    return catalog


def _stored_procedure(raw: dict[str, Any]) -> Procedure:
    """A `Procedure` from its stored line (the fields of `dataclasses.asdict`)."""
    components = tuple(Component(**{**c, "forms": tuple(c["forms"])}) for c in raw["dossier_components"])
    return Procedure(
        id=raw["id"],
        code=raw["code"],
        name=raw["name"],
        form_titles=tuple(raw["form_titles"]),
        components=tuple(raw["components"]),
        levels=tuple(raw["levels"]),
        field=raw["field"],
        agency=raw["agency"],
        dossier_components=components,
        results=tuple(raw["results"]),
    )


def active_version(db: Database) -> str | None:
    """The version of the active imported catalog, or None."""
    with db.unit_of_work() as session:
        return CatalogVersionRepository(session).active_version()


def starting_catalog(settings: Settings, db: Database, store: ObjectStore) -> tuple[Catalog, str | None]:
    """The catalog a process starts with, and its imported version (None: not an imported one).

    `settings.catalog_path` wins over any import; then the active imported catalog; else the shipped one.
    An active version whose stored object is missing or damaged is logged and the shipped catalog used
    meanwhile (documents record the version that classified them), so one lost object does not stop every
    process; each refresh tries it again. An unreachable store or database is raised.
    """
    if settings.catalog_path is not None:
        return load_catalog(settings.catalog_path), None
    active = active_version(db)
    if active is not None:
        try:
            return load_stored_catalog(store, active), active
        except (ObjectNotFound, CatalogError) as exc:
            log.error("cannot load the imported catalog %s, using the shipped one: %s", active, exc)
    return load_catalog(None), None
