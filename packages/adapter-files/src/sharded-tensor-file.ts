import type { SafetensorsHeader, TensorInfo } from "@lycoris-ts/safetensors";
import { SafetensorsError } from "@lycoris-ts/safetensors";
import { AdapterFilesError } from "./adapter-files-error";
import { type FileInput, inputName, isShardedFiles, readText, type ShardedFiles } from "./file-input";
import { nodeFs, nodePath } from "./node-builtins";
import { INDEX_SUFFIX, parseSafetensorsIndex, type SafetensorsIndex } from "./safetensors-index";
import { openTensorFile, type TensorFile } from "./tensor-file";

/** One shard of a sharded checkpoint: its file name (next to the index), tensors and metadata. */
export interface TensorShard {
  readonly file: string;
  readonly tensors: readonly string[];
  readonly metadata: Readonly<Record<string, string>> | null;
}

/**
 * A sharded checkpoint read as one {@link TensorFile}: every tensor of every shard, in shard order
 * then file order (`info(name).byteOffset` is within its own shard). `path` is the index file.
 */
export interface ShardedTensorFile extends TensorFile {
  readonly index: SafetensorsIndex;
  /** The index file's name (`model.safetensors.index.json`). */
  readonly indexName: string;
  /** The shard paths (files given as Blobs: their names), in index order. */
  readonly shardPaths: readonly string[];
  readonly shards: readonly TensorShard[];
}

/** Whether a tensor file is a sharded checkpoint. */
export function isShardedTensorFile(file: TensorFile): file is ShardedTensorFile {
  return "shards" in file && Array.isArray((file as ShardedTensorFile).shards);
}

/**
 * The index file a base-model path names: the path itself when it ends in `.safetensors.index.json`,
 * or the one index in a directory (`model.safetensors.index.json` when there are several); `null`
 * for any other path.
 *
 * @throws AdapterFilesError `not_found` for a directory holding no index.
 */
export async function findIndexFile(path: string): Promise<string | null> {
  if (path.endsWith(INDEX_SUFFIX)) return path;
  const s = await nodeFs()
    .stat(path)
    .catch(() => null);
  if (s === null || !s.isDirectory()) return null;
  const names = (await nodeFs().readdir(path)).filter((n) => n.endsWith(INDEX_SUFFIX)).sort();
  const name = names.includes(`model${INDEX_SUFFIX}`)
    ? `model${INDEX_SUFFIX}`
    : names.length === 1
      ? names[0]
      : undefined;
  if (name === undefined) {
    throw new AdapterFilesError(
      "not_found",
      `${path}: a directory without ${names.length === 0 ? "a" : "one"} *${INDEX_SUFFIX} file (a sharded base model is given by its index)${names.length > 1 ? `; found ${names.join(", ")}` : ""}`,
      { path },
    );
  }
  return nodePath().join(path, name);
}

async function readIndex(input: FileInput, name: string): Promise<SafetensorsIndex> {
  let text: string;
  try {
    text = await readText(input);
  } catch (cause) {
    throw new AdapterFilesError("not_found", `${name}: cannot read the safetensors index`, {
      path: name,
      cause,
    });
  }
  return parseSafetensorsIndex(text, name);
}

/** A shard given as a file: the one named `shard`, or a typed `not_found` naming the index. */
function shardFile(files: ShardedFiles, shard: string, indexName: string): Blob {
  const file = files.shards.get(shard);
  if (file !== undefined) return file;
  throw new AdapterFilesError(
    "not_found",
    `${shard}: shard listed in ${indexName} was not given (given: ${[...files.shards.keys()].join(", ") || "none"})`,
    { path: shard },
  );
}

async function openShard(input: FileInput, indexPath: string): Promise<TensorFile> {
  const path = inputName(input);
  try {
    return await openTensorFile(input);
  } catch (error) {
    if (error instanceof SafetensorsError && error.kind === "io") {
      throw new AdapterFilesError(
        "not_found",
        `${path}: shard listed in ${indexPath} cannot be opened (missing or unreadable)`,
        {
          path,
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** Checks that the shards hold exactly the tensors the index lists for them. */
function checkShards(indexPath: string, index: SafetensorsIndex, files: readonly TensorFile[]): void {
  index.shards.forEach((shard, i) => {
    const file = files[i]!;
    for (const t of file.header.tensors) {
      const listed = index.weightMap.get(t.name);
      if (listed === shard) continue;
      const where = listed === undefined ? "is not in the index" : `is listed in ${listed}`;
      throw new AdapterFilesError(
        "input",
        `${file.path}: holds tensor '${t.name}', which ${where} (${indexPath})`,
        {
          path: file.path,
          field: t.name,
        },
      );
    }
  });
  for (const [tensor, shard] of index.weightMap) {
    const file = files[index.shards.indexOf(shard)]!;
    if (!file.has(tensor)) {
      throw new AdapterFilesError(
        "input",
        `${file.path}: has no tensor '${tensor}', which ${indexPath} lists in it`,
        {
          path: file.path,
          field: tensor,
        },
      );
    }
  }
}

/**
 * Opens a sharded checkpoint by its index file (a path: the shards are next to it), or by its files
 * (index and shards by name): parses the index, opens every shard (headers only) and checks that the
 * index and the shards agree. Close it with `close()`.
 *
 * @throws AdapterFilesError `not_found` (index or a shard missing), `input` (malformed index, a
 *   tensor listed twice, a shard missing a listed tensor or holding an unlisted one);
 *   SafetensorsError for a malformed shard.
 */
export async function openShardedTensorFile(input: string | ShardedFiles): Promise<ShardedTensorFile> {
  const indexPath = inputName(input);
  const index = await readIndex(typeof input === "string" ? input : input.index, indexPath);
  const dir = typeof input === "string" ? nodePath().dirname(input) : null;
  const shardInputs: FileInput[] = index.shards.map((s) =>
    dir === null ? shardFile(input as ShardedFiles, s, indexPath) : nodePath().join(dir, s),
  );
  const shardPaths = shardInputs.map((f) => inputName(f));
  const files: TensorFile[] = [];
  const closeAll = async (): Promise<void> => {
    for (const f of files) await f.close().catch(() => undefined);
  };
  try {
    for (const f of shardInputs) files.push(await openShard(f, indexPath));
    checkShards(indexPath, index, files);
  } catch (error) {
    await closeAll();
    throw error;
  }
  const owner = new Map<string, TensorFile>();
  const tensors: TensorInfo[] = [];
  for (const f of files) {
    for (const t of f.header.tensors) {
      owner.set(t.name, f);
      tensors.push(t);
    }
  }
  const header: SafetensorsHeader = { tensors, metadata: files[0]?.header.metadata ?? null, dataOffset: 0 };
  const fileOf = (name: string): TensorFile => {
    const f = owner.get(name);
    if (f === undefined) {
      throw new SafetensorsError("not_found", name, "a tensor in the sharded checkpoint", "no such tensor", {
        path: indexPath,
      });
    }
    return f;
  };
  return {
    path: indexPath,
    header,
    index,
    indexName: isShardedFiles(input) ? indexPath : nodePath().basename(indexPath),
    shardPaths,
    shards: index.shards.map((file, i) => ({
      file,
      tensors: files[i]!.names,
      metadata: files[i]!.header.metadata,
    })),
    get names() {
      return tensors.map((t) => t.name);
    },
    has: (name) => owner.has(name),
    info: (name) => owner.get(name)?.info(name),
    read: (name) => fileOf(name).read(name),
    readBytes: (name) => fileOf(name).readBytes(name),
    readBytesInto: (name, target, start) => fileOf(name).readBytesInto(name, target, start),
    close: closeAll,
  };
}
