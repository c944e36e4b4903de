import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsSync } from "@lycoris-ts/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import {
  AdapterFilesError,
  convertKohyaToPeft,
  convertPeftToKohya,
  mergeAdapters,
  mergeKohyaFile,
  type ProgressEvent,
} from "../src/index";
import {
  directoryBlobs,
  fileBlob,
  LYCORIS,
  PEFT,
  peftExpected,
  registry,
  worstExcess,
} from "./support/fixtures";

const tmp = mkdtempSync(join(tmpdir(), "adapter-files-merge-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const reg = registry();

/** Checks merged weights against PEFT's `merged/<name>` (1e-5·(1+|e|), see worstExcess); other tensors bit for bit. */
function checkPeftMerge(name: string, out: string): void {
  const base = readSafetensorsSync(join(PEFT, name, "base.safetensors")).tensors;
  const expected = readSafetensorsSync(join(PEFT, name, "expected.safetensors")).tensors;
  const merged = readSafetensorsSync(out).tensors;
  expect([...merged.keys()]).toEqual([...base.keys()]);
  for (const [key, b] of base) {
    const want = expected.get(`merged/${key}`);
    if (want !== undefined) expect(worstExcess(merged.get(key)!.data, want.data), key).toBeLessThanOrEqual(0);
    else expect(merged.get(key)!.data).toEqual(b.data);
  }
}

const noTempFiles = () => expect(readdirSync(tmp).filter((f) => f.includes(".tmp"))).toEqual([]);

describe("mergeAdapters", () => {
  for (const name of ["lokr-mixed-kinds", "loha-conv2d-effective", "lokr-modules-to-save"]) {
    it(`${name}: base and adapter as Blobs, merged = PEFT's, progress from 0 to every tensor`, async () => {
      const out = join(tmp, `${name}.safetensors`);
      const events: ProgressEvent[] = [];
      const s = await mergeAdapters({
        base: fileBlob(join(PEFT, name, "base.safetensors")),
        adapter: directoryBlobs(join(PEFT, name, "adapter")),
        out,
        registry: reg,
        onProgress: (e) => events.push(e),
      });
      checkPeftMerge(name, out);
      expect(s.mergedModules).toBe(Object.keys(peftExpected(name).modules).length);
      expect(events.map((e) => e.done)).toEqual([...Array(s.tensors + 1).keys()]);
      expect(events.every((e) => e.total === s.tensors)).toBe(true);
    });
  }

  it("into a WritableStream: the same bytes as the file output", async () => {
    const name = "lokr-mixed-kinds";
    const chunks: Uint8Array[] = [];
    const sink = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
    const o = {
      base: join(PEFT, name, "base.safetensors"),
      adapter: join(PEFT, name, "adapter"),
      registry: reg,
    };
    await mergeAdapters({ ...o, out: sink });
    const file = join(tmp, "stream-twin.safetensors");
    await mergeAdapters({ ...o, out: file });
    expect(Buffer.concat(chunks).equals(readFileSync(file))).toBe(true);
  });

  it("an abort between tensors rejects with `aborted` and leaves nothing at the output", async () => {
    const out = join(tmp, "aborted.safetensors");
    const controller = new AbortController();
    const run = mergeAdapters({
      base: join(PEFT, "lokr-mixed-kinds", "base.safetensors"),
      adapter: join(PEFT, "lokr-mixed-kinds", "adapter"),
      out,
      registry: reg,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.done === 1) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: "AdapterFilesError", kind: "aborted" });
    expect(existsSync(out)).toBe(false);
    noTempFiles();
  });

  it('a directory of several adapters, none of them "default", and no name given: `choose_adapter`', async () => {
    const c = join(PEFT, "lokr-multi-adapter");
    const files = directoryBlobs(join(c, "adapter"));
    // the root adapter moved to first/: two sub-adapters, "first" and "other"
    const adapter = new Map([...files].map(([k, v]) => [k.includes("/") ? k : `first/${k}`, v]));
    const out = join(tmp, "choose.safetensors");
    const run = mergeAdapters({ base: join(c, "base.safetensors"), adapter, out, registry: reg });
    await expect(run).rejects.toMatchObject({ kind: "choose_adapter" });
    await expect(run).rejects.toThrow(/several adapters \(first, other\)/);
  });

  it("refuses an output over the base and a base the adapter does not fit", async () => {
    const base = join(PEFT, "lokr-linear-full", "base.safetensors");
    const adapter = join(PEFT, "lokr-linear-full", "adapter");
    await expect(mergeAdapters({ base, adapter, out: base, registry: reg })).rejects.toMatchObject({
      kind: "refused",
    });
    const other = join(PEFT, "lokr-linear-lowrank-w2", "base.safetensors");
    const misfit = mergeAdapters({
      base: other,
      adapter,
      out: join(tmp, "misfit.safetensors"),
      registry: reg,
    });
    await expect(misfit).rejects.toThrow(
      /module '.*' \(adapter "default"\): shape mismatch: base weight \[64, 64\]/,
    );
    await expect(misfit).rejects.toBeInstanceOf(AdapterFilesError);
    noTempFiles();
  });
});

describe("kohya / LyCORIS files", () => {
  it("mergeKohyaFile from Files = the fixture's merged weights (ComfyUI rules)", async () => {
    const c = join(LYCORIS, "lokr-conv2d");
    const out = join(tmp, "kohya.safetensors");
    const s = await mergeKohyaFile({
      base: fileBlob(join(c, "base.safetensors")),
      adapter: fileBlob(join(c, "adapter.safetensors")),
      out,
      registry: reg,
    });
    expect(s.algos).toEqual({ LOKR: s.mergedModules });
    const expected = readSafetensorsSync(join(c, "expected.safetensors")).tensors;
    const merged = readSafetensorsSync(out).tensors;
    for (const [key, t] of merged) {
      const want = expected.get(`merged/${key}`);
      if (want !== undefined) expect(worstExcess(t.data, want.data), key).toBeLessThanOrEqual(0);
    }
  });

  it("PEFT → kohya into a WritableStream, merged back as a File = PEFT's merged weights", async () => {
    const name = "loha-conv2d";
    const chunks: Uint8Array[] = [];
    const sink = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
    const s = await convertPeftToKohya({
      adapter: directoryBlobs(join(PEFT, name, "adapter")),
      out: sink,
      registry: reg,
    });
    expect([s.algo, s.baked, s.scaleParameter]).toEqual(["LOHA", 0, null]);
    const out = join(tmp, "via-kohya.safetensors");
    await mergeKohyaFile({
      base: join(PEFT, name, "base.safetensors"),
      adapter: new File(chunks, "converted.safetensors"),
      out,
      registry: reg,
    });
    checkPeftMerge(name, out);
  });

  it("kohya → PEFT without an output returns the adapter's config and weights", async () => {
    const c = join(LYCORIS, "lokr-conv2d");
    const r = await convertKohyaToPeft({
      adapter: fileBlob(join(c, "adapter.safetensors")),
      base: join(c, "base.safetensors"),
      registry: reg,
    });
    expect(r.peftType).toBe("LOKR");
    expect(JSON.parse(r.configJson)).toMatchObject({ peft_type: "LOKR", r: r.r });
    expect([...r.weights.keys()].every((k) => k.startsWith("base_model.model."))).toBe(true);
  });
});
