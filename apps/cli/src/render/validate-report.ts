import type { ValidateReport } from "@lycoris-ts/adapter-files";

const MARK = { ok: "✓", warning: "!", error: "✗" } as const;

/** The human-readable validation report. */
export function renderValidate(report: ValidateReport): string {
  const lines = [`validate ${report.path}${report.base === null ? "" : ` against ${report.base}`}`];
  for (const a of report.adapters) {
    lines.push(`adapter "${a.name}" (${a.peftType}, ${a.modules} modules)`);
    for (const c of a.checks) lines.push(`  ${MARK[c.level]} ${c.subject}: ${c.message}`);
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  lines.push(
    `result: ${report.ok ? "valid" : "INVALID"} (${plural(report.errors, "error")}, ${plural(report.warnings, "warning")})`,
  );
  return lines.join("\n");
}
