import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { registerLoHa } from "@lycoris-ts/loha";
import { registerLoKr } from "@lycoris-ts/lokr";
import { registerLora } from "@lycoris-ts/lora";
import { AdapterRegistry } from "@lycoris-ts/runtime";

/** The PEFT and kohya/LyCORIS conformance fixtures of the repository (see their FORMAT.md). */
export const PEFT = fileURLToPath(new URL("../../../../fixtures/peft/", import.meta.url));
export const LYCORIS = fileURLToPath(new URL("../../../../fixtures/lycoris/", import.meta.url));

/** A registry with LoKr, LoHa and LoRA. */
export function registry(): AdapterRegistry {
  const r = new AdapterRegistry();
  registerLoKr(r);
  registerLoHa(r);
  registerLora(r);
  return r;
}

/** A file of the file system as a Blob with a name (what a browser's File gives). */
export function fileBlob(path: string): File {
  return new File([readFileSync(path)], path.slice(path.lastIndexOf("/") + 1));
}

/** Every file below `dir` as directory files (relative path → File), as a browser would hand them over. */
export function directoryBlobs(dir: string): Map<string, Blob> {
  const out = new Map<string, Blob>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), fileBlob(p));
    }
  };
  walk(dir);
  return out;
}

/**
 * Largest violation of |actual − expected| ≤ 1e-5·(1 + |expected|), elementwise: PEFT's / ComfyUI's
 * float32 results in another operation order are a few ulps away; a wrong rule is far off.
 */
export function worstExcess(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    worst = Math.max(worst, Math.abs(actual[i]! - e) - 1e-5 * (1 + Math.abs(e)));
  }
  return worst;
}

/** `expected.json` of a PEFT case: the adapted modules and modules_to_save. */
export function peftExpected(name: string): { modules: Record<string, unknown>; modules_to_save: string[] } {
  return JSON.parse(readFileSync(join(PEFT, name, "expected.json"), "utf8"));
}
