import { readFileSync } from "node:fs";
import type { Tensor } from "@lycoris-ts/kernels";
import { parseSafetensors, serializeSafetensors } from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";
import {
  type LycorisAdapter,
  LycorisFormatError,
  readLycorisAdapter,
  writeLycorisAdapter,
} from "../src/index";
import { keyMapRegistry, LAYOUTS } from "./key-map-support";

/**
 * The kohya writer on a real DoRA file (fixtures/lycoris-layouts/sd15-kohya-dora, written by
 * LyCORIS: LoKr and LoHa modules with `dora_scale`): read → write → read gives the file's tensors
 * and the same modules back, bit for bit (no arithmetic happens: exact equality).
 */

const registry = keyMapRegistry();
/** The modules of the file's LoKr and LoHa keys, as a diffusers SD1.5 model names them. */
const MODULES = [
  "unet.down_blocks.2.attentions.0.transformer_blocks.0.attn2.to_v",
  "unet.up_blocks.2.resnets.1.conv1",
];

function fileTensors(): Map<string, Tensor<Float32Array>> {
  const c = parseSafetensors(new Uint8Array(readFileSync(`${LAYOUTS}sd15-kohya-dora/adapter.safetensors`)));
  // The LoRA module (lora_te_…) needs @lycoris-ts/lora; adapter-files' tests write it too.
  return new Map(
    [...c.tensors].filter(([k]) => k.startsWith("lora_unet_")) as [string, Tensor<Float32Array>][],
  );
}

const read = (source: Uint8Array | ReadonlyMap<string, Tensor<Float32Array>>): LycorisAdapter =>
  readLycorisAdapter(source, { moduleNames: MODULES, registry });

function plain(a: LycorisAdapter) {
  return a.modules.map((m) => ({
    moduleName: m.moduleName,
    fileKey: m.fileKey,
    algo: m.algo,
    params: m.params,
    rank: m.rank,
    alpha: m.alpha,
    scale: m.scale,
    doraScale: m.doraScale,
  }));
}

describe("writeLycorisAdapter: DoRA round trip", () => {
  it("writes every factor, alpha and dora_scale of a LyCORIS DoRA file back unchanged", () => {
    const input = fileTensors();
    const first = read(input);
    expect(first.modules.map((m) => m.doraScale === null)).toEqual([false, false]);
    const written = writeLycorisAdapter(first);
    expect([...written.tensors.keys()].sort()).toEqual([...input.keys()].sort());
    for (const [name, t] of input) {
      expect(written.tensors.get(name)!.shape, name).toEqual(t.shape);
      expect(written.tensors.get(name)!.data, name).toEqual(t.data);
    }
  });

  it("reading the written file gives the same modules (factors, rank, alpha, scale, DoRA magnitude)", () => {
    const first = read(fileTensors());
    const written = writeLycorisAdapter(first);
    const bytes = serializeSafetensors(written.tensors, { metadata: written.metadata });
    expect(plain(read(bytes))).toEqual(plain(first));
  });

  it("refuses two modules with one file key (typed)", () => {
    const first = read(fileTensors());
    const twice: LycorisAdapter = { ...first, modules: [first.modules[0]!, first.modules[0]!] };
    expect(() => writeLycorisAdapter(twice)).toThrow(LycorisFormatError);
  });
});
