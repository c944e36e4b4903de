import { readdirSync } from "node:fs";
import { join } from "node:path";
import { exists } from "./fixture-files";

/**
 * Fixture sets in `../shared/fixtures` that this runner cannot run yet, recognised by their case
 * folders' files, with what to say instead of failing every case on a missing file:
 * - PEFT `convert_to_lora` cases (`conversion.json`): issue #12.
 * `null` for a set the runner knows.
 */
export function unsupportedFixtureSet(dir: string): string | null {
  const caseDirs = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(dir, d.name));
  if (caseDirs.some((c) => exists(join(c, "conversion.json")))) {
    return "a PEFT convert_to_lora fixture set (conversion.json cases): not run by this runner yet; its rank rules and structured SVDs are checked by the runtime, lokr and loha tests";
  }
  return null;
}
