// Wallets in the page: EIP-6963 discovery (several injected wallets) with the legacy
// window.ethereum as a fallback, EIP-1193 requests with the user's rejection told apart, and the
// small JSON guards every page script uses on what it receives.
export type Json = unknown;
export interface RequestArguments { method: string; params?: unknown[] | object }
export interface Provider { request(args: RequestArguments): Promise<Json> }
export interface ProviderInfo { uuid: string; name: string; icon: string; rdns: string }
export interface Announced { info: ProviderInfo; provider: Provider }

export const USER_REJECTED = 4001;

export class Rejected extends Error {}
export class Failure extends Error {}
/** Any other EIP-1193 error, with its code (4902 unknown chain, -32601 / 4200 unsupported, …). */
export class ProviderError extends Error {
  readonly code: number | undefined;
  constructor(code: number | undefined, message: string) { super(message); this.code = code; }
}

export const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
export const isString = (v: Json): v is string => typeof v === "string";
export const isNullableString = (v: Json): v is string | null => v === null || typeof v === "string";

export function errorCode(e: unknown): number | undefined {
  return isObject(e as Json) && typeof (e as Record<string, Json>).code === "number"
    ? ((e as Record<string, Json>).code as number) : undefined;
}

export function discoverWallets(waitMs = 300): Promise<Announced[]> {
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
  }, waitMs));
}

/** One EIP-1193 request; the user's rejection (4001) becomes `Rejected`, any other error a
 * `ProviderError` with the wallet's code and message. */
export async function ask(provider: Provider, method: string, params?: unknown[]): Promise<Json> {
  try {
    return await provider.request(params === undefined ? { method } : { method, params });
  } catch (e) {
    if (errorCode(e) === USER_REJECTED) throw new Rejected("rejected");
    throw new ProviderError(errorCode(e), isObject(e as Json) && isString((e as Record<string, Json>).message)
      ? (e as Record<string, Json>).message as string : "The wallet could not answer.");
  }
}

/** A button per discovered wallet, its icon only when it is a data: image (CSP allows those). */
export function walletButton(wallet: Announced, onChoose: (w: Announced) => void): HTMLButtonElement {
  const button = document.createElement("button");
  button.type = "button";
  if (wallet.info.icon.startsWith("data:image/")) {
    const icon = document.createElement("img");
    icon.src = wallet.info.icon; icon.alt = "";
    button.append(icon);
  }
  button.append(document.createTextNode(`Connect ${wallet.info.name}`));
  button.addEventListener("click", () => onChoose(wallet));
  return button;
}

/** The API's error message from a JSON answer, or a generic one. */
export function errorMessage(answer: Json, status: number): string {
  return isObject(answer) && isObject(answer.error) && isString(answer.error.message)
    ? answer.error.message : `The server answered ${status}.`;
}

export function errorCodeOf(answer: Json): string | null {
  return isObject(answer) && isObject(answer.error) && isString(answer.error.code) ? answer.error.code : null;
}
