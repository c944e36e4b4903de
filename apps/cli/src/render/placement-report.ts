import type { PlacementReport } from "@lycoris-ts/adapter-files";
import type { KeyMapTarget, RowSlice } from "@lycoris-ts/lycoris-format";
import { pad } from "./inspect-report";

const keys = (n: number): string => `${n} module key${n === 1 ? "" : "s"}`;
const rows = (s: RowSlice | null): string => (s === null ? "" : `rows [${s.start}, ${s.start + s.size})`);

function targetCells(t: KeyMapTarget): string[] {
  return [
    t.tensor ?? `(${t.comfyKey}: not in the checkpoint)`,
    rows(t.slice),
    t.function ?? "",
    t.applied ? "applied" : "NOT APPLIED",
  ];
}

/**
 * The human-readable `inspect --base` report, line by line: the key mapping (adapter module key,
 * kind, → checkpoint tensor, rows, function, applied or not; a bias target on its own line), the
 * problems of mapped keys, every key that is not placed with the reason and the closest base names,
 * the tensors the loaders do not read, and the totals.
 */
export function* renderPlacement(report: PlacementReport): Generator<string> {
  yield report.family === "generic"
    ? `${report.adapter} onto ${report.base}: generic model (keys name its modules: kohya prefixes or module paths)`
    : `${report.adapter} onto ${report.base}: ${report.family} checkpoint (${report.components.join(", ")})`;
  const mapped = report.entries.filter((e) => e.targets.length > 0);
  yield "";
  yield `key mapping (${keys(mapped.length)}):`;
  const table: string[][] = [["  module key", "kind", "part", "→ checkpoint tensor", "rows", "function", ""]];
  for (const e of mapped) {
    for (const t of e.targets) table.push([`  ${e.moduleKey}`, e.kind ?? "", t.part, ...targetCells(t)]);
  }
  yield* pad(table);
  for (const e of mapped) if (e.message !== null) yield `  ! ${e.message}`;
  const unplaced = report.entries.filter((e) => e.targets.length === 0);
  if (unplaced.length > 0) {
    yield "";
    yield `not placed (${keys(unplaced.length)}):`;
    for (const e of unplaced) {
      yield `  ${e.message ?? e.moduleKey}`;
      if (e.closest.length > 0) {
        const near = e.closest.map(
          (c) => `${c.key} (${c.tensor}${c.slice === null ? "" : ` ${rows(c.slice)}`})`,
        );
        yield `    closest: ${near.join(", ")}`;
      }
    }
  }
  if (report.notLoaded.length > 0) {
    yield "";
    yield `not loaded (${report.notLoaded.length} tensor${report.notLoaded.length === 1 ? "" : "s"}):`;
    for (const n of report.notLoaded) yield `  ${n}`;
  }
  const t = report.totals;
  yield "";
  yield `${keys(t.moduleKeys)}: ${t.placed} placed, ${t.notApplied} mapped but not applied, ${t.notPlaced} not placed; ${t.tensors} tensors, ${t.notLoaded} not loaded`;
}
