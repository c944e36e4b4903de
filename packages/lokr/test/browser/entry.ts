// Runs in headless Chromium (bundled by test/browser.test.ts from the built packages): LoKr end to end
// in a browser — inject, forward, merge, and the adapter's safetensors bytes round trip — no file system.
import {
  adapterStateDict,
  createRng,
  getPeftModel,
  Linear,
  LoKrConfig,
  Sequential,
  tensor,
} from "@lycoris-ts/lokr";
import { parseSafetensors, readSafetensorsSync, serializeSafetensors } from "@lycoris-ts/safetensors";

export function run(): { line: string; diff: number; keys: string[]; bytes: number; fileAccess: string } {
  const rng = createRng(3);
  const layer = new Linear(64, 48);
  for (const p of layer.parameters())
    for (let i = 0; i < p.data.data.length; i++) p.data.data[i] = rng.normal();
  const peft = getPeftModel(
    new Sequential(layer),
    new LoKrConfig({ r: 2, alpha: 4, targetModules: ["0"], initWeights: false }),
  );
  peft.eval();
  const x = tensor(
    Float32Array.from({ length: 3 * 64 }, () => rng.normal()),
    [3, 64],
  );
  const unmerged = Float32Array.from(peft.forward(x).data);
  const line = peft.printTrainableParameters(null);
  const bytes = serializeSafetensors(adapterStateDict(peft, "default"), { metadata: { format: "pt" } });
  const back = parseSafetensors(bytes);
  const merged = peft.mergeAndUnload().forward(x).data;
  let diff = 0;
  for (let i = 0; i < merged.length; i++) diff = Math.max(diff, Math.abs(merged[i]! - unmerged[i]!));
  let fileAccess = "works";
  try {
    readSafetensorsSync("/nonexistent.safetensors");
  } catch (e) {
    fileAccess = String((e as Error).message);
  }
  return { line, diff, keys: [...back.tensors.keys()], bytes: bytes.length, fileAccess };
}

(globalThis as { runLoKr?: typeof run }).runLoKr = run;
