import { resolve } from "node:path";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { registerLora } from "@lycoris-ts/lora";
import { AdapterRegistry } from "@lycoris-ts/runtime";
import { exists } from "./fixture-files";
import { formatResult, runDirectory } from "./run-directory";
import { unsupportedFixtureSet } from "./unsupported-fixture-set";

const USAGE = `usage: pnpm conformance <fixture dir>

Runs every case of a conformance fixture directory whose adapters are all of a registered type
(LoKr, LoHa, LoRA):
  - PEFT format (fixtures/peft/FORMAT.md): builds the model, creates the adapters, loads PEFT's saved
    weights and compares everything PEFT recorded, plus errors.json, init.json, factorization.json;
  - kohya/LyCORIS format (fixtures/lycoris/FORMAT.md): reads each adapter.safetensors and compares key
    resolution, rank/alpha/scale, deltas, merged weights and outputs (the kohya loaders' rules);
  - PEFT convert_to_lora (fixtures/peft-lora-conversion/FORMAT.md): converts each case's source adapters
    with convertToLora (peftCompatible) at every recorded rank: PEFT's effective ranks and configs exactly,
    B·A within 1e-4 * (1 + |PEFT|), every refusal raised; conv conversions (beyond PEFT) against a float64
    SVD of ΔW.
Tolerance: |ours - expected| <= 1e-5 * (1 + |expected|) per element unless said otherwise.
Prints one line per case and "N passed, N failed"; exits 1 on any failure.`;

function main(argv: readonly string[]): number {
  const arg = argv[0];
  if (arg === undefined || arg === "--help" || arg === "-h") {
    console.log(USAGE);
    return arg === undefined ? 2 : 0;
  }
  const dir = resolve(process.env.INIT_CWD ?? process.cwd(), arg);
  if (!exists(dir)) {
    console.error(`error: fixture directory not found: ${dir}`);
    return 2;
  }
  const unsupported = unsupportedFixtureSet(dir);
  if (unsupported !== null) {
    console.error(`error: ${dir} is ${unsupported}`);
    return 2;
  }
  const registry = new AdapterRegistry();
  registerLoKr(registry);
  registerLoHa(registry);
  registerLora(registry);
  const results = runDirectory(dir, registry, (r) => console.log(formatResult(r)));
  const passed = results.filter((r) => r.status === "pass").length;
  const failed = results.filter((r) => r.status === "fail").length;
  const skipped = results.filter((r) => r.status === "skip").length;
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
