#!/usr/bin/env python3
"""Verify a Tongban electronic licence file offline, independently of Tongban.

    python scripts/verify_licence.py LICENCE.json --keys https://.../licences/keys.json
    python scripts/verify_licence.py LICENCE.json --keys keys.json --identifier-check

LICENCE.json is the signed data file a holder downloads from the wallet: {"licence": {...},
"signature": "..."}. The keys are the platform's published public keys (JWKS, /licences/keys.json).
The script rebuilds the licence's canonical bytes (JSON, sorted keys, no white space, UTF-8), finds
the key named by the licence's "key_id", and checks the Ed25519 signature. A retired key still
verifies what it signed.

It needs only the Python standard library and ``cryptography`` (``python-stdnum`` too for
--identifier-check). It imports nothing from Tongban or Django: a third party can read it whole.

What it cannot know offline: whether the issuer has since revoked the licence. Expiry it reads from
the signed "valid_until" date. Ask the platform's verification page (the QR code) for the current
status.

Exit status: 0 genuine; 1 the signature does not verify, the key is unknown or belongs to another
issuer, or the identifier check fails; 2 usage, file or network errors.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENUINE, NOT_GENUINE, USAGE = 0, 1, 2
MAX_BYTES = 1024 * 1024
TIMEOUT_SECONDS = 15
ALGORITHM = "Ed25519"
ONLINE_NOTE = "Revocation can only be checked online / 是否已被撤销只能在线核验"
IDENTIFIER = re.compile(
    r"^1\.2\.156\.3005\.2\.(?P<type>[0-9A-Z]{21})\.(?P<issuer>[0-9A-Z]{18})\."
    r"(?P<serial>\d{7,12})\.(?P<version>\d{2})\.(?P<check>[0-9A-Z])$"
)
KEY_STATUS = {"active": "active / 在用", "retired": "retired / 已停用（仍可验证其签发的证照）"}

EPILOG = """\
exit status: 0 genuine, 1 not genuine (bad signature, unknown key, failed identifier check),
2 usage, file or network error.

Offline, only the signature and the signed validity dates can be checked: whether the issuer has
since revoked the licence can only be known online, on the verification page its QR code opens.
离线只能核验签名和证照上签署的有效期；证照是否已被撤销，须扫描二维码在线核验。
"""


class UsageError(Exception):
    """A problem with the arguments, a file or the network (exit status 2)."""


def canonical(document: dict[str, Any]) -> bytes:
    """The signed bytes, exactly as the platform builds them (tongban/licences/signing.py)."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def unb64(text: str) -> bytes:
    """base64url without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _read(source: str, what: str) -> bytes:
    if re.match(r"^https?://", source, re.IGNORECASE):
        request = urllib.request.Request(source, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                raw = response.read(MAX_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise UsageError(f"cannot fetch the {what} from {source}: {exc}") from None
    else:
        try:
            with Path(source).open("rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"cannot read the {what} {source}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise UsageError(f"the {what} {source} is larger than {MAX_BYTES // 1024} KB")
    return raw


def _json(raw: bytes, source: str, what: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"the {what} {source} is not valid JSON: {exc}") from None


def load_licence(source: str) -> tuple[dict[str, Any], str]:
    content = _json(_read(source, "licence file"), source, "licence file")
    if (
        not isinstance(content, dict)
        or not isinstance(content.get("licence"), dict)
        or not isinstance(content.get("signature"), str)
    ):
        raise UsageError(
            f'{source} is not a licence file: it must hold "licence" (an object) and "signature"'
        )
    return content["licence"], content["signature"]


def load_keys(source: str) -> list[dict[str, Any]]:
    content = _json(_read(source, "key set"), source, "key set")
    keys = content.get("keys") if isinstance(content, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise UsageError(f'{source} is not a key set: it must hold "keys" (a list of JWKs)')
    return keys


def public_key_of(jwk: dict[str, Any]) -> Ed25519PublicKey | None:
    """The key of a JWK (OKP, Ed25519, "x"), or of its PEM; None when it is neither."""
    if jwk.get("kty") == "OKP" and jwk.get("crv") == ALGORITHM and isinstance(jwk.get("x"), str):
        try:
            return Ed25519PublicKey.from_public_bytes(unb64(jwk["x"]))
        except (ValueError, binascii.Error):
            return None
    if isinstance(jwk.get("pem"), str):
        try:
            loaded = serialization.load_pem_public_key(jwk["pem"].encode())
        except ValueError:
            return None
        return loaded if isinstance(loaded, Ed25519PublicKey) else None
    return None


def signature_ok(key: Ed25519PublicKey, licence: dict[str, Any], signature: str) -> bool:
    try:
        key.verify(unb64(signature), canonical(licence))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def identifier_problem(licence: dict[str, Any]) -> str | None:
    """What is wrong with the licence's GB/T 36904 identifier (None when nothing)."""
    try:
        from stdnum.iso7064 import mod_37_36
    except ImportError:
        raise UsageError("--identifier-check needs python-stdnum (pip install python-stdnum)") from None
    identifier = str(licence.get("identifier", ""))
    match = IDENTIFIER.match(identifier)
    if match is None:
        return f"{identifier!r} is not a GB/T 36904 licence identifier"
    body = identifier[: identifier.rindex(".")]
    expected = mod_37_36.calc_check_digit(body.replace(".", ""))
    if expected != match["check"]:
        return f"the check character is {match['check']}, ISO 7064 MOD 37,36 gives {expected}"
    if match["type"] != licence.get("type_code"):
        return "the identifier's type code differs from the licence's type_code"
    if match["issuer"] != licence.get("issuer_code"):
        return "the identifier's issuer code differs from the licence's issuer_code"
    return None


def _online_url(keys_source: str, identifier: str) -> str | None:
    """The verification page, when the keys came from the platform's keys.json."""
    if not re.match(r"^https?://", keys_source, re.IGNORECASE) or not identifier:
        return None
    parts = urllib.parse.urlsplit(keys_source)
    path = parts.path
    suffix = "/licences/keys.json"
    if not path.endswith(suffix):
        return None
    base = path[: -len(suffix)]
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, f"{base}/licences/v/{urllib.parse.quote(identifier)}/", "", "")
    )


def _fail(message: str) -> int:
    print(f"NOT GENUINE / 非真实证照: {message}")
    return NOT_GENUINE


def verify(licence_source: str, keys_source: str, *, identifier_check: bool) -> int:
    licence, signature = load_licence(licence_source)
    keys = load_keys(keys_source)
    key_id = str(licence.get("key_id", ""))
    if licence.get("algorithm", ALGORITHM) != ALGORITHM:
        return _fail(f"the licence names the algorithm {licence.get('algorithm')!r}, not {ALGORITHM}")
    jwk = next((k for k in keys if k.get("kid") == key_id), None)
    if jwk is None:
        return _fail(f"no published key has the id {key_id!r} / 签章密钥未公布")
    public = public_key_of(jwk)
    if public is None:
        return _fail(f"the published key {key_id!r} is not an Ed25519 key")
    if not signature_ok(public, licence, signature):
        return _fail(
            "the signature does not match the licence data: it is forged or altered / 签名与证照数据不符，"
            "证照系伪造或被篡改"
        )
    department_code = jwk.get("department_code") or ""
    if department_code and department_code != licence.get("issuer_code"):
        return _fail(
            f"the key belongs to {jwk.get('department', department_code)}, not to the licence's issuer"
        )
    if identifier_check:
        problem = identifier_problem(licence)
        if problem is not None:
            return _fail(f"identifier check failed: {problem} / 证照标识校验未通过")
    status = str(jwk.get("status", ""))
    print(
        f"GENUINE / 真实: signature verified with key {key_id} of {jwk.get('department', '?')} "
        f"(key status: {KEY_STATUS.get(status, status or 'unknown')})"
    )
    print(
        f"  {licence.get('type_name', '')} {licence.get('identifier', '')}, issued by "
        f"{licence.get('issuer_name', '')} on {licence.get('issued_on', '')}"
    )
    until = str(licence.get("valid_until", ""))
    today = dt.datetime.now(dt.UTC).astimezone().date().isoformat()
    if not until:
        print("  Long-term licence / 长期有效")
    elif until < today:
        print(f"  EXPIRED on {until} per its signed data / 已于 {until} 过期")
    else:
        print(f"  Valid until {until} per its signed data / 有效期至 {until}")
    if identifier_check:
        print("  Identifier check character OK (ISO 7064 MOD 37,36) / 证照标识校验位正确")
    online = _online_url(keys_source, str(licence.get("identifier", "")))
    print(f"  {ONLINE_NOTE}" + (f": {online}" if online else ""))
    return GENUINE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="verify_licence.py",
        description=(
            "Verify the signature of a Tongban electronic licence file (电子证照) offline, with\n"
            "the platform's published public keys. Revocation can only be checked online."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "licence", metavar="LICENCE.json", help="the signed licence file the holder downloaded"
    )
    parser.add_argument(
        "--keys",
        required=True,
        metavar="URL_OR_FILE",
        help="the published keys: https://<platform>/licences/keys.json, or a saved copy of it",
    )
    parser.add_argument(
        "--identifier-check",
        action="store_true",
        help="also recompute the identifier's ISO 7064 MOD 37,36 check character (needs python-stdnum)",
    )
    args = parser.parse_args(argv)
    try:
        return verify(args.licence, args.keys, identifier_check=args.identifier_check)
    except UsageError as exc:
        print(f"verify_licence.py: error: {exc}", file=sys.stderr)
        return USAGE


if __name__ == "__main__":
    sys.exit(main())
