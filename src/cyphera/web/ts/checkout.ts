// The hosted checkout's wallet steps: discover wallets (EIP-6963), connect (EIP-1193), switch to
// the session's chain, let the server fix the terms (prepare), show them in words, sign the
// server-built delegation (eth_signTypedData_v4), complete, and follow the first charge.
// Everything it needs comes from attributes of #checkout; every JSON answer is checked first.
import { getAddress, isAddress, isHex, numberToHex } from "viem";

type Json = unknown;
interface RequestArguments { method: string; params?: unknown[] | object }
interface Provider { request(args: RequestArguments): Promise<Json> }
interface ProviderInfo { uuid: string; name: string; icon: string; rdns: string }
interface Announced { info: ProviderInfo; provider: Provider }
interface NetworkOffer { key: string; name: string; chain_id: number; tokens: string[] }
interface Prepared { chain_id: number; customer_address: string; eip712: object; terms: Record<string, string> }
interface Progress {
  status: string; subscription_status: string | null; payment_status: string | null;
  tx_hash: string | null; tx_url: string | null; failure_code: string | null; success_url: string | null;
}

const USER_REJECTED = 4001;
const POLL_MS = 500;
const POLL_LIMIT = 240;

class Rejected extends Error {}
class Failure extends Error {}

const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const isString = (v: Json): v is string => typeof v === "string";
const isNullableString = (v: Json): v is string | null => v === null || typeof v === "string";

function parseNetworks(raw: string): NetworkOffer[] {
  const value: Json = JSON.parse(raw);
  if (!Array.isArray(value)) throw new Failure("bad network list");
  return value.map((n: Json) => {
    if (!isObject(n) || !isString(n.key) || !isString(n.name) || typeof n.chain_id !== "number" ||
        !Array.isArray(n.tokens) || !n.tokens.every(isString)) throw new Failure("bad network");
    return { key: n.key, name: n.name, chain_id: n.chain_id, tokens: n.tokens as string[] };
  });
}

function parsePrepared(v: Json): Prepared {
  if (!isObject(v) || typeof v.chain_id !== "number" || !isString(v.customer_address) ||
      !isAddress(v.customer_address) || !isObject(v.eip712) || !isObject(v.terms)) {
    throw new Failure("The server's answer was not understood.");
  }
  const terms: Record<string, string> = {};
  for (const [k, t] of Object.entries(v.terms)) { if (isString(t)) terms[k] = t; }
  return { chain_id: v.chain_id, customer_address: v.customer_address, eip712: v.eip712, terms };
}

function parseProgress(v: Json): Progress {
  if (!isObject(v) || !isString(v.status) || !isNullableString(v.subscription_status) ||
      !isNullableString(v.payment_status) || !isNullableString(v.tx_hash) || !isNullableString(v.tx_url) ||
      !isNullableString(v.failure_code) || !isNullableString(v.success_url)) {
    throw new Failure("The server's answer was not understood.");
  }
  return v as unknown as Progress;
}

function errorCode(e: unknown): number | undefined {
  return isObject(e as Json) && typeof (e as Record<string, Json>).code === "number"
    ? ((e as Record<string, Json>).code as number) : undefined;
}

function discoverWallets(): Promise<Announced[]> {
  const found = new Map<string, Announced>();
  const onAnnounce = (event: Event): void => {
    const detail = (event as CustomEvent<Json>).detail;
    if (isObject(detail) && isObject(detail.info) && isObject(detail.provider) &&
        isString(detail.info.uuid) && isString(detail.info.name) &&
        typeof (detail.provider as Record<string, Json>).request === "function") {
      found.set(detail.info.uuid, detail as unknown as Announced);
    }
  };
  window.addEventListener("eip6963:announceProvider", onAnnounce);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  return new Promise((resolve) => setTimeout(() => {
    window.removeEventListener("eip6963:announceProvider", onAnnounce);
    const legacy = (window as unknown as { ethereum?: Provider }).ethereum;
    if (found.size === 0 && legacy && typeof legacy.request === "function") {
      found.set("injected", { info: { uuid: "injected", name: "Browser wallet", icon: "", rdns: "" }, provider: legacy });
    }
    resolve([...found.values()]);
  }, 300));
}

class Checkout {
  private readonly root: HTMLElement;
  private readonly key: string;
  private readonly networks: NetworkOffer[];
  private provider: Provider | null = null;
  private prepared: Prepared | null = null;

  constructor(root: HTMLElement) {
    this.root = root;
    this.key = root.dataset.key ?? "";
    this.networks = parseNetworks(root.dataset.networks ?? "[]");
  }

  private el<T extends HTMLElement>(selector: string): T {
    const found = this.root.querySelector<T>(selector);
    if (!found) throw new Failure(`missing ${selector}`);
    return found;
  }

  show(step: string): void {
    this.root.dataset.state = step;
    for (const section of this.root.querySelectorAll<HTMLElement>("[data-step]")) {
      section.hidden = section.dataset.step !== step;
    }
    const heading = this.root.querySelector<HTMLElement>(`[data-step="${step}"] h1`);
    heading?.setAttribute("tabindex", "-1");
    heading?.focus();
  }

  private fail(message: string): void {
    this.el("[data-error=message]").textContent = message;
    this.show("error");
  }

  async start(): Promise<void> {
    const networkSelect = this.el<HTMLSelectElement>("#network");
    networkSelect.addEventListener("change", () => this.fillTokens());
    this.el<HTMLButtonElement>("#connect").addEventListener("click", () => void this.connect());
    this.el<HTMLButtonElement>("#approve").addEventListener("click", () => void this.approve());
    for (const b of this.root.querySelectorAll<HTMLButtonElement>("[data-action=restart]")) {
      b.addEventListener("click", () => this.show("choose"));
    }
    const wallets = await discoverWallets();
    if (wallets.length === 0) { this.show("no-wallet"); return; }
    this.provider = wallets[0]?.provider ?? null;
    if (wallets.some((w) => w.info.uuid !== "injected")) this.listWallets(wallets);
  }

  private fillTokens(): void {
    const chosen = this.networks.find((n) => n.key === this.el<HTMLSelectElement>("#network").value);
    const tokens = this.el<HTMLSelectElement>("#token");
    tokens.replaceChildren(...(chosen?.tokens ?? []).map((symbol) => new Option(symbol, symbol)));
  }

  private listWallets(wallets: Announced[]): void {
    const list = this.el("#wallets");
    list.replaceChildren(...wallets.map((w) => {
      const button = document.createElement("button");
      button.type = "button";
      if (w.info.icon.startsWith("data:image/")) {
        const icon = document.createElement("img");
        icon.src = w.info.icon; icon.alt = "";
        button.append(icon);
      }
      button.append(document.createTextNode(`Connect ${w.info.name}`));
      button.addEventListener("click", () => { this.provider = w.provider; void this.connect(); });
      return button;
    }));
    this.el("#connect").hidden = true;
  }

  private async call(method: string, params?: unknown[]): Promise<Json> {
    if (!this.provider) throw new Failure("No wallet connected.");
    try {
      return await this.provider.request(params === undefined ? { method } : { method, params });
    } catch (e) {
      if (errorCode(e) === USER_REJECTED) throw new Rejected("rejected");
      throw e;
    }
  }

  private async post(url: string, body: object): Promise<Json> {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Cyphera-Checkout-Key": this.key },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const answer: Json = await response.json();
    if (!response.ok) {
      const message = isObject(answer) && isObject(answer.error) && isString(answer.error.message)
        ? answer.error.message : `The server answered ${response.status}.`;
      throw new Failure(message);
    }
    return answer;
  }

  private async guard(work: () => Promise<void>): Promise<void> {
    try { await work(); } catch (e) {
      if (e instanceof Rejected) { this.show("rejected"); return; }
      this.fail(e instanceof Error ? e.message : "The payment could not be completed.");
    }
  }

  connect(): Promise<void> {
    return this.guard(async () => {
      const network = this.networks.find((n) => n.key === this.el<HTMLSelectElement>("#network").value);
      if (!network) throw new Failure("Choose a network.");
      const accounts = await this.call("eth_requestAccounts");
      if (!Array.isArray(accounts) || !isString(accounts[0]) || !isAddress(accounts[0])) {
        throw new Failure("The wallet shared no account.");
      }
      const address = getAddress(accounts[0]);
      const chainId = await this.call("eth_chainId");
      if (!isString(chainId) || !isHex(chainId) || Number(BigInt(chainId)) !== network.chain_id) {
        await this.call("wallet_switchEthereumChain", [{ chainId: numberToHex(network.chain_id) }]);
      }
      const prepared = parsePrepared(await this.post(this.root.dataset.prepareUrl ?? "", {
        customer_address: address, network: network.key, token: this.el<HTMLSelectElement>("#token").value,
      }));
      this.prepared = prepared;
      for (const [name, text] of Object.entries(prepared.terms)) {
        for (const slot of this.root.querySelectorAll<HTMLElement>(`[data-term="${name}"]`)) slot.textContent = text;
      }
      this.show("review");
    });
  }

  approve(): Promise<void> {
    return this.guard(async () => {
      const prepared = this.prepared;
      if (!prepared) throw new Failure("Connect your wallet first.");
      this.show("working");
      const signature = await this.call("eth_signTypedData_v4", [prepared.customer_address, JSON.stringify(prepared.eip712)]);
      if (!isString(signature) || !isHex(signature)) throw new Failure("The wallet returned no signature.");
      this.mark("granted");
      this.el("[data-progress=title]").textContent = "Collecting the first charge…";
      let progress = parseProgress(await this.post(this.root.dataset.completeUrl ?? "", { signature }));
      for (let i = 0; i < POLL_LIMIT && !this.settled(progress); i += 1) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        const response = await fetch(this.root.dataset.statusUrl ?? "", {
          headers: { "Cyphera-Checkout-Key": this.key }, credentials: "same-origin",
        });
        if (response.ok) progress = parseProgress(await response.json());
      }
      this.finish(progress);
    });
  }

  private mark(stage: string): void {
    this.root.querySelector(`[data-progress="${stage}"]`)?.classList.add("done");
  }

  private settled(p: Progress): boolean {
    return p.payment_status === "succeeded" || p.payment_status === "failed" || p.subscription_status === "trialing";
  }

  private finish(p: Progress): void {
    if (p.tx_hash) {
      this.mark("submitted");
      this.el("[data-progress=tx]").textContent = p.tx_hash;
      this.el("[data-progress=tx-done]").textContent = p.tx_hash;
    }
    if (p.payment_status === "failed") throw new Failure(`The first charge failed (${p.failure_code ?? "unknown"}). Nothing else was charged.`);
    if (!this.settled(p)) throw new Failure("The first charge is taking longer than usual; this page's link shows its progress.");
    this.mark("confirmed");
    this.show("done");
    const next = this.root.dataset.successUrl;
    if (next) setTimeout(() => window.location.assign(next), 1500);
    else this.el("[data-progress=redirect]").hidden = true;
  }
}

const root = document.getElementById("checkout");
if (root) void new Checkout(root).start();
