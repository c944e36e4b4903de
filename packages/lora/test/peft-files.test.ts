import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  adapterConfigBehaviour as behaviour,
  parseAdapterConfigJson,
  parseModelDescription,
} from "@lycoris-ts/lycoris-config";
import {
  buildModelFromDescription,
  LycorisLayer,
  type PeftModel,
  savePeftAdapter,
} from "@lycoris-ts/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { getPeftModel, LoraConfig, type LoraConfigOptions, loadAdapter, loadPeftModel } from "../src/index";
import {
  type ExpectedJson,
  fixturesDir,
  loraCaseNames,
  readJson,
  readTensors,
  worstViolation,
} from "./support/fixtures";

/** The JSON header of a safetensors file (8-byte length, then the header), parsed. */
function header(path: string): Record<string, unknown> {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, unknown>;
}

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

async function loadCase(name: string, adapterRoot: string): Promise<{ peft: PeftModel; extra: string[] }> {
  const modelJson = readJson(name, "model.json");
  const description = parseModelDescription(modelJson);
  const model = buildModelFromDescription(description, readTensors(name, "base.safetensors"));
  const peft = await loadPeftModel(model, adapterRoot, {
    description,
    outputLayer: description.outputLayer ?? null,
    inputEmbeddings: (modelJson.input_embeddings as string | null) ?? null,
    onWarning: null,
  });
  const extra = readdirSync(adapterRoot).filter((d) => statSync(join(adapterRoot, d)).isDirectory());
  for (const sub of extra) await loadAdapter(peft, join(adapterRoot, sub), sub);
  return { peft, extra };
}

describe("a PEFT LoRA adapter directory loads, and saves back exactly as PEFT wrote it", () => {
  for (const name of loraCaseNames()) {
    it(name, async () => {
      const adapterRoot = join(fixturesDir, name, "adapter");
      const { peft, extra } = await loadCase(name, adapterRoot);
      const out = mkdtempSync(join(tmpdir(), `lycoris-lora-${name}-`));
      tmp.push(out);
      await savePeftAdapter(peft, out);
      for (const sub of ["", ...extra]) {
        const ours = join(out, sub, "adapter_model.safetensors");
        const theirs = join(adapterRoot, sub, "adapter_model.safetensors");
        // Same keys, dtypes (F32), shapes, data offsets and metadata: the header PEFT wrote, and the same data.
        expect(header(ours)).toEqual(header(theirs));
        expect(readFileSync(ours).equals(readFileSync(theirs))).toBe(true);
        const ourConfig = JSON.parse(readFileSync(join(out, sub, "adapter_config.json"), "utf8"));
        const peftConfig = JSON.parse(readFileSync(join(adapterRoot, sub, "adapter_config.json"), "utf8"));
        expect(Object.keys(ourConfig).sort()).toEqual(Object.keys(peftConfig).sort());
        expect(behaviour(ourConfig)).toEqual(behaviour(peftConfig));
      }
    });
  }
});

describe("an adapter saved here loads back with PEFT's forward outputs", () => {
  // Tolerance: PEFT's suggested 1e-5·(1 + |expected|) per element (FORMAT.md): the saved values are PEFT's
  // own bits, so only float32 summation order differs.
  for (const name of loraCaseNames()) {
    it(name, async () => {
      const first = await loadCase(name, join(fixturesDir, name, "adapter"));
      const out = mkdtempSync(join(tmpdir(), `lycoris-lora-reload-${name}-`));
      tmp.push(out);
      await savePeftAdapter(first.peft, out);
      const { peft } = await loadCase(name, out);
      const exp = readJson<ExpectedJson>(name, "expected.json");
      peft.setAdapter(exp.active_adapters);
      const inputs = readTensors(name, "inputs.safetensors");
      const expected = readTensors(name, "expected.safetensors");
      for (const [mod, layer] of peft.adapterLayers()) {
        expect(layer).toBeInstanceOf(LycorisLayer);
        const y = layer.forward(inputs.get(mod)!);
        const want = expected.get(`forward/${mod}`)!;
        expect(y.shape).toEqual(want.shape);
        expect(worstViolation(y.data, want.data), mod).toBeLessThanOrEqual(1);
      }
    });
  }
});

interface CaseJson {
  adapters: { name: string; peft_type: string; config: Record<string, unknown> }[];
}

function configOf(kwargs: Record<string, unknown>): LoraConfig {
  return new LoraConfig(
    parseAdapterConfigJson({ ...kwargs, peft_type: "LORA" }).options as LoraConfigOptions,
  );
}

describe("an adapter created here (not loaded) saves in PEFT's format", () => {
  for (const name of loraCaseNames()) {
    it(name, async () => {
      const c = readJson<CaseJson>(name, "case.json");
      const modelJson = readJson(name, "model.json");
      const description = parseModelDescription(modelJson);
      const model = buildModelFromDescription(description, readTensors(name, "base.safetensors"));
      const [first, ...rest] = c.adapters;
      const peft = getPeftModel(model, configOf(first!.config), first!.name, {
        description,
        outputLayer: description.outputLayer ?? null,
        inputEmbeddings: (modelJson.input_embeddings as string | null) ?? null,
        modelType: description.modelType ?? null,
        onWarning: null,
      });
      for (const a of rest) peft.addAdapter(a.name, configOf(a.config));
      const out = mkdtempSync(join(tmpdir(), `lycoris-lora-new-${name}-`));
      tmp.push(out);
      await savePeftAdapter(peft, out);
      for (const a of c.adapters) {
        const sub = a.name === "default" ? "" : a.name;
        // Same tensor names, dtypes, shapes and layout (the values are this library's random init).
        expect(header(join(out, sub, "adapter_model.safetensors"))).toEqual(
          header(join(fixturesDir, name, "adapter", sub, "adapter_model.safetensors")),
        );
        const ourConfig = JSON.parse(readFileSync(join(out, sub, "adapter_config.json"), "utf8"));
        const peftConfig = readJson(name, "adapter", sub, "adapter_config.json");
        expect(Object.keys(ourConfig).sort()).toEqual(Object.keys(peftConfig).sort());
        expect(behaviour(ourConfig)).toEqual(behaviour(peftConfig));
      }
    });
  }
});
