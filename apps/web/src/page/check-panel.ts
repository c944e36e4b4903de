import type { BaseCheck } from "../engine/protocol";
import { byId, h } from "./dom";

function table(caption: string, head: readonly string[], rows: readonly (readonly string[])[], id: string) {
  return h(
    "table",
    { id, class: "data" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
  );
}

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
          "Only the keys are checked: shapes are validated for a PEFT folder (with its config).",
        )
      : table(
          "Checks (the file engine's validation)",
          ["level", "adapter", "subject", "message"],
          checks,
          "checks",
        ),
  ];
  if (check.keyMap !== null) {
    const km = check.keyMap;
    const bad = km.entries.filter((e) => e.message !== null);
    parts.push(
      table(
        `ComfyUI key map (${km.family}: ${km.components.join(", ")}): ${km.entries.length - bad.length} of ${km.entries.length} keys placed`,
        ["key", "status", "message", "closest"],
        bad.map((e) => [e.moduleKey, e.status, e.message ?? "", e.closest.map((c) => c.key).join(", ")]),
        "key-map",
      ),
    );
  } else if (check.keyMapNote !== null) {
    parts.push(h("p", { class: "note" }, `No ComfyUI key map: ${check.keyMapNote}`));
  }
  out.replaceChildren(...parts);
}

function rank(level: string): number {
  return level === "error" ? 0 : level === "warning" ? 1 : 2;
}
