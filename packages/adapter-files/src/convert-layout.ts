import {
  type RelayoutDrop,
  type RelayoutModule,
  relayoutAdapterKeys,
  type TargetLayout,
} from "@lycoris-ts/lycoris-format";
import type { AdapterRegistry } from "@lycoris-ts/runtime";
import { AdapterFilesError } from "./adapter-files-error";
import { checkOutputPath } from "./check-output-path";
import type { FileInput, FileOutput } from "./file-input";
import { nodeFs } from "./node-builtins";
import { openBaseModel } from "./open-base-model";
import type { OnProgress } from "./progress";
import { openTensorFile } from "./tensor-file";
import { createTensorFileWriter } from "./tensor-file-writer";

async function isDirectory(path: string): Promise<boolean> {
  const s = await nodeFs()
    .stat(path)
    .catch(() => null);
  return s?.isDirectory() === true;
}

/** Options of {@link convertLayout}. */
export interface ConvertLayoutOptions {
  /** The adapter `.safetensors` file, in any layout the key map reads. */
  readonly adapter: FileInput;
  /** The base checkpoint the adapter is for (header only): it decides the keys of each layout. */
  readonly base: FileInput;
  /** Where to write (a path atomically, never over an input; or a stream). */
  readonly out: FileOutput;
  readonly layout: TargetLayout;
  readonly registry: AdapterRegistry;
  /** Leave out what the layout cannot express (listed in the summary) instead of failing. */
  readonly drop?: boolean;
  /** Called once the output exists (`done: 0`) and after every tensor. */
  readonly onProgress?: OnProgress;
  /** Stops between two tensors: nothing is left at the output, the call rejects (`aborted`). */
  readonly signal?: AbortSignal;
}

/** What {@link convertLayout} wrote. */
export interface ConvertLayoutSummary {
  readonly layout: TargetLayout;
  /** The module keys written: the input's key and the key in the layout. */
  readonly modules: readonly RelayoutModule[];
  /** Tensors written. */
  readonly tensors: number;
  /** What was left out and why (only with `drop`). */
  readonly dropped: readonly RelayoutDrop[];
}

/**
 * Writes an adapter file again with its module keys in another producer layout (lycoris-format's
 * `relayoutAdapterKeys`: each module keeps its checkpoint target; LoRA tensors get kohya's
 * `lora_up` / `lora_down` names). Tensor bytes, dtypes and the file's `__metadata__` are copied
 * unchanged, one tensor at a time.
 *
 * @throws LycorisFormatError `not_convertible` listing what the layout cannot express (unless
 *   `drop`); AdapterFilesError `refused` when `out` is an input, `unsupported` for a directory,
 *   `aborted` through `signal`;
 *   SafetensorsError for unreadable files.
 */
export async function convertLayout(o: ConvertLayoutOptions): Promise<ConvertLayoutSummary> {
  if (typeof o.adapter === "string" && (await isDirectory(o.adapter))) {
    throw new AdapterFilesError(
      "unsupported",
      `${o.adapter}: a directory; a layout conversion takes one adapter .safetensors file (write a PEFT adapter directory as a kohya file first: convertPeftToKohya, lycoris convert --to lycoris)`,
      { path: o.adapter },
    );
  }
  await checkOutputPath(o.out, [o.adapter, o.base], []);
  const base = await openBaseModel(o.base);
  const shapes = base.header.tensors;
  await base.close();
  const adapter = await openTensorFile(o.adapter);
  try {
    const r = relayoutAdapterKeys(shapes, adapter.names, {
      layout: o.layout,
      registry: o.registry,
      ...(o.drop === undefined ? {} : { drop: o.drop }),
    });
    const from = new Map([...r.renames].map(([old, name]) => [name, old] as const));
    const announced = [...r.renames].map(([old, name]) => {
      const info = adapter.info(old)!;
      return { name, shape: info.shape, dtype: info.dtype };
    });
    const metadata = adapter.header.metadata;
    const writer = await createTensorFileWriter(o.out, announced, metadata === null ? {} : { metadata });
    try {
      const total = writer.header.tensors.length;
      o.onProgress?.({ task: "convert", done: 0, total, item: "" });
      let done = 0;
      for (const { name } of writer.header.tensors) {
        if (o.signal?.aborted === true) throw new AdapterFilesError("aborted", "aborted; no output written");
        await writer.writeBytes(name, await adapter.readBytes(from.get(name)!));
        o.onProgress?.({ task: "convert", done: ++done, total, item: name });
      }
      await writer.close();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return { layout: o.layout, modules: r.modules, tensors: r.renames.size, dropped: r.dropped };
  } finally {
    await adapter.close();
  }
}
