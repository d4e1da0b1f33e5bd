"""Identities for tests: keys and accounts made the way `sohoa keys create` makes them (same code)."""

from __future__ import annotations

from api.auth import new_key_identity, new_user_identity
from ingest.services import Services
from storage.access import IdentityRepository, UnitRepository
from storage.models import Role, Unit


def ensure_unit(services: Services, code: str) -> str:
    with services.db.unit_of_work() as session:
        units = UnitRepository(session)
        if units.get(code) is None:
            units.add(Unit(code=code, name=f"Đơn vị {code}"))
    return code


def make_key(services: Services, role: str, *, unit: str | None = None, name: str | None = None) -> str:
    """A fresh API key of `role` (in `unit`, created if new; None: the province)."""
    if unit:
        ensure_unit(services, unit)
    identity, key = new_key_identity(name or f"{role}-{unit or 'tinh'}", Role(role), unit)
    with services.db.unit_of_work() as session:
        IdentityRepository(session).add(identity)
    return key


def make_user(services: Services, name: str, role: str, password: str, *, unit: str | None = None) -> None:
    if unit:
        ensure_unit(services, unit)
    with services.db.unit_of_work() as session:
        IdentityRepository(session).add(new_user_identity(name, Role(role), unit, password))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
