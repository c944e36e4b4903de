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

function isInside(child: string, parent: string): boolean {
  const rel = nodePath().relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !nodePath().isAbsolute(rel) && !/^[A-Za-z]:/.test(rel));
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

/**
 * Refuses an output path that would overwrite an input: the same file as any of `inputFiles`
 * (also through links) or a path inside any of `inputDirs`; also checks that the output's
 * directory exists and that the output is not a directory. Outputs and inputs that are not paths
 * (streams, Blobs) are not checked.
 *
 * @throws AdapterFilesError `refused` / `input`.
 */
export async function checkOutputPath(
  out: FileOutput,
  inputFiles: readonly AdapterInput[],
  inputDirs: readonly AdapterInput[],
): Promise<void> {
  if (typeof out !== "string") return;
  const { dirname, resolve } = nodePath();
  const dir = dirname(resolve(out));
  if (!(await stat(dir))?.isDirectory()) {
    throw new AdapterFilesError("input", `output ${out}: directory ${dir} does not exist`, { path: out });
  }
  if ((await stat(out))?.isDirectory()) {
    throw new AdapterFilesError("input", `output ${out}: is a directory, expected a file path`, {
      path: out,
    });
  }
  for (const f of inputFiles) {
    if (typeof f === "string" && (await sameFile(out, f))) {
      throw new AdapterFilesError(
        "refused",
        `refusing to overwrite the input ${f} (the output ${out} is the same file)`,
        {
          path: out,
        },
      );
    }
  }
  const target = await realTarget(out);
  for (const d of inputDirs) {
    if (typeof d !== "string") continue;
    if (isInside(target, (await realOrNull(d)) ?? resolve(d)) || isInside(resolve(out), resolve(d))) {
      throw new AdapterFilesError(
        "refused",
        `refusing to write inside the adapter directory ${d} (output ${out})`,
        {
          path: out,
        },
      );
    }
  }
}
