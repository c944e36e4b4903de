import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  AdapterFilesError,
  inspectAdapters,
  locateAdapters,
  validateAdapters,
  validateKohyaFile,
} from "../src/index";
import { directoryBlobs, fileBlob, LYCORIS, PEFT, registry } from "./support/fixtures";

// Reports are integers and names (shapes, ranks, counts): exact comparisons.

describe("inspectAdapters: the same report from paths and from Blobs", () => {
  const reg = registry();
  const dir = join(PEFT, "lokr-multi-adapter", "adapter");

  it("a PEFT directory as a path and as directory files (all sub-adapters)", async () => {
    const fromPath = await inspectAdapters(dir, reg);
    const fromFiles = await inspectAdapters(directoryBlobs(dir), reg);
    expect(fromPath.format).toBe("peft-directory");
    expect(fromPath.adapters.map((a) => a.name)).toEqual(["default", "other"]);
    const strip = (r: typeof fromPath) =>
      r.adapters.map(({ weightsPath: _w, configPath: _c, ...rest }) => rest);
    expect(strip(fromFiles)).toEqual(strip(fromPath));
    expect(fromFiles.totals).toEqual(fromPath.totals);
  });

  it("a bare weights file as a File: type inferred from the parameter names", async () => {
    const report = await inspectAdapters(
      fileBlob(join(PEFT, "loha-conv2d", "adapter", "adapter_model.safetensors")),
      reg,
    );
    expect(report.format).toBe("peft-safetensors");
    expect(report.path).toBe("adapter_model.safetensors");
    expect(report.adapters[0]!.peftType).toBe("LOHA");
    for (const m of report.adapters[0]!.modules) expect(m.summary).toMatch(/^hadamard/);
  });

  it("an unknown peft_type lists the registered types", async () => {
    const files = directoryBlobs(join(PEFT, "lokr-linear-full", "adapter"));
    const config = JSON.parse(await files.get("adapter_config.json")!.text()) as Record<string, unknown>;
    files.set("adapter_config.json", new Blob([JSON.stringify({ ...config, peft_type: "FOO" })]));
    await expect(inspectAdapters(files, reg)).rejects.toThrow(
      /unknown peft_type 'FOO': registered adapter types are LOKR, LOHA, LORA/,
    );
  });

  it("locateAdapters: missing paths and directories without adapters are AdapterFilesErrors", async () => {
    await expect(locateAdapters(join(PEFT, "nope"))).rejects.toMatchObject({ kind: "not_found" });
    await expect(locateAdapters(new Map([["notes.txt", new Blob(["x"])]]))).rejects.toBeInstanceOf(
      AdapterFilesError,
    );
    await expect(
      locateAdapters(fileBlob(join(PEFT, "lokr-linear-full", "base.safetensors")), { allowFile: false }),
    ).rejects.toThrow(/expected a PEFT adapter directory, found a file/);
  });
});

describe("validateAdapters / validateKohyaFile", () => {
  const reg = registry();

  it("every module of an adapter checked against another case's base names the module and both shapes", async () => {
    const report = await validateAdapters(join(PEFT, "lokr-linear-full", "adapter"), reg, {
      base: fileBlob(join(PEFT, "lokr-linear-lowrank-w2", "base.safetensors")),
    });
    expect(report.ok).toBe(false);
    const errors = report.adapters.flatMap((a) => a.checks.filter((c) => c.level === "error"));
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors)
      expect(e.message).toMatch(/^shape mismatch: base weight \[\d+, \d+\] .*lokr_w1: expected/);
  });

  it("a kohya/LyCORIS file given as a File against its base: valid", async () => {
    const c = join(LYCORIS, "loha-conv2d");
    const report = await validateKohyaFile(fileBlob(join(c, "adapter.safetensors")), {
      base: fileBlob(join(c, "base.safetensors")),
      registry: reg,
    });
    expect(report.ok).toBe(true);
    expect(report.adapters[0]!.peftType).toBe("LOHA");
  });
});
