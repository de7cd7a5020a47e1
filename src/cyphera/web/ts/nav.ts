// The dashboard nav on a narrow screen is one row that scrolls sideways (dashboard.css): the
// current page's link is brought into view when a page opens, and a link that takes the keyboard
// focus is scrolled wholly into view (browsers stop at "partly visible", under the edge shadow).
function fit(nav: HTMLElement, link: HTMLElement, centred: boolean): void {
  if (nav.scrollWidth <= nav.clientWidth) return;
  const margin = 16; // the shadow's width: a link under it is hard to read
  const left = link.offsetLeft - nav.offsetLeft;
  const right = left + link.offsetWidth;
  if (centred) {
    nav.scrollLeft = Math.max(0, left - (nav.clientWidth - link.offsetWidth) / 2);
  } else if (left - margin < nav.scrollLeft) {
    nav.scrollLeft = Math.max(0, left - margin);
  } else if (right + margin > nav.scrollLeft + nav.clientWidth) {
    nav.scrollLeft = right + margin - nav.clientWidth;
  }
}

export function startNav(): void {
  const nav = document.querySelector<HTMLElement>(".dash-nav");
  if (!nav) return;
  const current = nav.querySelector<HTMLElement>("a[aria-current=page]");
  if (current) fit(nav, current, true);
  nav.addEventListener("focusin", (event) => {
    if (event.target instanceof HTMLElement) fit(nav, event.target, false);
  });
}
