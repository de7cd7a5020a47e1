// The customer portal's wallet steps: sign in with Ethereum (EIP-4361 through personal_sign) and
// revoke a permission on chain (the customer's account sends disableDelegation; the server then
// reads the chain). Everything comes from data attributes; every JSON answer is checked first.
import { getAddress, isAddress, isHex, numberToHex, toHex, type Address } from "viem";
import { createSiweMessage } from "viem/siwe";
import {
  Failure, Rejected, ask, discoverWallets, errorCodeOf, errorMessage, isObject, isString, walletButton,
  type Announced, type Json, type Provider,
} from "./wallet";

const RECEIPT_POLL_MS = 1000;
const RECEIPT_POLLS = 120;
const CONFIRM_TRIES = 10;

async function postJson(url: string, body: object, headers: Record<string, string> = {}): Promise<{ ok: boolean; status: number; answer: Json }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  return { ok: response.ok, status: response.status, answer: await response.json() };
}

async function firstAccount(provider: Provider): Promise<Address> {
  const accounts = await ask(provider, "eth_requestAccounts");
  if (!Array.isArray(accounts) || !isString(accounts[0]) || !isAddress(accounts[0])) {
    throw new Failure("The wallet shared no account.");
  }
  return getAddress(accounts[0]);
}

class SignIn {
  constructor(private readonly root: HTMLElement) {}

  private show(step: string): void {
    for (const part of this.root.querySelectorAll<HTMLElement>("[data-step]")) part.hidden = part.dataset.step !== step;
  }

  private fail(title: string, text: string): void {
    const t = this.root.querySelector("[data-error-title]");
    const p = this.root.querySelector("[data-error-text]");
    if (t) t.textContent = title;
    if (p) p.textContent = text;
    this.show("error");
    this.root.querySelector<HTMLElement>("[data-retry]")?.focus();
  }

  async start(): Promise<void> {
    this.root.querySelector("[data-retry]")?.addEventListener("click", () => this.show("connect"));
    const wallets = await discoverWallets();
    const list = this.root.querySelector<HTMLElement>("[data-wallets]");
    if (!list) return;
    if (wallets.length === 0) {
      const none = document.createElement("p");
      none.className = "notice";
      none.textContent = "No wallet found in this browser. Install a wallet such as MetaMask, or ask the merchant for a portal link.";
      list.replaceChildren(none);
      return;
    }
    list.replaceChildren(...wallets.map((w) => walletButton(w, (chosen) => void this.signIn(chosen))));
  }

  private async signIn(wallet: Announced): Promise<void> {
    try {
      const address = await firstAccount(wallet.provider);
      const nonce = await postJson(this.root.dataset.nonceUrl ?? "", {});
      const n = nonce.answer;
      if (!nonce.ok || !isObject(n) || !isString(n.nonce) || !isString(n.domain) || !isString(n.uri) ||
          !isString(n.statement) || !isString(n.scheme) || !Array.isArray(n.chain_ids) ||
          !n.chain_ids.every((c) => typeof c === "number")) {
        throw new Failure(errorMessage(n, nonce.status));
      }
      const allowed = n.chain_ids as number[];
      const current = await ask(wallet.provider, "eth_chainId");
      const walletChain = isString(current) && isHex(current) ? Number(BigInt(current)) : NaN;
      const chainId = allowed.includes(walletChain) ? walletChain : (allowed[0] ?? 1);
      const message = createSiweMessage({
        address, chainId, domain: n.domain, nonce: n.nonce, uri: n.uri, version: "1",
        statement: n.statement, scheme: n.scheme, issuedAt: new Date(),
      });
      this.show("signing");
      const signature = await ask(wallet.provider, "personal_sign", [toHex(message), address]);
      if (!isString(signature) || !isHex(signature)) throw new Failure("The wallet returned no signature.");
      const signed = await postJson(this.root.dataset.signInUrl ?? "", { message, signature });
      const s = signed.answer;
      if (!signed.ok || !isObject(s) || !isString(s.redirect)) throw new Failure(errorMessage(s, signed.status));
      window.location.assign(s.redirect);
    } catch (e) {
      if (e instanceof Rejected) { this.fail("Not signed in", "You declined the request in your wallet. Nothing was signed."); return; }
      this.fail("Not signed in", e instanceof Error ? e.message : "Signing in did not work.");
    }
  }
}

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

const signIn = document.getElementById("portal-sign-in");
if (signIn) void new SignIn(signIn).start();
const revoke = document.getElementById("revoke");
if (revoke) new Revoke(revoke).start();
