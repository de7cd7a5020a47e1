// Sign in with Ethereum on a page (the portal's and the dashboard's): connect a wallet, ask the
// server for a nonce and what the EIP-4361 message must say, have the wallet personal_sign it,
// and post it back; the server sets an HttpOnly cookie and says where to go. The page's
// #sign-in element names the two endpoints (data-nonce-url, data-sign-in-url).
import { getAddress, isAddress, isHex, toHex, type Address } from "viem";
import { createSiweMessage } from "viem/siwe";
import {
  Failure, Rejected, ask, discoverWallets, errorMessage, isObject, isString, walletButton,
  type Announced, type Json, type Provider,
} from "./wallet";

export async function postJson(url: string, body: object, headers: Record<string, string> = {}): Promise<{ ok: boolean; status: number; answer: Json }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  return { ok: response.ok, status: response.status, answer: await response.json() };
}

export async function firstAccount(provider: Provider): Promise<Address> {
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
          !isString(n.statement) || !isString(n.scheme) || !isString(n.issued_at) || !Array.isArray(n.chain_ids) ||
          !n.chain_ids.every((c) => typeof c === "number")) {
        throw new Failure(errorMessage(n, nonce.status));
      }
      const allowed = n.chain_ids as number[];
      const current = await ask(wallet.provider, "eth_chainId");
      const walletChain = isString(current) && isHex(current) ? Number(BigInt(current)) : NaN;
      const chainId = allowed.includes(walletChain) ? walletChain : (allowed[0] ?? 1);
      const message = createSiweMessage({
        address, chainId, domain: n.domain, nonce: n.nonce, uri: n.uri, version: "1",
        statement: n.statement, scheme: n.scheme, issuedAt: new Date(n.issued_at),
      });
      this.show("signing");
      const signature = await ask(wallet.provider, "personal_sign", [toHex(message), address]);
      if (!isString(signature) || !isHex(signature)) throw new Failure("The wallet returned no signature.");
      const signed = await postJson(this.root.dataset.signInUrl ?? "", { message, signature });
      const s = signed.answer;
      if (!signed.ok || !isObject(s) || !isString(s.redirect)) throw new Failure(errorMessage(s, signed.status));
      // Back to the page that asked for the sign-in (a path of ours), else where the server says.
      const next = this.root.dataset.next;
      window.location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : s.redirect);
    } catch (e) {
      if (e instanceof Rejected) { this.fail("Not signed in", "You declined the request in your wallet. Nothing was signed."); return; }
      this.fail("Not signed in", e instanceof Error ? e.message : "Signing in did not work.");
    }
  }
}

export function startSignIn(): void {
  const root = document.getElementById("sign-in");
  if (root) void new SignIn(root).start();
}
