"""ERC-7715 requests, and the allow-list every grant must pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account

from cyphera.delegation import (
    ANY_DELEGATE,
    ROOT_AUTHORITY,
    Caveat,
    Delegation,
    FrameworkAddresses,
    PermissionRejected,
    TermsError,
    build_periodic_permission_request,
    default_periodic_caveats,
    encode_permission_context,
    hash_delegation,
    sign_delegation,
    terms,
    validate_periodic_grant,
)

CHAIN_ID = 8453
CUSTOMER = Account.from_key("0x" + "c1" * 32)
STRANGER = Account.from_key("0x" + "d2" * 32)
REDEEMER = "0x1111111111111111111111111111111111111111"
TOKEN = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
PAYEE = "0x2222222222222222222222222222222222222222"
AMOUNT = 19_990_000
PERIOD = 30 * 86_400
START = 1_800_000_000
EXPIRY = START + 365 * 86_400
NOT_AFTER = START + 400 * 86_400


def _enforcer(framework: FrameworkAddresses, name: str) -> str:
    return framework.enforcer(name)


def metamask_caveats(framework: FrameworkAddresses) -> list[Caveat]:
    """MetaMask's erc20-token-periodic set: period, ValueLte(0), Nonce, then the three rules."""
    return [
        Caveat(
            _enforcer(framework, "ERC20PeriodTransferEnforcer"),
            terms.erc20_period_transfer(TOKEN, AMOUNT, PERIOD, START),
        ),
        Caveat(_enforcer(framework, "ValueLteEnforcer"), terms.value_lte(0)),
        Caveat(_enforcer(framework, "NonceEnforcer"), terms.nonce(0)),
        Caveat(_enforcer(framework, "TimestampEnforcer"), terms.timestamp(0, EXPIRY)),
        Caveat(_enforcer(framework, "RedeemerEnforcer"), terms.redeemer([REDEEMER])),
        Caveat(_enforcer(framework, "AllowedCalldataEnforcer"), terms.payee(PAYEE)),
    ]


def signed(framework: FrameworkAddresses, caveats: list[Caveat], **changes: Any) -> Delegation:
    delegation = Delegation(
        delegate=changes.pop("delegate", REDEEMER),
        delegator=CUSTOMER.address,
        authority=changes.pop("authority", ROOT_AUTHORITY),
        caveats=caveats,
        salt=changes.pop("salt", 1),
    )
    return sign_delegation(
        delegation,
        changes.pop("key", CUSTOMER.key),
        chain_id=CHAIN_ID,
        delegation_manager=framework.delegation_manager,
    )


def grant(framework: FrameworkAddresses, context: bytes, **changes: Any) -> dict[str, Any]:
    request = build_periodic_permission_request(
        chain_id=CHAIN_ID,
        redeemer=REDEEMER,
        token=TOKEN,
        period_amount=AMOUNT,
        period_duration=PERIOD,
        start_time=START,
        expiry=EXPIRY,
        payee=PAYEE,
        justification="Pro plan, 19.99 USDC every 30 days",
    )
    return {
        **request,
        "context": "0x" + context.hex(),
        "delegationManager": framework.delegation_manager,
        "dependencies": [],
        **changes,
    }


def validate(
    grant_or_context: dict[str, Any] | bytes, framework: FrameworkAddresses, **overrides: Any
) -> Any:
    arguments: dict[str, Any] = {
        "chain_id": CHAIN_ID,
        "framework": framework,
        "redeemer": REDEEMER,
        "token": TOKEN,
        "period_amount": AMOUNT,
        "period_duration": PERIOD,
        "payee": PAYEE,
        "not_after_expiry": NOT_AFTER,
    }
    arguments.update(overrides)
    return validate_periodic_grant(grant_or_context, **arguments)


def test_request_has_metamask_shape() -> None:
    request = build_periodic_permission_request(
        chain_id=CHAIN_ID,
        redeemer=REDEEMER.lower(),
        token=TOKEN.lower(),
        period_amount=AMOUNT,
        period_duration=PERIOD,
        start_time=START,
        expiry=EXPIRY,
        payee=PAYEE,
        justification="why",
        from_address=CUSTOMER.address.lower(),
    )

    assert request == {
        "from": CUSTOMER.address,
        "chainId": "0x2105",
        "to": REDEEMER,
        "permission": {
            "type": "erc20-token-periodic",
            "isAdjustmentAllowed": False,
            "data": {
                "tokenAddress": TOKEN,
                "periodAmount": "0x13105f0",
                "periodDuration": PERIOD,
                "startTime": START,
                "justification": "why",
            },
        },
        "rules": [
            {"type": "expiry", "data": {"timestamp": EXPIRY}},
            {"type": "payee", "data": {"addresses": [PAYEE]}},
        ],
    }


def test_request_refuses_expiry_before_start() -> None:
    with pytest.raises(TermsError):
        build_periodic_permission_request(
            chain_id=CHAIN_ID,
            redeemer=REDEEMER,
            token=TOKEN,
            period_amount=AMOUNT,
            period_duration=PERIOD,
            start_time=START,
            expiry=START,
            payee=PAYEE,
            justification="",
        )


def test_default_caveats_are_timestamp_period_payee(framework: FrameworkAddresses) -> None:
    caveats = default_periodic_caveats(
        framework,
        token=TOKEN,
        period_amount=AMOUNT,
        period_duration=PERIOD,
        start_date=START,
        expiry=EXPIRY,
        payee=PAYEE,
    )

    assert [c.enforcer for c in caveats] == [
        framework.enforcer("TimestampEnforcer"),
        framework.enforcer("ERC20PeriodTransferEnforcer"),
        framework.enforcer("AllowedCalldataEnforcer"),
    ]
    assert caveats[0].terms == terms.timestamp(0, EXPIRY)
    assert caveats[1].terms == terms.erc20_period_transfer(TOKEN, AMOUNT, PERIOD, START)
    assert caveats[2].terms == terms.payee(PAYEE)


def test_value_lte_is_appended_last_on_request(framework: FrameworkAddresses) -> None:
    base: dict[str, Any] = {
        "token": TOKEN,
        "period_amount": AMOUNT,
        "period_duration": PERIOD,
        "start_date": START,
        "expiry": EXPIRY,
        "payee": PAYEE,
    }
    default = default_periodic_caveats(framework, **base)
    with_value_lte = default_periodic_caveats(framework, **base, include_value_lte=True)

    assert with_value_lte[:3] == default
    assert with_value_lte[3] == Caveat(framework.enforcer("ValueLteEnforcer"), terms.value_lte(0))


@pytest.mark.parametrize("include_value_lte", [False, True])
def test_both_default_shapes_pass_validation(
    framework: FrameworkAddresses, include_value_lte: bool
) -> None:
    caveats = default_periodic_caveats(
        framework,
        token=TOKEN,
        period_amount=AMOUNT,
        period_duration=PERIOD,
        start_date=START,
        expiry=EXPIRY,
        payee=PAYEE,
        include_value_lte=include_value_lte,
    )

    validated = validate(
        encode_permission_context([signed(framework, caveats)]),
        framework,
        now=START,
        start_date=START,
        require_signature_match=True,
    )

    assert (validated.payee, validated.expiry) == (PAYEE, EXPIRY)


def test_accepts_our_own_signed_root_delegation(framework: FrameworkAddresses) -> None:
    caveats = default_periodic_caveats(
        framework,
        token=TOKEN,
        period_amount=AMOUNT,
        period_duration=PERIOD,
        start_date=START,
        expiry=EXPIRY,
        payee=PAYEE,
    )
    delegation = signed(framework, caveats)

    validated = validate(
        encode_permission_context([delegation]),
        framework,
        now=START,
        start_date=START,
        delegator=CUSTOMER.address,
        require_signature_match=True,
    )

    assert validated.delegator == CUSTOMER.address
    assert (
        validated.delegation_hash == hash_delegation(delegation) == validated.leaf_delegation_hash
    )
    assert (validated.token, validated.period_amount, validated.period_duration) == (
        TOKEN,
        AMOUNT,
        PERIOD,
    )
    assert (validated.start_date, validated.expiry, validated.payee) == (START, EXPIRY, PAYEE)
    assert validated.period_terms == caveats[1].terms
    assert (validated.nonce, validated.redeemers) == (None, None)
    assert validated.signature_recovers_delegator is True


def test_accepts_metamask_grant_with_six_caveats(framework: FrameworkAddresses) -> None:
    context = encode_permission_context([signed(framework, metamask_caveats(framework))])
    response = grant(
        framework,
        context,
        dependencies=[{"factory": "0x" + "33" * 20, "factoryData": "0xabcd"}],
    )

    validated = validate(response, framework)

    assert validated.permission_context == context
    assert validated.nonce == 0
    assert validated.redeemers == (REDEEMER,)
    assert validated.dependencies[0].factory_data == b"\xab\xcd"


def test_accepts_a_redelegated_chain_and_keys_by_the_period_delegation(
    framework: FrameworkAddresses,
) -> None:
    intermediary = STRANGER.address
    root = signed(framework, metamask_caveats(framework), delegate=intermediary)
    leaf = sign_delegation(
        Delegation(
            delegate=REDEEMER,
            delegator=intermediary,
            authority=hash_delegation(root),
            caveats=[],
            salt=2,
        ),
        STRANGER.key,
        chain_id=CHAIN_ID,
        delegation_manager=framework.delegation_manager,
    )

    validated = validate(
        encode_permission_context([leaf, root]), framework, require_signature_match=True
    )

    assert validated.delegator == CUSTOMER.address
    assert validated.delegation_hash == hash_delegation(root)
    assert validated.leaf_delegation_hash == hash_delegation(leaf)


Case = Callable[[FrameworkAddresses], tuple[dict[str, Any] | bytes, dict[str, Any]]]


def _context(
    framework: FrameworkAddresses, caveats: list[Caveat] | None = None, **changes: Any
) -> bytes:
    return encode_permission_context(
        [signed(framework, caveats or metamask_caveats(framework), **changes)]
    )


def _without(framework: FrameworkAddresses, name: str) -> list[Caveat]:
    return [c for c in metamask_caveats(framework) if c.enforcer != framework.enforcer(name)]


def _with(framework: FrameworkAddresses, name: str, terms_bytes: bytes) -> list[Caveat]:
    return [*_without(framework, name), Caveat(framework.enforcer(name), terms_bytes)]


def _broken_chain(framework: FrameworkAddresses) -> bytes:
    root = signed(framework, metamask_caveats(framework), delegate=STRANGER.address)
    leaf = signed(framework, [], authority=b"\x01" * 32)
    return encode_permission_context([leaf, root])


def _unsigned(framework: FrameworkAddresses) -> bytes:
    delegation = signed(framework, metamask_caveats(framework))
    return encode_permission_context([replace(delegation, signature=b"")])


CASES: dict[str, Case] = {
    "malformed_grant": lambda f: ({"delegationManager": f.delegation_manager}, {}),
    "wrong_manager": lambda f: (grant(f, _context(f), delegationManager="0x" + "99" * 20), {}),
    "wrong_chain": lambda f: (grant(f, _context(f), chainId="0x1"), {}),
    "wrong_permission_type": lambda f: (
        grant(f, _context(f), permission={"type": "native-token-periodic"}),
        {},
    ),
    "malformed_context": lambda f: (grant(f, b"\x12\x34"), {}),
    "empty_context": lambda f: (encode_permission_context([]), {}),
    "wrong_delegate": lambda f: (_context(f, delegate=STRANGER.address), {}),
    "wrong_delegate_open": lambda f: (_context(f, delegate=ANY_DELEGATE), {}),
    "not_root": lambda f: (_context(f, authority=b"\x01" * 32), {}),
    "broken_chain": lambda f: (_broken_chain(f), {}),
    "unsigned": lambda f: (_unsigned(f), {}),
    "wrong_delegator": lambda f: (_context(f), {"delegator": STRANGER.address}),
    "bad_signature": lambda f: (_context(f, key=STRANGER.key), {"require_signature_match": True}),
    "unknown_enforcer": lambda f: (
        _context(f, [*metamask_caveats(f), Caveat("0x" + "77" * 20, b"")]),
        {},
    ),
    "unsupported_enforcer": lambda f: (
        _context(
            f,
            [
                *metamask_caveats(f),
                Caveat(f.enforcer("LimitedCallsEnforcer"), terms.limited_calls(1)),
            ],
        ),
        {},
    ),
    "duplicate_caveat": lambda f: (
        _context(
            f,
            [
                *metamask_caveats(f),
                Caveat(f.enforcer("TimestampEnforcer"), terms.timestamp(0, EXPIRY)),
            ],
        ),
        {},
    ),
    "invalid_terms": lambda f: (_context(f, _with(f, "NonceEnforcer", bytes(31))), {}),
    "period_missing": lambda f: (_context(f, _without(f, "ERC20PeriodTransferEnforcer")), {}),
    "token_mismatch": lambda f: (_context(f), {"token": "0x" + "44" * 20}),
    "amount_mismatch": lambda f: (_context(f), {"period_amount": AMOUNT + 1}),
    "period_mismatch": lambda f: (_context(f), {"period_duration": 28 * 86_400}),
    "start_mismatch": lambda f: (_context(f), {"start_date": START + 1}),
    "payee_not_locked": lambda f: (_context(f, _without(f, "AllowedCalldataEnforcer")), {}),
    "payee_not_locked_wrong_index": lambda f: (
        _context(
            f,
            _with(
                f, "AllowedCalldataEnforcer", terms.allowed_calldata(0, bytes.fromhex("a9059cbb"))
            ),
        ),
        {},
    ),
    "payee_mismatch": lambda f: (_context(f), {"payee": "0x" + "55" * 20}),
    "value_not_zero": lambda f: (_context(f, _with(f, "ValueLteEnforcer", terms.value_lte(1))), {}),
    "expiry_missing": lambda f: (_context(f, _without(f, "TimestampEnforcer")), {}),
    "expiry_missing_zero_before": lambda f: (
        _context(f, _with(f, "TimestampEnforcer", terms.timestamp(5, 0))),
        {},
    ),
    "expiry_invalid": lambda f: (
        _context(f, _with(f, "TimestampEnforcer", terms.timestamp(5, EXPIRY))),
        {},
    ),
    "expiry_too_long": lambda f: (_context(f), {"not_after_expiry": EXPIRY - 1}),
    "expired": lambda f: (_context(f), {"now": EXPIRY}),
    "redeemer_not_allowed": lambda f: (
        _context(f, _with(f, "RedeemerEnforcer", terms.redeemer([STRANGER.address]))),
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rejects_with_a_precise_code(framework: FrameworkAddresses, case: str) -> None:
    grant_or_context, overrides = CASES[case](framework)
    expected_code = (
        case.removesuffix("_open").removesuffix("_wrong_index").removesuffix("_zero_before")
    )

    with pytest.raises(PermissionRejected) as info:
        validate(grant_or_context, framework, **overrides)

    assert info.value.code == expected_code
