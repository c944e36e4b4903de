import { byId, formatNumber, h } from "./dom";
import type { TableRow } from "./module-rows";

/** Rows per page: the table renders one page, so thousands of modules stay fast. */
export const PAGE_SIZE = 100;

type SortKey = "index" | "module" | "type" | "r" | "alpha" | "scaling" | "params" | "norm";

interface Column {
  readonly key: SortKey | null;
  readonly label: string;
  readonly numeric: boolean;
  readonly cell: (row: TableRow) => string | number | null;
  readonly title?: string;
}

const COLUMNS: readonly Column[] = [
  { key: "index", label: "#", numeric: true, cell: (r) => r.index },
  { key: null, label: "adapter", numeric: false, cell: (r) => r.adapter },
  { key: "module", label: "module", numeric: false, cell: (r) => r.module },
  { key: "type", label: "type", numeric: false, cell: (r) => r.type },
  { key: null, label: "structure", numeric: false, cell: (r) => r.structure },
  { key: null, label: "factor shapes", numeric: false, cell: (r) => r.factors },
  { key: null, label: "weight", numeric: false, cell: (r) => r.weightShape },
  { key: "r", label: "rank", numeric: true, cell: (r) => r.r },
  { key: "alpha", label: "alpha", numeric: true, cell: (r) => r.alpha },
  { key: "scaling", label: "scale", numeric: true, cell: (r) => r.scaling },
  { key: "params", label: "parameters", numeric: true, cell: (r) => r.params },
  {
    key: "norm",
    label: "‖ΔW‖F",
    numeric: true,
    cell: (r) => r.norm,
    title: "Frobenius norm of the module's ΔW",
  },
];

function compare(key: SortKey, a: TableRow, b: TableRow): number {
  const x = a[key];
  const y = b[key];
  if (x === y) return a.index - b.index;
  if (x === null) return 1;
  if (y === null) return -1;
  return typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
}

/** The sortable, filterable, paged table of modules (#modules, #filter, #pager in index.html). */
export class ModuleTable {
  #rows: TableRow[] = [];
  #view: TableRow[] = [];
  #page = 0;
  #sort: { key: SortKey; dir: 1 | -1 } = { key: "index", dir: 1 };
  readonly #table = byId<HTMLTableElement>("modules");
  readonly #filter = byId<HTMLInputElement>("filter");
  readonly #status = byId("table-status");
  readonly #onSelect: (row: TableRow) => void;

  constructor(onSelect: (row: TableRow) => void) {
    this.#onSelect = onSelect;
    this.#filter.addEventListener("input", () => {
      this.#page = 0;
      this.#refresh();
    });
    byId("page-prev").addEventListener("click", () => this.#turn(-1));
    byId("page-next").addEventListener("click", () => this.#turn(1));
    this.#renderHead();
  }

  /** Shows a new adapter's rows. */
  setRows(rows: TableRow[]): void {
    this.#rows = rows;
    this.#page = 0;
    this.#refresh();
  }

  /** Re-renders the visible page after norms arrived (no re-sort unless sorted by norm). */
  update(): void {
    if (this.#sort.key === "norm") this.#refresh();
    else this.#renderBody();
  }

  #turn(delta: number): void {
    const pages = Math.max(1, Math.ceil(this.#view.length / PAGE_SIZE));
    this.#page = Math.min(pages - 1, Math.max(0, this.#page + delta));
    this.#renderBody();
  }

  #refresh(): void {
    const q = this.#filter.value.trim().toLowerCase();
    const words = q === "" ? [] : q.split(/\s+/);
    const { key, dir } = this.#sort;
    this.#view = this.#rows
      .filter((r) => words.every((w) => r.search.includes(w)))
      .sort((a, b) => dir * compare(key, a, b));
    this.#renderHead();
    this.#renderBody();
  }

  #renderHead(): void {
    const cells = COLUMNS.map((c) => {
      if (c.key === null) return h("th", { scope: "col" }, c.label);
      const sorted = this.#sort.key === c.key;
      const aria = sorted ? (this.#sort.dir === 1 ? "ascending" : "descending") : null;
      const button = h(
        "button",
        { type: "button", class: "sort", title: c.title ?? `sort by ${c.label}` },
        c.label,
      );
      const key = c.key;
      button.addEventListener("click", () => {
        this.#sort = { key, dir: sorted ? (-this.#sort.dir as 1 | -1) : 1 };
        this.#refresh();
        this.#table.querySelector<HTMLButtonElement>(`th[data-key="${key}"] button`)?.focus();
      });
      return h(
        "th",
        { scope: "col", "aria-sort": aria, "data-key": key, class: c.numeric ? "num" : null },
        button,
      );
    });
    this.#table.tHead?.remove();
    this.#table.createTHead().append(h("tr", {}, ...cells));
  }

  #renderBody(): void {
    const start = this.#page * PAGE_SIZE;
    const visible = this.#view.slice(start, start + PAGE_SIZE);
    const body = h("tbody");
    for (const row of visible) {
      const cells = COLUMNS.map((c) => {
        const v = c.cell(row);
        if (c.key === "module") {
          const b = h(
            "button",
            { type: "button", class: "link", title: "show this module's spectrum" },
            row.module,
          );
          b.addEventListener("click", () => this.#onSelect(row));
          return h("td", { "data-col": "module" }, b);
        }
        if (!c.numeric) return h("td", { "data-col": c.label }, String(v));
        return h(
          "td",
          { class: "num", "data-col": c.key ?? c.label, "data-value": v === null ? "" : String(v) },
          formatNumber(v as number | null),
        );
      });
      body.append(h("tr", { "data-index": row.index }, ...cells));
    }
    for (const b of this.#table.tBodies) b.remove();
    this.#table.append(body);
    const end = start + visible.length;
    const filtered = this.#view.length === this.#rows.length ? "" : ` (filtered from ${this.#rows.length})`;
    this.#status.textContent =
      this.#view.length === 0
        ? `no module matches${filtered}`
        : `modules ${start + 1}–${end} of ${this.#view.length}${filtered}`;
    byId<HTMLButtonElement>("page-prev").disabled = this.#page === 0;
    byId<HTMLButtonElement>("page-next").disabled = end >= this.#view.length;
  }
}
