"""Ed25519 public keys and signatures as they travel (raw bytes, base64)."""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.errors import Unauthorized, Unprocessable


def b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise Unprocessable(f"{what} is not valid base64", code="bad_base64") from None


def parse_public_key(text: str) -> Ed25519PublicKey:
    raw = b64decode(text, "public_key")
    if len(raw) != 32:
        raise Unprocessable("public_key must be a raw Ed25519 key (32 bytes, base64)", code="bad_public_key")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise Unprocessable("public_key is not an Ed25519 key", code="bad_public_key") from None


def check_signature(public_key_b64: str, signature_b64: str, message: bytes) -> None:
    """Raise 401 `bad_signature` unless `signature` is the device key's signature of `message`."""
    key = parse_public_key(public_key_b64)
    signature = b64decode(signature_b64, "signature")
    try:
        key.verify(signature, message)
    except InvalidSignature:
        raise Unauthorized("the signature does not match the device's key", code="bad_signature") from None
