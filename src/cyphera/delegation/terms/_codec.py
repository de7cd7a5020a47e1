"""Shared packing and validation helpers for the terms builders and decoders."""

from __future__ import annotations

from cyphera.delegation._values import as_bytes, check_uint, checksum
from cyphera.delegation.errors import DelegationError, TermsError


def valid_address(value: object, field: str) -> str:
    """`value` checksummed, or `TermsError(invalid_address)`."""
    try:
        return checksum(value, field=field)
    except DelegationError as exc:
        raise TermsError(exc.message, code="invalid_address") from exc


def valid_uint(value: object, field: str, *, bits: int = 256, minimum: int = 0) -> int:
    """`value` if an int in ``[minimum, 2**bits - 1]``, else `TermsError`."""
    return check_uint(value, field=field, bits=bits, minimum=minimum, error=TermsError)


def word(value: int) -> bytes:
    """A 32-byte big-endian word."""
    return value.to_bytes(32, "big")


def raw_terms(terms: object, name: str) -> bytes:
    """`terms` as bytes, or `TermsError(invalid_terms)`."""
    try:
        return as_bytes(terms, field=f"{name} terms")
    except DelegationError as exc:
        raise TermsError(exc.message, code="invalid_terms") from exc


def expect_length(raw: bytes, length: int, name: str) -> None:
    """Raise `TermsError(invalid_terms_length)` unless `raw` has exactly `length` bytes."""
    if len(raw) != length:
        raise TermsError(
            f"{name} terms must be exactly {length} bytes, got {len(raw)}",
            code="invalid_terms_length",
        )


def int_at(raw: bytes, start: int, size: int = 32) -> int:
    """The big-endian unsigned integer in ``raw[start:start + size]``."""
    return int.from_bytes(raw[start : start + size], "big")


def address_at(raw: bytes, start: int) -> str:
    """The checksummed address in ``raw[start:start + 20]``."""
    return checksum("0x" + raw[start : start + 20].hex())


def units(raw: bytes, unit: int, name: str) -> list[bytes]:
    """`raw` cut into `unit`-byte pieces; it must be a non-empty multiple of `unit`."""
    if not raw or len(raw) % unit:
        raise TermsError(
            f"{name} terms must be a non-empty multiple of {unit} bytes, got {len(raw)}",
            code="invalid_terms_length",
        )
    return [raw[i : i + unit] for i in range(0, len(raw), unit)]
