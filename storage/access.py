"""Repositories for who may see what: units, identities (keys and accounts), audit entries. They flush,
never commit. Secrets are hashed by `api.auth`; this module only stores and finds hashes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import AuditEntry, Identity, Unit, WebSession


class UnitRepository:
    """Units (communes, departments, the centre)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, code: str) -> Unit | None:
        return self.session.get(Unit, code)

    def add(self, unit: Unit) -> Unit:
        self.session.add(unit)
        self.session.flush()
        return unit

    def all(self) -> list[Unit]:
        return list(self.session.scalars(select(Unit).order_by(Unit.code)))


class IdentityRepository:
    """API keys and staff accounts."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, identity: Identity) -> Identity:
        """Add and flush, so a taken name fails now (IntegrityError)."""
        self.session.add(identity)
        self.session.flush()
        return identity

    def get(self, identity_id: str) -> Identity | None:
        return self.session.get(Identity, identity_id)

    def active_key(self, key_hash: str) -> Identity | None:
        """The key with this hash, unless revoked."""
        statement = select(Identity).where(
            Identity.kind == "key", Identity.key_hash == key_hash, Identity.disabled_at.is_(None)
        )
        return self.session.scalars(statement).first()

    def by_name(self, kind: str, name: str) -> Identity | None:
        statement = select(Identity).where(Identity.kind == kind, Identity.name == name)
        return self.session.scalars(statement).first()

    def all(self, kind: str | None = None) -> list[Identity]:
        statement = select(Identity).order_by(Identity.kind, Identity.name)
        if kind is not None:
            statement = statement.where(Identity.kind == kind)
        return list(self.session.scalars(statement))

    def active_count(self) -> int:
        """Identities that can still authenticate (0 means nobody can use the API yet)."""
        statement = select(func.count()).select_from(Identity).where(Identity.disabled_at.is_(None))
        return int(self.session.scalar(statement) or 0)


class WebSessionRepository:
    """Signed-in browsers of the staff web app, found by the hash of their cookie."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, web_session: WebSession) -> WebSession:
        self.session.add(web_session)
        self.session.flush()
        return web_session

    def live(self, token_hash: str, now: datetime) -> tuple[WebSession, Identity] | None:
        """The unexpired session with this hash and its identity, unless the account is disabled."""
        statement = (
            select(WebSession, Identity)
            .join(Identity, Identity.id == WebSession.identity_id)
            .where(
                WebSession.token_hash == token_hash,
                WebSession.expires_at > now,
                Identity.disabled_at.is_(None),
            )
        )
        row = self.session.execute(statement).first()
        return None if row is None else (row[0], row[1])

    def end(self, token_hash: str) -> None:
        self.session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))

    def end_all_of(self, identity_id: str) -> int:
        """Sign an account out everywhere (disabled, password changed); returns how many sessions ended."""
        result = self.session.execute(delete(WebSession).where(WebSession.identity_id == identity_id))
        return int(getattr(result, "rowcount", 0) or 0)

    def purge_expired(self, now: datetime) -> None:
        self.session.execute(delete(WebSession).where(WebSession.expires_at <= now))


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list; None fields do not filter."""

    document_id: str | None = None
    dossier_code: str | None = None
    actor: str | None = None
    action: str | None = None
    unit: str | None = None
    """Entries about this unit only (an admin of a unit sees its unit's trail)."""
    since: datetime | None = None
    """Entries at or after this moment."""
    until: datetime | None = None
    """Entries before this moment."""


class AuditRepository:
    """Reading the audit trail (appending is `storage.audit.record_audit`, in its own transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, where: AuditFilter, *, limit: int, offset: int = 0) -> Sequence[AuditEntry]:
        """Matching entries, newest first."""
        statement = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit).offset(offset)
        if where.document_id is not None:
            statement = statement.where(AuditEntry.document_id == where.document_id)
        if where.dossier_code is not None:
            statement = statement.where(AuditEntry.dossier_code == where.dossier_code)
        if where.actor is not None:
            statement = statement.where(AuditEntry.actor == where.actor)
        if where.action is not None:
            statement = statement.where(AuditEntry.action == where.action)
        if where.unit is not None:
            statement = statement.where(AuditEntry.unit == where.unit)
        if where.since is not None:
            statement = statement.where(AuditEntry.at >= where.since)
        if where.until is not None:
            statement = statement.where(AuditEntry.at < where.until)
        return list(self.session.scalars(statement))
