import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsSync, serializeSafetensors } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { checkOutputPath, mergeAdapters } from "../src/index";
import { PEFT, registry } from "./support/fixtures";

// Issue 10 items 5 and 8 at the library level (the CLI tests drive the same checks as a subprocess).

const tmp = mkdtempSync(join(tmpdir(), "adapter-files-guards-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const adapter = join(PEFT, "lokr-linear-full", "adapter");
const base = join(PEFT, "lokr-linear-full", "base.safetensors");

describe("checkOutputPath", () => {
  it("refuses an empty path and a '..'-named file inside an input directory, accepts a sibling", async () => {
    await expect(checkOutputPath("", [base], [adapter])).rejects.toMatchObject({ kind: "refused" });
    await expect(checkOutputPath(join(adapter, "..x.safetensors"), [base], [adapter])).rejects.toMatchObject({
      kind: "refused",
      message: expect.stringMatching(/inside the adapter directory/),
    });
    await expect(checkOutputPath(join(tmp, "..x.safetensors"), [base], [adapter])).resolves.toBeUndefined();
  });

  it("a directory output is refused when a file it will hold is an input", async () => {
    const dir = join(tmp, "k");
    cpSync(adapter, dir, { recursive: true });
    const input = join(dir, "adapter_model.safetensors");
    await expect(
      checkOutputPath(dir, [input], [], {
        directoryOf: ["adapter_config.json", "adapter_model.safetensors"],
      }),
    ).rejects.toMatchObject({ kind: "refused", message: expect.stringMatching(/overwrite the input/) });
  });
});

describe("mergeAdapters and non-finite values", () => {
  const nan = join(tmp, "nan-adapter");
  cpSync(adapter, nan, { recursive: true });
  const weights = join(nan, "adapter_model.safetensors");
  const file = readSafetensorsSync(weights);
  [...file.tensors.values()][0]!.data[0] = Number.POSITIVE_INFINITY;
  writeFileSync(weights, serializeSafetensors(file.tensors));

  it("refuses by default, naming the tensor, and leaves nothing; allowNonFinite writes it", async () => {
    const out = join(tmp, "merged.safetensors");
    await expect(mergeAdapters({ base, adapter: nan, out, registry: registry() })).rejects.toMatchObject({
      kind: "input",
      message: expect.stringMatching(/merged tensor '[^']+' has a non-finite value/),
    });
    expect(readdirSync(tmp).filter((f) => f.includes("merged"))).toEqual([]);
    await mergeAdapters({ base, adapter: nan, out, registry: registry(), allowNonFinite: true });
    expect(readdirSync(tmp).filter((f) => f.includes("merged"))).toEqual(["merged.safetensors"]);
  });
});
