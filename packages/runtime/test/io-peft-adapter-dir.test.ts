import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { SafetensorsError } from "@lycoris-ts/safetensors";
import { describe, expect, test } from "vitest";
import {
  caseDirs,
  LYCORIS_FIXTURES,
  PEFT_FIXTURES,
  rawSafetensors,
  tempDir,
} from "../../../test-support/fixtures";
import {
  AdapterFileError,
  type PeftAdapterFiles,
  readPeftAdapterDir,
  writePeftAdapterDir,
} from "../src/io/index";

interface ExpectedJson {
  adapters: string[];
  state_dict_keys: Record<string, string[]>;
  adapter_files: Record<string, { config: string; weights: string; metadata: Record<string, string> }>;
}

const peftCases = caseDirs(PEFT_FIXTURES).filter((d) => existsSync(join(d, "adapter")));
const lycorisTwins = caseDirs(LYCORIS_FIXTURES).filter((d) => existsSync(join(d, "peft")));

async function adapterError(p: Promise<unknown>): Promise<AdapterFileError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(AdapterFileError);
    return error as AdapterFileError;
  }
  throw new Error("expected an AdapterFileError");
}

const asWritable = (adapters: PeftAdapterFiles[]) =>
  adapters.map((a) => ({
    name: a.name,
    configJson: readFileSync(join(a.dir, "adapter_config.json"), "utf8"),
    weights: a.weights,
  }));

describe("PEFT fixture adapter directories", () => {
  test("the fixture cases are present", () => {
    expect(peftCases.length).toBeGreaterThan(30);
  });

  test.each(peftCases.map((d) => [basename(d), d]))("%s reads as PEFT saved it", async (_name, caseDir) => {
    const expected = JSON.parse(readFileSync(join(caseDir, "expected.json"), "utf8")) as ExpectedJson;
    const adapters = await readPeftAdapterDir(join(caseDir, "adapter"));
    expect(adapters.map((a) => a.name).sort()).toEqual(Object.keys(expected.adapter_files).sort());
    expect(adapters[0]!.name).toBe("default");
    for (const a of adapters) {
      const files = expected.adapter_files[a.name]!;
      expect(join(a.dir, "adapter_config.json")).toBe(join(caseDir, files.config));
      expect(a.config).toEqual(JSON.parse(readFileSync(join(caseDir, files.config), "utf8")));
      expect(a.metadata).toEqual(files.metadata);
      // key *set*: the file is sorted, state_dict_keys is in PEFT's module order
      expect([...a.weights.keys()].sort()).toEqual([...expected.state_dict_keys[a.name]!].sort());
    }
  });

  test.each(peftCases.map((d) => [basename(d), d]))(
    "%s writes back byte for byte",
    async (_name, caseDir) => {
      const adapters = await readPeftAdapterDir(join(caseDir, "adapter"));
      const out = join(tempDir("peft-write"), "adapter");
      await writePeftAdapterDir(out, asWritable(adapters));
      for (const a of adapters) {
        const target = a.name === "default" ? out : join(out, a.name);
        for (const file of ["adapter_config.json", "adapter_model.safetensors"]) {
          expect(Buffer.from(readFileSync(join(target, file))).equals(readFileSync(join(a.dir, file)))).toBe(
            true,
          );
        }
      }
      const again = await readPeftAdapterDir(out);
      expect(again.map((a) => [a.name, a.config, a.weights, a.metadata])).toEqual(
        adapters.map((a) => [a.name, a.config, a.weights, a.metadata]),
      );
    },
  );

  test.each(lycorisTwins.map((d) => [basename(d), d]))(
    "LyCORIS twin %s/peft reads",
    async (_name, caseDir) => {
      const [adapter] = await readPeftAdapterDir(join(caseDir, "peft"));
      expect(adapter!.name).toBe("default");
      expect(adapter!.metadata).toEqual({ format: "pt" });
      expect([...adapter!.weights.keys()].every((k) => k.startsWith("base_model.model."))).toBe(true);
    },
  );

  test("adapterNames selects adapters, in the requested order", async () => {
    const dir = join(PEFT_FIXTURES, "lokr-multi-adapter", "adapter");
    const only = await readPeftAdapterDir(dir, { adapterNames: ["other", "default"] });
    expect(only.map((a) => a.name)).toEqual(["other", "default"]);
    const e = await adapterError(readPeftAdapterDir(dir, { adapterNames: ["third"] }));
    expect(e).toMatchObject({ kind: "missing_adapter", path: dir });
    expect(e.message).toContain('no adapter "third" (found: default, other)');
  });
});

describe("errors a user can act on", () => {
  test("missing directory, a file instead of a directory, a directory without adapter files", async () => {
    const root = tempDir("peft-errors");
    const missing = join(root, "nope");
    expect(await adapterError(readPeftAdapterDir(missing))).toMatchObject({
      kind: "missing_dir",
      path: missing,
    });
    const file = join(root, "file");
    writeFileSync(file, "x");
    expect(await adapterError(readPeftAdapterDir(file))).toMatchObject({
      kind: "not_a_directory",
      path: file,
    });
    const empty = join(root, "empty");
    mkdirSync(empty);
    const e = await adapterError(readPeftAdapterDir(empty));
    expect(e).toMatchObject({ kind: "not_adapter_dir", path: empty });
    expect(e.message).toBe(`${empty}: not a PEFT adapter directory: missing adapter_config.json`);
  });

  test("config without weights, bad JSON, a JSON array, corrupt weights", async () => {
    const root = tempDir("peft-bad");
    writeFileSync(join(root, "adapter_config.json"), '{"peft_type": "LOKR"}');
    const noWeights = await adapterError(readPeftAdapterDir(root));
    expect(noWeights).toMatchObject({ kind: "missing_weights", path: root });
    expect(noWeights.message).toContain("missing adapter_model.safetensors");
    writeFileSync(join(root, "adapter_model.bin"), "pickle");
    expect((await adapterError(readPeftAdapterDir(root))).message).toContain(
      "pickle format is not supported",
    );

    writeFileSync(
      join(root, "adapter_model.safetensors"),
      rawSafetensors({ w: { dtype: "F32", shape: [9] } }),
    );
    const corrupt = await adapterError(readPeftAdapterDir(root));
    expect(corrupt).toMatchObject({ kind: "invalid_weights", path: join(root, "adapter_model.safetensors") });
    expect(corrupt.cause).toBeInstanceOf(SafetensorsError);
    expect(corrupt.message).toContain("data_offsets as [begin, end]");

    writeFileSync(join(root, "adapter_config.json"), '{"peft_type": ');
    expect(await adapterError(readPeftAdapterDir(root))).toMatchObject({
      kind: "invalid_json",
      path: join(root, "adapter_config.json"),
    });
    writeFileSync(join(root, "adapter_config.json"), "[1]");
    const arr = await adapterError(readPeftAdapterDir(root));
    expect(arr).toMatchObject({ kind: "invalid_config" });
    expect(arr.message).toContain("expected a JSON object, found an array");
  });

  test("writing rejects bad names and configs before touching the disk", async () => {
    const root = tempDir("peft-write-bad");
    const out = join(root, "adapter");
    const w = new Map([["base_model.model.l.lokr_w1", { data: new Float32Array(1), shape: [1] }]]);
    const good = { name: "default", configJson: "{}", weights: w };
    for (const name of ["", "..", "a/b", "adapter_model.safetensors"]) {
      expect(await adapterError(writePeftAdapterDir(out, [good, { ...good, name }]))).toMatchObject({
        kind: "invalid_name",
      });
    }
    expect(await adapterError(writePeftAdapterDir(out, [good, good]))).toMatchObject({
      kind: "invalid_name",
    });
    expect(await adapterError(writePeftAdapterDir(out, [{ ...good, configJson: "{" }]))).toMatchObject({
      kind: "invalid_json",
    });
    expect(await adapterError(writePeftAdapterDir(out, [{ ...good, configJson: '"x"' }]))).toMatchObject({
      kind: "invalid_config",
    });
    const badWeights = new Map([["k", { data: new Float32Array(2), shape: [3] }]]);
    expect(
      await adapterError(
        writePeftAdapterDir(out, [good, { name: "second", configJson: "{}", weights: badWeights }]),
      ),
    ).toMatchObject({ kind: "invalid_weights" });
    expect(readdirSync(root)).toEqual([]); // nothing written for any of the failures

    await writePeftAdapterDir(out, [good, { ...good, name: "second" }]);
    expect(readdirSync(out).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors", "second"]);
    expect((await readPeftAdapterDir(out)).map((a) => a.name)).toEqual(["default", "second"]);
  });
});
