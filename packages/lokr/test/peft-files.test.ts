import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { adapterConfigBehaviour as behaviour, parseModelDescription } from "@lycoris-ts/lycoris-config";
import { buildModelFromDescription, savePeftAdapter } from "@lycoris-ts/runtime";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { loadAdapter, loadPeftModel } from "../src/index";

const fixtures = fileURLToPath(new URL("../../../fixtures/peft/", import.meta.url));
const index = JSON.parse(readFileSync(join(fixtures, "index.json"), "utf8")) as {
  cases: { name: string; peft_types: string[] }[];
};
const cases = index.cases.filter((c) => c.peft_types.every((t) => t === "LOKR")).map((c) => c.name);

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe("a PEFT LoKr adapter directory loads, and saves back with PEFT's names, shapes, values and config", () => {
  for (const name of cases) {
    it(name, async () => {
      const caseDir = join(fixtures, name);
      const modelJson = JSON.parse(readFileSync(join(caseDir, "model.json"), "utf8"));
      const description = parseModelDescription(modelJson);
      const model = buildModelFromDescription(
        description,
        readSafetensorsSync(join(caseDir, "base.safetensors")).tensors,
      );
      const adapterRoot = join(caseDir, "adapter");
      const peft = await loadPeftModel(model, adapterRoot, {
        description,
        outputLayer: description.outputLayer ?? null,
        inputEmbeddings: modelJson.input_embeddings ?? null,
      });
      const extra = readdirSync(adapterRoot).filter((d) => statSync(join(adapterRoot, d)).isDirectory());
      for (const sub of extra) await loadAdapter(peft, join(adapterRoot, sub), sub);

      const out = mkdtempSync(join(tmpdir(), `lycoris-${name}-`));
      tmp.push(out);
      await savePeftAdapter(peft, out);
      for (const sub of ["", ...extra]) {
        const ours = readSafetensorsSync(join(out, sub, "adapter_model.safetensors"));
        const theirs = readSafetensorsSync(join(adapterRoot, sub, "adapter_model.safetensors"));
        expect([...ours.tensors.keys()].sort()).toEqual([...theirs.tensors.keys()].sort());
        for (const [k, t] of theirs.tensors) {
          const o = ours.tensors.get(k)!;
          expect(o.shape).toEqual(t.shape);
          expect(Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength)).toEqual(
            Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
          );
        }
        expect(ours.metadata).toEqual({ format: "pt" });
        const ourConfig = JSON.parse(readFileSync(join(out, sub, "adapter_config.json"), "utf8"));
        const peftConfig = JSON.parse(readFileSync(join(adapterRoot, sub, "adapter_config.json"), "utf8"));
        expect(behaviour(ourConfig)).toEqual(behaviour(peftConfig));
      }
    });
  }
});
