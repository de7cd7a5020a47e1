"""Sign-In with Ethereum (EIP-4361): a strict parser, the server's checks, and signature verification.

Why our own: the PyPI ``siwe`` package pins ``web3<8`` and the platform runs web3 8. The message
format is small and exactly specified, so it is parsed here against the EIP's ABNF, line by line,
refusing anything the grammar does not produce:

    [ scheme "://" ] domain " wants you to sign in with your Ethereum account:" LF
    address LF
    LF
    [ statement LF ]
    LF
    "URI: " uri LF
    "Version: " "1" LF
    "Chain ID: " 1*DIGIT LF
    "Nonce: " 8*( ALPHA / DIGIT ) LF
    "Issued At: " date-time
    [ LF "Expiration Time: " date-time ]
    [ LF "Not Before: " date-time ]
    [ LF "Request ID: " *pchar ]
    [ LF "Resources:" *( LF "- " URI ) ]

``address`` must carry its EIP-55 checksum (an all-lower-case address is refused too: the checksum
is how a mistyped or swapped character is caught). ``statement`` is RFC 3986 reserved/unreserved
characters and spaces, never empty; there is no trailing newline. Dates are RFC 3339.

Verification (`verify_signature`): the EIP-191 ``personal_sign`` digest of the exact text; an
externally owned account (or a 7702-upgraded one signing with its key) is recovered with
eth-account; otherwise the account is asked on the message's chain through ERC-1271
``isValidSignature`` (`SignatureChecker`), which is how smart accounts sign. The server's own
checks (domain, the ``URI``'s origin, chain, time window) are `check_message`; the nonce is the
caller's (`cyphera.auth.sessions`).

Dates that exist in their own offset but not in UTC (``9999-12-31T23:59:59-23:59`` is in year
10000) are refused as invalid, like any other impossible date: unauthenticated callers send
these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit

from eth_utils.address import is_checksum_address

from cyphera.auth.errors import (
    SiweAddressChecksumInvalid,
    SiweChainMismatch,
    SiweDomainMismatch,
    SiweMessageExpired,
    SiweMessageInvalid,
    SiweMessageNotYetValid,
    SiweUriMismatch,
)
from cyphera.auth.signatures import SignatureChecker, personal_message_digest, recover_signer

PREAMBLE = " wants you to sign in with your Ethereum account:"
VERSION = "1"
MIN_NONCE_LENGTH = 8
MAX_CHAIN_ID_DIGITS = 20

# RFC 3986 character classes.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_GEN_DELIMS = r":/?#\[\]@"
_PCT = r"%[0-9A-Fa-f]{2}"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_AUTHORITY = re.compile(
    rf"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?"  # userinfo
    rf"(?:\[[0-9A-Fa-f:.vV{_UNRESERVED}{_SUB_DELIMS}]+\]|(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})+)"
    r"(?::[0-9]*)?"
)
_ADDRESS = re.compile(r"0x[0-9A-Fa-f]{40}")
_STATEMENT = re.compile(rf"[{_UNRESERVED}{_GEN_DELIMS}{_SUB_DELIMS} ]+")
_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.\-]*:(?:[{_UNRESERVED}{_SUB_DELIMS}:@/?\[\]]|{_PCT})*"
    rf"(?:#(?:[{_UNRESERVED}{_SUB_DELIMS}:@/?]|{_PCT})*)?"
)
_NONCE = re.compile(rf"[A-Za-z0-9]{{{MIN_NONCE_LENGTH},}}")
_CHAIN_ID = re.compile(r"[0-9]+")
_REQUEST_ID = re.compile(rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})*")
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_MAX_OFFSET_HOURS = 23
_MAX_OFFSET_MINUTES = 59
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class SiweMessage:
    """A parsed EIP-4361 message. Dates are aware UTC; optional fields are None when absent."""

    scheme: str | None
    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] | None = None

    def to_text(self) -> str:
        """The message as the EIP formats it (what a wallet shows and signs)."""
        origin = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [f"{origin}{PREAMBLE}", self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines += [
            "",
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {format_datetime(self.issued_at)}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {format_datetime(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {format_datetime(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources is not None:
            lines.append("Resources:")
            lines += [f"- {resource}" for resource in self.resources]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class SiweExpectation:
    """What the server requires of every message it accepts."""

    domain: str
    scheme: str
    chain_ids: frozenset[int]
    clock_skew: timedelta


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, milliseconds only when there are any (as wallets write it)."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def parse_message(text: str) -> SiweMessage:
    """`text` as an EIP-4361 message, or `SiweMessageInvalid` naming the first line at fault.

    A valid message whose address lacks its EIP-55 checksum is `SiweAddressChecksumInvalid`.
    """
    lines = text.split("\n")
    reader = _Lines(lines)

    header = reader.take("the header")
    if not header.endswith(PREAMBLE):
        raise SiweMessageInvalid(f"line 1 must end with {PREAMBLE.strip()!r}")
    origin = header[: -len(PREAMBLE)]
    scheme: str | None = None
    if "://" in origin:
        scheme, _, origin = origin.partition("://")
        if not _SCHEME.fullmatch(scheme):
            raise SiweMessageInvalid(f"line 1: {scheme!r} is not a URI scheme")
    if not _AUTHORITY.fullmatch(origin):
        raise SiweMessageInvalid(f"line 1: {origin!r} is not a domain (an RFC 3986 authority)")

    address = reader.take("the address")
    if not _ADDRESS.fullmatch(address):
        raise SiweMessageInvalid("line 2 must be the address: 0x and 40 hex digits")
    reader.blank()

    statement: str | None = None
    line = reader.take("the URI")
    if line != "":
        if line.startswith("URI: ") and (reader.peek() or "").startswith("Version: "):
            raise SiweMessageInvalid(
                f"line {reader.position}: without a statement, two empty lines come before 'URI:'"
            )
        if not _STATEMENT.fullmatch(line):
            raise SiweMessageInvalid(
                f"line {reader.position}: the statement may only hold RFC 3986 reserved and "
                "unreserved characters and spaces, on one line"
            )
        statement = line
        reader.blank()
    uri = reader.field("URI: ", _URI, "an RFC 3986 URI")
    version = reader.field("Version: ", re.compile(re.escape(VERSION)), f"{VERSION!r}")
    chain_id_text = reader.field("Chain ID: ", _CHAIN_ID, "a decimal chain id")
    if len(chain_id_text) > MAX_CHAIN_ID_DIGITS:
        raise SiweMessageInvalid(f"line {reader.position}: the chain id is too long")
    nonce = reader.field("Nonce: ", _NONCE, f"at least {MIN_NONCE_LENGTH} letters and digits")
    issued_at = _parse_datetime(reader.field("Issued At: ", _DATE_TIME, "an RFC 3339 date-time"))
    expiration_time = reader.optional("Expiration Time: ", _DATE_TIME, "an RFC 3339 date-time")
    not_before = reader.optional("Not Before: ", _DATE_TIME, "an RFC 3339 date-time")
    request_id = reader.optional("Request ID: ", _REQUEST_ID, "RFC 3986 path characters")
    resources: tuple[str, ...] | None = None
    if reader.peek() == "Resources:":
        reader.take("Resources:")
        found: list[str] = []
        while reader.peek() is not None:
            item = reader.take("a resource")
            if not item.startswith("- ") or not _URI.fullmatch(item[2:]):
                raise SiweMessageInvalid(
                    f"line {reader.position}: a resource is '- ' followed by an RFC 3986 URI"
                )
            found.append(item[2:])
        resources = tuple(found)
    if reader.peek() is not None:
        raise SiweMessageInvalid(
            f"line {reader.position + 1}: unexpected {reader.peek()!r} (fields are in the "
            "EIP-4361 order, each at most once, and the message ends without a newline)"
        )

    if not is_checksum_address(address):
        raise SiweAddressChecksumInvalid(
            f"the address {address} is not in EIP-55 checksum form; sign a message carrying the "
            "checksummed address"
        )
    return SiweMessage(
        scheme=scheme,
        domain=origin,
        address=address,
        statement=statement,
        uri=uri,
        version=version,
        chain_id=int(chain_id_text),
        nonce=nonce,
        issued_at=issued_at,
        expiration_time=_parse_datetime(expiration_time) if expiration_time else None,
        not_before=_parse_datetime(not_before) if not_before else None,
        request_id=request_id,
        resources=resources,
    )


def check_message(message: SiweMessage, *, expect: SiweExpectation, now: datetime) -> None:
    """Refuse a well-formed message this server must not accept: wrong site, chain or time.

    The site is checked twice: the domain the wallet shows the user, and the origin of the
    ``URI`` the user is signing in to (a message naming ``https://evil.example/login`` under our
    domain was once accepted).
    """
    if message.domain.lower() != expect.domain.lower() or (
        message.scheme is not None and message.scheme.lower() != expect.scheme.lower()
    ):
        origin = f"{message.scheme}://{message.domain}" if message.scheme else message.domain
        raise SiweDomainMismatch(
            f"the message signs in to {origin!r}, not to {expect.domain!r}: a message is only "
            "accepted by the site it names"
        )
    if not _has_origin(message.uri, scheme=expect.scheme, domain=expect.domain):
        raise SiweUriMismatch(
            f"the message's URI {message.uri!r} is not on {expect.scheme}://{expect.domain}: "
            "a message is only accepted for the site it signs in to"
        )
    if message.chain_id not in expect.chain_ids:
        allowed = ", ".join(str(c) for c in sorted(expect.chain_ids))
        raise SiweChainMismatch(
            f"chain {message.chain_id} is not accepted for sign-in here (accepted: {allowed})"
        )
    if message.issued_at > now + expect.clock_skew:
        raise SiweMessageNotYetValid("the message is issued in the future; check the clock")
    if message.not_before is not None and message.not_before > now + expect.clock_skew:
        raise SiweMessageNotYetValid("the message is not valid before its 'Not Before' time")
    if message.expiration_time is not None and message.expiration_time <= now:
        raise SiweMessageExpired("the message has expired; sign a new one")


def _has_origin(uri: str, *, scheme: str, domain: str) -> bool:
    """Whether `uri` is on ``scheme://domain``: same scheme, host and port (default ports
    spelled or not), and no user information."""
    try:
        parts = urlsplit(uri)
        expected = urlsplit(f"{scheme}://{domain}")
        scheme_name = parts.scheme.lower()
        return (
            scheme_name == expected.scheme.lower()
            and parts.username is None
            and parts.password is None
            and parts.hostname is not None
            and parts.hostname == expected.hostname
            and (parts.port or _DEFAULT_PORTS.get(scheme_name))
            == (expected.port or _DEFAULT_PORTS.get(scheme_name))
        )
    except ValueError:  # a port out of range, or an unbalanced IPv6 bracket
        return False


async def verify_signature(
    message: SiweMessage, text: str, signature: bytes, *, checker: SignatureChecker | None
) -> str:
    """How `signature` proves `message`'s address signed `text`: ``"eoa"`` or ``"erc1271"``.

    Returns the empty string when it does not. Without a `checker` only key signatures count.
    """
    if recover_signer(text, signature) == message.address:
        return "eoa"
    if checker is not None and await checker.is_valid_signature(
        chain_id=message.chain_id,
        account=message.address,
        digest=personal_message_digest(text),
        signature=signature,
    ):
        return "erc1271"
    return ""


class _Lines:
    """A cursor over the message's lines that words each failure by line number."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.position = 0  # 1-based number of the last line taken

    def peek(self) -> str | None:
        return self.lines[self.position] if self.position < len(self.lines) else None

    def take(self, what: str) -> str:
        line = self.peek()
        if line is None:
            raise SiweMessageInvalid(f"the message ends where {what} was expected")
        self.position += 1
        return line

    def blank(self) -> None:
        if self.take("an empty line") != "":
            raise SiweMessageInvalid(f"line {self.position} must be empty")

    def field(self, prefix: str, pattern: re.Pattern[str], what: str) -> str:
        line = self.take(prefix.strip())
        if not line.startswith(prefix):
            raise SiweMessageInvalid(f"line {self.position} must start with {prefix.strip()!r}")
        value = line[len(prefix) :]
        if not pattern.fullmatch(value):
            raise SiweMessageInvalid(f"line {self.position}: {prefix.strip()} must be {what}")
        return value

    def optional(self, prefix: str, pattern: re.Pattern[str], what: str) -> str | None:
        line = self.peek()
        if line is None or not line.startswith(prefix):
            return None
        return self.field(prefix, pattern, what)


def _parse_datetime(text: str) -> datetime:
    match = _DATE_TIME.fullmatch(text)
    if match is None:  # the caller matched already; kept for the type checker
        raise SiweMessageInvalid(f"{text!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz = UTC
    else:
        hours, minutes = int(off_h), int(off_m)
        if hours > _MAX_OFFSET_HOURS or minutes > _MAX_OFFSET_MINUTES:
            raise SiweMessageInvalid(f"{text!r} has an impossible UTC offset")
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(offset if sign == "+" else -offset)
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            microsecond,
            tzinfo=tz,
        )
        return value.astimezone(UTC)
    except ValueError:
        # Leap seconds (":60") land here too: rare enough that refusing is the safe answer.
        raise SiweMessageInvalid(f"{text!r} is not a valid date and time") from None
    except OverflowError:
        # Valid in its own offset, but before year 1 or after year 9999 in UTC.
        raise SiweMessageInvalid(f"{text!r} is outside the range of dates") from None
