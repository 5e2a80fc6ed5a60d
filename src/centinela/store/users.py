"""Users, roles, password hashing and login sessions.

Passwords are hashed with scrypt (``hashlib``, no extra dependency); the parameters are stored inside each
hash, so raising the cost later leaves old hashes verifiable. Session tokens are random and only their
SHA-256 is stored, so a copy of the database does not let anyone log in.

>>> h = hash_password("correct horse", scrypt_n=2**10)
>>> verify_password("correct horse", h), verify_password("wrong", h)
(True, False)
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

ROLES = ("operator", "analyst", "admin")
# What each role may do beyond reading the air picture and the alerts dispatched to it. Alert contents are
# never granted by role: only a dispatch (to the user or the user's unit) shows an alert.
# "trace": match a leaked text against the marked copies (an analyst: of the alerts cleared to them);
# "leaks": the units' leak statistics; "approve_widening": be the second person of a widening (the register's
# named approvers have it too, whatever their role).
ROLE_RIGHTS: dict[str, frozenset[str]] = {
    "operator": frozenset(),
    "analyst": frozenset({"runs", "audit_own", "trace", "leaks"}),
    "admin": frozenset({"runs", "audit_all", "users", "dispatch", "trace", "leaks", "audit_verify",
                        "approve_widening"}),
}

# OWASP password storage cheat sheet: scrypt with N=2^17, r=8, p=1 (128 MiB, about 0.5 s here).
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
SALT_BYTES = 16
TOKEN_BYTES = 32


@dataclass(frozen=True)
class User:
    """A logged-in user: who, what role, which unit (alerts dispatched to the unit reach every member)."""

    id: int
    username: str
    role: str
    unit: str

    def can(self, right: str) -> bool:
        return right in ROLE_RIGHTS.get(self.role, frozenset())


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # scrypt needs 128 * n * r bytes; allow that plus a margin.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=SCRYPT_DKLEN,
                          maxmem=129 * n * r + 1024 * 1024)


def hash_password(password: str, *, scrypt_n: int = SCRYPT_N) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64), to store in ``users.password_hash``."""
    if not password:
        raise ValueError("the password must not be empty")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, scrypt_n, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${scrypt_n}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the ``stored`` hash (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(actual, expected)


def new_token() -> tuple[str, str]:
    """A fresh session token and the SHA-256 hex that the database keeps."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
