import { writeFileAtomic } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";
import { checkOutputPath } from "./check-output-path";
import type { AdapterInput, FileOutput } from "./file-input";
import { nodeFs, nodePath } from "./node-builtins";
import { formatSafetensorsIndex, INDEX_SUFFIX } from "./safetensors-index";
import { isShardedTensorFile } from "./sharded-tensor-file";
import type { TensorFile } from "./tensor-file";
import type { MergedFile, MergedLayout } from "./write-merged-copy";

/** How a merged model is laid out on disk (options of the merges). */
export interface MergedOutputOptions {
  /** Write one `.safetensors` file even when the base model is sharded (default false). */
  readonly singleFile?: boolean;
  /**
   * Re-shard the output: shards of at most this many bytes of tensor data (a larger tensor gets a
   * shard of its own), named `<prefix>-00001-of-0000N.safetensors`, plus `<prefix>.safetensors.index.json`.
   */
  readonly maxShardSize?: number;
}

/** Whether the merge of `base` with these options writes one file (checkable before opening it). */
export function writesOneFile(baseIsSharded: boolean, o: MergedOutputOptions): boolean {
  return o.singleFile === true || (!baseIsSharded && o.maxShardSize === undefined);
}

/** Tensors of `base` in groups of at most `max` bytes, in file order. */
function reshard(base: TensorFile, max: number): string[][] {
  const groups: string[][] = [];
  let size = Number.POSITIVE_INFINITY;
  for (const t of base.header.tensors) {
    if (size + t.byteLength > max || groups.length === 0) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1]!.push(t.name);
    size += t.byteLength;
  }
  return groups;
}

const pad5 = (n: number): string => String(n).padStart(5, "0");

/**
 * The files of a merge's output: one file at `out`, or (a sharded base without `singleFile`, or
 * `maxShardSize`) a directory `out` (or the directory of `out` when it names a
 * `*.safetensors.index.json`) holding the shards and a rewritten index (`total_size` recomputed),
 * every output path checked against the inputs. The directory is created when missing (and removed
 * again if the merge fails); the index is written last, after every shard is in place.
 *
 * @throws AdapterFilesError `refused` / `input` (see `checkOutputPath`), `unsupported` for a sharded
 *   output to a stream.
 */
export async function planMergedLayout(
  base: TensorFile,
  out: FileOutput,
  o: MergedOutputOptions,
  inputs: { readonly files: readonly AdapterInput[]; readonly dirs: readonly AdapterInput[] },
): Promise<FileOutput | MergedLayout> {
  const sharded = isShardedTensorFile(base) ? base : null;
  if (writesOneFile(sharded !== null, o)) return out;
  if (typeof out !== "string") {
    throw new AdapterFilesError(
      "unsupported",
      "a sharded output needs a directory path (or singleFile for a stream)",
    );
  }
  if (o.maxShardSize !== undefined && !(Number.isSafeInteger(o.maxShardSize) && o.maxShardSize > 0)) {
    throw new AdapterFilesError(
      "input",
      `maxShardSize: expected a positive whole number of bytes, got ${o.maxShardSize}`,
      {
        field: "maxShardSize",
      },
    );
  }
  if (out.endsWith(".safetensors")) {
    throw new AdapterFilesError(
      "input",
      `output ${out}: the output is sharded (a sharded base keeps its shards), so it is a directory or a *${INDEX_SUFFIX} path; use singleFile (--single-file) for one .safetensors file`,
      { path: out },
    );
  }
  const { basename, dirname, join } = nodePath();
  const namedIndex = out.endsWith(INDEX_SUFFIX);
  const dir = namedIndex ? dirname(out) : out;
  const indexName = namedIndex ? basename(out) : (sharded?.indexName ?? `model${INDEX_SUFFIX}`);
  const prefix = indexName.slice(0, -INDEX_SUFFIX.length) || "model";
  let files: {
    file: string;
    tensors: readonly string[];
    metadata: Readonly<Record<string, string>> | null;
  }[];
  if (o.maxShardSize === undefined && sharded !== null) files = [...sharded.shards];
  else {
    const groups = reshard(base, o.maxShardSize ?? Number.POSITIVE_INFINITY);
    files = groups.map((tensors, i) => ({
      file: `${prefix}-${pad5(i + 1)}-of-${pad5(groups.length)}.safetensors`,
      tensors,
      metadata: base.header.metadata,
    }));
  }
  const baseFiles = sharded === null ? [base.path] : [sharded.path, ...sharded.shardPaths];
  await checkOutputPath(dir, [...baseFiles, ...inputs.files], inputs.dirs, {
    directoryOf: [indexName, ...files.map((f) => f.file)],
  });
  const created = (await nodeFs().mkdir(dir, { recursive: true })) !== undefined;
  const weightMap: [string, string][] = [];
  let totalSize = 0;
  for (const f of files) {
    for (const t of f.tensors) {
      weightMap.push([t, f.file]);
      totalSize += base.info(t)!.byteLength;
    }
  }
  const metadata = sharded?.index.metadata ?? {};
  const merged: MergedFile[] = files.map((f) => ({
    target: join(dir, f.file),
    tensors: f.tensors,
    metadata: f.metadata,
  }));
  return {
    files: merged,
    finish: () =>
      writeFileAtomic(join(dir, indexName), formatSafetensorsIndex(metadata, weightMap, totalSize)),
    abort: async () => {
      if (created)
        await nodeFs()
          .rmdir(dir)
          .catch(() => undefined);
    },
  };
}
