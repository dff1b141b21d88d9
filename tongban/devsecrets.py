"""Local secrets for ``TONGBAN_ENV=dev``: generated once under ``var/`` and never committed."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _read_or_create(path: Path, factory: Callable[[], str]) -> str:
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = factory()
    # Write to a temporary file and rename so two processes starting at once agree on one value.
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    tmp.write_text(value)
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text()


def dev_secret_key(var_dir: Path) -> str:
    return _read_or_create(var_dir / "dev-secret-key", lambda: secrets.token_urlsafe(64))


def _new_rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()


def dev_oidc_private_key(var_dir: Path) -> str:
    return _read_or_create(var_dir / "dev-oidc-rsa.pem", _new_rsa_pem)
