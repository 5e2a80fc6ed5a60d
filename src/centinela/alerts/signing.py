"""Ed25519 signatures on exported alerts, evidence and audit checkpoints, checkable without the server.

A signed document is one JSON object (format ``centinela-signed/1``, docs/need_to_know.md "Audit and
signatures")::

    {"format": "centinela-signed/1", "key_fingerprint": "<sha256 hex of the raw public key>",
     "payload": {...}, "public_key": "<base64 raw key>", "signature": "<base64 Ed25519 signature>"}

The signature covers :func:`canonical_json` of ``{"format", "key_fingerprint", "payload"}``. A verifier uses
the public key it got from the signer out of band (a court keeps the prosecutor's ``.pub.pem``), never the
key inside the document: that one is a convenience and only has to match the fingerprint.

>>> import tempfile
>>> private_path, public_path = generate_keypair(tempfile.mkdtemp())
>>> doc = sign_export({"alert_id": "AL-1", "eta": 1780312530.0}, private_path)
>>> verify_export(doc, public_path)
True
>>> doc["payload"]["eta"] += 60.0            # one minute later: the signature no longer holds
>>> verify_export(doc, public_path)
False
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from centinela.errors import InputError

SIGNED_FORMAT = "centinela-signed/1"
PRIVATE_KEY_FILE = "centinela-ed25519.pem"  # PKCS#8 PEM, unencrypted, readable by its owner only
PUBLIC_KEY_FILE = "centinela-ed25519.pub.pem"  # SubjectPublicKeyInfo PEM: the file to hand to a court
SIGNED_FIELDS = ("format", "key_fingerprint", "payload")


def _plain(value: Any) -> Any:
    """NumPy and pandas scalars as JSON values; NaN is refused by canonical_json, so it becomes null here."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    if value is None or str(type(value).__name__) in ("NAType", "NaTType"):
        return None
    raise TypeError(f"cannot sign {type(value).__name__} as JSON")


def canonical_json(value: Any) -> bytes:
    """The bytes that are hashed and signed: keys sorted, no whitespace, UTF-8, NaN refused.

    Floats are written as Python's shortest round-trip ``repr``, so a value read back hashes the same.

    >>> canonical_json({"b": 1, "a": [1.5, "é"]})
    b'{"a":[1.5,"\\xc3\\xa9"],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=_plain).encode("utf-8")


def plain_json(value: Any) -> Any:
    """``value`` as it reads back from its canonical JSON (tuples as lists, NumPy scalars as numbers)."""
    return json.loads(canonical_json(value))


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the 32 raw bytes of ``public_key``: the name of the key in documents and logs."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_keypair(directory: str | Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair into ``directory``; return (private key path, public key path).

    Refuses (InputError) to overwrite an existing key: losing a signing key orphans every signature made with it.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / PRIVATE_KEY_FILE, folder / PUBLIC_KEY_FILE
    for path in (private_path, public_path):
        if path.exists():
            raise InputError(path, "a key is already there; move it away or choose another folder")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # Created with owner-only permissions from the start, not chmod-ed after being readable.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def load_private_key(key: Ed25519PrivateKey | str | Path) -> Ed25519PrivateKey:
    """A private key object, or the PEM file that holds one (InputError when it is not an Ed25519 key)."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    try:
        loaded = serialization.load_pem_private_key(Path(key).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise InputError(key, f"cannot read an unencrypted PEM private key: {e}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise InputError(key, f"expected an Ed25519 key, got {type(loaded).__name__}")
    return loaded


def load_public_key(key: Ed25519PublicKey | Ed25519PrivateKey | str | Path) -> Ed25519PublicKey:
    """A public key object, from itself, its private key, or a PEM file (public or private)."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, Ed25519PrivateKey):
        return key.public_key()
    try:
        data = Path(key).read_bytes()
    except OSError as e:
        raise InputError(key, f"cannot read the key: {e}") from None
    if b"PRIVATE KEY" in data:
        return load_private_key(key).public_key()
    try:
        loaded = serialization.load_pem_public_key(data)
    except ValueError as e:
        raise InputError(key, f"not a PEM public key: {e}") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise InputError(key, f"expected an Ed25519 key, got {type(loaded).__name__}")
    return loaded


def sign_export(payload: dict[str, Any], private_key: Ed25519PrivateKey | str | Path) -> dict[str, Any]:
    """``payload`` wrapped in a signed document (see the module doc). The payload is stored as it reads
    back from JSON, so the document verifies after any number of writes and reads."""
    if not isinstance(payload, dict):
        raise InputError("payload", f"expected a JSON object, got {type(payload).__name__}")
    key = load_private_key(private_key)
    doc = {"format": SIGNED_FORMAT, "key_fingerprint": fingerprint(key.public_key()), "payload": plain_json(payload)}
    signature = key.sign(canonical_json({k: doc[k] for k in SIGNED_FIELDS}))
    raw_public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    doc["public_key"] = base64.b64encode(raw_public).decode("ascii")
    doc["signature"] = base64.b64encode(signature).decode("ascii")
    return doc


def check_document(doc: Any, source: str | Path = "document") -> None:
    """InputError unless ``doc`` has the shape of a signed document (whether it verifies is another matter)."""
    if not isinstance(doc, dict):
        raise InputError(source, "expected a JSON object (a signed Centinela document)")
    if doc.get("format") != SIGNED_FORMAT:
        raise InputError(source, f"expected format {SIGNED_FORMAT!r}, got {doc.get('format')!r}", field="format")
    for name in ("key_fingerprint", "signature"):
        if not isinstance(doc.get(name), str):
            raise InputError(source, "missing or not a string", field=name)
    if not isinstance(doc.get("payload"), dict):
        raise InputError(source, "missing or not a JSON object", field="payload")


def verify_export(doc: dict[str, Any], public_key: Ed25519PublicKey | str | Path) -> bool:
    """True when ``doc`` was signed by ``public_key``'s private key and not changed since.

    False for a changed payload, a signature by another key, or a damaged signature; InputError when ``doc``
    is not a signed document at all.
    """
    check_document(doc)
    key = load_public_key(public_key)
    if doc["key_fingerprint"] != fingerprint(key):
        return False
    try:
        signature = base64.b64decode(doc["signature"], validate=True)
        key.verify(signature, canonical_json({k: doc[k] for k in SIGNED_FIELDS}))
    except (InvalidSignature, ValueError):
        return False
    return True


def read_document(path: str | Path) -> dict[str, Any]:
    """A signed document from a JSON file (InputError naming the file when it is not one)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"cannot read: {e}") from None
    except json.JSONDecodeError as e:
        raise InputError(path, f"not JSON: {e.msg}", line=e.lineno) from None
    check_document(doc, path)
    return doc
