"""Full-text search over documents' text, insensitive to case and Vietnamese tone marks.

Public pieces: `index_document` (upsert a document's text), `remove_document`, `search_documents`
returning `SearchHit`s; `parse_query` and `make_snippet` are the pure halves. Text and queries are both
accent-folded with `classifiers.text.fold`, so "Giấy khai sinh", "GIẤY KHAI SINH" and an OCR'd "giay khai
sinh" meet. PostgreSQL matches with a `simple` tsvector and ranks with `ts_rank`; SQLite with FTS5 and
`bm25`. The tables come from migration 0002. Nothing here commits: the caller's unit of work does.

Query syntax, the same on both databases: words must all match (AND); "quoted words" must appear together
in that order; the last word also matches as a prefix ("khai si" finds "khai sinh"). Everything else in
the query (operators, quotes left open, punctuation) is just text, so no input can break the SQL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from classifiers.text import fold

MAX_LIMIT = 200
"""Largest page of hits one call returns (each hit carries its document's text to cut the snippet)."""

MAX_OFFSET = 10_000
"""Deepest page of hits one can ask for (past it, refine the query)."""

MAX_TERMS = 32
"""Query words beyond this many are ignored."""

MAX_TOKEN_CHARS = 200
"""A query word longer than this matches nothing (PostgreSQL does not index words over 2047 bytes)."""

MAX_TSVECTOR_BYTES = 900_000
"""Indexed text is cut where PostgreSQL's tsvector would pass its 1 MB limit (only OCR garbage gets there)."""

SNIPPET_WORDS = 24
"""Words in a snippet, a few of them before the first match."""

SNIPPET_SOURCE_CHARS = 200_000
"""Snippets are cut from this much of the start of a document (a match further on gives its first words)."""

_QUERY_PART = re.compile(r'"([^"]*)"|([^\s"]+)')
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class SearchHit:
    """One document matching a query."""

    document_id: str
    """The matching document."""
    rank: float
    """Relevance, higher is better; only comparable between hits of the same query."""
    snippet: str
    """A few words of the original text around the first match ("…" where it was cut)."""


@dataclass(frozen=True)
class QueryTerm:
    """One query word or quoted phrase, folded into tokens that must appear in this order."""

    tokens: tuple[str, ...]
    """Folded tokens, letters and digits only."""
    prefix: bool = False
    """The last token may also begin a longer word (set on the query's last unquoted word)."""


def fold_for_search(value: str) -> str:
    """`fold`, underscores split too, so a token is only letters and digits (as both indexes cut them)."""
    return " ".join(fold(value).replace("_", " ").split())


def index_document(session: Session, document_id: str, text: str) -> None:
    """Make `text` the searchable text of the document (whose row must exist), replacing earlier text."""
    body = _storable(text)
    folded = _within_tsvector_limit(fold_for_search(body))
    session.execute(
        sql(
            "INSERT INTO search_text (document_id, body, folded) VALUES (:document_id, :body, :folded) "
            "ON CONFLICT (document_id) DO UPDATE SET body = excluded.body, folded = excluded.folded"
        ),
        {"document_id": document_id, "body": body, "folded": folded},
    )


def remove_document(session: Session, document_id: str) -> None:
    """Forget the document's text (deleting the document row does this too)."""
    session.execute(
        sql("DELETE FROM search_text WHERE document_id = :document_id"), {"document_id": document_id}
    )


@dataclass(frozen=True)
class SearchFilter:
    """Which documents a search may find; None fields do not filter."""

    procedure: str | None = None
    status: str | None = None
    since: datetime | None = None
    """Received at or after (UTC)."""
    until: datetime | None = None
    """Received before (UTC)."""


NO_FILTER = SearchFilter()


def search_documents(
    session: Session,
    query: str,
    *,
    limit: int = 50,
    offset: int = 0,
    unit: str | None = None,
    where: SearchFilter = NO_FILTER,
) -> list[SearchHit]:
    """Documents matching every word of `query`, best first; an empty or wordless query finds nothing.
    With `unit`, only that unit's documents; `where` narrows by procedure, status and date received."""
    terms = parse_query(query)
    limit = min(max(limit, 0), MAX_LIMIT)
    if not terms or limit == 0:
        return []
    sqlite = session.get_bind().dialect.name != "postgresql"
    params = {
        "limit": limit,
        "offset": min(max(offset, 0), MAX_OFFSET),
        "snippet_source": SNIPPET_SOURCE_CHARS,
        "unit": unit,
        "filtered": unit is not None or where != NO_FILTER,
        "procedure": where.procedure,
        "status": where.status,
        "since": _stored_time(where.since, sqlite),
        "until": _stored_time(where.until, sqlite),
    }
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_POSTGRESQL_SEARCH, {**params, "query": _tsquery(terms)})
    else:
        rows = session.execute(_SQLITE_SEARCH, {**params, "query": _fts5_query(terms)})
    return [
        SearchHit(document_id=document_id, rank=float(rank), snippet=make_snippet(body, terms))
        for document_id, rank, body in rows
    ]


def _stored_time(moment: datetime | None, sqlite: bool) -> datetime | str | None:
    """SQLite keeps SQLAlchemy's naive UTC text (`YYYY-MM-DD HH:MM:SS.ffffff`); compare in that form."""
    if moment is None or not sqlite:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def highlight(snippet: str, query: str) -> list[tuple[str, bool]]:
    """The snippet cut into pieces, each marked True where it is a word the query matched (tone marks
    optional), for a page to wrap in `<mark>` without building HTML from text."""
    terms = parse_query(query)
    wanted = {token for term in terms for token in term.tokens}
    prefixes = {term.tokens[-1] for term in terms if term.prefix}
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _WORD.finditer(snippet):
        tokens = _fold_word(match.group())
        hit = bool(tokens) and all(t in wanted or any(t.startswith(p) for p in prefixes) for t in tokens)
        if match.start() > last:
            pieces.append((snippet[last : match.start()], False))
        pieces.append((match.group(), hit))
        last = match.end()
    if last < len(snippet):
        pieces.append((snippet[last:], False))
    return pieces


def parse_query(query: str) -> list[QueryTerm]:
    """The query's words and quoted phrases, folded; [] when nothing searchable is left."""
    parts: list[tuple[tuple[str, ...], bool]] = []
    for match in _QUERY_PART.finditer(unicodedata.normalize("NFC", query)):
        phrase, word = match.groups()
        tokens = tuple(fold_for_search(phrase if phrase is not None else word).split())
        if tokens:
            parts.append((tokens, phrase is None))
    parts = parts[:MAX_TERMS]
    if any(len(token) > MAX_TOKEN_CHARS for tokens, _ in parts for token in tokens):
        return []
    terms = [QueryTerm(tokens) for tokens, _ in parts]
    if parts and parts[-1][1] and len(parts[-1][0][-1]) >= 2:
        terms[-1] = QueryTerm(parts[-1][0], prefix=True)
    return terms


def _fts5_query(terms: list[QueryTerm]) -> str:
    """FTS5 MATCH text: every term a quoted string (so operators and syntax in it are plain words)."""
    quoted = [
        '"' + " ".join(term.tokens).replace('"', '""') + '"' + ("*" if term.prefix else "") for term in terms
    ]
    return " AND ".join(quoted)


def _tsquery(terms: list[QueryTerm]) -> str:
    """to_tsquery text: quoted lexemes, a phrase's joined by <->, terms by &."""

    def lexeme(token: str, prefix: bool) -> str:
        return "'" + token.replace("'", "''").replace("\\", "\\\\") + "'" + (":*" if prefix else "")

    parts = []
    for term in terms:
        last = len(term.tokens) - 1
        lexemes = [lexeme(token, term.prefix and i == last) for i, token in enumerate(term.tokens)]
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)


_POSTGRESQL_SEARCH = sql(
    """
    WITH hits AS (
        SELECT s.document_id, ts_rank(s.terms, q.query, 1) AS rank
        FROM search_text AS s, to_tsquery('simple', :query) AS q(query)
        WHERE s.terms @@ q.query
          AND (NOT CAST(:filtered AS BOOLEAN) OR s.document_id IN (
               SELECT d.id FROM documents AS d
               WHERE (CAST(:unit AS TEXT) IS NULL OR d.unit = CAST(:unit AS TEXT))
                 AND (CAST(:procedure AS TEXT) IS NULL OR d.procedure_id = CAST(:procedure AS TEXT))
                 AND (CAST(:status AS TEXT) IS NULL OR d.status = CAST(:status AS TEXT))
                 AND (CAST(:since AS TIMESTAMPTZ) IS NULL OR d.created_at >= CAST(:since AS TIMESTAMPTZ))
                 AND (CAST(:until AS TIMESTAMPTZ) IS NULL OR d.created_at < CAST(:until AS TIMESTAMPTZ))))
          AND s.document_id NOT IN (SELECT w.id FROM documents AS w WHERE w.withdrawn_at IS NOT NULL)
        ORDER BY rank DESC, s.document_id
        LIMIT :limit OFFSET :offset
    )
    SELECT h.document_id, h.rank, substr(s.body, 1, :snippet_source)
    FROM hits AS h JOIN search_text AS s ON s.document_id = h.document_id
    ORDER BY h.rank DESC, h.document_id
    """
)

_SQLITE_SEARCH = sql(
    """
    WITH hits AS (
        SELECT rowid AS id, bm25(search_text_fts) AS score
        FROM search_text_fts
        WHERE search_text_fts MATCH :query
          AND (NOT :filtered OR rowid IN (
               SELECT t.id FROM search_text AS t JOIN documents AS d ON d.id = t.document_id
               WHERE (:unit IS NULL OR d.unit = :unit)
                 AND (:procedure IS NULL OR d.procedure_id = :procedure)
                 AND (:status IS NULL OR d.status = :status)
                 AND (:since IS NULL OR d.created_at >= :since)
                 AND (:until IS NULL OR d.created_at < :until)))
          AND rowid NOT IN (
               SELECT t.id FROM search_text AS t JOIN documents AS w ON w.id = t.document_id
               WHERE w.withdrawn_at IS NOT NULL)
        ORDER BY score, rowid
        LIMIT :limit OFFSET :offset
    )
    SELECT s.document_id, -h.score, substr(s.body, 1, :snippet_source)
    FROM hits AS h JOIN search_text AS s ON s.id = h.id
    ORDER BY h.score, h.id
    """
)


def make_snippet(body: str, terms: list[QueryTerm], *, words: int = SNIPPET_WORDS) -> str:
    """About `words` words of `body` starting a little before the first match of any term."""
    spans = [match.span() for match in _WORD.finditer(body, 0, SNIPPET_SOURCE_CHARS)]
    if not spans:
        return ""
    first = _first_match(body, spans, terms)
    start = max(0, first - words // 4) if first is not None else 0
    end = min(len(spans), start + words)
    snippet = " ".join(body[spans[start][0] : spans[end - 1][1]].split())
    before = "…" if start > 0 else ""
    after = "…" if _WORD.search(body, spans[end - 1][1]) else ""
    return before + snippet + after


def _first_match(body: str, spans: list[tuple[int, int]], terms: list[QueryTerm]) -> int | None:
    """Index in `spans` of the first word where some term's tokens begin, in order."""
    tokens: list[str] = []
    owners: list[int] = []
    for index, (start, end) in enumerate(spans):
        for token in _fold_word(body[start:end]):
            tokens.append(token)
            owners.append(index)
    for position in range(len(tokens)):
        if any(_matches_at(tokens, position, term) for term in terms):
            return owners[position]
    return None


def _matches_at(tokens: list[str], position: int, term: QueryTerm) -> bool:
    wanted = term.tokens
    found = tokens[position : position + len(wanted)]
    if len(found) < len(wanted) or found[:-1] != list(wanted[:-1]):
        return False
    return found[-1].startswith(wanted[-1]) if term.prefix else found[-1] == wanted[-1]


@lru_cache(maxsize=65_536)
def _fold_word(word: str) -> tuple[str, ...]:
    """A word's folded tokens, cached: Vietnamese text repeats a few thousand syllables."""
    return tuple(fold_for_search(word).split())


def _storable(body: str) -> str:
    """NFC text both databases accept: no NUL characters (PostgreSQL), no lone surrogates (UTF-8)."""
    body = unicodedata.normalize("NFC", body.replace("\x00", " "))
    return body.encode("utf-8", "replace").decode("utf-8")


def _within_tsvector_limit(folded: str) -> str:
    """The folded text, cut before the word that would make its tsvector pass `MAX_TSVECTOR_BYTES`.

    A tsvector stores each distinct word once (bytes plus a 4-byte entry, rounded up) and up to 256
    positions of 2 bytes; counting the same way here is a safe upper bound.
    """
    if len(folded) <= MAX_TSVECTOR_BYTES // 9:  # ≤ 4 bytes a letter, ≤ 1 word per 2 letters: cannot pass
        return folded
    size = 0
    seen: dict[str, int] = {}
    for match in _TOKEN.finditer(folded):
        token = match.group()
        count = seen.get(token, 0)
        if count == 0:
            size += len(token.encode()) + 8
        if count < 256:
            size += 2
        seen[token] = count + 1
        if size > MAX_TSVECTOR_BYTES:
            return folded[: match.start()].rstrip()
    return folded
