"""Results of ``analyze`` and of live runs, users, alert dispatch and audit, in SQLite or PostgreSQL.

>>> import tempfile
>>> store = Store(tempfile.mkdtemp() + "/centinela.db")
>>> add_user(store, "ana", "s3cret", role="analyst", unit="DIRANDRO-VRAEM", scrypt_n=2**10).role
'analyst'
"""
from __future__ import annotations

from centinela.store.store import SESSION_TTL_S, BBox, Store
from centinela.store.users import ROLES, SCRYPT_N, User


def add_user(store: Store, username: str, password: str, *, role: str, unit: str, scrypt_n: int = SCRYPT_N) -> User:
    """Create a user of ``role`` (operator, analyst, admin) in ``unit``; see :meth:`Store.add_user`."""
    return store.add_user(username, password, role, unit, scrypt_n=scrypt_n)


__all__ = ["ROLES", "SESSION_TTL_S", "BBox", "Store", "User", "add_user"]
