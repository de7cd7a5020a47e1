// The hosted checkout's wallet steps: discover wallets (EIP-6963), connect (EIP-1193), switch to
// the session's chain, let the server fix the terms (prepare), show them in words, sign the
// server-built delegation (eth_signTypedData_v4) — or ask for the same terms as an ERC-7715 permission
// where the wallet grants those — complete, and follow the first charge. Before asking, it reads
// the wallet's token balance and account code, to say what is wrong instead of failing later.
// Everything it needs comes from attributes of #checkout; every JSON answer is checked first, and
// every amount comes from the server (the page compares, it never computes a price).
import {
  decodeFunctionResult, encodeFunctionData, erc20Abi, formatUnits, getAddress, isAddress, isHex, numberToHex,
} from "viem";
import {
  Failure, ProviderError, Rejected, ask, discoverWallets, errorMessage, isNullableString, isObject, isString,
  walletButton, type Announced, type Json, type Provider,
} from "./wallet";

interface NetworkOffer { key: string; name: string; chain_id: number; tokens: string[] }
interface PreparedToken { symbol: string; address: `0x${string}`; decimals: number }
interface FirstCharge {
  amount: bigint; display: string; is_due_now: boolean; date: string; sentence: string; discount: string | null;
}
interface Prepared {
  chain_id: number; network_name: string; customer_address: `0x${string}`; eip712: object; erc7715: object;
  token: PreparedToken; first_charge: FirstCharge; terms: Record<string, string>;
}
interface Grant { context: `0x${string}`; delegationManager: string; [field: string]: Json }
interface Progress {
  status: string; subscription_status: string | null; payment_status: string | null;
  tx_hash: string | null; tx_url: string | null; failure_code: string | null; success_url: string | null;
}

const UNRECOGNIZED_CHAIN = 4902;
// A wallet without ERC-7715 answers "method not found" (JSON-RPC) or "unsupported method" (EIP-1193).
const METHOD_NOT_FOUND = -32601;
const UNSUPPORTED_METHOD = 4200;
const POLL_MS = 500;
const POLL_LIMIT = 240;


function parseNetworks(raw: string): NetworkOffer[] {
  const value: Json = JSON.parse(raw);
  if (!Array.isArray(value)) throw new Failure("bad network list");
  return value.map((n: Json) => {
    if (!isObject(n) || !isString(n.key) || !isString(n.name) || typeof n.chain_id !== "number" ||
        !Array.isArray(n.tokens) || !n.tokens.every(isString)) throw new Failure("bad network");
    return { key: n.key, name: n.name, chain_id: n.chain_id, tokens: n.tokens as string[] };
  });
}

const UNDERSTOOD = "The server's answer was not understood.";

function parseToken(v: Json): PreparedToken {
  if (!isObject(v) || !isString(v.symbol) || !isString(v.address) || !isAddress(v.address) ||
      typeof v.decimals !== "number" || !Number.isInteger(v.decimals) || v.decimals < 0) throw new Failure(UNDERSTOOD);
  return { symbol: v.symbol, address: v.address, decimals: v.decimals };
}

function parseFirstCharge(v: Json): FirstCharge {
  if (!isObject(v) || !isString(v.amount) || !/^[0-9]+$/.test(v.amount) || !isString(v.display) ||
      typeof v.is_due_now !== "boolean" || !isString(v.date) || !isString(v.sentence) ||
      !isNullableString(v.discount)) throw new Failure(UNDERSTOOD);
  return {
    amount: BigInt(v.amount), display: v.display, is_due_now: v.is_due_now, date: v.date,
    sentence: v.sentence, discount: v.discount,
  };
}

function parsePrepared(v: Json): Prepared {
  if (!isObject(v) || typeof v.chain_id !== "number" || !isString(v.network_name) ||
      !isString(v.customer_address) || !isAddress(v.customer_address) || !isObject(v.eip712) ||
      !isObject(v.erc7715) || !isObject(v.terms)) {
    throw new Failure(UNDERSTOOD);
  }
  const terms: Record<string, string> = {};
  for (const [k, t] of Object.entries(v.terms)) { if (isString(t)) terms[k] = t; }
  return {
    chain_id: v.chain_id, network_name: v.network_name, customer_address: v.customer_address,
    eip712: v.eip712, erc7715: v.erc7715, token: parseToken(v.token),
    first_charge: parseFirstCharge(v.first_charge), terms,
  };
}

// One item of the wallet's wallet_requestExecutionPermissions answer: the server checks the rest.
function parseGrant(v: Json): Grant {
  const item = Array.isArray(v) ? (v[0] as Json) : v;
  if (!isObject(item) || !isString(item.context) || !isHex(item.context) || item.context.length < 4 ||
      !isString(item.delegationManager) || !isAddress(item.delegationManager)) {
    throw new Failure("The wallet's permission was not understood.");
  }
  return item as Grant;
}

// Display only: a token amount with at least two decimals, as the server writes them.
function tokenAmount(units: bigint, token: PreparedToken): string {
  const [whole, fraction = ""] = formatUnits(units, token.decimals).split(".");
  return `${whole ?? "0"}.${fraction.replace(/0+$/, "").padEnd(2, "0")} ${token.symbol}`;
}

function parseProgress(v: Json): Progress {
  if (!isObject(v) || !isString(v.status) || !isNullableString(v.subscription_status) ||
      !isNullableString(v.payment_status) || !isNullableString(v.tx_hash) || !isNullableString(v.tx_url) ||
      !isNullableString(v.failure_code) || !isNullableString(v.success_url)) {
    throw new Failure("The server's answer was not understood.");
  }
  return v as unknown as Progress;
}

class Checkout {
  private readonly root: HTMLElement;
  private readonly key: string;
  private readonly networks: NetworkOffer[];
  private provider: Provider | null = null;
  private prepared: Prepared | null = null;
  // Whether the account has code (7702-upgraded or a smart account); null when the wallet could not say.
  private hasCode: boolean | null = null;

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
    for (const b of this.root.querySelectorAll<HTMLButtonElement>("[data-action=connect]")) {
      b.addEventListener("click", () => void this.connect());
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
    list.replaceChildren(...wallets.map((w) => walletButton(w, (chosen) => {
      this.provider = chosen.provider; void this.connect();
    })));
    this.el("#connect").hidden = true;
  }

  private async call(method: string, params?: unknown[]): Promise<Json> {
    if (!this.provider) throw new Failure("No wallet connected.");
    return ask(this.provider, method, params);
  }

  // Switch to the session's chain; a refusal (or a chain the wallet does not know) is a state the
  // customer can act on, not an error.
  private async switchTo(network: NetworkOffer): Promise<boolean> {
    const onChain = async (): Promise<boolean> => {
      const chainId = await this.call("eth_chainId");
      return isString(chainId) && isHex(chainId) && Number(BigInt(chainId)) === network.chain_id;
    };
    if (await onChain()) return true;
    try {
      await this.call("wallet_switchEthereumChain", [{ chainId: numberToHex(network.chain_id) }]);
    } catch (e) {
      if (!(e instanceof Rejected) && !(e instanceof ProviderError && e.code === UNRECOGNIZED_CHAIN)) throw e;
    }
    if (await onChain()) return true;
    this.el("[data-message=network]").textContent =
      `Your wallet is on another network. Switch your wallet to ${network.name} ` +
      `(chain id ${network.chain_id}), adding that network to it if it is missing, then try again.`;
    this.show("wrong-network");
    return false;
  }

  // Reads through the wallet, on the chain it was just switched to. They only inform: a wallet
  // that cannot answer them is let through, and the server and the chain decide.
  private async tokenBalance(prepared: Prepared): Promise<bigint | null> {
    try {
      const data = encodeFunctionData({ abi: erc20Abi, functionName: "balanceOf", args: [prepared.customer_address] });
      const answer = await this.call("eth_call", [{ to: prepared.token.address, data }, "latest"]);
      if (!isString(answer) || !isHex(answer)) return null;
      return decodeFunctionResult({ abi: erc20Abi, functionName: "balanceOf", data: answer });
    } catch (e) {
      if (e instanceof Rejected) throw e;
      return null;
    }
  }

  private async accountHasCode(address: string): Promise<boolean | null> {
    try {
      const code = await this.call("eth_getCode", [address, "latest"]);
      if (!isString(code) || !isHex(code)) return null;
      return BigInt(code === "0x" ? 0 : code) !== 0n;
    } catch (e) {
      if (e instanceof Rejected) throw e;
      return null;
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
    if (!response.ok) throw new Failure(errorMessage(answer, response.status));
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
      if (!(await this.switchTo(network))) return;
      const prepared = parsePrepared(await this.post(this.root.dataset.prepareUrl ?? "", {
        customer_address: address, network: network.key, token: this.el<HTMLSelectElement>("#token").value,
      }));
      this.prepared = prepared;
      const charge = prepared.first_charge;
      const texts = { ...prepared.terms, first_charge: charge.sentence, discount_label: charge.discount ?? "" };
      for (const [name, text] of Object.entries(texts)) {
        for (const slot of this.root.querySelectorAll<HTMLElement>(`[data-term="${name}"]`)) slot.textContent = text;
      }
      this.el("[data-term=discount]").hidden = charge.discount === null;
      this.hasCode = await this.accountHasCode(prepared.customer_address);
      const balance = await this.tokenBalance(prepared);
      const short = balance !== null && balance < charge.amount;
      const holds = balance === null ? "" : `This wallet holds ${tokenAmount(balance, prepared.token)}`;
      if (short && charge.is_due_now) {
        this.el("[data-message=funds]").textContent =
          `${holds}; the first charge is ${charge.display}. Add funds or connect another wallet.`;
        this.show("insufficient");
        return;
      }
      const notice = this.el("[data-notice=funds]");
      notice.hidden = !short;
      notice.textContent = short
        ? `${holds}; the first charge, ${charge.display} on ${charge.date}, needs more. Add funds before then.` : "";
      this.show("review");
    });
  }

  approve(): Promise<void> {
    return this.guard(async () => {
      const prepared = this.prepared;
      if (!prepared) throw new Failure("Connect your wallet first.");
      this.show("working");
      const proof = await this.grantOrSignature(prepared);
      if (proof === null) { this.show("standard-account"); return; }
      performance.mark("cyphera:granted");
      this.mark("granted");
      this.el("[data-progress=title]").textContent = prepared.first_charge.is_due_now
        ? "Collecting the first charge…" : "Starting your trial…";
      let progress = parseProgress(await this.post(this.root.dataset.completeUrl ?? "", proof));
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

  // ERC-7715 where the wallet grants it; otherwise an EIP-712 signature, which only an account
  // with code (7702-upgraded or smart) can give in a form the framework accepts: null for a plain one.
  private async grantOrSignature(prepared: Prepared): Promise<{ grant: Grant } | { signature: string } | null> {
    try {
      return { grant: parseGrant(await this.call("wallet_requestExecutionPermissions", [prepared.erc7715])) };
    } catch (e) {
      if (!(e instanceof ProviderError && (e.code === METHOD_NOT_FOUND || e.code === UNSUPPORTED_METHOD))) throw e;
    }
    if (this.hasCode === false) return null;
    const signature = await this.call("eth_signTypedData_v4", [prepared.customer_address, JSON.stringify(prepared.eip712)]);
    if (!isString(signature) || !isHex(signature)) throw new Failure("The wallet returned no signature.");
    return { signature };
  }

  private mark(stage: string): void {
    this.root.querySelector(`[data-progress="${stage}"]`)?.classList.add("done");
  }

  private settled(p: Progress): boolean {
    return p.payment_status === "succeeded" || p.payment_status === "failed" || p.subscription_status === "trialing" ||
      (p.payment_status === null && p.subscription_status === "active");
  }

  private finish(p: Progress): void {
    if (p.tx_hash) {
      this.mark("submitted");
      this.el("[data-progress=tx]").textContent = p.tx_hash;
      this.el("[data-progress=tx-done]").textContent = p.tx_hash;
      this.el("[data-progress=tx-line]").hidden = false;
    }
    if (p.payment_status === "failed") throw new Failure(`The first charge failed (${p.failure_code ?? "unknown"}). Nothing else was charged.`);
    if (!this.settled(p)) throw new Failure("The first charge is taking longer than usual; this page's link shows its progress.");
    this.mark("confirmed");
    if (this.root.dataset.purpose === "subscription_update") {
      this.el("[data-done=title]").textContent = "Your plan is changed";
      this.el("[data-done=detail]").textContent = p.tx_hash
        ? "The charge for the change is confirmed on-chain, under your new permission."
        : "Nothing was charged now; the change shows on your next invoice.";
    } else if (p.subscription_status === "trialing") {
      this.el("[data-done=title]").textContent = "Your trial has started";
      this.el("[data-done=detail]").textContent = "Nothing was charged now; the first charge is at the end of the trial.";
    }
    this.show("done");
    performance.mark("cyphera:confirmed");
    const next = this.root.dataset.successUrl;
    if (next) setTimeout(() => window.location.assign(next), 1500);
    else this.el("[data-progress=redirect]").hidden = true;
  }
}

const root = document.getElementById("checkout");
if (root) void new Checkout(root).start();
