import type { AdapterKeyMap, KeyMapEntry, RowSlice } from "@lycoris-ts/lycoris-format";
import type { BaseCheck } from "../engine/protocol";
import { byId, h, dataTable as table } from "./dom";

/** Renders a check against the base: validation, unplaced keys with closest names, the ComfyUI key map. */
export function renderCheck(check: BaseCheck): void {
  const out = byId("check-result");
  const v = check.validation ?? { errors: check.unplaced.length, warnings: 0, adapters: [] };
  const ok = v.errors === 0;
  const verdict = ok
    ? `fits the base: no errors${v.warnings > 0 ? `, ${v.warnings} warnings` : ""}`
    : `${v.errors} problem${v.errors === 1 ? "" : "s"}${v.warnings > 0 ? `, ${v.warnings} warnings` : ""}`;
  const checks = v.adapters.flatMap((a) =>
    [...a.checks]
      .sort((x, y) => rank(x.level) - rank(y.level))
      .map((c) => [c.level, a.name, c.subject, c.message] as const),
  );
  const parts: Node[] = [
    h("p", { id: "check-verdict", class: ok ? "ok" : "bad", role: "status" }, verdict),
    table(
      `Keys the base model does not have (${check.unplaced.length})`,
      ["adapter key", "problem", "closest base names"],
      check.unplaced.map((u) => [u.key, u.message, u.closest.join(", ") || "–"]),
      "unplaced",
    ),
    check.validation === null
      ? h(
          "p",
          { class: "note" },
          check.keyMap === null
            ? "Only the keys are checked: shapes are validated for a PEFT folder (with its config)."
            : "Keys are placed by ComfyUI's key map (below); patch shapes are checked when merging.",
        )
      : table(
          "Checks (the file engine's validation)",
          ["level", "adapter", "subject", "message"],
          checks,
          "checks",
        ),
  ];
  if (check.keyMap !== null) parts.push(...keyMapTables(check.keyMap));
  else if (check.keyMapNote !== null) {
    parts.push(h("p", { class: "note" }, `No ComfyUI key map: ${check.keyMapNote}`));
  }
  out.replaceChildren(...parts);
}

function rank(level: string): number {
  return level === "error" ? 0 : level === "warning" ? 1 : 2;
}

const rowsText = (s: RowSlice | null): string =>
  s === null ? "all" : `${s.dim === 0 ? "rows" : `dim ${s.dim}`} ${s.start}–${s.start + s.size - 1}`;

/** One row per patched base parameter (an entry without targets: one row); `data-target` holds the target as JSON. */
function keyMapRows(e: KeyMapEntry): HTMLTableRowElement[] {
  const note =
    e.message ?? (e.closest.length > 0 ? `closest: ${e.closest.map((c) => c.key).join(", ")}` : "");
  const targets = e.targets.length > 0 ? e.targets : [null];
  return targets.map((t) =>
    h(
      "tr",
      {
        "data-key": e.moduleKey,
        "data-status": e.status,
        "data-target": t === null ? null : JSON.stringify({ kind: e.kind, ...t }),
      },
      ...[
        e.moduleKey,
        e.status,
        e.kind ?? "–",
        t === null ? "–" : `${t.comfyKey}${t.function === null ? "" : ` (${t.function})`}`,
        t?.tensor ?? "–",
        t === null ? "–" : rowsText(t.slice),
        note,
      ].map((c) => h("td", {}, c)),
    ),
  );
}

/**
 * ComfyUI's key map: every adapter key with the checkpoint tensor (and rows) it patches, then the
 * adapter tensors the loader does not load.
 */
function keyMapTables(km: AdapterKeyMap): Node[] {
  const placed = km.entries.filter((e) => e.status === "placed").length;
  const head = ["adapter key", "status", "kind", "ComfyUI key", "checkpoint tensor", "rows", "note"];
  return [
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { id: "key-map", class: "data" },
        h(
          "caption",
          {},
          km.family === "generic"
            ? `Key map (a generic model: keys resolved by the file's prefixes): ${placed} of ${km.entries.length} keys placed`
            : `ComfyUI key map (${km.family}: ${km.components.join(", ")}): ${placed} of ${km.entries.length} keys placed`,
        ),
        h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, ...km.entries.flatMap(keyMapRows)),
      ),
    ),
    table(
      `Adapter tensors ComfyUI does not load (${km.notLoaded.length})`,
      ["tensor"],
      km.notLoaded.map((t) => [t]),
      "not-loaded",
    ),
  ];
}
