import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Generates src/generated/kernels-wasm.ts when it is missing or older than wasm/kernels.wat. */
export default async function setup(): Promise<void> {
  const generated = fileURLToPath(new URL("../src/generated/kernels-wasm.ts", import.meta.url));
  const source = fileURLToPath(new URL("../wasm/kernels.wat", import.meta.url));
  if (existsSync(generated) && statSync(generated).mtimeMs >= statSync(source).mtimeMs) return;
  const script: string = fileURLToPath(new URL("../scripts/build-wasm.mjs", import.meta.url));
  const mod = (await import(script)) as { buildWasm: () => Promise<number> };
  await mod.buildWasm();
}
