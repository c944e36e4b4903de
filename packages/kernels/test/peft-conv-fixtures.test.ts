import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConvOptions, conv1d, conv2d, setBackend, type Tensor } from "../src/index";
import { backendsUnderTest, expectClose } from "./helpers";
import { readSafetensorsF32 } from "./safetensors-f32";

// PyTorch's own conv outputs from the PEFT fixtures (float32). Both sides accumulate ≤ 48·9 products in
// float32 in different orders: 1e-5 relative to max(1, max|y|).
const TOL = 1e-5;
const fixtures = new URL("../../../fixtures/peft/", import.meta.url);

interface ConvModule {
  name: string;
  kind: "conv1d" | "conv2d";
  stride: number[];
  padding: number[] | "same" | "valid";
  dilation: number[];
  groups: number;
  padding_mode: ConvOptions["paddingMode"];
}

interface Check {
  label: string;
  run: () => void;
}

function convChecks(): Check[] {
  const index = JSON.parse(readFileSync(new URL("index.json", fixtures), "utf8")) as {
    cases: { name: string }[];
  };
  const checks: Check[] = [];
  for (const { name } of index.cases) {
    const model = JSON.parse(readFileSync(new URL(`${name}/model.json`, fixtures), "utf8")) as {
      modules: ({ kind: string } & Partial<ConvModule>)[];
    };
    const convs = model.modules.filter((m): m is ConvModule => m.kind === "conv1d" || m.kind === "conv2d");
    if (convs.length === 0) continue;
    const load = () => ({
      base: readSafetensorsF32(new URL(`${name}/base.safetensors`, fixtures)),
      inputs: readSafetensorsF32(new URL(`${name}/inputs.safetensors`, fixtures)),
      expected: readSafetensorsF32(new URL(`${name}/expected.safetensors`, fixtures)),
    });
    const adapted = readSafetensorsF32(new URL(`${name}/inputs.safetensors`, fixtures));
    for (const m of convs.filter((c) => adapted.has(c.name))) {
      checks.push({
        label: `${name}: ${m.name} (${m.kind}, stride ${m.stride}, padding ${JSON.stringify(m.padding)}, dilation ${m.dilation}, groups ${m.groups})`,
        run: () => {
          const { base, inputs, expected } = load();
          const x = inputs.get(m.name)!;
          const opts: ConvOptions = {
            stride: m.stride,
            padding: m.padding,
            dilation: m.dilation,
            groups: m.groups,
            paddingMode: m.padding_mode,
          };
          const conv = (w: Tensor<Float32Array>, b: Tensor<Float32Array> | null) =>
            m.kind === "conv1d" ? conv1d(x, w, b, opts) : conv2d(x, w, b, opts);
          const w = base.get(`${m.name}.weight`)!;
          const bias = base.get(`${m.name}.bias`) ?? null;
          expectClose(conv(w, bias), expected.get(`base_forward/${m.name}`)!, TOL);
          let deltas = 0;
          for (const [key, delta] of expected) {
            if (!key.startsWith("delta/") || !key.endsWith(`/${m.name}`)) continue;
            const adapter = key.slice("delta/".length, -m.name.length - 1);
            expectClose(conv(delta, null), expected.get(`adapter_out/${adapter}/${m.name}`)!, TOL);
            deltas++;
          }
          expect(deltas).toBeGreaterThan(0);
        },
      });
    }
  }
  return checks;
}

const checks = convChecks();

describe.each(backendsUnderTest())("conv matches PyTorch on the PEFT fixtures (backend %s)", (backend) => {
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend("auto"));

  it("finds conv cases in the fixtures", () => {
    expect(checks.length).toBeGreaterThan(10);
  });

  for (const c of checks) it(c.label, c.run);
});
