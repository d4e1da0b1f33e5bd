"""Bulk-import manifests: a CSV or XLSX sheet mapping files of an import folder or ZIP to dossiers.

Read and validated up front, before any file is taken in, so staff see every bad row at once.

Public pieces: `read_manifest`, `validate_manifest`, `resolve_procedure`, `parse_received`, `normalise_path`,
and the frozen values `Manifest`, `ManifestRow`, `ManifestProblem`.

Columns (headers matched ignoring case, spaces and tone marks; unknown columns are ignored):
`file` (also `tệp`, `tệp tin`, `đường dẫn`) and `dossier` (`mã hồ sơ`, `hồ sơ`) are required;
`procedure` (`thủ tục`, `mã thủ tục`), `received` (`ngày tiếp nhận`, `ngày nhận`) and
`applicant` (`người nộp`, `người nộp hồ sơ`, `chủ hồ sơ`) are optional.

Stable codes (a separate layer translates messages by code):

Raised as `IngestError` by `read_manifest` (the manifest as a whole is unusable):
- `manifest.unreadable`: missing file, unknown extension, broken XLSX, CSV neither UTF-8 nor cp1258.
- `manifest.missing_column`: a required column (`file`, `dossier`) is absent; the message names it.
- `manifest.duplicate_column`: two headers mean the same column (e.g. `file` and `tệp`).
- `manifest.too_large`: more than `MAX_ROWS` data rows.

Reported as `ManifestProblem`s, one per bad row and reason (`validate_manifest` returns them all):
- `manifest.file_missing`: the row's file is not in the folder/ZIP, or the row names no file at all.
- `manifest.duplicate_file`: the file is already on an earlier row (the message names both lines).
- `manifest.bad_dossier`: the dossier code fails `ingest.intake.check_dossier_code`.
- `manifest.unknown_procedure`: neither a catalog id nor a national procedure code the catalog knows.
- `manifest.bad_date`: `received` is not a date in an accepted form, or is after tomorrow.

Procedures are resolved in two steps: `validate_manifest` reports values `resolve_procedure` cannot place,
and `Manifest.resolved(catalog)` returns the manifest with every known procedure stored as its catalog id.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Collection, Generator, Iterable
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from xml.etree.ElementTree import ParseError

from classifiers.catalog import Catalog, Procedure
from classifiers.text import fold, nfc
from ingest.errors import IngestError
from ingest.intake import check_dossier_code

UNREADABLE = "manifest.unreadable"
MISSING_COLUMN = "manifest.missing_column"
DUPLICATE_COLUMN = "manifest.duplicate_column"
TOO_LARGE = "manifest.too_large"
FILE_MISSING = "manifest.file_missing"
DUPLICATE_FILE = "manifest.duplicate_file"
BAD_DOSSIER = "manifest.bad_dossier"
UNKNOWN_PROCEDURE = "manifest.unknown_procedure"
BAD_DATE = "manifest.bad_date"

MAX_ROWS = 1_000_000
"""Data rows (header and empty rows not counted) beyond which a manifest is refused."""

REQUIRED = ("file", "dossier")
ALIASES: dict[str, tuple[str, ...]] = {
    "file": ("file", "tep", "tep tin", "duong dan"),
    "dossier": ("dossier", "ma ho so", "ho so"),
    "procedure": ("procedure", "thu tuc", "ma thu tuc"),
    "received": ("received", "ngay tiep nhan", "ngay nhan"),
    "applicant": ("applicant", "nguoi nop", "nguoi nop ho so", "chu ho so"),
}
"""Accepted headers per column, already folded (see `classifiers.text.fold`)."""

_Records = Generator[tuple[int, tuple[object, ...]], None, None]
"""(row number, cells) per record of a sheet, as a generator so it can be closed early."""
_DELIMITERS = (",", ";", "\t")
_CHUNK = 1 << 20
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_VN_DATE = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})")
_DATE_HINT = "use 2024-03-15 or 15/03/2024"


def _header_key(text: str) -> str:
    return fold(text).replace("_", "").replace(" ", "")


_HEADERS = {_header_key(alias): column for column, aliases in ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class ManifestRow:
    """One data row of the manifest, cells trimmed and in NFC."""

    line: int
    """Row number people see in the spreadsheet (the header is usually 1)."""
    file: str
    """Path relative to the import root, normalised by `normalise_path`."""
    dossier: str | None
    """Dossier code as written (trimmed); None when empty: the page or the grouping rule decides then."""
    procedure: str | None
    """As written until `Manifest.resolved` replaces it with the catalog id."""
    received: date | None
    """None when the cell is empty or not a usable date (then a `manifest.bad_date` problem exists)."""
    applicant: str | None


@dataclass(frozen=True)
class ManifestProblem:
    """One reason a row cannot be imported as written."""

    line: int
    file: str | None
    """The row's normalised file, or None when the row names none."""
    code: str
    message: str


@dataclass(frozen=True)
class Manifest:
    """The rows of a manifest and the problems found while reading them (bad dates, rows with no file)."""

    rows: tuple[ManifestRow, ...]
    problems: tuple[ManifestProblem, ...]

    def mapping(self) -> dict[str, ManifestRow]:
        """Rows by normalised relative path; for a duplicated file the first row wins."""
        out: dict[str, ManifestRow] = {}
        for row in self.rows:
            out.setdefault(row.file, row)
        return out

    def resolved(self, catalog: Catalog) -> Manifest:
        """This manifest with each known procedure stored as its catalog id (unknown ones kept as written)."""
        ids: dict[str, str] = {}
        for row in self.rows:
            if row.procedure and row.procedure not in ids:
                found = resolve_procedure(row.procedure, catalog)
                ids[row.procedure] = found.id if found else row.procedure
        rows = tuple(replace(r, procedure=ids[r.procedure]) if r.procedure else r for r in self.rows)
        return Manifest(rows=rows, problems=self.problems)


def normalise_path(path: str) -> str:
    """The form file paths are compared in: NFC, `/` separators, no leading `./`. Case is kept (ZIPs are)."""
    text = nfc(path).strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def resolve_procedure(value: str, catalog: Catalog) -> Procedure | None:
    """The catalog procedure a manifest cell means: its id (any case) or its national code, else None."""
    value = value.strip()
    if not value:
        return None
    return catalog.get(value) or catalog.get(value.lower()) or catalog.by_code(value)


# ---------------------------------------------------------------------------------------------- reading


def read_manifest(path: Path, *, today: date | None = None, max_rows: int = MAX_ROWS) -> Manifest:
    """Read a `.csv` or `.xlsx` manifest; raise `IngestError` when it cannot be used at all.

    `today` bounds `received` (tomorrow is still accepted, for time zones); it defaults to the local date.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(path)
    elif suffix == ".xlsx":
        records = _xlsx_records(path)
    else:
        raise IngestError(f"{path.name!r} is not a manifest: use a .csv or .xlsx file", code=UNREADABLE)
    with closing(records):
        return _parse(records, today=today or date.today(), max_rows=max_rows)


def _csv_records(path: Path) -> _Records:
    """Records of a CSV file with their row numbers, in the encoding and delimiter it turns out to use."""
    encoding = _csv_encoding(path)
    try:
        with path.open(encoding=encoding, newline="") as handle:
            delimiter = _csv_delimiter(_first_line(handle))
            handle.seek(0)
            yield from enumerate(map(tuple, csv.reader(handle, delimiter=delimiter)), start=1)
    except (OSError, csv.Error, UnicodeError) as exc:
        raise IngestError(f"{path.name!r} is not a readable CSV file: {exc}", code=UNREADABLE) from exc


def _csv_encoding(path: Path) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else cp1258 (older Vietnamese Windows exports)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        for encoding in ("utf-8-sig", "cp1258"):
            if _decodes(path, encoding):
                return encoding
    except OSError as exc:
        raise IngestError(f"cannot read the manifest {path.name!r}: {exc.strerror}", code=UNREADABLE) from exc
    raise IngestError(
        f"{path.name!r} is neither UTF-8 nor Windows-1258 text: save it as CSV UTF-8", code=UNREADABLE
    )


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes, checked in chunks so memory stays flat."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _first_line(handle: TextIO) -> str:
    """The first non-blank line (the header), read with `readline` so the handle can seek back."""
    while line := handle.readline():
        if line.strip():
            return line
    return ""


def _csv_delimiter(header: str) -> str:
    """The delimiter that splits the header into the most known columns (`,` on a tie or when none does)."""

    def known(delimiter: str) -> int:
        cells = next(csv.reader([header], delimiter=delimiter), [])
        return sum(_header_key(cell) in _HEADERS for cell in cells)

    return max(_DELIMITERS, key=known)


def _xlsx_records(path: Path) -> _Records:
    """Rows of the first sheet with their row numbers; dates come as `datetime` cells."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    broken = (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, IndexError, ParseError)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except broken as exc:
        raise IngestError(f"{path.name!r} is not a readable XLSX workbook: {exc}", code=UNREADABLE) from exc
    try:
        sheet = workbook.worksheets[0]
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    except broken as exc:
        raise IngestError(f"{path.name!r} is not a readable XLSX workbook: {exc}", code=UNREADABLE) from exc
    finally:
        workbook.close()


def _parse(records: Iterable[tuple[int, tuple[object, ...]]], *, today: date, max_rows: int) -> Manifest:
    """Header from the first non-empty record, then one row or problem per non-empty record."""
    columns: dict[str, int] | None = None
    rows: list[ManifestRow] = []
    problems: list[ManifestProblem] = []
    count = 0
    for line, cells in records:
        if all(_text(cell) == "" for cell in cells):
            continue
        if columns is None:
            columns = _columns(cells)
            continue
        count += 1
        if count > max_rows:
            raise IngestError(f"the manifest has more than {max_rows} rows: split it", code=TOO_LARGE)
        row, row_problems = _row(line, cells, columns, today=today)
        if row is not None:
            rows.append(row)
        problems.extend(row_problems)
    if columns is None:
        raise IngestError(
            "the manifest is empty: it needs a 'file' and a 'dossier' column", code=MISSING_COLUMN
        )
    return Manifest(rows=tuple(rows), problems=tuple(problems))


def _columns(header: tuple[object, ...]) -> dict[str, int]:
    """Column name → cell index, from the header row."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        column = _HEADERS.get(_header_key(_text(cell)))
        if column is None:
            continue
        if column in columns:
            raise IngestError(
                f"two columns mean {column!r} (the second is {_text(cell)!r})", code=DUPLICATE_COLUMN
            )
        columns[column] = index
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        names = ", ".join(
            f"{name!r} (or {', '.join(repr(a) for a in ALIASES[name][1:])})" for name in missing
        )
        raise IngestError(f"the manifest has no {names} column", code=MISSING_COLUMN)
    return columns


def _row(
    line: int, cells: tuple[object, ...], columns: dict[str, int], *, today: date
) -> tuple[ManifestRow | None, list[ManifestProblem]]:
    """One record as a row, plus its parse problems; no row when it names no file."""

    def cell(column: str) -> object:
        index = columns.get(column)
        return cells[index] if index is not None and index < len(cells) else None

    file = normalise_path(_text(cell("file")))
    if not file:
        return None, [ManifestProblem(line, None, FILE_MISSING, "the row names no file")]
    problems: list[ManifestProblem] = []
    received: date | None = None
    if _text(cell("received")):
        try:
            received = parse_received(cell("received"), today=today)
        except ValueError as exc:
            problems.append(ManifestProblem(line, file, BAD_DATE, str(exc)))
    row = ManifestRow(
        line=line,
        file=file,
        dossier=_text(cell("dossier")) or None,
        procedure=_text(cell("procedure")) or None,
        received=received,
        applicant=_text(cell("applicant")) or None,
    )
    return row, problems


def _text(value: object) -> str:
    """A cell as trimmed NFC text; whole numbers from Excel lose their `.0`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(str(value)).strip()


def parse_received(value: object, *, today: date) -> date:
    """A `received` cell as a date: ISO, `dd/mm/yyyy` (or `-`, `.`), or an Excel date cell; at most tomorrow.

    Raises `ValueError` with a message for people naming the value.
    """
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    elif isinstance(value, str):
        found = _date_text(value.strip())
    else:
        raise ValueError(f"{_text(value)!r} is not a date ({_DATE_HINT}, or format the cell as a date)")
    if found > today + timedelta(days=1):
        raise ValueError(f"{found.isoformat()!r} is in the future")
    return found


def _date_text(text: str) -> date:
    try:
        if iso := _ISO_DATE.fullmatch(text):
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if vn := _VN_DATE.fullmatch(text):
            return date(int(vn[4]), int(vn[3]), int(vn[1]))
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a date ({_DATE_HINT})")


# ------------------------------------------------------------------------------------------- validating


def validate_manifest(
    manifest: Manifest, *, available: Collection[str], catalog: Catalog
) -> list[ManifestProblem]:
    """Every problem of the manifest (read-time ones included), sorted by line; empty when it can run.

    `available` are the paths relative to the import folder or ZIP root (normalised here too).
    """
    present = {normalise_path(path) for path in available}
    first_line: dict[str, int] = {}
    procedures: dict[str, bool] = {}
    problems = list(manifest.problems)
    for row in manifest.rows:
        problems.extend(_file_problems(row, present, first_line))
        problems.extend(_dossier_problems(row))
        if row.procedure is not None:
            if row.procedure not in procedures:
                procedures[row.procedure] = resolve_procedure(row.procedure, catalog) is not None
            if not procedures[row.procedure]:
                message = f"{row.procedure!r} is neither a procedure id nor a procedure code of the catalog"
                problems.append(ManifestProblem(row.line, row.file, UNKNOWN_PROCEDURE, message))
    problems.sort(key=lambda problem: problem.line)
    return problems


def _file_problems(row: ManifestRow, present: set[str], first_line: dict[str, int]) -> list[ManifestProblem]:
    """Missing from the import, or already on an earlier row (`first_line` remembers rows seen so far)."""
    problems: list[ManifestProblem] = []
    if row.file not in present:
        problems.append(
            ManifestProblem(row.line, row.file, FILE_MISSING, f"{row.file!r} is not in the import")
        )
    first = first_line.setdefault(row.file, row.line)
    if first != row.line:
        message = f"{row.file!r} is on lines {first} and {row.line}"
        problems.append(ManifestProblem(row.line, row.file, DUPLICATE_FILE, message))
    return problems


def _dossier_problems(row: ManifestRow) -> list[ManifestProblem]:
    if row.dossier is None:
        return []
    try:
        check_dossier_code(row.dossier)
    except IngestError as exc:
        return [ManifestProblem(row.line, row.file, BAD_DOSSIER, exc.message)]
    return []
