import type { LoraConversion } from "@lycoris-ts/lora";
import { pad } from "./inspect-report";

const pct = (x: number) => `${(100 * x).toFixed(x >= 0.99995 || x === 0 ? 2 : 4)}%`;

/** The per-layer report of a conversion to LoRA: rank, energy kept, relative error; then the warnings. */
export function renderLoraConversion(input: string, out: string, c: LoraConversion): string {
  const rows = [["module", "kind", "ΔW matrix", "rank", "r", "energy kept", "rel. error"]];
  for (const l of c.layers) {
    rows.push([
      l.module,
      l.kind,
      `${l.matrixShape[0]}×${l.matrixShape[1]}`,
      String(l.rank),
      String(l.r),
      pct(l.energyKept),
      l.relativeError.toExponential(3),
    ]);
  }
  const worst = c.layers.reduce((w, l) => Math.max(w, l.relativeError), 0);
  const params = [...c.weights.values()].reduce((n, t) => n + t.data.length, 0);
  return [
    `converted ${input} to a LoRA adapter: ${out} (${c.layers.length} layers, r=${c.config.r}, ${Object.keys(c.config.rankPattern).length} rank patterns, ${params} parameters)`,
    ...pad(rows),
    `worst relative error ‖ΔW − B·A‖/‖ΔW‖: ${worst.toExponential(3)}`,
    ...c.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}
