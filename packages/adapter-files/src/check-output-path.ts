import { AdapterFilesError } from "./adapter-files-error";
import type { AdapterInput, FileOutput } from "./file-input";
import { nodeFs, nodePath } from "./node-builtins";

async function realOrNull(path: string): Promise<string | null> {
  try {
    return await nodeFs().realpath(path);
  } catch {
    return null;
  }
}

/** The real path `path` has or would have once created (its directory resolved through links). */
async function realTarget(path: string): Promise<string> {
  const { basename, dirname, resolve } = nodePath();
  const existing = await realOrNull(path);
  if (existing !== null) return existing;
  const dir = await realOrNull(dirname(resolve(path)));
  return resolve(dir ?? dirname(resolve(path)), basename(path));
}

/** Whether `child` is `parent` or below it (a name that merely starts with `..`, like `..x`, is below). */
function isInside(child: string, parent: string): boolean {
  const { isAbsolute, relative, sep } = nodePath();
  const rel = relative(parent, child);
  const up = rel === ".." || rel.startsWith(`..${sep}`) || rel.startsWith("../");
  return rel === "" || (!up && !isAbsolute(rel) && !/^[A-Za-z]:/.test(rel));
}

const stat = (p: string) =>
  nodeFs()
    .stat(p)
    .catch(() => null);

/** Whether `out` and `file` are the same file (same real path, or the same inode). */
async function sameFile(out: string, file: string): Promise<boolean> {
  if ((await realTarget(file)) === (await realTarget(out))) return true;
  const [a, b] = [await stat(out), await stat(file)];
  return a !== null && b !== null && a.ino === b.ino && a.dev === b.dev;
}

/** Options of {@link checkOutputPath}. */
export interface OutputPathOptions {
  /**
   * The output is a directory that will hold these files (names relative to it, e.g. PEFT's
   * `adapter_config.json` and `adapter_model.safetensors`); default: the output is one file.
   */
  readonly directoryOf?: readonly string[];
}

function refuse(out: string, message: string): never {
  throw new AdapterFilesError("refused", message, { path: out });
}

/** Refuses `path` (to be written) when it is an input file or lies inside an input directory. */
async function checkWritten(
  out: string,
  path: string,
  inputFiles: readonly AdapterInput[],
  inputDirs: readonly AdapterInput[],
): Promise<void> {
  const { resolve } = nodePath();
  for (const f of inputFiles) {
    if (typeof f === "string" && (await sameFile(path, f))) {
      refuse(out, `refusing to overwrite the input ${f} (the output ${path} is the same file)`);
    }
  }
  const target = await realTarget(path);
  for (const d of inputDirs) {
    if (typeof d !== "string") continue;
    if (isInside(target, (await realOrNull(d)) ?? resolve(d)) || isInside(resolve(path), resolve(d))) {
      refuse(out, `refusing to write inside the adapter directory ${d} (output ${out})`);
    }
  }
}

/**
 * The one guard every operation that writes a path goes through. Refuses an empty path, an output
 * that would overwrite an input (the same file as any of `inputFiles`, also through links, or, for
 * a directory output, one of the files it will hold) and a path inside any of `inputDirs`; for a
 * file output, also checks that its directory exists and that it is not a directory. Outputs and
 * inputs that are not paths (streams, Blobs) are not checked.
 *
 * @throws AdapterFilesError `refused` / `input`.
 */
export async function checkOutputPath(
  out: FileOutput,
  inputFiles: readonly AdapterInput[],
  inputDirs: readonly AdapterInput[],
  opts: OutputPathOptions = {},
): Promise<void> {
  if (typeof out !== "string") return;
  if (out.trim() === "") refuse(out, "the output path is empty");
  const { dirname, join, resolve } = nodePath();
  if (opts.directoryOf !== undefined) {
    const existing = await stat(out);
    if (existing !== null && !existing.isDirectory()) {
      throw new AdapterFilesError("input", `output ${out}: exists and is not a directory`, { path: out });
    }
    await checkWritten(out, out, inputFiles, inputDirs);
    for (const name of opts.directoryOf) await checkWritten(out, join(out, name), inputFiles, inputDirs);
    return;
  }
  const dir = dirname(resolve(out));
  if (!(await stat(dir))?.isDirectory()) {
    throw new AdapterFilesError("input", `output ${out}: directory ${dir} does not exist`, { path: out });
  }
  if ((await stat(out))?.isDirectory()) {
    throw new AdapterFilesError("input", `output ${out}: is a directory, expected a file path`, {
      path: out,
    });
  }
  await checkWritten(out, out, inputFiles, inputDirs);
}
