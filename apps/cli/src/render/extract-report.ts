import type { ExtractSummary } from "@lycoris-ts/adapter-files";
import { pad } from "./inspect-report";

function shape(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}

/** A relative error as the report prints it (`3.2e-7`, `0.41`). */
export function formatRelativeError(e: number): string {
  if (e === 0) return "0";
  return e < 1e-3 ? e.toExponential(1) : e.toPrecision(2);
}

/**
 * The per-layer report of `lycoris extract`: one row per extracted module (shape, rank, relative error
 * ‖ΔW − approximation‖/‖ΔW‖, factors), then the changed tensors left out and why.
 */
export function* renderExtract(s: ExtractSummary): Generator<string> {
  const rows = [["module", "shape", "rank", "rel. error", "factors"]];
  for (const l of s.layers)
    rows.push([l.module, shape(l.shape), String(l.rank), formatRelativeError(l.relativeError), l.structure]);
  for (const line of pad(rows)) yield `${line}\n`;
  if (s.otherChanged.length > 0) {
    yield `\n${s.otherChanged.length} changed tensor${s.otherChanged.length === 1 ? "" : "s"} not extracted (the adapter leaves them at their base values):\n`;
    for (const line of pad(s.otherChanged.map((c) => [`  ${c.name}`, shape(c.shape), c.reason])))
      yield `${line}\n`;
  }
}
