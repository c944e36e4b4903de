import { checkJsonKeys, SafetensorsError } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";

/** How a sharded checkpoint's index file is named: `<prefix>.safetensors.index.json`. */
export const INDEX_SUFFIX = ".safetensors.index.json";

/**
 * A sharded checkpoint's index (`model.safetensors.index.json`, as Hugging Face writes it): which
 * shard file holds each tensor.
 */
export interface SafetensorsIndex {
  /** The index's `metadata` (`total_size`, and whatever else it holds). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Tensor name → shard file name, in the index's order. */
  readonly weightMap: ReadonlyMap<string, string>;
  /** Shard file names, in order of first mention. */
  readonly shards: readonly string[];
}

function malformed(path: string, what: string, field?: string): never {
  throw new AdapterFilesError("input", `${path}: malformed safetensors index: ${what}`, {
    path,
    ...(field === undefined ? {} : { field }),
  });
}

/** Whether a shard name is a plain file name next to the index (no directories, no `..`). */
const plainName = (name: string): boolean =>
  name !== "" && name !== "." && name !== ".." && !/[/\\]/.test(name) && !name.includes("\0");

/**
 * Parses a sharded checkpoint's index file: `{"metadata": {...}, "weight_map": {tensor: shard}}`.
 *
 * @throws AdapterFilesError `input` for JSON that does not parse, a tensor listed twice (a repeated
 *   `weight_map` key, which `JSON.parse` would silently drop), a missing or non-object `weight_map`,
 *   and a shard name that is not a plain file name.
 */
export function parseSafetensorsIndex(text: string, path: string): SafetensorsIndex {
  try {
    checkJsonKeys(text);
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    const field = error.field ?? "";
    const tensor = field.startsWith("weight_map.") ? field.slice("weight_map.".length) : null;
    malformed(
      path,
      tensor === null ? error.message : `tensor '${tensor}' is listed twice in weight_map`,
      field,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    malformed(path, `not JSON (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    malformed(path, "expected a JSON object");
  const { metadata = {}, weight_map: map } = json as { metadata?: unknown; weight_map?: unknown };
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    malformed(path, "'metadata' is not an object", "metadata");
  }
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    malformed(path, "no 'weight_map' object (tensor name → shard file)", "weight_map");
  }
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string" || !plainName(shard)) {
      malformed(
        path,
        `tensor '${tensor}' maps to ${JSON.stringify(shard)}, expected a shard file name next to the index`,
        `weight_map.${tensor}`,
      );
    }
    weightMap.set(tensor, shard);
    if (!shards.includes(shard)) shards.push(shard);
  }
  if (weightMap.size === 0) malformed(path, "'weight_map' lists no tensor", "weight_map");
  return { metadata: metadata as Record<string, unknown>, weightMap, shards };
}

/**
 * The text of an index file as Hugging Face writes it (2-space indent, `weight_map` keys sorted),
 * with `metadata.total_size` set to `totalSize` (the bytes of every tensor's data).
 */
export function formatSafetensorsIndex(
  metadata: Readonly<Record<string, unknown>>,
  weightMap: Iterable<readonly [string, string]>,
  totalSize: number,
): string {
  const sorted = [...weightMap].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const index = { metadata: { ...metadata, total_size: totalSize }, weight_map: Object.fromEntries(sorted) };
  return `${JSON.stringify(index, null, 2)}\n`;
}
