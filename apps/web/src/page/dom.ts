/** Attributes and children of {@link h}. */
type Attrs = Readonly<Record<string, string | number | boolean | null | undefined>>;
type Child = Node | string | number | null | undefined | false;

/** Creates an element: `h("td", { class: "num" }, "12")`. `false` / `null` attributes are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** A table of text cells with a caption and a header row. */
export function dataTable(
  caption: string,
  head: readonly string[],
  rows: readonly (readonly string[])[],
  id: string,
): HTMLTableElement {
  return h(
    "table",
    { id, class: "data" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
  );
}

/** The element with this id (the page's static skeleton in index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`index.html has no #${id}`);
  return el as T;
}

/** Saves a file the engine produced: a link click (the browser's download). */
export function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A number as the table shows it: integers with thin grouping, others to 6 significant digits. */
export function formatNumber(v: number | null): string {
  if (v === null) return "–";
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Number(v.toPrecision(6)).toString();
}

/** Bytes as KiB / MiB / GiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A shape as `[16, 12]`. */
export const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;
