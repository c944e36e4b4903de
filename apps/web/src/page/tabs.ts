import { byId } from "./dom";

/** The panel tabs (WAI-ARIA tabs: arrow keys move between them, Enter / click selects). */
export function wireTabs(): { select: (name: string) => void } {
  const list = byId("tabs");
  const tabs = [...list.querySelectorAll<HTMLButtonElement>("[role=tab]")];
  const select = (name: string) => {
    for (const t of tabs) {
      const on = t.dataset.panel === name;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      byId(`panel-${t.dataset.panel}`).hidden = !on;
    }
    window.dispatchEvent(new Event("resize"));
  };
  for (const [i, t] of tabs.entries()) {
    t.addEventListener("click", () => select(t.dataset.panel!));
    t.addEventListener("keydown", (e) => {
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (step === 0) return;
      const next = tabs[(i + step + tabs.length) % tabs.length]!;
      next.focus();
      select(next.dataset.panel!);
    });
  }
  select("inspect");
  return { select };
}
