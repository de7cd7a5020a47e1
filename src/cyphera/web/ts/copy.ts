// Copy buttons: a button[data-copy="<input id>"] copies that input's value to the clipboard and
// says so in its section's [data-copied] status. The button is hidden until this script runs:
// without it, the read-only input is still there to select and copy by hand.
function say(status: HTMLElement | null, text: string): void {
  if (status) status.textContent = text;
}

async function copy(input: HTMLInputElement, status: HTMLElement | null): Promise<void> {
  try {
    await navigator.clipboard.writeText(input.value);
    say(status, "Link copied.");
  } catch {
    // No clipboard access (an old browser, a denied permission): select it for Ctrl+C.
    input.focus();
    input.select();
    say(status, "Copy the selected link with Ctrl+C (⌘C on a Mac).");
  }
}

export function startCopyButtons(): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>("button[data-copy]")) {
    const input = document.getElementById(button.dataset.copy ?? "");
    if (!(input instanceof HTMLInputElement)) continue;
    const status = button.closest("section")?.querySelector<HTMLElement>("[data-copied]") ?? null;
    button.hidden = false;
    button.addEventListener("click", () => void copy(input, status));
  }
}
