import type { InspectReport } from "@lycoris-ts/adapter-files";
import { shapeText } from "./dom";

/** One row of the module table: the inspect report's numbers, flattened, plus ‖ΔW‖ once computed. */
export interface TableRow {
  readonly index: number;
  readonly adapter: string;
  readonly module: string;
  readonly type: string;
  readonly structure: string;
  /** `name [shape]` of every stored factor. */
  readonly factors: string;
  readonly weightShape: string;
  readonly r: number | null;
  readonly alpha: number | null;
  readonly scaling: number | null;
  readonly params: number;
  norm: number | null;
  /** Lower-cased text the filter matches. */
  readonly search: string;
}

/** The report's modules, adapter by adapter, in file order (the order the engine numbers them). */
export function tableRows(report: InspectReport): TableRow[] {
  const rows: TableRow[] = [];
  for (const a of report.adapters) {
    for (const m of a.modules) {
      const factors = m.params.map((p) => `${p.name} ${shapeText(p.shape)}`).join(", ");
      const type = m.peftType ?? "unknown";
      rows.push({
        index: rows.length,
        adapter: a.name,
        module: m.module,
        type,
        structure: m.summary,
        factors,
        weightShape: m.weightShape === null ? "–" : shapeText(m.weightShape),
        r: m.r,
        alpha: m.alpha,
        scaling: m.scaling,
        params: m.numParams,
        norm: null,
        search: `${a.name} ${m.module} ${type} ${m.summary}`.toLowerCase(),
      });
    }
  }
  return rows;
}
