"""Signing and verifying licences (docs/adr/0017-electronic-licences.md).

The signed bytes are the licence's canonical form: a JSON object of the fields below with sorted
keys, no insignificant white space and UTF-8 text (every value is a string, so the form is
unambiguous; it is RFC 8785 for this subset). Each department signs with its own Ed25519 key
(``cryptography``); the private half is kept encrypted with a Fernet key derived from
``TONGBAN_LICENCE_KEY_SECRET``, the public half is published (``/licences/keys.json``) so anyone
can verify a downloaded licence offline (``scripts/verify_licence.py``).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

ALGORITHM = "Ed25519"
FORMAT = "tongban-licence/1"


class KeyUnavailable(Exception):
    """The private key cannot be decrypted (the key secret changed) or is missing."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.cache
def _fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"tongban-licence-keys", info=b"fernet").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def new_key_pair() -> tuple[str, bytes]:
    """A new key: the public key as PEM and the private key encrypted for storage."""
    private = Ed25519PrivateKey.generate()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return public_pem, _fernet(settings.TONGBAN_LICENCE_KEY_SECRET).encrypt(raw)


def _private(encrypted: bytes) -> Ed25519PrivateKey:
    return _decrypted(bytes(encrypted), settings.TONGBAN_LICENCE_KEY_SECRET)


@functools.lru_cache(maxsize=256)
def _decrypted(encrypted: bytes, secret: str) -> Ed25519PrivateKey:
    """The key object, decrypted once per process (bulk issuance signs thousands with one key)."""
    try:
        raw = _fernet(secret).decrypt(encrypted)
    except InvalidToken as exc:
        raise KeyUnavailable("the signing key cannot be decrypted with TONGBAN_LICENCE_KEY_SECRET") from exc
    return Ed25519PrivateKey.from_private_bytes(raw)


@functools.lru_cache(maxsize=1024)
def public_key(pem: str) -> Ed25519PublicKey:
    loaded = serialization.load_pem_public_key(pem.encode())
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return loaded


def public_jwk(pem: str) -> dict[str, str]:
    raw = public_key(pem).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}


def canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(encrypted_private_key: bytes, message: bytes) -> str:
    return _b64(_private(encrypted_private_key).sign(message))


def verify(public_pem: str, message: bytes, signature: str) -> bool:
    try:
        public_key(public_pem).verify(_unb64(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def document(
    *,
    identifier: str,
    type_code: str,
    type_name: str,
    holder_kind: str,
    holder_id: str,
    holder_name: str,
    number: str,
    issuer_code: str,
    issuer_name: str,
    issued_on: str,
    valid_from: str,
    valid_until: str,
    data: Mapping[str, str],
    key_id: str,
) -> dict[str, Any]:
    """The signed content of a licence (every value a string; ``valid_until`` "" for long-term)."""
    return {
        "format": FORMAT,
        "identifier": identifier,
        "type_code": type_code,
        "type_name": type_name,
        "holder_kind": holder_kind,
        "holder_id": holder_id,
        "holder_name": holder_name,
        "number": number,
        "issuer_code": issuer_code,
        "issuer_name": issuer_name,
        "issued_on": issued_on,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "data": {str(k): str(v) for k, v in data.items()},
        "key_id": key_id,
        "algorithm": ALGORITHM,
    }
