import { type InspectReport, shapeText } from "@lycoris-ts/adapter-files";

const FORMAT_NAMES = {
  "peft-directory": "PEFT adapter directory",
  "peft-safetensors": "PEFT adapter weights (safetensors, no config)",
  "kohya-safetensors": "kohya/LyCORIS safetensors",
} as const;

/** `1234567` → `1,234,567`. */
export function groupDigits(n: number): string {
  return n.toLocaleString("en-US");
}

/** Bytes in B / KiB / MiB / GiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

function num(v: number | null): string {
  if (v === null) return "?";
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

/** Rows as aligned columns (two spaces apart; the last column unpadded). */
export function* pad(rows: readonly string[][]): Generator<string> {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, c] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  for (const row of rows) {
    yield row
      .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  }
}

/** The config keys shown: the shared ones around the variant's own (`variantOptions`). */
const configKeys = (variantOptions: readonly string[]) => [
  ...["r", "alpha", "target_modules", "exclude_modules"],
  ...variantOptions,
  ...["rank_pattern", "alpha_pattern", "modules_to_save", "layers_to_transform"],
];

/** The human-readable `inspect` report, line by line (any number of modules: nothing is spread or joined). */
export function* renderInspect(report: InspectReport): Generator<string> {
  yield `${report.path}: ${FORMAT_NAMES[report.format]}`;
  for (const a of report.adapters) {
    yield "";
    yield `adapter "${a.name}" (${a.peftType ?? "unknown type"}) — ${a.weightsPath}`;
    if (a.config !== null) {
      const parts = configKeys(a.variantOptions)
        .filter((k) => {
          const v = a.config![k];
          return v !== undefined && v !== null && !(typeof v === "object" && Object.keys(v).length === 0);
        })
        .map((k) => `${k}=${JSON.stringify(a.config![k])}`);
      yield `  config: ${parts.join(" ")}`;
    }
    const rows: string[][] = [["  module", "structure", "r", "alpha", "scaling", "ΔW", "parameters"]];
    for (const m of a.modules) {
      const delta =
        m.weightShape !== null
          ? shapeText(m.weightShape)
          : m.deltaMatrixShape !== null
            ? `[${m.deltaMatrixShape[0]}, ${m.deltaMatrixShape[1]}] (in×kernel)`
            : "?";
      rows.push([
        `  ${m.module}`,
        m.summary,
        num(m.r),
        num(m.alpha),
        num(m.scaling),
        delta,
        m.params.map((p) => `${p.name} ${shapeText(p.shape)}`).join(", "),
      ]);
    }
    yield* pad(rows);
    for (const m of a.modules) for (const p of m.problems) yield `  ! ${m.module}: ${p}`;
    if (a.replacedTensors.length > 0)
      yield `  full copies (modules_to_save): ${a.replacedTensors.join(", ")}`;
    if (a.baseLayerTensors.length > 0) yield `  saved base-layer weights: ${a.baseLayerTensors.join(", ")}`;
    yield `  ${a.totals.modules} modules, ${a.totals.tensors} tensors, ${groupDigits(a.totals.parameters)} parameters, ${formatBytes(a.totals.bytes)}`;
  }
  const t = report.totals;
  yield "";
  yield `total: ${t.adapters} adapter${t.adapters === 1 ? "" : "s"}, ${t.modules} modules, ${t.tensors} tensors, ${groupDigits(t.parameters)} parameters, ${formatBytes(t.bytes)}`;
}
