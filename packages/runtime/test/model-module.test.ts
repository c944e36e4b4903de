import { readFileSync } from "node:fs";
import { createRng, normalTensor, type Tensor, tensor, zeros } from "@lycoris-ts/kernels";
import { describe, expect, it } from "vitest";
import {
  type AvgPool2d,
  buildModelFromDescription,
  Container,
  Conv2d,
  Flatten,
  GPT2Conv1D,
  initModuleParameters,
  LayerNorm,
  Linear,
  ModelError,
  type ModuleDescription,
  ModuleList,
  Parameter,
  ReLU,
  Sequential,
} from "../src/model/index";
import { readF32Safetensors } from "./support/model-st";

const FIXTURES = new URL("../../../fixtures/peft/", import.meta.url);

function catchError(f: () => unknown): ModelError {
  try {
    f();
  } catch (e) {
    if (e instanceof ModelError) return e;
    throw e;
  }
  throw new Error("expected a ModelError");
}

function tree() {
  const root = new Container({
    embed: new Linear(4, 8),
    layers: new ModuleList([
      new Container({ attn: new Linear(8, 8, false), norm: new LayerNorm(8) }),
      new Container({ attn: new Linear(8, 8, false), norm: new LayerNorm(8) }),
    ]),
    head: new Linear(8, 2),
  });
  return root;
}

describe("module tree", () => {
  it("namedModules is depth first in registration order, root first as ''", () => {
    expect([...tree().namedModules()].map(([n, m]) => `${n}:${m.kind}`)).toEqual([
      ":container",
      "embed:linear",
      "layers:module_list",
      "layers.0:container",
      "layers.0.attn:linear",
      "layers.0.norm:layernorm",
      "layers.1:container",
      "layers.1.attn:linear",
      "layers.1.norm:layernorm",
      "head:linear",
    ]);
    expect([...tree().namedModules("base")][1]![0]).toBe("base.embed");
  });

  it("namedParameters/stateDict follow torch's order and skip absent (null) parameters", () => {
    const names = [...tree().namedParameters()].map(([n]) => n);
    expect(names).toEqual([
      "embed.weight",
      "embed.bias",
      "layers.0.attn.weight",
      "layers.0.norm.weight",
      "layers.0.norm.bias",
      "layers.1.attn.weight",
      "layers.1.norm.weight",
      "layers.1.norm.bias",
      "head.weight",
      "head.bias",
    ]);
    expect([...tree().stateDict().keys()]).toEqual(names);
  });

  it("a shared parameter is listed once by parameters() but under both names in stateDict", () => {
    const a = new Linear(2, 2);
    const b = new Linear(2, 2);
    b.weight = a.weight;
    const root = new Container({ a, b });
    expect([...root.parameters()].length).toBe(3);
    expect([...root.stateDict().keys()]).toEqual(["a.weight", "a.bias", "b.weight", "b.bias"]);
  });

  it("getSubmodule / setSubmodule use dotted paths; replacing keeps the slot's position", () => {
    const root = tree();
    expect(root.getSubmodule("layers.1.attn")).toBeInstanceOf(Linear);
    expect(root.getSubmodule("")).toBe(root);
    const e = catchError(() => root.getSubmodule("layers.7.attn"));
    expect(e.kind).toBe("not_found");
    expect(e.field).toBe("layers.7.attn");
    const replacement = new Sequential(new Linear(8, 8), new ReLU());
    root.setSubmodule("layers.0.attn", replacement);
    expect(root.getSubmodule("layers.0.attn")).toBe(replacement);
    const order = [...root.namedModules()].map(([n]) => n);
    expect(order.slice(3, 8)).toEqual([
      "layers.0",
      "layers.0.attn",
      "layers.0.attn.0",
      "layers.0.attn.1",
      "layers.0.norm",
    ]);
    expect(() => root.setSubmodule("nope.x", new ReLU())).toThrow(ModelError);
  });

  it("deleteModule / deleteParameter remove slots; modules() lists the subtree", () => {
    const root = tree();
    expect(root.deleteModule("head")).toBe(true);
    expect(root.deleteModule("head")).toBe(false);
    const embed = root.getSubmodule("embed") as Linear;
    expect(embed.deleteParameter("bias")).toBe(true);
    expect([...root.stateDict().keys()].filter((k) => k.startsWith("embed") || k.startsWith("head"))).toEqual(
      ["embed.weight"],
    );
    expect([...root.modules()].length).toBe(9);
  });

  it("train/eval set the mode on the whole subtree", () => {
    const root = tree();
    expect([...root.namedModules()].every(([, m]) => m.training)).toBe(true);
    expect(root.eval()).toBe(root);
    expect([...root.namedModules()].some(([, m]) => m.training)).toBe(false);
    root.train();
    expect([...root.namedModules()].every(([, m]) => m.training)).toBe(true);
  });

  it("backward needs a forward that kept its input (training mode or keepInputs)", () => {
    const m = new Linear(3, 2).eval();
    const x = zeros([1, 3]);
    m.forward(x);
    expect(catchError(() => m.backward(zeros([1, 2]))).kind).toBe("no_cached_input");
    m.keepInputs = true;
    m.forward(x);
    expect(m.backward(zeros([1, 2])).shape).toEqual([1, 3]);
  });

  it("containers and module lists have no forward", () => {
    expect(catchError(() => new Container().forward(zeros([1]))).kind).toBe("not_supported");
    expect(catchError(() => new ModuleList().forward(zeros([1]))).kind).toBe("not_supported");
  });

  it("forward rejects inputs of the wrong shape with the shapes in the error", () => {
    const e = catchError(() => new Linear(3, 2).forward(zeros([2, 4])));
    expect(e.kind).toBe("invalid_input");
    expect(e.received).toBe("[2, 4]");
    expect(catchError(() => new Conv2d(3, 2, 1).forward(zeros([1, 2, 4, 4]))).kind).toBe("invalid_input");
  });

  it("invalid hyper-parameters are typed errors", () => {
    const e = catchError(() => new Conv2d(3, 4, 3, { groups: 2 }));
    expect(e.kind).toBe("invalid_hyperparameter");
    expect(e.field).toBe("groups");
    expect(catchError(() => new Conv2d(2, 2, 3, { stride: 2, padding: "same" })).field).toBe("padding");
  });
});

describe("stateDict / loadStateDict", () => {
  function populated() {
    const m = tree();
    initModuleParameters(m, createRng(1));
    return m;
  }

  it("round-trips values into the existing tensors", () => {
    const src = populated();
    const dst = tree();
    const before = dst.getSubmodule("head") as Linear;
    const weightTensor = before.weight.data;
    dst.loadStateDict(src.stateDict());
    expect(before.weight.data).toBe(weightTensor);
    for (const [k, t] of dst.stateDict()) expect(t.data).toEqual(src.stateDict().get(k)!.data);
  });

  it("a shape mismatch names the key and both shapes, and writes nothing", () => {
    const dst = tree();
    const sd = populated().stateDict();
    sd.set("layers.1.attn.weight", zeros([8, 4]));
    const e = catchError(() => dst.loadStateDict(sd));
    expect(e.kind).toBe("shape_mismatch");
    expect(e.field).toBe("layers.1.attn.weight");
    expect(e.expected).toBe("[8, 8]");
    expect(e.received).toBe("[8, 4]");
    expect(e.message).toContain("layers.1.attn.weight");
    expect((dst.getSubmodule("embed") as Linear).weight.data.data.every((v) => v === 0)).toBe(true);
  });

  it("strict mode rejects missing and unexpected keys; non-strict ignores them", () => {
    const sd = populated().stateDict();
    sd.delete("head.bias");
    const missing = catchError(() => tree().loadStateDict(sd));
    expect(missing.kind).toBe("missing_key");
    expect(missing.field).toBe("head.bias");
    sd.set("head.bias", zeros([2]));
    sd.set("head.extra", zeros([2]));
    const extra = catchError(() => tree().loadStateDict(sd));
    expect(extra.kind).toBe("unexpected_key");
    expect(extra.field).toBe("head.extra");
    sd.delete("embed.weight");
    expect(() => tree().loadStateDict(sd, { strict: false })).not.toThrow();
  });
});

describe("buildModelFromDescription", () => {
  const caseDir = new URL("lokr-mixed-kinds/", FIXTURES);
  const desc = JSON.parse(readFileSync(new URL("model.json", caseDir), "utf8")) as {
    modules: ModuleDescription[];
    parameters: { name: string; shape: number[] }[];
  };
  const base = readF32Safetensors(new URL("base.safetensors", caseDir));

  it("accepts camelCase hyper-parameters (parseModelDescription's output) as well as snake_case", () => {
    const camel = desc.modules.map((m) =>
      Object.fromEntries(
        Object.entries(m).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]),
      ),
    ) as unknown as ModuleDescription[];
    const a = buildModelFromDescription({ modules: camel }, base);
    const b = buildModelFromDescription(desc, base);
    expect([...a.stateDict().keys()]).toEqual([...b.stateDict().keys()]);
    const conv = a.getSubmodule("backbone.conv") as Conv2d;
    expect(conv.convOptions).toEqual({
      stride: [1, 1],
      padding: [1, 1],
      dilation: [1, 1],
      groups: 1,
      paddingMode: "zeros",
    });
  });

  it("a missing, extra or mis-shaped state dict entry is a typed error", () => {
    const sd = new Map(base);
    sd.delete("backbone.conv.bias");
    expect(catchError(() => buildModelFromDescription(desc, sd)).kind).toBe("missing_key");
    const extra = new Map(base).set("backbone.conv.scale", zeros([1]));
    expect(catchError(() => buildModelFromDescription(desc, extra)).kind).toBe("unexpected_key");
    const bad = new Map(base).set("head.fc.weight", zeros([10, 15]));
    const e = catchError(() => buildModelFromDescription(desc, bad));
    expect([e.kind, e.field, e.expected, e.received]).toEqual([
      "shape_mismatch",
      "head.fc.weight",
      "[10, 16]",
      "[10, 15]",
    ]);
  });

  it("rejects unknown kinds, bad hyper-parameters and a parameter list that does not match", () => {
    const unknown = catchError(() => buildModelFromDescription({ modules: [{ name: "x", kind: "conv4d" }] }));
    expect([unknown.kind, unknown.field, unknown.received]).toEqual(["unknown_module_kind", "x", "conv4d"]);
    const badHp = catchError(() =>
      buildModelFromDescription({
        modules: [{ name: "fc", kind: "linear", in_features: "3", out_features: 2 }],
      }),
    );
    expect([badHp.kind, badHp.field]).toEqual(["invalid_description", "fc.inFeatures"]);
    const mismatch = catchError(() =>
      buildModelFromDescription({
        modules: desc.modules,
        parameters: desc.parameters.map((p, i) => (i === 2 ? { ...p, shape: [7] } : p)),
      }),
    );
    expect(mismatch.kind).toBe("invalid_description");
    expect(mismatch.field).toBe(desc.parameters[2]!.name);
    const badLen = catchError(() =>
      buildModelFromDescription({
        modules: [
          { name: "l", kind: "module_list", length: 2 },
          { name: "l.0", kind: "relu" },
        ],
      }),
    );
    expect(badLen.kind).toBe("invalid_description");
  });

  it("builds every model of errors.json and init.json (conv3d, gpt2_conv1d included)", () => {
    type Entry = {
      model: { modules: ModuleDescription[]; parameters: { name: string; shape: number[] }[] } | null;
    };
    const errors = JSON.parse(readFileSync(new URL("errors.json", FIXTURES), "utf8")) as { errors: Entry[] };
    const init = JSON.parse(readFileSync(new URL("init.json", FIXTURES), "utf8")) as { cases: Entry[] };
    let built = 0;
    for (const e of [...errors.errors, ...init.cases]) {
      if (e.model === null) continue;
      // `parameters` makes the builder check names and shapes, in order.
      const m = buildModelFromDescription(e.model);
      expect([...m.stateDict().keys()]).toEqual(e.model.parameters.map((p) => p.name));
      built++;
    }
    expect(built).toBeGreaterThan(5);
  });

  it("builds the kinds needed beyond the fixtures (sequential, gpt2_conv1d, pools, flatten)", () => {
    const m = buildModelFromDescription({
      modules: [
        { name: "net", kind: "sequential" },
        {
          name: "net.0",
          kind: "conv2d",
          in_channels: 1,
          out_channels: 2,
          kernel_size: [3, 3],
          padding: "same",
        },
        { name: "net.1", kind: "relu" },
        { name: "net.2", kind: "maxpool2d", kernel_size: 2 },
        { name: "net.3", kind: "avgpool2d", kernel_size: [1, 1], count_include_pad: false },
        { name: "net.4", kind: "flatten" },
        { name: "net.5", kind: "gpt2_conv1d", nx: 8, nf: 3 },
      ],
    });
    initModuleParameters(m, createRng(3));
    const y = m.getSubmodule("net").forward(normalTensor([2, 1, 4, 4], createRng(4), 1));
    expect(y.shape).toEqual([2, 3]);
    expect(m.getSubmodule("net.5")).toBeInstanceOf(GPT2Conv1D);
    expect((m.getSubmodule("net.3") as AvgPool2d).countIncludePad).toBe(false);
  });
});

describe("initModuleParameters", () => {
  it("uses torch's default bounds: weights and biases within ±1/sqrt(fan_in), LayerNorm ones/zeros", () => {
    const m = new Sequential(new Conv2d(3, 4, [3, 2]), new Flatten(), new Linear(10, 5), new LayerNorm(5));
    initModuleParameters(m, createRng(7));
    const checkBound = (t: Tensor<Float32Array>, bound: number) => {
      const max = Math.max(...Array.from(t.data, Math.abs));
      expect(max).toBeLessThanOrEqual(bound);
      // not degenerate: a uniform sample of this size reaches well past half the bound
      expect(max).toBeGreaterThan(bound / 2);
    };
    const conv = m.getSubmodule("0") as Conv2d;
    checkBound(conv.weight.data, 1 / Math.sqrt(3 * 3 * 2));
    checkBound(conv.bias!.data, 1 / Math.sqrt(3 * 3 * 2));
    const fc = m.getSubmodule("2") as Linear;
    checkBound(fc.weight.data, 1 / Math.sqrt(10));
    const ln = m.getSubmodule("3") as LayerNorm;
    expect(Array.from(ln.weight!.data.data)).toEqual([1, 1, 1, 1, 1]);
    // Seeded: the same seed gives the same values.
    const again = new Sequential(
      new Conv2d(3, 4, [3, 2]),
      new Flatten(),
      new Linear(10, 5),
      new LayerNorm(5),
    );
    initModuleParameters(again, createRng(7));
    expect((again.getSubmodule("2") as Linear).weight.data.data).toEqual(fc.weight.data.data);
  });

  it("Parameter keeps its data and accumulates gradients of the right size only", () => {
    const p = new Parameter(tensor(new Float32Array(4), [2, 2]));
    expect(() => p.accumulateGrad(new Float32Array(3))).toThrow(ModelError);
  });
});
