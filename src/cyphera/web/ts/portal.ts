// The customer portal's wallet steps: sign in with Ethereum (EIP-4361 through personal_sign) and
// revoke a permission on chain (the customer's account sends disableDelegation; the server then
// reads the chain). Everything comes from data attributes; every JSON answer is checked first.
import { isAddress, isHex, numberToHex } from "viem";
import { firstAccount, postJson, startSignIn } from "./signin";
import {
  Failure, Rejected, ask, discoverWallets, errorCodeOf, errorMessage, isObject, isString,
  type Json, type Provider,
} from "./wallet";

const RECEIPT_POLL_MS = 1000;
const RECEIPT_POLLS = 120;
const CONFIRM_TRIES = 10;

class Revoke {
  constructor(private readonly root: HTMLElement) {}

  private progress(text: string): void {
    const box = this.root.querySelector<HTMLElement>("[data-revoke-progress]");
    const line = this.root.querySelector("[data-revoke-text]");
    if (box) box.hidden = false;
    if (line) line.textContent = text;
  }

  private fail(text: string): void {
    const box = this.root.querySelector<HTMLElement>("[data-revoke-progress]");
    if (box) box.hidden = true;
    const error = this.root.querySelector<HTMLElement>("[data-revoke-error]");
    if (error) { error.textContent = text; error.hidden = false; }
    const button = this.root.querySelector<HTMLButtonElement>("[data-revoke]");
    if (button) { button.disabled = false; button.focus(); }
  }

  start(): void {
    this.root.querySelector("[data-revoke]")?.addEventListener("click", () => void this.revoke());
  }

  private async revoke(): Promise<void> {
    const button = this.root.querySelector<HTMLButtonElement>("[data-revoke]");
    if (button) button.disabled = true;
    const error = this.root.querySelector<HTMLElement>("[data-revoke-error]");
    if (error) error.hidden = true;
    try {
      const url = this.root.dataset.revocationUrl ?? "";
      const response = await fetch(url, { credentials: "same-origin" });
      const call: Json = await response.json();
      if (!response.ok || !isObject(call) || typeof call.chain_id !== "number" || !isString(call.account) ||
          !isString(call.to) || !isString(call.data) || !isAddress(call.account) || !isAddress(call.to) || !isHex(call.data)) {
        throw new Failure(errorMessage(call, response.status));
      }
      const wallets = await discoverWallets();
      const wallet = wallets[0];
      if (!wallet) throw new Failure("No wallet found in this browser: revoking needs the wallet that granted the permission.");
      this.progress("Connect the wallet that granted this permission…");
      const address = await firstAccount(wallet.provider);
      if (address.toLowerCase() !== call.account.toLowerCase()) {
        throw new Failure(`This permission was granted by ${call.account}; switch your wallet to that account (it is ${address}).`);
      }
      const chain = await ask(wallet.provider, "eth_chainId");
      if (!isString(chain) || !isHex(chain) || Number(BigInt(chain)) !== call.chain_id) {
        await ask(wallet.provider, "wallet_switchEthereumChain", [{ chainId: numberToHex(call.chain_id) }]);
      }
      this.progress("Confirm the revocation in your wallet…");
      const hash = await ask(wallet.provider, "eth_sendTransaction", [{ from: call.account, to: call.to, data: call.data }]);
      if (!isString(hash) || !isHex(hash)) throw new Failure("The wallet returned no transaction.");
      this.progress(`Waiting for the transaction ${hash.slice(0, 10)}… to be confirmed`);
      await this.receipt(wallet.provider, hash);
      this.progress("Confirmed on chain. Ending the subscription…");
      await this.confirm(url);
    } catch (e) {
      if (e instanceof Rejected) { this.fail("You declined in your wallet. Nothing was revoked; the permission is still active."); return; }
      this.fail(e instanceof Error ? e.message : "The permission could not be revoked.");
    }
  }

  private async receipt(provider: Provider, hash: string): Promise<void> {
    for (let i = 0; i < RECEIPT_POLLS; i += 1) {
      const receipt = await ask(provider, "eth_getTransactionReceipt", [hash]);
      if (isObject(receipt)) {
        if (receipt.status !== "0x1") throw new Failure("The revocation transaction failed on chain; the permission is still active.");
        return;
      }
      await new Promise((r) => setTimeout(r, RECEIPT_POLL_MS));
    }
    throw new Failure("The transaction is not confirmed yet. Reload this page later: it shows the permission revoked once it is.");
  }

  private async confirm(url: string): Promise<void> {
    for (let i = 0; i < CONFIRM_TRIES; i += 1) {
      const done = await postJson(url, {}, { "Cyphera-CSRF": this.root.dataset.csrf ?? "" });
      const a = done.answer;
      if (done.ok && isObject(a) && isString(a.redirect)) { window.location.assign(a.redirect); return; }
      if (errorCodeOf(a) !== "revocation_not_on_chain") throw new Failure(errorMessage(a, done.status));
      await new Promise((r) => setTimeout(r, RECEIPT_POLL_MS));
    }
    throw new Failure("The chain does not show the revocation yet. Reload this page in a minute.");
  }
}

startSignIn();
const revoke = document.getElementById("revoke");
if (revoke) new Revoke(revoke).start();
