"""Signed JWTs for the OIDC tests: JWKs of locally generated keys, and compact JWS tokens (RS256,
ES256, or forged ones) made by hand, so the verifier is tested against bytes it did not produce."""

from __future__ import annotations

import base64
import json
from typing import Any

from Crypto.Hash import SHA256
from Crypto.PublicKey import ECC, RSA
from Crypto.Signature import DSS, pkcs1_15


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int, length: int | None = None) -> str:
    return b64url(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


def rsa_jwk(key: RSA.RsaKey, kid: str) -> dict[str, Any]:
    return {
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": _int(key.n),
        "e": _int(key.e),
    }


def ec_jwk(key: ECC.EccKey, kid: str) -> dict[str, Any]:
    point = key.pointQ
    return {
        "kty": "EC",
        "kid": kid,
        "crv": "P-256",
        "x": _int(int(point.x), 32),
        "y": _int(int(point.y), 32),
    }


def make_token(
    key: RSA.RsaKey | ECC.EccKey | None,
    claims: dict[str, Any],
    *,
    kid: str = "rsa-1",
    alg: str = "RS256",
    header: dict[str, Any] | None = None,
) -> str:
    head = {"alg": alg, "kid": kid, "typ": "JWT", **(header or {})}
    signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(claims).encode())}"
    digest = SHA256.new(signing_input.encode())
    if key is None:
        signature = b""
    elif isinstance(key, RSA.RsaKey):
        signature = pkcs1_15.new(key).sign(digest)
    else:
        signature = DSS.new(key, "fips-186-3", encoding="binary").sign(digest)
    return f"{signing_input}.{b64url(signature)}"
