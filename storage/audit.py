"""The audit trail: append-only, hash-chained entries of who read or changed what, and its verification.

    record_audit(db, AuditEvent(actor="key:hcc", action="document.read", document_id=..., outcome="ok"))
    check = verify_audit(db)        # AuditCheck(entries=…, problems=[…], head=…)

Each entry's hash is SHA-256 over its own fields and the previous entry's hash, and sequence numbers have no
gaps, so editing an entry, deleting one or inserting one in the middle breaks the chain at that point.
(Cutting entries off the end leaves a shorter valid chain: compare the head `sohoa audit verify` prints
with one noted earlier.)
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import AuditEntry, utcnow

GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""
APPEND_LOCK_KEY = 0x736F686F61617564
"""PostgreSQL advisory lock ("sohoaaud") that serialises appends, so concurrent requests never race for a
sequence number; SQLite's single writer does the same, with a retry on the rare conflict."""
APPEND_ATTEMPTS = 10


@dataclass(frozen=True)
class AuditEvent:
    """What happened, as a face saw it; `record_audit` turns it into a chained entry."""

    actor: str
    action: str
    outcome: str = "ok"
    actor_id: str | None = None
    document_id: str | None = None
    dossier_code: str | None = None
    unit: str | None = None
    address: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    """Small JSON values only (strings, integers, booleans, lists of them)."""


@dataclass(frozen=True)
class AuditProblem:
    """Where the chain breaks."""

    seq: int
    kind: str
    """edited (hash does not match the fields), missing (a sequence number is absent), relinked (the
    previous hash is not the previous entry's)."""


@dataclass(frozen=True)
class AuditCheck:
    """The result of walking the whole chain."""

    entries: int
    problems: list[AuditProblem]
    head: str
    """Hash of the last entry (GENESIS when empty): note it to detect later truncation."""

    @property
    def intact(self) -> bool:
        return not self.problems


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 of the entry's fields and its previous hash, in one canonical JSON form."""
    payload = {
        "seq": entry.seq,
        "at": _utc(entry.at).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "document_id": entry.document_id,
        "dossier_code": entry.dossier_code,
        "unit": entry.unit,
        "address": entry.address,
        "outcome": entry.outcome,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_SQLITE_APPENDS = threading.Lock()
"""Threads of one process take turns here rather than in SQLite's busy handler, which sleeps in steps of
up to 100 ms between tries (the tail latency of every audited request under load)."""


def record_audit(db: Database, event: AuditEvent) -> AuditEntry:
    """Append one entry in its own transaction, so it lands whether or not the audited work committed."""
    last_error: Exception | None = None
    turns = _SQLITE_APPENDS if db.engine.dialect.name == "sqlite" else nullcontext()
    for _ in range(APPEND_ATTEMPTS):
        try:
            with turns, db.unit_of_work() as session:
                return _append(session, event)
        except (IntegrityError, OperationalError) as exc:  # another append took the number, or SQLite busy
            last_error = exc
    assert last_error is not None
    raise last_error


def _append(session: Session, event: AuditEvent) -> AuditEntry:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and not dbapi_connection.in_transaction:
            # sqlite3 begins lazily (at the INSERT): take the write lock before reading the last entry,
            # so concurrent appends queue for it instead of picking the same number and retrying.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    entry = AuditEntry(
        seq=last.seq + 1 if last else 1,
        at=utcnow(),
        actor=event.actor[:160],
        actor_id=event.actor_id,
        action=event.action,
        document_id=event.document_id,
        dossier_code=event.dossier_code,
        unit=event.unit,
        address=event.address,
        outcome=event.outcome[:64],
        detail=dict(event.detail),
        prev_hash=last.hash if last else GENESIS,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def verify_audit(db: Database, *, batch: int = 1000) -> AuditCheck:
    """Walk the chain from the first entry; every break is reported (an edit shows as one `edited`)."""
    problems: list[AuditProblem] = []
    expected_seq, previous, count = 1, GENESIS, 0
    with db.unit_of_work() as session:
        for entry in _in_order(session, batch):
            count += 1
            if entry.seq != expected_seq:
                problems.append(AuditProblem(expected_seq, "missing"))
            if entry.prev_hash != previous:
                problems.append(AuditProblem(entry.seq, "relinked"))
            if entry_hash(entry) != entry.hash:
                problems.append(AuditProblem(entry.seq, "edited"))
            expected_seq, previous = entry.seq + 1, entry.hash
    return AuditCheck(entries=count, problems=problems, head=previous)


def _in_order(session: Session, batch: int) -> Iterator[AuditEntry]:
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def audit_record(entry: AuditEntry) -> dict[str, object]:
    """One entry as the API and `sohoa audit show` give it."""
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "outcome": entry.outcome,
        "document_id": entry.document_id,
        "dossier_code": entry.dossier_code,
        "unit": entry.unit,
        "address": entry.address,
        "detail": entry.detail,
        "hash": entry.hash,
    }
