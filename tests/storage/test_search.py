"""Full-text search on real SQLite (FTS5) and PostgreSQL (tsvector): same behaviour on both."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database, create_database
from storage.models import Document
from storage.search import (
    MAX_LIMIT,
    index_document,
    make_snippet,
    parse_query,
    remove_document,
    search_documents,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each dialect."""
    url = (
        f"sqlite:///{tmp_path / 'sohoa.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_database")
    )
    database = create_database(url)
    yield database
    database.dispose()


def add(db: Database, texts: dict[str, str]) -> None:
    """Documents with these ids, their text indexed, committed."""
    with db.unit_of_work() as session:
        for document_id in texts:
            session.add(
                Document(
                    id=document_id,
                    source=f"{document_id}.tif",
                    sha256=hashlib.sha256(document_id.encode()).hexdigest(),
                    size_bytes=1,
                    original_key=f"inbox/{document_id}/original.tif",
                )
            )
        session.flush()
        for document_id, body in texts.items():
            index_document(session, document_id, body)


def found(db: Database, query: str, **options: int) -> list[str]:
    with db.sessions() as session:
        return [hit.document_id for hit in search_documents(session, query, **options)]


def test_tone_marks_and_case_do_not_matter(db: Database) -> None:
    add(
        db,
        {
            "upper": "GIẤY KHAI SINH\nHọ và tên: NGUYỄN VĂN AN",
            "plain": "giay khai sinh (ban sao) cap cho Tran Thi Binh",
            "other": "ĐƠN ĐĂNG KÝ KẾT HÔN",
        },
    )
    assert sorted(found(db, "giay khai sinh")) == ["plain", "upper"]
    assert sorted(found(db, "Giấy khai sinh")) == ["plain", "upper"]
    assert sorted(found(db, "GIẤY KHAI SINH")) == ["plain", "upper"]
    assert found(db, "Nguyễn văn an") == ["upper"]
    assert found(db, "dang ky ket hon") == ["other"]
    assert found(db, "ĐĂNG KÝ") == ["other"]


def test_every_word_must_match(db: Database) -> None:
    add(db, {"birth": "to khai dang ky khai sinh", "death": "to khai dang ky khai tu", "none": "hop dong"})
    assert found(db, "khai sinh") == ["birth"]
    assert sorted(found(db, "to khai")) == ["birth", "death"]
    assert found(db, "khai sinh hop") == []


def test_the_last_word_also_matches_as_a_prefix_and_quotes_keep_words_together(db: Database) -> None:
    add(db, {"birth": "giấy khai sinh", "mixed": "sinh ngày ... khai báo", "child": "giấy chứng sinh"})
    assert found(db, "giay chu") == ["child"]
    assert found(db, "gia chung") == []
    assert sorted(found(db, "khai sinh")) == ["birth", "mixed"]
    assert found(db, '"khai sinh"') == ["birth"]
    assert found(db, '"giay chung"') == ["child"]
    assert found(db, '"giay ch"') == []


def test_reindexing_replaces_the_text(db: Database) -> None:
    add(db, {"a": "giấy khai sinh"})
    with db.unit_of_work() as session:
        index_document(session, "a", "hợp đồng mua bán")
    assert found(db, "khai sinh") == []
    assert found(db, "hop dong") == ["a"]


def test_removed_documents_are_not_found(db: Database) -> None:
    add(db, {"a": "giấy khai sinh", "b": "giấy khai sinh"})
    with db.unit_of_work() as session:
        remove_document(session, "a")
        remove_document(session, "missing")
    assert found(db, "khai sinh") == ["b"]


def test_deleting_the_document_row_deletes_its_text(db: Database) -> None:
    add(db, {"a": "giấy khai sinh", "b": "giấy khai sinh"})
    with db.unit_of_work() as session:
        document = session.get(Document, "a")
        assert document is not None
        session.delete(document)
    assert found(db, "khai sinh") == ["b"]
    with db.unit_of_work() as session:
        session.execute(text("DELETE FROM documents"))
    with db.sessions() as session:
        assert session.execute(text("SELECT count(*) FROM search_text")).scalar_one() == 0
        if session.get_bind().dialect.name == "sqlite":  # the FTS5 index followed the cascade too
            session.execute(text("INSERT INTO search_text_fts (search_text_fts) VALUES ('integrity-check')"))
    assert found(db, "khai sinh") == []


def test_indexing_does_not_commit(db: Database) -> None:
    add(db, {"a": "hợp đồng"})
    with db.sessions() as session:
        index_document(session, "a", "giấy khai sinh")
        assert [hit.document_id for hit in search_documents(session, "khai sinh")] == ["a"]
        session.rollback()
    assert found(db, "khai sinh") == []
    assert found(db, "hop dong") == ["a"]


HOSTILE = [
    '"',
    '""""',
    "*",
    "giay*",
    "AND OR NOT",
    "giay AND OR NOT",
    "NOT giay",
    "giay OR",
    "'); DROP TABLE documents; --",
    "'",
    "\\",
    "giay'",
    'giay"',
    "(giay",
    "giay)",
    "folded:giay",
    "body:giay",
    "NEAR(giay khai)",
    "^giay",
    "-giay",
    "+giay",
    "giay:*",
    "giay & khai | !sinh <-> x",
    "{giay khai}",
    "giay\x00khai",
    "\ud800giay",
    "😀",
    "giay 😀",
    "gia\u0301y",  # decomposed tone mark
    "ﬁ",
    "Ⅻ ²",
    "中文",
    "\u200b\u200d\ufeff",
    "a" * 5000,
    " ".join(["giay"] * 1000),
    "x" * 3000 + " giay",
    "\t\n\r",
]


def test_no_query_breaks_the_search(db: Database) -> None:
    add(db, {"a": "GIẤY KHAI SINH", "b": "and or not near folded body"})
    for query in HOSTILE:
        with db.sessions() as session:
            hits = search_documents(session, query)
        assert all(hit.document_id in {"a", "b"} for hit in hits), query
    assert found(db, "giay khai sinh") == ["a"]  # and nothing was dropped


def test_operator_words_are_plain_words(db: Database) -> None:
    add(db, {"a": "GIẤY KHAI SINH", "b": "and or not near"})
    assert found(db, "AND OR NOT") == ["b"]
    assert found(db, "'); DROP TABLE documents; --") == []
    assert found(db, "giay*") == ["a"]


def test_awkward_text_can_be_indexed(db: Database) -> None:
    add(db, {"a": "giấy\x00khai \ud800 sinh 😀 " + "x" * 3000, "b": ""})
    assert found(db, "giay khai sinh") == ["a"]


def test_huge_garbage_text_is_indexed_up_to_the_tsvector_limit(db: Database) -> None:
    garbage = " ".join(hashlib.md5(str(i).encode()).hexdigest() for i in range(60_000))  # 2 MB, all distinct
    add(db, {"a": "giấy khai sinh " + garbage})
    assert found(db, "giay khai sinh") == ["a"]
    assert found(db, hashlib.md5(b"1").hexdigest()) == ["a"]


def test_more_occurrences_rank_first(db: Database) -> None:
    filler = {f"f{i}": f"hợp đồng mua bán nhà số {i} tại phường" for i in range(6)}
    add(
        db,
        {
            **filler,
            "once": "đơn đề nghị cấp bản sao giấy khai sinh cho công dân tại phường",
            "often": "khai sinh: bản sao khai sinh, trích lục khai sinh, sổ khai sinh tại phường",
        },
    )
    with db.sessions() as session:
        hits = search_documents(session, "khai sinh")
    assert [hit.document_id for hit in hits] == ["often", "once"]
    assert hits[0].rank > hits[1].rank > 0


def test_limit_and_offset_page_through_the_hits(db: Database) -> None:
    add(db, {f"d{i}": "giấy khai sinh " + "bản sao " * i for i in range(7)})
    everything = found(db, "khai sinh", limit=MAX_LIMIT)
    assert sorted(everything) == [f"d{i}" for i in range(7)]
    pages = [found(db, "khai sinh", limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [len(page) for page in pages] == [3, 3, 1, 0]
    assert [document_id for page in pages for document_id in page] == everything
    assert found(db, "khai sinh", limit=0) == []


@pytest.mark.parametrize("query", ["", "   ", "!!!", "…", '"  "'])
def test_an_empty_query_finds_nothing(db: Database, query: str) -> None:
    add(db, {"a": "giấy khai sinh"})
    assert found(db, query) == []


def test_snippets_show_the_original_text_around_the_match(db: Database) -> None:
    before = " ".join(f"mục{i}" for i in range(40))
    add(db, {"a": f"{before} GIẤY KHAI SINH của NGUYỄN VĂN AN, sinh năm 1990. " + "Ghi chú " * 30})
    with db.sessions() as session:
        [hit] = search_documents(session, "giay khai sinh")
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert "GIẤY KHAI SINH của NGUYỄN VĂN AN, sinh năm 1990." in hit.snippet
    assert "mục0 " not in hit.snippet


def test_snippet_of_a_short_text_is_all_of_it() -> None:
    assert make_snippet("Tờ khai\n\nđăng ký", parse_query("dang")) == "Tờ khai đăng ký"
    assert make_snippet("", parse_query("dang")) == ""


def test_query_parsing() -> None:
    assert [(t.tokens, t.prefix) for t in parse_query('Giấy "khai sinh" BẢN-SAO')] == [
        (("giay",), False),
        (("khai", "sinh"), False),
        (("ban", "sao"), True),
    ]
    assert [(t.tokens, t.prefix) for t in parse_query('giay "khai sinh"')][-1] == (("khai", "sinh"), False)
    assert parse_query("x" * 300) == []
