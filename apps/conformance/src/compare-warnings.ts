import { PEFT_SILENT_WARNINGS, type PeftSilentWarning } from "@lycoris-ts/lycoris-config";
import { Mismatch } from "./compare";

/**
 * The warnings rule: every warning PEFT emitted must appear among ours (as often as PEFT emitted it), and
 * each of ours that PEFT did not emit must be in the documented list of things PEFT accepts silently
 * (`PEFT_SILENT_WARNINGS`, docs/peft-differences.md). Order is not compared. Throws a {@link Mismatch}
 * naming the first missing PEFT warning or the first undocumented extra.
 */
export function expectWarnings(
  what: string,
  ours: readonly string[],
  peft: readonly string[],
  documented: readonly PeftSilentWarning[] = PEFT_SILENT_WARNINGS,
): void {
  const extra = [...ours];
  for (const message of peft) {
    const at = extra.indexOf(message);
    if (at < 0) throw new Mismatch(`${what}: missing PEFT warning ${JSON.stringify(message)}`);
    extra.splice(at, 1);
  }
  const undocumented = extra.find((m) => !documented.some((w) => w.pattern.test(m)));
  if (undocumented !== undefined) {
    throw new Mismatch(
      `${what}: extra warning not in the documented list of warnings PEFT does not emit: ${JSON.stringify(undocumented)}`,
    );
  }
}
