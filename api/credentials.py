"""Secrets of identities, without the web framework: API keys and staff passwords.

Keys are 256-bit random tokens stored as SHA-256 (a fast hash is right for high-entropy secrets: nothing to
brute-force); passwords are argon2id through argon2-cffi (slow on purpose). The CLI makes identities with
these; `api.auth` checks them on each request.
"""

from __future__ import annotations

import hashlib
import secrets
from uuid import uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from storage.models import Identity, Role

KEY_PREFIX = "sohoa_"
_hasher = PasswordHasher()


def new_key() -> str:
    """A fresh API key: `sohoa_` and 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_key_identity(name: str, role: Role, unit: str | None) -> tuple[Identity, str]:
    """A key identity (not yet added) and the key itself, to be shown once."""
    key = new_key()
    identity = Identity(
        id=uuid4().hex,
        kind="key",
        name=name,
        role=role.value,
        unit=unit,
        key_hash=key_hash(key),
        key_prefix=key[: len(KEY_PREFIX) + 6],
    )
    return identity, key


def new_user_identity(name: str, role: Role, unit: str | None, password: str) -> Identity:
    """A staff account (not yet added) with its password hashed."""
    return Identity(
        id=uuid4().hex,
        kind="user",
        name=name,
        role=role.value,
        unit=unit,
        password_hash=hash_password(password),
    )


def spend_password_work(password: str) -> None:
    """Hash once for nothing: an unknown account costs what a known one does, so timing tells no names."""
    _hasher.hash(password or "x")
