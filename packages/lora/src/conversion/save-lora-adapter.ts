import type { Tensor } from "@lycoris-ts/kernels";
import { adapterConfigToJson } from "@lycoris-ts/lycoris-config";
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, writePeftAdapterDir } from "@lycoris-ts/runtime";
import { serializeSafetensors } from "@lycoris-ts/safetensors";
import type { LoraConfig } from "../lora-config";

/** A LoRA adapter as PEFT stores it: its config and its state dict (`base_model.model.<module>.lora_A.weight`, ...). */
export interface LoraAdapterData {
  readonly config: LoraConfig;
  readonly weights: ReadonlyMap<string, Tensor<Float32Array>>;
  /** `target_modules` to write (PEFT writes the value injection resolved); default the config's. */
  readonly savedTargetModules?: string | readonly string[] | null;
  /** Further tensors to write after `weights` (`convertToLora`'s zero factors of targeted, unconverted modules). */
  readonly targetedInitWeights?: ReadonlyMap<string, Tensor<Float32Array>>;
}

/** The text of `adapter_config.json` and the tensors of `adapter_model.safetensors` for `adapter`. */
function fileContents(adapter: LoraAdapterData) {
  const resolved = adapter.savedTargetModules ?? undefined;
  return {
    configJson: adapterConfigToJson(
      adapter.config,
      resolved === undefined ? {} : { resolvedTargetModules: resolved },
    ),
    weights: new Map([...adapter.weights, ...(adapter.targetedInitWeights ?? [])]),
  };
}

/** The two files of a PEFT LoRA adapter directory, in memory (for browsers: wrap them in `Blob`s / a zip). */
export interface LoraAdapterFiles {
  /** `adapter_config.json`'s text (PEFT's: keys sorted, 2-space indent, `inference_mode: true`). */
  readonly [ADAPTER_CONFIG_NAME]: string;
  /** `adapter_model.safetensors`'s bytes (float32, keys sorted, metadata `{"format": "pt"}`). */
  readonly [ADAPTER_WEIGHTS_NAME]: Uint8Array;
}

/** The files PEFT's `save_pretrained` writes for `adapter`, as text and bytes (no file system needed). */
export function loraAdapterFiles(adapter: LoraAdapterData): LoraAdapterFiles {
  const { configJson, weights } = fileContents(adapter);
  return {
    [ADAPTER_CONFIG_NAME]: configJson,
    [ADAPTER_WEIGHTS_NAME]: serializeSafetensors(weights, { metadata: { format: "pt" } }),
  };
}

/**
 * Writes a LoRA adapter (a `LoraConfig` and its tensors, e.g. {@link convertToLora}'s result, or factors of one's
 * own through {@link loraModuleTensors}) as a PEFT adapter directory: `adapter_config.json` +
 * `adapter_model.safetensors` in `dir` (Node.js; each file written atomically), which `PeftModel.from_pretrained`
 * and this package's `loadPeftModel` load.
 *
 * @throws AdapterFileError (`io`, `invalid_weights`).
 */
export async function saveLoraAdapter(dir: string, adapter: LoraAdapterData): Promise<void> {
  await writePeftAdapterDir(dir, [{ name: "default", ...fileContents(adapter) }]);
}
