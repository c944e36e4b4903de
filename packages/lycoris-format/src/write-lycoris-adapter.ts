import type { Tensor } from "@lycoris-ts/kernels";
import { LycorisFormatError } from "./lycoris-format-error";
import type { LycorisAdapter } from "./lycoris-module";
import { kohyaTensors } from "./peft-to-lycoris";

/** Options of {@link writeLycorisAdapter}. */
export interface WriteLycorisOptions {
  /**
   * The base weight shape of a module, when known: tells a Conv1d Tucker core (written `(r, r, k)`)
   * from a Conv2d one with a `(k, 1)` kernel; without it such a core is refused as ambiguous.
   */
  readonly weightShape?: (moduleName: string) => readonly number[] | undefined;
}

/** A kohya / LyCORIS file's tensors and metadata, ready for `serializeSafetensors` / `writeSafetensors`. */
export interface LycorisAdapterTensors {
  /** `<file key>.<kohya tensor name>` for every factor, `.alpha` (0-d) and `.dora_scale` where the module has them. */
  readonly tensors: Map<string, Tensor<Float32Array>>;
  /** The adapter's `__metadata__` (empty when it had none). */
  readonly metadata: Record<string, string>;
}

/**
 * Writes a kohya / LyCORIS adapter (as {@link readLycorisAdapter} returns it) back as kohya tensors:
 * each module under its file key, its factors under the variant's kohya tensor names (Conv1d Tucker
 * cores 3-D again), its stored `alpha`, and its DoRA magnitude as `dora_scale`, unchanged. Reading
 * the result gives the same modules (factors, rank, alpha, scale, DoRA magnitude).
 *
 * @throws LycorisFormatError `not_convertible` for a module whose variant has no `kohya` hook or an
 *   ambiguous Conv1d core; `ambiguous_key` when two modules share a file key.
 */
export function writeLycorisAdapter(
  adapter: LycorisAdapter,
  options: WriteLycorisOptions = {},
): LycorisAdapterTensors {
  const tensors = new Map<string, Tensor<Float32Array>>();
  const owners = new Map<string, string>();
  for (const m of adapter.modules) {
    const kohya = m.variant.kohya;
    if (kohya === undefined) {
      throw new LycorisFormatError(
        "not_convertible",
        m.moduleName,
        `module '${m.moduleName}': the ${m.variant.peftType} variant has no kohya / LyCORIS form (no kohya hook)`,
      );
    }
    const other = owners.get(m.fileKey);
    if (other !== undefined) {
      throw new LycorisFormatError(
        "ambiguous_key",
        m.moduleName,
        `modules '${other}' and '${m.moduleName}' both have file key '${m.fileKey}'`,
      );
    }
    owners.set(m.fileKey, m.moduleName);
    const shape = options.weightShape?.(m.moduleName);
    for (const [name, t] of kohyaTensors(m.moduleName, kohya, m.params, null, shape)) {
      tensors.set(`${m.fileKey}.${name}`, t);
    }
    if (m.alpha !== null) tensors.set(`${m.fileKey}.alpha`, { data: Float32Array.of(m.alpha), shape: [] });
    if (m.doraScale !== null) tensors.set(`${m.fileKey}.dora_scale`, m.doraScale);
  }
  return { tensors, metadata: { ...(adapter.metadata ?? {}) } };
}
