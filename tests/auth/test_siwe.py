"""The EIP-4361 parser and checks, without a server: the grammar exactly, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cyphera.auth.errors import (
    SiweAddressChecksumInvalid,
    SiweChainMismatch,
    SiweDomainMismatch,
    SiweMessageExpired,
    SiweMessageInvalid,
    SiweMessageNotYetValid,
    SiweSignatureMalformed,
    SiweUriMismatch,
)
from cyphera.auth.signatures import parse_signature, personal_message_digest, recover_signer
from cyphera.auth.siwe import (
    SiweExpectation,
    SiweMessage,
    check_message,
    parse_message,
    verify_signature,
)
from cyphera.exceptions import AppError
from tests.auth.signin import new_wallet, sign, siwe_text

ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
NONCE = "Qm3kTq9vX2pL7wZ4"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXPECT = SiweExpectation(
    domain="127.0.0.1:8000",
    scheme="http",
    chain_ids=frozenset({1, 8453}),
    clock_skew=timedelta(seconds=60),
)

# The EIP's own example, with every optional field.
FULL = (
    "service.org wants you to sign in with your Ethereum account:\n"
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
    "\n"
    "I accept the ServiceOrg Terms of Service: https://service.org/tos\n"
    "\n"
    "URI: https://service.org/login\n"
    "Version: 1\n"
    "Chain ID: 1\n"
    "Nonce: 32891756\n"
    "Issued At: 2021-09-30T16:25:24Z\n"
    "Expiration Time: 2021-10-01T16:25:24.500+02:00\n"
    "Not Before: 2021-09-30T16:00:00Z\n"
    "Request ID: req-1:a@b\n"
    "Resources:\n"
    "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
    "- https://example.com/my-web2-claim.json"
)


def test_parses_every_field_of_the_eips_example() -> None:
    message = parse_message(FULL)

    assert message == SiweMessage(
        scheme=None,
        domain="service.org",
        address="0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        statement="I accept the ServiceOrg Terms of Service: https://service.org/tos",
        uri="https://service.org/login",
        version="1",
        chain_id=1,
        nonce="32891756",
        issued_at=datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC),
        expiration_time=datetime(2021, 10, 1, 14, 25, 24, 500_000, tzinfo=UTC),
        not_before=datetime(2021, 9, 30, 16, tzinfo=UTC),
        request_id="req-1:a@b",
        resources=(
            "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
            "https://example.com/my-web2-claim.json",
        ),
    )


def test_minimal_message_without_statement_has_two_empty_lines_and_round_trips() -> None:
    text = siwe_text(ADDRESS, NONCE, statement=None, scheme="http")

    message = parse_message(text)

    assert "\n\n\nURI:" in text
    assert message.statement is None
    assert message.scheme == "http"
    assert message.domain == "127.0.0.1:8000"
    assert message.expiration_time is None
    assert message.resources is None
    assert message.to_text() == text


def test_empty_resources_section_is_allowed() -> None:
    message = parse_message(siwe_text(ADDRESS, NONCE, resources=[]))

    assert message.resources == ()


def _replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


VALID = siwe_text(ADDRESS, NONCE, expiration_time="2026-03-01T13:00:00Z")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (VALID + "\n", "trailing newline"),
        (VALID.replace("\n", "\r\n"), "CRLF line ends"),
        ("", "empty"),
        (_replace(VALID, " wants you to sign in", " wants to sign in"), "preamble"),
        (_replace(VALID, "127.0.0.1:8000 wants", "127.0.0.1 :8000 wants"), "space in domain"),
        (_replace(VALID, "127.0.0.1:8000 wants", "1ttp://127.0.0.1:8000 wants"), "bad scheme"),
        (_replace(VALID, ADDRESS, ADDRESS[:-1]), "short address"),
        (_replace(VALID, ADDRESS, ADDRESS[2:]), "address without 0x"),
        (_replace(VALID, ADDRESS + "\n\n", ADDRESS + "\n"), "missing empty line"),
        (siwe_text(ADDRESS, NONCE, statement=None).replace("\n\n\n", "\n\n"), "one empty line"),
        (_replace(VALID, "Sign in to Cyphera.", ""), "empty statement"),
        (_replace(VALID, "Sign in to Cyphera.", "50% off"), "percent in statement"),
        (_replace(VALID, "Sign in to Cyphera.", "Café"), "non-ASCII statement"),
        (_replace(VALID, "Sign in to Cyphera.\n\n", "Sign in to Cyphera.\n"), "no empty line"),
        (_replace(VALID, "URI: http", "URI: ht tp"), "bad URI"),
        (_replace(VALID, "URI: http://", "URI: //"), "URI without scheme"),
        (_replace(VALID, "URI: ", "Uri: "), "case of a field name"),
        (_replace(VALID, "Version: 1", "Version: 2"), "version 2"),
        (_replace(VALID, "Chain ID: 1", "Chain ID: 0x1"), "hex chain id"),
        (_replace(VALID, "Chain ID: 1", "Chain ID: " + "9" * 21), "huge chain id"),
        (_replace(VALID, NONCE, "abc1234"), "nonce of 7"),
        (_replace(VALID, NONCE, NONCE + "-"), "nonce with a dash"),
        (_replace(VALID, "2026-03-01T12:00:00Z", "2026-03-01 12:00:00Z"), "space in date"),
        (_replace(VALID, "2026-03-01T12:00:00Z", "2026-02-30T12:00:00Z"), "30 February"),
        (_replace(VALID, "2026-03-01T12:00:00Z", "2026-03-01T12:00:00"), "no offset"),
        (_replace(VALID, "2026-03-01T12:00:00Z", "2026-03-01T12:00:00+24:00"), "offset 24h"),
        (_replace(VALID, "2026-03-01T12:00:00Z", "2026-03-01T23:59:60Z"), "leap second"),
        (
            _replace(
                siwe_text(ADDRESS, NONCE, expiration_time="2026-03-01T13:00:00Z"),
                "Expiration Time: 2026-03-01T13:00:00Z",
                "Not Before: 2026-03-01T12:00:00Z\nExpiration Time: 2026-03-01T13:00:00Z",
            ),
            "optional fields out of order",
        ),
        (VALID + "\nExpiration Time: 2026-03-01T14:00:00Z", "a field twice"),
        (VALID + "\nFoo: bar", "an unknown field"),
        (siwe_text(ADDRESS, NONCE, resources=["not a uri"]), "bad resource"),
        (siwe_text(ADDRESS, NONCE, request_id="a b"), "space in request id"),
        ("\n".join(VALID.split("\n")[:-2]), "cut short"),
    ],
)
def test_refuses_what_the_grammar_does_not_produce(text: str, reason: str) -> None:
    with pytest.raises(SiweMessageInvalid) as refused:
        parse_message(text)

    assert refused.value.code == "siwe_message_invalid", reason
    assert refused.value.param == "message"


@pytest.mark.parametrize("field", ["issued_at", "expiration_time", "not_before"])
@pytest.mark.parametrize(
    "date",
    [
        "9999-12-31T23:59:59-23:59",  # year 10000 in UTC
        "0001-01-01T00:00:00+23:59",  # year 0 in UTC
    ],
)
def test_dates_that_leave_the_calendar_in_utc_are_invalid(field: str, date: str) -> None:
    with pytest.raises(SiweMessageInvalid) as refused:
        parse_message(siwe_text(ADDRESS, NONCE, **{field: date}))

    assert "outside the range of dates" in refused.value.message


def test_the_last_and_first_dates_in_utc_are_valid() -> None:
    message = parse_message(
        siwe_text(
            ADDRESS,
            NONCE,
            issued_at="0001-01-01T23:59:00+23:59",
            expiration_time="9999-12-31T00:00:00-23:59",
        )
    )

    assert message.issued_at == datetime(1, 1, 1, 0, 0, tzinfo=UTC)
    assert message.expiration_time == datetime(9999, 12, 31, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    "address",
    [
        ADDRESS.lower(),  # no checksum at all
        ADDRESS.upper().replace("0X", "0x"),
        "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # one letter's case flipped
    ],
)
def test_address_must_carry_its_eip55_checksum(address: str) -> None:
    with pytest.raises(SiweAddressChecksumInvalid) as refused:
        parse_message(siwe_text(address, NONCE))

    assert refused.value.code == "siwe_address_checksum_invalid"


def test_accepts_the_configured_domain_scheme_chain_and_window() -> None:
    message = parse_message(
        siwe_text(
            ADDRESS, NONCE, scheme="http", chain_id=8453, expiration_time="2026-03-01T12:00:01Z"
        )
    )

    check_message(message, expect=EXPECT, now=NOW)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"domain": "evil.example"}, SiweDomainMismatch),
        ({"domain": "127.0.0.1:8001"}, SiweDomainMismatch),
        ({"scheme": "https"}, SiweDomainMismatch),
        ({"chain_id": 137}, SiweChainMismatch),
        ({"issued_at": "2026-03-01T12:01:01Z"}, SiweMessageNotYetValid),
        ({"not_before": "2026-03-01T12:01:01Z"}, SiweMessageNotYetValid),
        ({"expiration_time": "2026-03-01T12:00:00Z"}, SiweMessageExpired),
        ({"expiration_time": "2026-03-01T11:00:00+00:00"}, SiweMessageExpired),
    ],
)
def test_refuses_other_sites_chains_and_times(
    kwargs: dict[str, Any], error: type[AppError]
) -> None:
    message = parse_message(siwe_text(ADDRESS, NONCE, **kwargs))

    with pytest.raises(error):
        check_message(message, expect=EXPECT, now=NOW)


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/login",
        "http://127.0.0.1:8001/login",  # another port
        "https://127.0.0.1:8000/login",  # another scheme
        "http://user@127.0.0.1:8000/login",  # user information: a phishing look-alike
        "http://127.0.0.1:8000@evil.example/login",
        "http://127.0.0.1.evil.example:8000/login",
        "http://127.0.0.1/login",  # the default port is not 8000
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "http://127.0.0.1:99999/login",  # not a port
    ],
)
def test_the_uri_must_be_on_the_expected_origin(uri: str) -> None:
    message = parse_message(siwe_text(ADDRESS, NONCE, uri=uri))

    with pytest.raises(SiweUriMismatch) as refused:
        check_message(message, expect=EXPECT, now=NOW)

    assert refused.value.code == "siwe_uri_mismatch"


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example.com/login",
        "https://APP.example.com:443/login?next=%2Fhome#top",  # the default port, spelled out
        "HTTPS://app.example.com",
    ],
)
def test_any_uri_on_the_expected_origin_is_accepted(uri: str) -> None:
    message = parse_message(siwe_text(ADDRESS, NONCE, domain="app.example.com", uri=uri))
    expect = SiweExpectation(
        domain="app.example.com", scheme="https", chain_ids=frozenset({1}), clock_skew=timedelta()
    )

    check_message(message, expect=expect, now=NOW)


def test_clock_skew_tolerates_a_wallet_clock_a_minute_ahead() -> None:
    message = parse_message(siwe_text(ADDRESS, NONCE, issued_at="2026-03-01T12:01:00Z"))

    check_message(message, expect=EXPECT, now=NOW)


def test_domain_is_compared_without_case() -> None:
    message = parse_message(siwe_text(ADDRESS, NONCE, domain="LOCALHOST:8000"))
    expect = SiweExpectation(
        domain="localhost:8000", scheme="http", chain_ids=frozenset({1}), clock_skew=timedelta()
    )

    check_message(message, expect=expect, now=NOW)


@pytest.mark.parametrize(
    "signature", ["", "0x", "0x1", "12" * 65, "0x" + "zz" * 65, "0x" + "ab" * 4097]
)
def test_signature_must_be_hex_bytes(signature: str) -> None:
    with pytest.raises(SiweSignatureMalformed):
        parse_signature(signature)


def test_recovers_the_signing_key_and_nothing_else() -> None:
    wallet, other = new_wallet(), new_wallet()
    text = siwe_text(wallet.address, NONCE)
    signature = parse_signature(sign(wallet, text))

    assert recover_signer(text, signature) == wallet.address
    assert recover_signer(text + " ", signature) != wallet.address
    assert recover_signer(text, parse_signature(sign(other, text))) == other.address
    assert recover_signer(text, b"\x00" * 65) is None
    assert recover_signer(text, signature[:64]) is None


class _Checker:
    """An ERC-1271 answer fixed in advance: the chain itself is tested in test_erc1271.py."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.calls: list[tuple[int, str, bytes, bytes]] = []

    async def is_valid_signature(
        self, *, chain_id: int, account: str, digest: bytes, signature: bytes
    ) -> bool:
        self.calls.append((chain_id, account, digest, signature))
        return self.answer


async def test_a_key_signature_never_asks_the_chain() -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address, NONCE)
    checker = _Checker(answer=False)

    how = await verify_signature(
        parse_message(text), text, parse_signature(sign(wallet, text)), checker=checker
    )

    assert how == "eoa"
    assert checker.calls == []


async def test_other_signatures_ask_the_account_with_the_eip191_digest() -> None:
    wallet, signer = new_wallet(), new_wallet()
    text = siwe_text(wallet.address, NONCE, chain_id=8453)
    signature = parse_signature(sign(signer, text))
    accepting, refusing = _Checker(answer=True), _Checker(answer=False)

    accepted = await verify_signature(parse_message(text), text, signature, checker=accepting)
    refused = await verify_signature(parse_message(text), text, signature, checker=refusing)
    without_chain = await verify_signature(parse_message(text), text, signature, checker=None)

    assert accepted == "erc1271"
    assert refused == ""
    assert without_chain == ""
    assert accepting.calls == [(8453, wallet.address, personal_message_digest(text), signature)]
