"""Validation of the primitive values the library accepts: addresses, byte strings, integers."""

from __future__ import annotations

import re

from eth_utils.address import is_checksum_address, to_checksum_address

from cyphera.delegation.errors import DelegationError, EncodingError

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")

UINT256_MAX = 2**256 - 1
UINT128_MAX = 2**128 - 1


def checksum(address: object, *, field: str = "address") -> str:
    """`address` as a checksummed hex string.

    All-lowercase and all-uppercase input is accepted; mixed case must be a valid EIP-55 checksum,
    because a wrong checksum usually means a typo and money would go to the wrong place.
    """
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise EncodingError(
            f"{field} must be a 0x-prefixed 20-byte hex string", code="invalid_address"
        )
    body = address[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(address):
        raise EncodingError(f"{field} has an invalid EIP-55 checksum", code="invalid_address")
    return str(to_checksum_address(address))


def address_bytes(address: str) -> bytes:
    """The 20 raw bytes of an already validated address."""
    return bytes.fromhex(address[2:])


def as_bytes(value: object, *, field: str, length: int | None = None) -> bytes:
    """`value` as immutable `bytes`; hex strings are refused so a str is never hashed as text."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise EncodingError(
            f"{field} must be bytes, not {type(value).__name__}", code="invalid_bytes"
        )
    result = bytes(value)
    if length is not None and len(result) != length:
        raise EncodingError(
            f"{field} must be exactly {length} bytes, got {len(result)}", code="invalid_bytes"
        )
    return result


def hex_to_bytes(value: object, *, field: str) -> bytes:
    """Decode a 0x-prefixed, even-length hex string (as found in JSON-RPC payloads)."""
    if not isinstance(value, str) or not _HEX.match(value):
        raise EncodingError(f"{field} must be a 0x-prefixed hex string", code="invalid_hex")
    return bytes.fromhex(value[2:])


def to_hex(value: bytes) -> str:
    """``b"\\x12\\x34"`` → ``"0x1234"``."""
    return "0x" + value.hex()


def check_uint(
    value: object,
    *,
    field: str,
    bits: int = 256,
    minimum: int = 0,
    error: type[DelegationError] = EncodingError,
) -> int:
    """`value` if it is an int in ``[minimum, 2**bits - 1]`` (bools are refused)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(f"{field} must be an int, not {type(value).__name__}", code="invalid_integer")
    maximum = 2**bits - 1
    if value < minimum or value > maximum:
        raise error(
            f"{field} must be between {minimum} and 2**{bits}-1, got {value}",
            code="value_out_of_range",
        )
    return value
