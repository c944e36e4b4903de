import { realpath, stat } from "node:fs/promises";
import { basename, dirname, relative, resolve } from "node:path";
import { CliError } from "./cli-error";

async function realOrNull(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

/** The real path `path` has or would have once created (its directory resolved through links). */
async function realTarget(path: string): Promise<string> {
  const existing = await realOrNull(path);
  if (existing !== null) return existing;
  const dir = await realOrNull(dirname(resolve(path)));
  return resolve(dir ?? dirname(resolve(path)), basename(path));
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return (
    rel === "" || (!rel.startsWith("..") && !rel.startsWith("/") && rel !== ".." && !/^[A-Za-z]:/.test(rel))
  );
}

/**
 * Refuses an output path that would overwrite an input: the same file as any of `inputFiles`
 * (also through links) or a path inside any of `inputDirs`; also checks that the output's
 * directory exists and that the output is not a directory.
 *
 * @throws CliError `refused` / `input`.
 */
export async function checkOutputPath(
  out: string,
  inputFiles: readonly string[],
  inputDirs: readonly string[],
): Promise<void> {
  const dir = dirname(resolve(out));
  const dirStat = await stat(dir).catch(() => null);
  if (dirStat === null || !dirStat.isDirectory()) {
    throw new CliError("input", `--out ${out}: directory ${dir} does not exist`);
  }
  const outStat = await stat(out).catch(() => null);
  if (outStat?.isDirectory())
    throw new CliError("input", `--out ${out}: is a directory, expected a file path`);
  const target = await realTarget(out);
  for (const f of inputFiles) {
    const real = await realTarget(f);
    const same =
      real === target ||
      (outStat !== null &&
        (await stat(f).then(
          (s) => s.ino === outStat.ino && s.dev === outStat.dev,
          () => false,
        )));
    if (same)
      throw new CliError("refused", `refusing to overwrite the input ${f} (--out ${out} is the same file)`);
  }
  for (const d of inputDirs) {
    const real = (await realOrNull(d)) ?? resolve(d);
    if (isInside(target, real) || isInside(resolve(out), resolve(d))) {
      throw new CliError("refused", `refusing to write inside the adapter directory ${d} (--out ${out})`);
    }
  }
}
