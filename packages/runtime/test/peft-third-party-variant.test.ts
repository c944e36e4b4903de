import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addScaledInPlace, type Tensor } from "@lycoris-ts/kernels";
import { afterAll, describe, expect, it } from "vitest";
import {
  AdapterError,
  AdapterRegistry,
  Container,
  crossEntropyLoss,
  Linear,
  loadPeftModel,
  PeftModel,
  savePeftAdapter,
} from "../src/index";
import { baseModel, input, OuterConfig, outerVariant } from "./support/outer-variant";

const forwardOf = (peft: PeftModel, name: string, x: Tensor<Float32Array>) =>
  peft.model.getSubmodule(name).forward(x).data;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("a third-party variant registered from outside the packages", () => {
  const registry = new AdapterRegistry();
  registry.register(outerVariant);

  it("is injected at the selected modules and starts as the identity (B = 0)", () => {
    const peft = new PeftModel(
      baseModel(),
      new OuterConfig({ r: 2, alpha: 4, targetModules: ["q", "v"] }),
      "default",
      {
        registry,
      },
    );
    expect(peft.targetedModules).toEqual(["block.q", "block.v"]);
    const x = input();
    const base = baseModel().getSubmodule("block.q").forward(x).data;
    expect(forwardOf(peft, "block.q", x)).toEqual(base);
    expect(peft.printTrainableParameters(null)).toBe(
      "trainable params: 48 || all params: 174 || trainable%: 27.5862",
    );
  });

  it("merges, unmerges and adds up several active adapters (tolerance 1e-5: float32 sums of 6 terms)", () => {
    const cfg = (r: number) => new OuterConfig({ r, alpha: 2 * r, targetModules: ["q"], initWeights: false });
    const peft = new PeftModel(baseModel(), cfg(2), "default", { registry, seed: 3 });
    peft.addAdapter("other", cfg(3));
    peft.setAdapter(["default", "other"]);
    peft.eval();
    const x = input();
    const unmerged = Float32Array.from(forwardOf(peft, "block.q", x));
    const w0 = Float32Array.from((peft.model.getSubmodule("block.q.base_layer") as Linear).weight.data.data);
    peft.merge({ safeMerge: true });
    const merged = forwardOf(peft, "block.q", x);
    for (let i = 0; i < merged.length; i++) expect(Math.abs(merged[i]! - unmerged[i]!)).toBeLessThan(1e-5);
    peft.unmerge();
    const w1 = (peft.model.getSubmodule("block.q.base_layer") as Linear).weight.data.data;
    for (let i = 0; i < w0.length; i++) expect(Math.abs(w1[i]! - w0[i]!)).toBeLessThan(1e-5);
    // disabling gives the base output
    const base = baseModel().getSubmodule("block.q").forward(x).data;
    const disabled = peft.withAdaptersDisabled(() => Array.from(forwardOf(peft, "block.q", x)));
    for (let i = 0; i < base.length; i++) expect(Math.abs(disabled[i]! - base[i]!)).toBeLessThan(1e-5);
    // deleting an adapter removes its parameters everywhere and leaves the other active
    peft.deleteAdapter("other");
    expect([...peft.model.namedParameters()].map(([n]) => n).filter((n) => n.endsWith(".other"))).toEqual([]);
    expect(peft.activeAdapters).toEqual(["default"]);
  });

  it("trains through deltaWeightBackward: the loss goes down with plain SGD", () => {
    const peft = new PeftModel(
      baseModel(),
      new OuterConfig({ r: 2, targetModules: ["q"], initWeights: false }),
      "default",
      {
        registry,
        seed: 5,
      },
    );
    const q = peft.model.getSubmodule("block.q");
    peft.train();
    const x = input();
    const labels = Int32Array.from([0, 1, 2, 3]);
    const lossAt = () => crossEntropyLoss(q.forward(x), labels);
    const first = lossAt().loss;
    for (let step = 0; step < 30; step++) {
      peft.model.zeroGrad();
      const { dLogits } = lossAt();
      q.backward(dLogits);
      for (const p of peft.model.parameters()) {
        if (!p.requiresGrad || p.grad === null) continue;
        addScaledInPlace(p.data, p.grad, -0.05);
      }
    }
    expect(lossAt().loss).toBeLessThan(first * 0.8);
    // only adapter parameters were trainable
    const trainable = [...peft.model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n);
    expect(trainable).toEqual(["block.q.outer_a.default", "block.q.outer_b.default"]);
  });

  it("saves a PEFT directory and loads it back into a fresh model through the registry", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lycoris-outer-"));
    dirs.push(dir);
    const peft = new PeftModel(
      baseModel(),
      new OuterConfig({ r: 2, alpha: 3, targetModules: ["q", "v"], initWeights: false }),
      "default",
      { registry, seed: 9 },
    );
    peft.eval();
    await savePeftAdapter(peft, dir);
    const config = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
    expect(config.peft_type).toBe("OUTER");
    expect(config.r).toBe(2);
    const loaded = await loadPeftModel(baseModel(), dir, { registry });
    const x = input();
    expect(Array.from(forwardOf(loaded, "block.v", x))).toEqual(Array.from(forwardOf(peft, "block.v", x)));
  });

  it("refuses weights whose shapes do not fit, naming module, parameter and both shapes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lycoris-outer-"));
    dirs.push(dir);
    const peft = new PeftModel(baseModel(), new OuterConfig({ r: 2, targetModules: ["q"] }), "default", {
      registry,
    });
    await savePeftAdapter(peft, dir);
    const other = new Container();
    const block = new Container();
    other.registerModule("block", block);
    block.registerModule("q", new Linear(6, 5, true));
    const err = await loadPeftModel(other, dir, { registry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterError);
    expect((err as AdapterError).kind).toBe("shape_mismatch");
    expect((err as AdapterError).message).toContain("block.q");
    expect((err as AdapterError).message).toContain("outer_b");
    expect((err as AdapterError).expected).toBe("[5, 2]");
    expect((err as AdapterError).received).toBe("[6, 2]");
  });

  it("reports an unknown peft_type with the registered ones", () => {
    const err = (() => {
      try {
        new AdapterRegistry().get("OUTER");
      } catch (e) {
        return e as AdapterError;
      }
    })();
    expect(err?.kind).toBe("unknown_peft_type");
    expect(registry.peftTypes()).toEqual(["OUTER"]);
    expect(() => registry.get("NOPE")).toThrow(/registered adapter types are OUTER/);
  });
});
