import type { BaseInput } from "@lycoris-ts/adapter-files";
import type { BaseSource } from "./protocol";

const INDEX_SUFFIX = ".safetensors.index.json";

/** The base model the user picked, as the file engine takes it. */
export interface PickedBase {
  /** One `.safetensors` file, or a sharded checkpoint's index and shards (by file name). */
  readonly input: BaseInput;
  /** The file's name, or the index's. */
  readonly name: string;
  /** What a merged copy is called: `<stem>-merged.safetensors`. */
  readonly stem: string;
  /** Bytes of every file (what a download built in memory would hold). */
  readonly bytes: number;
  /** For a sharded checkpoint: its shards, and that a merge writes one file. */
  readonly note: string | null;
}

/**
 * The base in the picked files: one `.safetensors` file, or a sharded checkpoint (its
 * `*.safetensors.index.json` and shards, picked or dropped together). Anything else is a note
 * saying what was expected, and no base.
 */
export function pickBase(source: BaseSource | null): { base: PickedBase | null; note: string | null } {
  if (source === null || source.files.length === 0) return { base: null, note: null };
  const [first] = source.files;
  if (source.files.length === 1 && first!.name.endsWith(".safetensors")) {
    const stem = first!.name.replace(/\.safetensors$/, "");
    return { base: { input: first!, name: first!.name, stem, bytes: first!.size, note: null }, note: null };
  }
  const indexes = source.files.filter((f) => f.name.endsWith(INDEX_SUFFIX));
  const shards = source.files.filter((f) => f.name.endsWith(".safetensors"));
  const index = indexes[0];
  if (indexes.length === 1 && index !== undefined && shards.length + 1 === source.files.length) {
    const note = `sharded: ${shards.length} shard${shards.length === 1 ? "" : "s"}; a merge writes one .safetensors file`;
    const base: PickedBase = {
      input: { index, shards: new Map(shards.map((f) => [f.name, f])) },
      name: index.name,
      stem: index.name.slice(0, -INDEX_SUFFIX.length),
      bytes: shards.reduce((n, f) => n + f.size, 0),
      note,
    };
    return { base, note };
  }
  const names = source.files.map((f) => f.name).join(", ");
  return {
    base: null,
    note: `expected one .safetensors checkpoint, or a sharded one's *${INDEX_SUFFIX} with all its shards; got ${names}`,
  };
}
