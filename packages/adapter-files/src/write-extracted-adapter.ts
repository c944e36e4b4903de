import type { Tensor } from "@lycoris-ts/kernels";
import { peftToLycoris } from "@lycoris-ts/lycoris-format";
import { type AdapterRegistry, writePeftAdapterDir } from "@lycoris-ts/runtime";
import { writeSafetensors } from "@lycoris-ts/safetensors";

/** An adapter held in memory as PEFT stores it, and where and how to save it. */
export interface ExtractedAdapterToWrite {
  /** `adapter_config.json`'s text. */
  readonly configJson: string;
  /** `adapter_model.safetensors`'s tensors (`base_model.model.<module>.<param>`). */
  readonly weights: ReadonlyMap<string, Tensor<Float32Array>>;
  /** `peft`: a PEFT adapter directory at `out`; `kohya`: one kohya / LyCORIS `.safetensors` file. */
  readonly format: "peft" | "kohya";
  readonly out: string;
  readonly registry: AdapterRegistry;
  /** The base weight shape of a module (tells a kohya writer Conv1d from Conv2d). */
  readonly weightShape: (moduleName: string) => readonly number[] | undefined;
  /** kohya key prefix (default `lycoris`). */
  readonly prefix?: string;
}

/**
 * Saves an adapter built in memory, atomically: as a PEFT directory (`writePeftAdapterDir`), or as a kohya /
 * LyCORIS file through `peftToLycoris` (the loaders' ΔW equals PEFT's). The one place the extraction writes.
 */
export async function writeExtractedAdapter(o: ExtractedAdapterToWrite): Promise<void> {
  if (o.format === "peft") {
    await writePeftAdapterDir(o.out, [{ name: "default", configJson: o.configJson, weights: o.weights }]);
    return;
  }
  const written = peftToLycoris(
    { config: JSON.parse(o.configJson) as Record<string, unknown>, weights: o.weights },
    {
      registry: o.registry,
      weightShape: o.weightShape,
      ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
    },
  );
  await writeSafetensors(o.out, written.tensors, { metadata: written.metadata });
}
