import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRng, type Tensor, tensor } from "@lycoris-ts/kernels";
import {
  AdamW,
  AdapterRegistry,
  Conv2d,
  crossEntropyLoss,
  Flatten,
  initModuleParameters,
  Linear,
  loadPeftModel,
  ReLU,
  Sequential,
  savePeftAdapter,
} from "@lycoris-ts/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { getLoConModel, LoConConfig, registerLoCon } from "../src/locon";

function net(seed = 1): Sequential {
  const m = new Sequential(
    new Conv2d(1, 4, 3, { padding: [1, 1] }),
    new ReLU(),
    new Flatten(),
    new Linear(4 * 5 * 5, 3),
  );
  initModuleParameters(m, createRng(seed));
  return m;
}

function batch(seed = 2): { x: Tensor<Float32Array>; y: Int32Array } {
  const rng = createRng(seed);
  const x = tensor(
    Float32Array.from({ length: 8 * 25 }, () => rng.normal()),
    [8, 1, 5, 5],
  );
  return { x, y: Int32Array.from({ length: 8 }, (_, i) => i % 3) };
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe("LoCon, a variant written outside packages/, gets everything from the registry", () => {
  it("injects into Conv2d and Linear and trains: loss drops, only LoCon parameters change", () => {
    const peft = getLoConModel(net(), new LoConConfig({ r: 2, alpha: 4, targetModules: ["0", "3"] }));
    expect(peft.targetedModules).toEqual(["0", "3"]);
    const { x, y } = batch();
    const trainable = [...peft.model.parameters()].filter((p) => p.requiresGrad);
    expect(trainable.length).toBe(4);
    const opt = new AdamW(trainable, { lr: 0.05 });
    peft.train();
    const first = crossEntropyLoss(peft.forward(x), y).loss;
    for (let i = 0; i < 40; i++) {
      opt.zeroGrad();
      const { dLogits } = crossEntropyLoss(peft.forward(x), y);
      peft.backward(dLogits);
      opt.step();
    }
    expect(crossEntropyLoss(peft.forward(x), y).loss).toBeLessThan(first * 0.7);
  });

  it("merges into the base weights with the same outputs (tolerance 1e-5, float32 sums)", () => {
    const peft = getLoConModel(
      net(),
      new LoConConfig({ r: 2, targetModules: ["0", "3"], initWeights: false }),
    );
    peft.addAdapter("second", new LoConConfig({ r: 3, targetModules: ["3"], initWeights: false }));
    peft.setAdapter(["default", "second"]);
    peft.eval();
    const { x } = batch();
    const before = Float32Array.from(peft.forward(x).data);
    const merged = peft.mergeAndUnload();
    expect(maxDiff(merged.forward(x).data, before)).toBeLessThan(1e-5);
  });

  it("saves a PEFT-style directory and loads it back through the registry", async () => {
    const dir = mkdtempSync(join(tmpdir(), "locon-"));
    tmp.push(dir);
    const peft = getLoConModel(
      net(),
      new LoConConfig({ r: 2, targetModules: ["0", "3"], initWeights: false }),
    );
    peft.eval();
    await savePeftAdapter(peft, dir);
    const registry = new AdapterRegistry();
    registerLoCon(registry);
    const loaded = await loadPeftModel(net(), dir, { registry });
    const { x } = batch();
    expect(maxDiff(loaded.forward(x).data, peft.forward(x).data)).toBe(0);
  });
});
