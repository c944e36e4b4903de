import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readLycorisAdapter, writeLycorisAdapter } from "@lycoris-ts/lycoris-format";
import { parseSafetensors, serializeSafetensors } from "@lycoris-ts/safetensors";
import { describe, expect, it } from "vitest";
import { LAYOUTS } from "../../../test-support/lycoris-layouts";
import { registry } from "./support/fixtures";

/**
 * The whole LyCORIS DoRA file of fixtures/lycoris-layouts/sd15-kohya-dora (LoKr, LoHa and LoRA
 * modules, each with `dora_scale`) read with LoKr, LoHa and LoRA registered, written back with the
 * kohya writer and read again: the same bytes per tensor and the same modules (exact: no arithmetic).
 */
describe("kohya writer: DoRA file read → write → read", () => {
  it("gives back every tensor of the file and the same modules", () => {
    const bytes = new Uint8Array(readFileSync(join(LAYOUTS, "sd15-kohya-dora", "adapter.safetensors")));
    const moduleNames = [
      "unet.down_blocks.2.attentions.0.transformer_blocks.0.attn2.to_v",
      "unet.up_blocks.2.resnets.1.conv1",
      "text_encoder.text_model.encoder.layers.5.mlp.fc2",
    ];
    const reg = registry();
    const first = readLycorisAdapter(bytes, { moduleNames, registry: reg });
    expect(first.modules.map((m) => [m.algo, m.doraScale !== null])).toEqual([
      ["LORA", true],
      ["LOKR", true],
      ["LOHA", true],
    ]);
    const written = writeLycorisAdapter(first);
    const again = serializeSafetensors(written.tensors, { metadata: written.metadata });
    const original = parseSafetensors(bytes);
    const back = parseSafetensors(again);
    expect(back.metadata).toEqual(original.metadata);
    expect([...back.tensors.keys()]).toEqual([...original.tensors.keys()]);
    for (const [name, t] of original.tensors) {
      expect(back.tensors.get(name)!.shape, name).toEqual(t.shape);
      expect(back.tensors.get(name)!.data, name).toEqual(t.data);
    }
    const second = readLycorisAdapter(again, { moduleNames, registry: reg });
    const plain = (a: typeof first) =>
      a.modules.map(({ variant, ...m }) => ({ ...m, type: variant.peftType }));
    expect(plain(second)).toEqual(plain(first));
  });
});
