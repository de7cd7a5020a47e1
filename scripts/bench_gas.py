"""Gas of one recurring charge through the Delegation Framework, against a plain ERC-20 transfer.

Run it with ``make bench-gas`` (``uv run --frozen python scripts/bench_gas.py``). It starts its own
anvil (Prague, a free port, no state file), deploys the framework v1.3.0 and the test tokens, and
measures ``gasUsed`` from receipts (so every figure includes the 21,000 base cost):

- a plain ERC-20 ``transfer`` and a classic ``approve`` + ``transferFrom`` pull (the pull only);
- one charge via ``DelegationManager.redeemDelegations`` sent by the relayer for EIP-7702-upgraded
  customers: the first charge (the period enforcer sets up its storage) and the steady state (the
  next period, after time travel), one customer per transaction and batched (1, 10, 50 customers
  in one call; per-charge = total / N), for each caveat set:
  our default (`default_periodic_caveats`), its variant with/without ``ValueLte(0)``, and
  MetaMask's ``erc20-token-periodic`` set (6 caveats).

Every recipient already holds the token (payees get 1 base unit up front), so no figure includes
the one-off 0 → non-zero balance write and all rows compare like with like. Progress goes to
stderr, the tables (Markdown) to stdout; the last stdout line is

    per-charge gas, batched steady state: <gas> = <ratio>x a plain ERC-20 transfer

for our default set at batch size 50.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.types import TxReceipt

from cyphera.chain.artifacts import ensure_built, load_contracts, load_framework_artifacts
from cyphera.chain.devnet import (
    AnvilProcess,
    deploy_framework,
    dev_accounts,
    latest_timestamp,
    send_transactions,
    set_balance,
    time_travel,
    token_balance,
    upgrade_many_to_7702,
)
from cyphera.chain.local import LocalDeployment
from cyphera.delegation import (
    ROOT_AUTHORITY,
    SINGLE_DEFAULT_MODE,
    Caveat,
    Delegation,
    decode_current_nonce,
    default_periodic_caveats,
    encode_current_nonce,
    encode_erc20_transfer,
    encode_permission_context,
    encode_redeem_delegations,
    encode_single_execution,
    selector,
    sign_delegation,
    terms,
)
from cyphera.delegation.caveats import (
    ALLOWED_CALLDATA_ENFORCER,
    ERC20_PERIOD_TRANSFER_ENFORCER,
    NONCE_ENFORCER,
    REDEEMER_ENFORCER,
    TIMESTAMP_ENFORCER,
    VALUE_LTE_ENFORCER,
)

TARGET_RATIO = 4.0
PERIOD_SECONDS = 30 * 86_400
PERIOD_AMOUNT = 19_990_000  # 19.99 USDC (6 decimals)
EXPIRY_SECONDS = 365 * 86_400
BATCH_SIZES = (1, 10, 50)
SINGLE_CHARGES = 5  # customers charged one per transaction; the row shows their mean
CUSTOMER_FUNDS = 1_000 * 10**6
MINT = selector("mint(address,uint256)")
APPROVE = selector("approve(address,uint256)")
TRANSFER_FROM = selector("transferFrom(address,address,uint256)")
# Fixed limits for set-up transactions (skips an estimate round trip each); charges are estimated.
MINT_GAS = 120_000
SENDER_INDEX = {"holder": 2, "recipient": 3, "puller": 4, "sponsor": 5}

_started = time.monotonic()


def log(message: str) -> None:
    """A progress line on stderr."""
    print(f"[bench-gas {time.monotonic() - _started:5.1f}s] {message}", file=sys.stderr, flush=True)


def gas_used(receipt: TxReceipt) -> int:
    return int(receipt["gasUsed"])


def mint_all(w3: Web3, sender: LocalAccount, token: str, grants: Sequence[tuple[str, int]]) -> None:
    """Mint test tokens to many holders, back to back (``mint`` is open on the test token)."""
    send_transactions(
        w3,
        sender,
        [
            {
                "to": token,
                "data": MINT + encode(["address", "uint256"], [holder, amount]),
                "gas": MINT_GAS,
            }
            for holder, amount in grants
        ],
    )


def derived_account(label: str) -> LocalAccount:
    """A deterministic throwaway account (fresh chain, so nothing is ever reused)."""
    account: LocalAccount = Account.from_key(keccak(text=f"cyphera-bench-{label}"))
    return account


# --- caveat sets -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaveatSet:
    """A named way of building a customer's caveats (in evaluation order)."""

    key: str
    title: str
    build: Callable[[LocalAccount, str], list[Caveat]]  # (customer, payee) -> caveats


@dataclass
class Group:
    """Customers charged together: one transaction per customer (`single`) or one batch."""

    label: str
    single: bool
    customers: list[LocalAccount]
    payees: list[str]  # one per customer (several entries may be the same merchant)
    contexts: list[bytes] = field(default_factory=list)
    first: list[TxReceipt] = field(default_factory=list)
    steady: list[TxReceipt] = field(default_factory=list)
    calldata_bytes: int = 0

    def per_charge(self, receipts: list[TxReceipt]) -> int:
        return round(sum(gas_used(r) for r in receipts) / len(self.customers))


@dataclass
class Bench:
    w3: Web3
    deployment: LocalDeployment
    relayer: LocalAccount
    token: str
    start_date: int
    expiry: int

    @property
    def manager(self) -> str:
        return self.deployment.framework.delegation_manager

    def enforcer(self, name: str) -> str:
        return self.deployment.framework.enforcer(name)

    def ours(self, customer: LocalAccount, payee: str) -> list[Caveat]:
        del customer
        return default_periodic_caveats(
            self.deployment.framework,
            token=self.token,
            period_amount=PERIOD_AMOUNT,
            period_duration=PERIOD_SECONDS,
            start_date=self.start_date,
            expiry=self.expiry,
            payee=payee,
        )

    def ours_variant(self, customer: LocalAccount, payee: str) -> list[Caveat]:
        """The default set with ValueLte(0) toggled: dropped if present, else appended last."""
        caveats = self.ours(customer, payee)
        value_lte = self.enforcer(VALUE_LTE_ENFORCER)
        if any(c.enforcer == value_lte for c in caveats):
            return [c for c in caveats if c.enforcer != value_lte]
        return [*caveats, Caveat(enforcer=value_lte, terms=terms.value_lte(0))]

    def metamask(self, customer: LocalAccount, payee: str) -> list[Caveat]:
        """MetaMask's ``erc20-token-periodic``: period, ValueLte(0), Nonce, then its three rules."""
        nonce_enforcer = self.enforcer(NONCE_ENFORCER)
        nonce = decode_current_nonce(
            self.w3.eth.call(
                {
                    "to": Web3.to_checksum_address(nonce_enforcer),
                    "data": encode_current_nonce(self.manager, customer.address),
                }
            )
        )
        period = terms.erc20_period_transfer(
            self.token, PERIOD_AMOUNT, PERIOD_SECONDS, self.start_date
        )
        return [
            Caveat(self.enforcer(ERC20_PERIOD_TRANSFER_ENFORCER), period),
            Caveat(self.enforcer(VALUE_LTE_ENFORCER), terms.value_lte(0)),
            Caveat(nonce_enforcer, terms.nonce(nonce)),
            Caveat(self.enforcer(TIMESTAMP_ENFORCER), terms.timestamp(0, self.expiry)),
            Caveat(self.enforcer(REDEEMER_ENFORCER), terms.redeemer([self.relayer.address])),
            Caveat(self.enforcer(ALLOWED_CALLDATA_ENFORCER), terms.payee(payee)),
        ]

    def sign_contexts(self, caveat_set: CaveatSet, group: Group) -> None:
        chain_id = self.deployment.chain_id
        for salt, (customer, payee) in enumerate(zip(group.customers, group.payees, strict=True)):
            delegation = Delegation(
                delegate=self.relayer.address,
                delegator=customer.address,
                authority=ROOT_AUTHORITY,
                caveats=caveat_set.build(customer, payee),
                salt=salt,
            )
            signed = sign_delegation(
                delegation, customer.key, chain_id=chain_id, delegation_manager=self.manager
            )
            group.contexts.append(encode_permission_context([signed]))

    def redeem_calldata(self, contexts: Sequence[bytes], payees: Sequence[str]) -> bytes:
        executions = [
            encode_single_execution(self.token, 0, encode_erc20_transfer(payee, PERIOD_AMOUNT))
            for payee in payees
        ]
        return encode_redeem_delegations(
            contexts, [SINGLE_DEFAULT_MODE] * len(contexts), executions
        )

    def charge(self, group: Group) -> list[TxReceipt]:
        """Charge every customer of `group` once; gas limits come from ``eth_estimateGas``."""
        if group.single:
            calls = [
                self.redeem_calldata([context], [payee])
                for context, payee in zip(group.contexts, group.payees, strict=True)
            ]
        else:
            calls = [self.redeem_calldata(group.contexts, group.payees)]
        group.calldata_bytes = round(sum(len(c) for c in calls) / len(group.customers))
        transactions: list[dict[str, Any]] = [{"to": self.manager, "data": c} for c in calls]
        return send_transactions(self.w3, self.relayer, transactions)


# --- output ------------------------------------------------------------------------------------


def fmt(gas: int) -> str:
    return f"{gas:,}"


def ratio(gas: int, base: int) -> str:
    return f"{gas / base:.2f}x"


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    right = [i > 0 for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print(
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if r else "-" * (w + 2)
            for w, r in zip(widths, right, strict=True)
        )
        + "|"
    )
    for row in rows:
        print(line(row))
    print()


# --- the run -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--fail-above",
        type=float,
        default=None,
        metavar="RATIO",
        help="exit with status 1 when the final ratio exceeds RATIO (e.g. 4.0)",
    )
    args = parser.parse_args(argv)

    directory = ensure_built()
    artifacts = load_framework_artifacts(directory)
    contracts = load_contracts(directory)
    with AnvilProcess() as anvil:
        log(f"anvil {anvil.binary.parent.parent.name} (prague) on {anvil.rpc_url}, pid {anvil.pid}")
        w3 = anvil.web3()
        accounts = dev_accounts()
        deployment = deploy_framework(w3, accounts[0], artifacts=artifacts, contracts=contracts)
        log(f"deployed the framework v{deployment.framework_version} and test tokens")
        final = run(w3, deployment, accounts)
    if args.fail_above is not None and final > args.fail_above:
        log(f"ratio {final:.2f} is above {args.fail_above:.2f}")
        return 1
    return 0


def baselines(w3: Web3, token: str, accounts: Sequence[LocalAccount]) -> tuple[int, int, int]:
    """Gas of a plain ``transfer``, an ``approve`` and a ``transferFrom`` pull.

    Both ends of every transfer already hold the token, as the payees of the charges do.
    """
    deployer, puller = accounts[0], accounts[SENDER_INDEX["puller"]]
    holder, recipient = accounts[SENDER_INDEX["holder"]], accounts[SENDER_INDEX["recipient"]]
    pull_customer = derived_account("pull-customer")
    pull_payee = derived_account("pull-payee").address
    mint_all(
        w3,
        deployer,
        token,
        [
            (holder.address, CUSTOMER_FUNDS),
            (recipient.address, 1),
            (pull_customer.address, CUSTOMER_FUNDS),
            (pull_payee, 1),
        ],
    )
    set_balance(w3, pull_customer.address, 10**18)
    transfer = encode_erc20_transfer(recipient.address, PERIOD_AMOUNT)
    allowance = encode(["address", "uint256"], [puller.address, 12 * PERIOD_AMOUNT])
    pull = encode(
        ["address", "address", "uint256"], [pull_customer.address, pull_payee, PERIOD_AMOUNT]
    )
    receipts = [
        send_transactions(w3, sender, [{"to": token, "data": data}])[0]
        for sender, data in (
            (holder, transfer),
            (pull_customer, APPROVE + allowance),
            (puller, TRANSFER_FROM + pull),
        )
    ]
    return gas_used(receipts[0]), gas_used(receipts[1]), gas_used(receipts[2])


def run(w3: Web3, deployment: LocalDeployment, accounts: Sequence[LocalAccount]) -> float:
    token = deployment.tokens["USDC"].address
    deployer, relayer, sponsor = accounts[0], accounts[1], accounts[SENDER_INDEX["sponsor"]]
    now = latest_timestamp(w3)
    bench = Bench(
        w3=w3,
        deployment=deployment,
        relayer=relayer,
        token=token,
        start_date=now - 60,
        expiry=now + EXPIRY_SECONDS,
    )

    base, approve, pull = baselines(w3, token, accounts)
    log(f"plain transfer {fmt(base)}, transferFrom {fmt(pull)}")

    ours_has_value_lte = any(
        c.enforcer == deployment.framework.enforcer(VALUE_LTE_ENFORCER)
        for c in bench.ours(relayer, relayer.address)
    )
    sets = [
        CaveatSet("ours", "ours (default)", bench.ours),
        CaveatSet(
            "variant",
            "ours without ValueLte(0)" if ours_has_value_lte else "ours + ValueLte(0)",
            bench.ours_variant,
        ),
        CaveatSet("metamask", "MetaMask erc20-token-periodic", bench.metamask),
    ]

    # Customers: fresh EOAs, upgraded to EIP7702StatelessDeleGator in one sponsored transaction
    # per set, funded with test USDC; every payee gets 1 base unit so it already holds the token.
    groups: dict[str, list[Group]] = {}
    headline_group: Group | None = None
    for caveat_set in sets:
        sizes = [(f"single (1 per tx, mean of {SINGLE_CHARGES})", True, SINGLE_CHARGES, False)]
        sizes += [(f"batch of {n}, per charge", False, n, False) for n in BATCH_SIZES]
        if caveat_set.key == "ours":
            n = BATCH_SIZES[-1]
            sizes.append((f"batch of {n}, one merchant (same payee), per charge", False, n, True))
        set_groups: list[Group] = []
        for label, single, count, shared in sizes:
            tag = f"{caveat_set.key}-{len(set_groups)}"
            customers = [derived_account(f"{tag}-customer-{i}") for i in range(count)]
            payees = [
                str(derived_account(f"{tag}-payee-{0 if shared else i}").address)
                for i in range(count)
            ]
            set_groups.append(Group(label, single, customers, payees))
            if caveat_set.key == "ours" and not single and not shared and count == 50:
                headline_group = set_groups[-1]
        everyone = [c for g in set_groups for c in g.customers]
        upgrade_many_to_7702(
            w3, everyone, deployment.framework.eip7702_stateless_delegator_impl, sponsor
        )
        grants: list[tuple[str, int]] = [(c.address, CUSTOMER_FUNDS) for c in everyone]
        grants += [(p, 1) for p in dict.fromkeys(p for g in set_groups for p in g.payees)]
        mint_all(w3, deployer, token, grants)
        for group in set_groups:
            bench.sign_contexts(caveat_set, group)
        groups[caveat_set.key] = set_groups
        log(f"{caveat_set.title}: {len(everyone)} customers upgraded, funded and signed")

    for caveat_set in sets:
        for group in groups[caveat_set.key]:
            group.first = bench.charge(group)
        log(f"{caveat_set.title}: first charges done")
    time_travel(w3, PERIOD_SECONDS)
    log("time travel: one period later")
    for caveat_set in sets:
        for group in groups[caveat_set.key]:
            group.steady = bench.charge(group)
        log(f"{caveat_set.title}: steady-state charges done")

    # Every customer was charged exactly twice, to its own payee.
    for caveat_set in sets:
        for group in groups[caveat_set.key]:
            for payee, charges in Counter(group.payees).items():
                balance = token_balance(w3, token, payee)
                if balance != 1 + 2 * charges * PERIOD_AMOUNT:
                    raise SystemExit(
                        f"payee {payee} holds {balance}, expected {2 * charges} charges"
                    )
    log("verified: every customer was charged exactly twice")

    print("## Baselines (anvil, prague; gasUsed including the 21,000 base)\n")
    print_table(
        ["operation", "gas", "vs transfer"],
        [
            ["plain ERC-20 `transfer`", fmt(base), ratio(base, base)],
            [
                "`approve` (once per customer)",
                fmt(approve),
                ratio(approve, base),
            ],
            [
                "`transferFrom` with allowance (classic pull)",
                fmt(pull),
                ratio(pull, base),
            ],
        ],
    )
    for caveat_set in sets:
        caveat_count = len(caveat_set.build(relayer, relayer.address))
        print(f"## {caveat_set.title}: {caveat_count} caveats\n")
        rows = []
        for group in groups[caveat_set.key]:
            first, steady = group.per_charge(group.first), group.per_charge(group.steady)
            rows.append(
                [
                    group.label,
                    fmt(first),
                    fmt(steady),
                    ratio(steady, base),
                    fmt(group.calldata_bytes),
                ]
            )
        print_table(
            [
                "7702 customer, relayer redeems",
                "first",
                "steady",
                "steady vs transfer",
                "calldata B",
            ],
            rows,
        )

    assert headline_group is not None, "BATCH_SIZES must include 50"
    headline = headline_group.per_charge(headline_group.steady)
    final = round(headline / base, 2)
    verdict = "meets" if final <= TARGET_RATIO else "misses"
    log(f"our default set, batch of 50, steady state: {final:.2f}x {verdict} the <= 4.0x target")
    print(
        f"per-charge gas, batched steady state: {headline} = {final:.2f}x a plain ERC-20 transfer"
    )
    return final


if __name__ == "__main__":
    sys.exit(main())
