import { AdapterFilesError } from "./adapter-files-error";
import { errorCode, nodeFs } from "./node-builtins";

/** One file: a path (Node.js) or a `Blob` / `File` (browsers and Node.js). */
export type FileInput = string | Blob;

/** Where to write one file: a path (Node.js, written atomically) or a `WritableStream` of bytes. */
export type FileOutput = string | WritableStream<Uint8Array>;

/**
 * A PEFT adapter directory's files without a file system: relative path → file
 * (`adapter_config.json`, `adapter_model.safetensors`, `style/adapter_config.json`, …), e.g. built
 * from an `<input type="file" webkitdirectory>`'s files and their `webkitRelativePath`.
 */
export type DirectoryFiles = ReadonlyMap<string, Blob>;

/** An adapter: a PEFT adapter directory (a path or its files) or one `.safetensors` file. */
export type AdapterInput = FileInput | DirectoryFiles;

/**
 * A sharded checkpoint without a file system: its `*.safetensors.index.json` and the shard files it
 * names (shard file name → file), e.g. from an `<input type="file" multiple>`.
 */
export interface ShardedFiles {
  readonly index: Blob;
  readonly shards: ReadonlyMap<string, Blob>;
}

/**
 * A base model: one `.safetensors` file (path or Blob), a sharded checkpoint's index (or the
 * directory holding it) by path, or a sharded checkpoint's files.
 */
export type BaseInput = FileInput | ShardedFiles;

/** Whether a base model is given as a sharded checkpoint's files. */
export function isShardedFiles(input: BaseInput | DirectoryFiles): input is ShardedFiles {
  return typeof input === "object" && !(input instanceof Blob) && !(input instanceof Map) && "index" in input;
}

/** The files of a base model that an output must not overwrite (a sharded one's Blobs cannot be). */
export function baseInputFiles(base: BaseInput): FileInput[] {
  return isShardedFiles(base) ? [] : [base];
}

/** How messages name an input: its path, a `File`'s name (a sharded checkpoint's: its index's), or `<blob>`. */
export function inputName(input: BaseInput | DirectoryFiles): string {
  if (typeof input === "string") return input;
  if (input instanceof Blob) return (input as Blob & { name?: unknown }).name?.toString() || "<blob>";
  if (isShardedFiles(input)) return inputName(input.index);
  return "<directory files>";
}

/**
 * Checks that an existing path is a regular file before it is opened (a FIFO, socket or device
 * would block or never end); a path that cannot be stat'ed is left to the reader's own error.
 *
 * @throws AdapterFilesError `input` naming the path and what it is.
 */
export async function checkRegularFile(input: FileInput): Promise<void> {
  if (typeof input !== "string") return;
  const s = await nodeFs()
    .stat(input)
    .catch(() => null);
  if (s === null || s.isFile()) return;
  const what = s.isDirectory()
    ? "a directory"
    : s.isFIFO()
      ? "a FIFO"
      : s.isSocket()
        ? "a socket"
        : s.isCharacterDevice() || s.isBlockDevice()
          ? "a device"
          : "not a plain file";
  throw new AdapterFilesError("input", `${input}: not a regular file (${what}), expected a file`, {
    path: input,
  });
}

/**
 * The text of a file.
 *
 * @throws AdapterFilesError `not_found` / `input` when it cannot be read.
 */
export async function readText(input: FileInput): Promise<string> {
  await checkRegularFile(input);
  try {
    return typeof input === "string" ? await nodeFs().readFile(input, "utf8") : await input.text();
  } catch (error) {
    if (error instanceof AdapterFilesError) throw error;
    const code = errorCode(error);
    throw new AdapterFilesError(
      code === "ENOENT" ? "not_found" : "input",
      `${inputName(input)}: cannot read (${code ?? String(error)})`,
      {
        path: inputName(input),
        cause: error,
      },
    );
  }
}

/** The bytes of a file. */
export async function readBytes(input: FileInput): Promise<Uint8Array> {
  await checkRegularFile(input);
  try {
    return typeof input === "string"
      ? new Uint8Array(await nodeFs().readFile(input))
      : new Uint8Array(await input.arrayBuffer());
  } catch (error) {
    if (error instanceof AdapterFilesError) throw error;
    throw new AdapterFilesError(
      "input",
      `${inputName(input)}: cannot read the file (${(error as Error).message})`,
      {
        path: inputName(input),
        cause: error,
      },
    );
  }
}
