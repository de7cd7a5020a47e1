"""A test wallet, the stand-in for MetaMask: an EIP-1193 provider in the page, announced per
EIP-6963, whose requests are answered here with an `eth_account` key.

The page's ``window.ethereum.request`` forwards to the ``__wallet`` binding
(`BrowserContext.expose_binding`); a rejection raises here, and the provider turns it into the
EIP-1193 error ``{code: 4001}`` as MetaMask does. Given the chain's ``rpc_url``, reads
(`FORWARDED`) go to the node, and ``eth_sendTransaction`` is signed with the key and sent there,
as MetaMask does on the chain it is switched to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from playwright.async_api import BrowserContext
from web3 import Web3

from cyphera.chain.devnet import Devnet
from cyphera.chain.devnet.helpers import fee_fields
from tests.e2e.test_erc7715_checkout import (
    metamask_grant,
)  # MetaMask's grant, as the API tests build it

REJECTED = "USER_REJECTED"
FORWARDED = frozenset(
    {
        "eth_call",
        "eth_getBalance",
        "eth_getCode",
        "eth_blockNumber",
        "eth_estimateGas",
        "eth_getTransactionReceipt",
        "eth_getTransactionCount",
    }
)
INIT_SCRIPT = """
(() => {
  const provider = {
    async request(args) {
      const { method, params } = args;
      try {
        return await window.__wallet(method, params === undefined ? [] : params);
      } catch (e) {
        const text = String((e && e.message) || e);
        if (text.includes("REJECTED_MARK")) {
          throw { code: 4001, message: "User rejected the request." };
        }
        throw { code: -32603, message: text };
      }
    },
    on() {},
    removeListener() {},
  };
  window.ethereum = provider;
  const info = Object.freeze({
    uuid: "4b6a5f0e-6c1e-4a8e-9b7d-0f3c2a1d9e10",
    name: "Test Wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/%3E",
    rdns: "org.cyphera.testwallet",
  });
  const announce = () => window.dispatchEvent(
    new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) })
  );
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
""".replace("REJECTED_MARK", REJECTED)


# Errors with an EIP-1193/JSON-RPC code other than 4001 (4902 unknown chain, -32601 method not
# found): the binding raises `WalletError`, and this script (added after INIT_SCRIPT) turns its
# message into ``{code, message}`` as a real provider rejects.
CODED_ERRORS_SCRIPT = """
(() => {
  const provider = window.ethereum;
  const forward = provider.request.bind(provider);
  provider.request = async (args) => {
    try {
      return await forward(args);
    } catch (e) {
      const found = /WALLET_ERROR_CODE\\((-?[0-9]+)\\)/.exec(String((e && e.message) || ""));
      if (found) throw { code: Number(found[1]), message: e.message };
      throw e;
    }
  };
})();
"""
METHOD_NOT_FOUND = -32601


class WalletRejected(Exception):
    """The customer pressed "Reject" in the wallet."""


class WalletError(Exception):
    """The wallet refused a request with an EIP-1193/JSON-RPC error `code`."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"WALLET_ERROR_CODE({code}) {message}".strip())
        self.code = code


@dataclass
class FakeWallet:
    account: LocalAccount
    chain_id: int = 1  # starts on another chain: the page must ask to switch
    reject: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    rpc_url: str | None = None
    sent: list[str] = field(default_factory=list)
    # Opt-in ERC-7715 (MetaMask Advanced Permissions) on `devnet`; without it the wallet answers
    # wallet_requestExecutionPermissions with "method not found", as wallets without it do.
    erc7715: bool = False
    devnet: Devnet | None = None
    # method -> an error code the wallet answers it with (e.g. 4902 for an unknown chain).
    errors: dict[str, int] = field(default_factory=dict)
    granted: list[dict[str, Any]] = field(default_factory=list)

    async def install(self, context: BrowserContext) -> None:
        """Inject this wallet into every page of `context` (provider, EIP-6963, coded errors)."""
        await context.expose_binding("__wallet", self)
        await context.add_init_script(INIT_SCRIPT)
        await context.add_init_script(CODED_ERRORS_SCRIPT)

    def __call__(self, source: Any, method: str, params: list[Any]) -> Any:
        self.calls.append(method)
        if method in self.reject:
            raise WalletRejected(REJECTED)
        if method in self.errors:
            raise WalletError(self.errors[method], f"the test wallet refuses {method}")
        if method == "wallet_requestExecutionPermissions":
            return self._request_execution_permissions(params)
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.account.address]
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "wallet_switchEthereumChain":
            self.chain_id = int(params[0]["chainId"], 16)
            return None
        if method == "eth_signTypedData_v4":
            address, payload = params
            assert address.lower() == self.account.address.lower()
            typed = json.loads(payload)
            signed = Account.sign_typed_data(self.account.key, full_message=typed)
            return "0x" + bytes(signed.signature).hex()
        if method == "personal_sign":
            message, address = params
            assert address.lower() == self.account.address.lower()
            signed = self.account.sign_message(encode_defunct(hexstr=message))
            return "0x" + bytes(signed.signature).hex()
        if method in FORWARDED and self.rpc_url is not None:
            return self._web3().provider.make_request(method, params)["result"]  # type: ignore[arg-type]
        if method == "eth_sendTransaction" and self.rpc_url is not None:
            return self._send(params[0])
        raise NotImplementedError(f"the test wallet does not answer {method}")

    def _web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 30}))

    def _send(self, request: dict[str, Any]) -> str:
        assert request["from"].lower() == self.account.address.lower()
        w3 = self._web3()
        assert w3.eth.chain_id == self.chain_id, "the wallet sends on the chain it is switched to"
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "from": self.account.address,
            "to": Web3.to_checksum_address(request["to"]),
            "data": request.get("data", "0x"),
            "value": int(request.get("value", "0x0"), 16),
            "nonce": w3.eth.get_transaction_count(self.account.address, "pending"),
            **fee_fields(w3),
        }
        tx["gas"] = int(request["gas"], 16) if "gas" in request else w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
        signed = self.account.sign_transaction(tx)
        tx_hash = "0x" + w3.eth.send_raw_transaction(signed.raw_transaction).hex().removeprefix(
            "0x"
        )
        self.sent.append(tx_hash)
        return tx_hash

    def _request_execution_permissions(self, params: list[Any]) -> list[dict[str, Any]]:
        """Grant each request as MetaMask does: upgrade a plain account to its smart account
        (EIP-7702) first, then sign the `erc20-token-periodic` delegation it builds."""
        if not self.erc7715:
            raise WalletError(METHOD_NOT_FOUND, "wallet_requestExecutionPermissions")
        assert self.devnet is not None, "erc7715=True needs devnet="
        if self.devnet.w3.eth.get_code(self.account.address) in (b"", b"\x00"):
            self.devnet.upgrade_to_7702(self.account, sponsor=self.account)
        grants = [metamask_grant(self.devnet, self.account, request) for request in params]
        self.granted.extend(grants)
        return grants
