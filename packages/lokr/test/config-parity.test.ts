import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findPeftSilentWarning, parseModelDescription } from "@lycoris-ts/lycoris-config";
import { buildModelFromDescription, Container, Linear, type LycorisLayer } from "@lycoris-ts/runtime";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { getPeftModel, LoKrConfig, LycorisConfigError, loadPeftModel, lokrVariant } from "../src/index";

const fixtures = fileURLToPath(new URL("../../../fixtures/peft/", import.meta.url));
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

/** A copy of a fixture case's PEFT adapter directory with `adapter_config.json` edited. */
function editedAdapter(caseName: string, edit: (json: Record<string, unknown>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "lycoris-parity-"));
  tmp.push(dir);
  cpSync(join(fixtures, caseName, "adapter"), dir, { recursive: true });
  const path = join(dir, "adapter_config.json");
  const json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  edit(json);
  writeFileSync(path, JSON.stringify(json));
  return dir;
}

function linearModel(): Container {
  return new Container({ fc: new Linear(12, 16) });
}

function lokrShapes(decomposeFactor: number): Record<string, number[]> {
  const config = new LoKrConfig({ r: 2, targetModules: ["fc"], decomposeFactor });
  const peft = getPeftModel(linearModel(), config, "default", { onWarning: null });
  const layer = peft.model.getSubmodule("fc") as LycorisLayer;
  return Object.fromEntries([...layer.parametersOf("default")].map(([n, p]) => [n, [...p.data.shape]]));
}

describe("decompose_factor 0 and below -1: PEFT treats them like 1 (factorization (1, dimension))", () => {
  it.each([0, -2, -7])(
    "decomposeFactor %s is accepted, with a warning that says it acts like 1",
    (factor) => {
      const config = new LoKrConfig({ decomposeFactor: factor });
      expect(config.decomposeFactor).toBe(factor);
      expect(config.warnings).toHaveLength(1);
      expect(config.warnings[0]).toMatch(new RegExp(`^decompose_factor=${factor} .*like decompose_factor=1`));
      expect(config.warnings[0]).toMatch(/\(1, dimension\)/);
      expect(findPeftSilentWarning(config.warnings[0]!)?.id).toBe("decompose_factor_as_one");
    },
  );

  it("-1 and positive factors do not warn", () => {
    for (const f of [-1, 1, 4]) expect(new LoKrConfig({ decomposeFactor: f }).warnings).toEqual([]);
  });

  it("creates the same parameter shapes as decomposeFactor 1 (which factorization.json checks against PEFT)", () => {
    const one = lokrShapes(1);
    expect(one.lokr_w1).toEqual([1, 1]);
    for (const f of [0, -2]) expect(lokrShapes(f)).toEqual(one);
  });

  it("the warning reaches onWarning and PeftModel.warnings when the adapter is created", () => {
    const seen: string[] = [];
    const peft = getPeftModel(
      linearModel(),
      new LoKrConfig({ r: 2, targetModules: ["fc"], decomposeFactor: 0 }),
      "default",
      { onWarning: (m) => seen.push(m) },
    );
    expect(seen).toEqual([expect.stringMatching(/^decompose_factor=0 /)]);
    expect(peft.warnings).toEqual(seen);
  });

  it("still rejects a non-integer factor, printing it", () => {
    let error: unknown;
    try {
      new LoKrConfig({ decomposeFactor: 2.5 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LycorisConfigError);
    expect((error as LycorisConfigError).message).toMatch(/decomposeFactor.*got 2\.5/);
  });

  it("an adapter PEFT saved with decompose_factor 0 loads, and computes PEFT's deltas", async () => {
    // Prime dimensions (17, 13) split as (1, p) for every factor PEFT accepts, so PEFT's saved
    // weights and expected deltas of this case are exactly what PEFT computes with decompose_factor 0.
    const caseDir = join(fixtures, "lokr-linear-prime");
    const dir = editedAdapter("lokr-linear-prime", (json) => {
      json.decompose_factor = 0;
    });
    const modelJson = JSON.parse(readFileSync(join(caseDir, "model.json"), "utf8"));
    const description = parseModelDescription(modelJson);
    const model = buildModelFromDescription(
      description,
      readSafetensorsSync(join(caseDir, "base.safetensors")).tensors,
    );
    const seen: string[] = [];
    const peft = await loadPeftModel(model, dir, { description, onWarning: (m) => seen.push(m) });
    expect(seen).toEqual([expect.stringMatching(/^decompose_factor=0 /)]);
    const expected = readSafetensorsSync(join(caseDir, "expected.safetensors")).tensors;
    for (const [mod, layer] of peft.adapterLayers()) {
      const want = expected.get(`delta/default/${mod}`)!;
      const got = layer.getDeltaWeight("default");
      expect(got.shape).toEqual(want.shape);
      // Tolerance: the conformance runner's 1e-5 · (1 + |PEFT|), float32 products of the same factors.
      for (let i = 0; i < want.data.length; i++) {
        expect(Math.abs(got.data[i]! - want.data[i]!)).toBeLessThanOrEqual(
          1e-5 * (1 + Math.abs(want.data[i]!)),
        );
      }
    }
  });
});

describe("unknown option keys", () => {
  it("new LoKrConfig rejects an unknown key naming it (PEFT's constructor raises TypeError)", () => {
    let error: unknown;
    try {
      new LoKrConfig({ decomposeFactr: 4 } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LycorisConfigError);
    expect((error as LycorisConfigError).kind).toBe("unknown_option");
    expect((error as LycorisConfigError).message).toMatch(/`decomposeFactr`.*LoKrConfig/);
  });

  it("createConfig (options of an adapter_config.json) ignores unknown keys with PEFT's warning", () => {
    const config = lokrVariant.createConfig({ r: 4, someFutureOption: true });
    expect(config.r).toBe(4);
    expect(config.warnings).toEqual([
      expect.stringMatching(
        /^Unexpected keyword arguments \['some_future_option'\] for class LoKrConfig, these are ignored\./,
      ),
    ]);
  });

  it("loading an adapter directory whose config has unknown keys works and warns once", async () => {
    const caseDir = join(fixtures, "lokr-linear-prime");
    const dir = editedAdapter("lokr-linear-prime", (json) => {
      json.some_future_option = { nested: 1 };
    });
    const description = parseModelDescription(JSON.parse(readFileSync(join(caseDir, "model.json"), "utf8")));
    const seen: string[] = [];
    const peft = await loadPeftModel(buildModelFromDescription(description), dir, {
      description,
      onWarning: (m) => seen.push(m),
    });
    expect(peft.targetedModules).toEqual(["p", "q"]);
    expect(seen).toEqual([expect.stringMatching(/^Unexpected keyword arguments \['some_future_option'\]/)]);
  });

  it("loading still requires PEFT's minimal key peft_type", async () => {
    const dir = editedAdapter("lokr-linear-prime", (json) => {
      delete json.peft_type;
      json.some_future_option = 1;
    });
    await expect(loadPeftModel(linearModel(), dir)).rejects.toMatchObject({ kind: "invalid_adapter_config" });
  });
});
